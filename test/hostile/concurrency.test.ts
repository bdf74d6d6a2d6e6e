// Bursts, cancels and faults against the real engine worker: the last request wins, workers stay
// bounded and go away, a dead worker is replaced, a changed model file is noticed.
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { EngineClient, EngineError, type ModelRef } from '../../src/engine';
import { SessionPipeline, type BuiltSession } from '../../src/session/pipeline';
import { buildTiny } from '../fixtures/onnxBuilder';
import { byteLevelTokenizer, writeJson } from '../fixtures/tokenizers';

/** The client's current worker (private: the tests watch the worker's own messages and exit). */
const workerOf = (client: EngineClient): Worker | undefined => (client as unknown as { worker?: Worker }).worker;

/** Resolves on the worker's next `started` message: a request has reached it and its run begins. */
function nextStart(w: Worker): Promise<void> {
  return new Promise((resolve) => {
    const on = (m: { type: string }) => {
      if (m.type !== 'started') return;
      w.off('message', on);
      resolve();
    };
    w.on('message', on);
  });
}

describe('hostile: concurrency and faults', function () {
  this.timeout(60_000);
  let dir: string;
  let tok: string;
  let slow: ModelRef;
  let fast: ModelRef;
  let client: EngineClient;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-hostile-'));
    tok = writeJson(dir, 'bpe.json', byteLevelTokenizer().json);
    const write = (name: string, bytes: Uint8Array) => {
      fs.mkdirSync(path.join(dir, name));
      fs.writeFileSync(path.join(dir, name, 'model.onnx'), bytes);
      return { modelPath: path.join(dir, name, 'model.onnx'), tokenizerPath: tok, name };
    };
    // Big enough that a run is still going when the next request arrives (~1,000 tokens, 6 layers).
    slow = write('slow', buildTiny({ kind: 'gpt2', d: 384, heads: 6, layers: 6, positions: 2048, vocab: 300 }).bytes);
    fast = write('fast', buildTiny({ kind: 'gpt2', opset: 13 }).bytes);
    client = new EngineClient();
  });
  after(async () => {
    await client.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('20 explains on one channel, the first two sent once the previous one runs, the rest in a burst: the last one wins, the rest are cancelled, at most 2 workers live, then 1', async () => {
    await client.info(slow); // warm session, so `started` means the run itself
    const text = 'the cat sat on the mat and the hat '.repeat(30); // ~1,000 tokens with the byte-level fixture
    const started = client.workersStarted;
    const results: Promise<unknown>[] = [];
    const retired: Promise<unknown>[] = [];
    let maxLive = 0;
    const send = (i: number): Worker => {
      const before = workerOf(client);
      const p = client.explain(text + i, slow, { channel: 'panel', maxTokens: 2048 });
      p.catch(() => undefined); // superseded ones reject while later ones are still being sent
      results.push(p);
      const now = workerOf(client);
      assert.ok(now, 'a worker holds the request');
      // Superseding a running request retires its worker (it exits once that run returns).
      if (before && before !== now) retired.push(once(before, 'exit'));
      maxLive = Math.max(maxLive, client.liveWorkers);
      return now;
    };
    // Each of the first two is superseded mid-run: the next is sent when the worker says it started.
    await nextStart(send(0));
    await nextStart(send(1));
    for (let i = 2; i < 20; i++) send(i);
    const settled = await Promise.allSettled(results);
    const ok = settled.map((s, i) => (s.status === 'fulfilled' ? i : -1)).filter((i) => i >= 0);
    assert.deepEqual(ok, [19], 'only the last request resolves');
    for (const s of settled.slice(0, 19)) {
      assert.equal(s.status, 'rejected');
      assert.ok(s.reason instanceof EngineError);
      assert.equal(s.reason.code, 'cancelled');
    }
    assert.ok(retired.length >= 1, 'a request was superseded mid-run');
    assert.ok(maxLive <= 2, `at most 2 workers alive during the burst, saw ${maxLive}`);
    // A fresh worker replaces one only after the previous drained; never one worker per request.
    assert.ok(client.workersStarted - started < 10, `started ${client.workersStarted - started} workers for 20 requests`);
    await Promise.all(retired);
    assert.equal(client.liveWorkers, 1, 'retired workers exit once their run ends');
  });

  it('a worker killed from outside is replaced on the next run', async () => {
    const before = (await client.explain('the hat', fast)).tokens.length;
    const w = workerOf(client);
    assert.ok(w, 'a worker is running');
    const exited = new Promise((r) => w.once('exit', r));
    await w.terminate(); // idle: safe to kill (mid-run kills would take the whole process, see client.ts)
    await exited;
    const started = client.workersStarted;
    const again = await client.explain('the hat', fast);
    assert.equal(again.tokens.length, before);
    assert.equal(client.workersStarted, started + 1);
  });

  it('notices a model file replaced or deleted between runs', async () => {
    const d = path.join(dir, 'swap');
    fs.mkdirSync(d);
    const file = path.join(d, 'model.onnx');
    fs.writeFileSync(file, buildTiny({ kind: 'gpt2', opset: 13, layers: 2 }).bytes);
    const ref = { modelPath: file, tokenizerPath: tok };
    assert.equal((await client.explain('the hat', ref)).attention.layers, 2);
    const second = await client.explain('the hat', ref);
    assert.equal(second.stats.sessionCached, true);
    fs.writeFileSync(file, buildTiny({ kind: 'gpt2', opset: 13, layers: 3 }).bytes);
    const replaced = await client.explain('the hat', ref);
    assert.equal(replaced.stats.sessionCached, false);
    assert.equal(replaced.attention.layers, 3);
    fs.rmSync(file);
    await assert.rejects(client.explain('the hat', ref), (e: unknown) => e instanceof EngineError && e.code === 'file-not-found');
  });

  it('a kept run whose model file changed answers "expired", never heads of the new model', async () => {
    const d = path.join(dir, 'swap-kept');
    fs.mkdirSync(d);
    const file = path.join(d, 'model.onnx');
    fs.writeFileSync(file, buildTiny({ kind: 'gpt2', opset: 13, layers: 2, seed: 3 }).bytes);
    const ref = { modelPath: file, tokenizerPath: tok };
    const r = await client.explain('the hat sat', ref, { keep: true });
    assert.ok(r.kept);
    assert.equal((await client.heads(r.kept.handle, [[1, 1]]))[0].length, r.attention.seq ** 2);
    fs.writeFileSync(file, buildTiny({ kind: 'gpt2', opset: 13, layers: 3, seed: 4 }).bytes);
    await assert.rejects(client.heads(r.kept.handle, [[1, 1]]), (e: unknown) => e instanceof EngineError && e.code === 'expired');
  });

  it('a new explain on the panel channel supersedes a streaming analysis: cancelled, the new one complete', async () => {
    const pipeline = new SessionPipeline(client);
    try {
      const text = 'the cat sat on the mat and the hat '.repeat(30);
      // The second build starts when the first hands its first chunk of heads to the analysis (its first
      // progress report): the first is then in its streamed analysis, with chunks still to come.
      let second: Promise<BuiltSession> | undefined;
      const secondProgress: number[] = [];
      const first = pipeline.build({
        id: 1,
        title: 'a',
        text,
        model: slow,
        keep: true,
        channel: 'panel',
        maxTokens: 2048,
        onProgress: () => {
          second ??= pipeline.build({
            id: 2,
            title: 'b',
            text: text + '!',
            model: slow,
            keep: true,
            channel: 'panel',
            maxTokens: 2048,
            onProgress: (done) => secondProgress.push(done),
          });
        },
      });
      first.catch(() => undefined);
      await assert.rejects(first, (e: unknown) => e instanceof EngineError && e.code === 'cancelled');
      assert.ok(second, 'the first build reached its streamed analysis');
      const built = await second;
      assert.ok(secondProgress.length >= 2, `the analysis streams in more than one chunk (${secondProgress.length}), so the first was superseded mid-stream`);
      assert.equal(built.reports.length, 36);
      assert.ok(built.result.kept);
      const m = await built.source.request('head/matrix', { sessionId: 2, layer: 5, head: 5 });
      assert.equal(m.data.length, built.result.attention.seq ** 2);
      built.source.dispose();
    } finally {
      await pipeline.analysis.dispose();
    }
  });
});
