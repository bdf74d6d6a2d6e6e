// The one request/reply bookkeeping (src/protocol/ipc.ts) every channel uses: ids, reply matching, error replies,
// result checks, cancel, timeouts and rejecting what is left when the other side goes away.
import * as assert from 'node:assert/strict';
import { answer, PendingRequests, type ReplyEnvelope } from '../../../src/protocol/ipc';

describe('PendingRequests', () => {
  it('matches each reply to its request by id, whatever the order, and forgets it once settled', async () => {
    const settled: number[] = [];
    const p = new PendingRequests<string>((id) => settled.push(id));
    const sent: number[] = [];
    const a = p.open(undefined, (id) => sent.push(id));
    const b = p.open(undefined, (id) => sent.push(id));
    assert.equal(sent.length, 2);
    assert.notEqual(sent[0], sent[1]);
    assert.equal(p.size, 2);
    assert.equal(p.settle({ type: 'reply', id: sent[1], ok: true, result: 'B' }), true);
    assert.equal(p.settle({ type: 'reply', id: sent[0], ok: true, result: 'A' }), true);
    assert.deepEqual(await Promise.all([a, b]), ['A', 'B']);
    assert.deepEqual(settled, [sent[1], sent[0]]);
    assert.equal(p.size, 0);
    assert.equal(p.settle({ type: 'reply', id: sent[0], ok: true, result: 'late' }), false, 'a second reply finds nothing');
  });

  it('rejects on an error reply, and on a result its check refuses', async () => {
    const p = new PendingRequests<unknown>();
    let id = 0;
    const failed = p.open(undefined, (i) => (id = i));
    p.settle({ type: 'reply', id, ok: false, error: 'no such head' });
    await assert.rejects(failed, /no such head/);
    const checked = p.open(undefined, (i) => (id = i), { check: (r) => typeof r === 'number' });
    p.settle({ type: 'reply', id, ok: true, result: 'not a number' });
    await assert.rejects(checked, /malformed reply/);
  });

  it('finds a request its sender answers synchronously (registered before it is sent)', async () => {
    const p = new PendingRequests<number>();
    assert.equal(await p.open(undefined, (id) => p.resolve(id, id * 10)), 10);
  });

  it('rejects with what the sender throws, and keeps nothing waiting for it', async () => {
    const settled: number[] = [];
    const p = new PendingRequests<number>((id) => settled.push(id));
    await assert.rejects(
      p.open(undefined, () => {
        throw new Error('no worker script');
      }),
      /no worker script/,
    );
    assert.equal(p.size, 0);
    assert.equal(settled.length, 1);
  });

  it('keeps per-request data, and calls onAbort when the signal aborts', async () => {
    const p = new PendingRequests<number, { started: boolean }>();
    const ac = new AbortController();
    let id = 0;
    const r = p.open({ started: false }, (i) => (id = i), { signal: ac.signal, onAbort: (i) => p.reject(i, new Error(`cancelled ${i}`)) });
    p.meta(id)!.started = true;
    assert.deepEqual(p.waiting(), [[id, { started: true }]]);
    ac.abort();
    await assert.rejects(r, new RegExp(`cancelled ${id}`));
    assert.equal(p.meta(id), undefined);
  });

  it('uses an id taken beforehand, and rejectAll rejects every waiting request with its own error', async () => {
    const p = new PendingRequests<number>();
    const id = p.nextId();
    const posted: number[] = [];
    const a = p.open(undefined, (i) => posted.push(i), { id });
    const b = p.open(undefined, (i) => posted.push(i));
    assert.equal(posted[0], id);
    assert.ok(posted[1] > id);
    let n = 0;
    p.rejectAll(() => new Error(`gone ${++n}`));
    await assert.rejects(a, /gone 1/);
    await assert.rejects(b, /gone 2/);
    assert.equal(p.size, 0);
  });

  it('rejects with the timeout error when no reply comes, and a reply in time clears the timer', async () => {
    const p = new PendingRequests<string>();
    await assert.rejects(
      p.open(undefined, () => undefined, { timeoutMs: 1, timeoutError: () => new Error('too slow') }),
      /too slow/,
    );
    let id = 0;
    const r = p.open(undefined, (i) => (id = i), { timeoutMs: 60_000 });
    p.resolve(id, 'ok');
    assert.equal(await r, 'ok'); // the 60 s timer is cleared: mocha would otherwise wait for it to exit
  });
});

describe('answer', () => {
  it('sends one reply with the id: the result, or the error message of a rejection or a throw', async () => {
    const replies: ReplyEnvelope[] = [];
    const done = new Promise<void>((resolve) => {
      const send = (r: ReplyEnvelope) => {
        replies.push(r);
        if (replies.length === 3) resolve();
      };
      answer(1, () => Promise.resolve(42), send);
      answer(2, () => Promise.reject(new Error('no')), send);
      answer(
        3,
        () => {
          throw new Error('thrown');
        },
        send,
      );
    });
    await done;
    assert.deepEqual(
      replies.sort((a, b) => a.id - b.id),
      [
        { type: 'reply', id: 1, ok: true, result: 42 },
        { type: 'reply', id: 2, ok: false, error: 'no' },
        { type: 'reply', id: 3, ok: false, error: 'thrown' },
      ],
    );
  });
});
