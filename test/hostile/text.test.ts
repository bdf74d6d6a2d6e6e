// Untrusted document text through the real pipeline (bundled tokenizers and models): spans still map to
// the exact source, nothing is lost, empty input gets a clear message, and a huge selection is refused
// with the cap message by the engine worker, off the calling thread.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { EngineClient, EngineError } from '../../src/engine';
import { SessionPipeline } from '../../src/session/pipeline';

const ROOT = path.resolve(__dirname, '..', '..');
const model = (name: string) => ({
  modelPath: path.join(ROOT, 'media/models', name, 'model.onnx'),
  tokenizerPath: path.join(ROOT, 'media/models', name, 'tokenizer.json'),
  name,
});

const TRICKY: Record<string, string> = {
  html: '<img src=x onerror="alert(1)"></script><script>alert(2)</script><svg onload=alert(3)> <a href="javascript:alert(4)">x</a> {{constructor.constructor(\'alert(5)\')()}} ${alert(6)}',
  rtl: 'שלום עולם — مرحبا بالعالم (mixed) עברית123',
  emoji: 'family 👨‍👩‍👧‍👦 flag 🇫🇷 skin 👍🏽 done',
  combining: 'e\u0301cole cafe\u0301 n\u0303 Z\u0351\u0368\u0306a\u0308lgo',
  zeroWidth: 'zero\u200bwidth\u200cjoin\u200dmark\ufeffbom\u2060wj',
  crlfTabs: 'line one\r\n\tindented\r\n\r\n\t\tdeeper\tcol\r\nend',
};

describe('hostile: document text', function () {
  this.timeout(60_000);
  const client = new EngineClient();
  const pipeline = new SessionPipeline(client);
  after(() => client.dispose());

  for (const name of ['headlight-mini', 'tiny-bert']) {
    for (const [label, text] of Object.entries(TRICKY)) {
      it(`${name}: ${label} — every token's span is its exact source text, in order, gaps only dropped whitespace/format chars`, async () => {
        const { session } = await pipeline.build({ id: 1, title: label, text, model: model(name) });
        let cursor = 0;
        for (const t of session.tokens) {
          if (t.special) {
            assert.equal(t.start, -1);
            continue;
          }
          assert.ok(t.start >= cursor, `${label}: token "${t.text}" starts at ${t.start} before ${cursor}`);
          const gap = text.slice(cursor, t.start);
          // Byte-level BPE covers everything; WordPiece drops whitespace, control and zero-width format characters.
          assert.match(gap, /^[\s\p{Cf}\p{Cc}\p{Mn}]*$/u, `${label}: gap ${JSON.stringify(gap)} before token ${JSON.stringify(t.text)}`);
          if (t.end > t.start) assert.equal(t.text, text.slice(t.start, t.end));
          cursor = Math.max(cursor, t.end);
        }
        assert.match(text.slice(cursor), /^[\s\p{Cf}\p{Cc}\p{Mn}]*$/u);
        if (name === 'headlight-mini') {
          const covered = session.tokens
            .filter((t) => !t.special)
            .map((t) => text.slice(t.start, t.end))
            .join('');
          assert.equal(covered, text, 'byte-level tokens cover the text exactly');
        }
      });
    }
  }

  it('empty and whitespace-only selections get a clear message', async () => {
    for (const text of ['', '   ', '\n\t\r\n  ']) {
      await assert.rejects(
        pipeline.build({ id: 1, title: 'x', text, model: model('headlight-mini') }),
        (e: unknown) => e instanceof EngineError && e.code === 'empty-text' && /empty or only whitespace/.test(e.message),
      );
    }
  });

  it('a 100,000-character selection is refused with the cap message by the engine worker, off the calling thread', async () => {
    const text = 'The quick brown fox jumps over the lazy dog; {x: [1, 2, 3]} — ünïcödé 😀\n'.repeat(1400).slice(0, 100_000);
    await client.info(model('headlight-mini')); // the worker is up and the model loaded: its next `started` is this build's explain
    const worker = (client as unknown as { worker?: Worker }).worker;
    assert.ok(worker, 'the engine worker is running');
    // The calling thread hands the text to the worker, which tokenizes it and refuses: the worker's `started`
    // for the explain reaches this thread before the refusal does. (How long this thread stays free is the
    // bench's measure, not a test's.)
    const seen: string[] = [];
    const onMessage = (m: { type: string }) => seen.push(m.type);
    worker.on('message', onMessage);
    try {
      await assert.rejects(
        pipeline.build({ id: 1, title: 'big', text, model: model('headlight-mini'), maxTokens: 1024 }).finally(() => seen.push('settled')),
        (e: unknown) => {
          assert.ok(e instanceof EngineError);
          assert.equal(e.code, 'too-many-tokens');
          assert.match(e.message, /The selection is \d+ tokens; the limit is 1024/);
          assert.ok(Number(e.details?.tokens) > 20_000);
          return true;
        },
      );
    } finally {
      worker.off('message', onMessage);
    }
    assert.deepEqual(seen, ['started', 'error', 'settled'], 'the worker started the explain, then refused it');
    // Offered truncation works and says so.
    const r = await pipeline.build({ id: 2, title: 'big', text, model: model('headlight-mini'), maxTokens: 1024, truncate: true });
    assert.equal(r.session.tokens.length, 1024);
    assert.ok((r.session.truncatedFrom ?? 0) > 20_000);
  });
});
