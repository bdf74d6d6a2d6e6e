// The engine end to end through its worker: attention values against an independent JS
// computation, masks, layer order, caching, cancellation, token limits, refusals over the protocol.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { EngineClient, headView, type ModelRef } from '../../../src/engine';
import { buildFused, buildTiny, type makeWeights, referenceAttention, type TinyOptions } from '../../fixtures/onnxBuilder';
import { byteLevelTokenizer, wordPieceTokenizer, writeJson } from '../../fixtures/tokenizers';
import { rejectsWith } from '../../fixtures/engineAsserts';

const TOL = 1e-5;

function maxDiff(a: Float32Array, b: Float64Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/**
 * The client's current worker. No public API says that a request has reached inference (the worker's `started`
 * message), so the cancellation test listens on the worker itself rather than sleeping and hoping.
 */
function currentWorker(client: EngineClient): Worker {
  const w = (client as unknown as { worker?: Worker }).worker;
  assert.ok(w instanceof Worker, 'the client has a running worker');
  return w;
}

/** Resolves on the worker's next `started` message; `after` collects the types of the messages it sends after that. */
function nextRun(w: Worker): { started: Promise<void>; after: string[] } {
  const after: string[] = [];
  let seen = false;
  const started = new Promise<void>((resolve) => {
    w.on('message', (m: { type: string }) => {
      if (seen) after.push(m.type);
      else if (m.type === 'started') {
        seen = true;
        resolve();
      }
    });
  });
  return { started, after };
}

describe('engine: client and worker', function () {
  this.timeout(30000);
  let dir: string;
  let client: EngineClient;
  let bpeTok: string;
  let wpTok: string;
  const models = new Map<string, { ref: ModelRef; weights: ReturnType<typeof makeWeights> }>();

  function model(name: string, o: TinyOptions, tokenizer = bpeTok): { ref: ModelRef; weights: ReturnType<typeof makeWeights> } {
    const hit = models.get(name);
    if (hit) return hit;
    const { bytes, weights } = buildTiny(o);
    const d = path.join(dir, name);
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, 'model.onnx'), bytes);
    const m = { ref: { modelPath: path.join(d, 'model.onnx'), tokenizerPath: tokenizer, name }, weights };
    models.set(name, m);
    return m;
  }

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-client-'));
    bpeTok = writeJson(dir, 'bpe.json', byteLevelTokenizer().json);
    wpTok = writeJson(dir, 'wp.json', wordPieceTokenizer().json);
    client = new EngineClient(); // worker.ts through tsx (no engine-worker.js beside the sources)
  });
  after(async () => {
    await client.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const [name, o] of [
    ['gpt2-op13-where', { kind: 'gpt2', opset: 13, mask: 'where' }],
    ['gpt2-op17-add', { kind: 'gpt2', opset: 17, mask: 'add', hints: true }],
    ['gpt2-past', { kind: 'gpt2', opset: 17, past: true }],
    ['gpt2-attn-outputs', { kind: 'gpt2', opset: 17, attnOutputs: true, layers: 3 }],
  ] as [string, TinyOptions][]) {
    it(`${name}: attention equals an independent JS computation, rows sum to 1, zeros above the diagonal`, async () => {
      const m = model(name, o);
      const text = 'the cat sat in the hat';
      const r = await client.explain(text, m.ref);
      assert.equal(r.model.kind, 'causal');
      assert.equal(r.model.layers, o.layers ?? 2);
      assert.equal(r.model.headsPerLayer, 2);
      assert.equal(r.model.vocabSize, 300);
      assert.equal(r.attention.causal, true);
      const ids = r.tokens.map((t) => t.id);
      assert.equal(r.tokens.map((t) => t.text).join(''), text);
      const ref = referenceAttention(m.weights, ids, 'gpt2');
      const n = ids.length;
      assert.equal(r.attention.seq, n);
      for (let l = 0; l < r.attention.layers; l++) {
        assert.ok(r.attention.data[l] instanceof Float32Array);
        assert.ok(maxDiff(r.attention.data[l], ref[l]) <= TOL, `layer ${l} differs by ${maxDiff(r.attention.data[l], ref[l])}`);
        for (let h = 0; h < 2; h++) {
          const A = headView(r.attention, l, h);
          for (let i = 0; i < n; i++) {
            let s = 0;
            for (let j = 0; j < n; j++) {
              s += A[i * n + j];
              if (j > i) assert.equal(A[i * n + j], 0);
            }
            assert.ok(Math.abs(s - 1) < 1e-5);
          }
        }
      }
      // Layer order: layer 1 must NOT match layer 0's reference (they differ), so order is tested.
      assert.ok(maxDiff(r.attention.data[1], ref[0]) > 1e-3);
    });
  }

  it('BERT-like: bidirectional, WordPiece [CLS]/[SEP], and the attention_mask is honoured', async () => {
    const m = model('bert', { kind: 'bert', vocab: 120 }, wpTok);
    const r = await client.explain('hello world the cafe', m.ref);
    assert.equal(r.model.kind, 'bidirectional');
    assert.deepEqual(
      r.tokens.map((t) => t.text),
      ['[CLS]', 'hello', 'world', 'the', 'cafe', '[SEP]'],
    );
    const ids = r.tokens.map((t) => t.id);
    const ref = referenceAttention(
      m.weights,
      ids,
      'bert',
      ids.map(() => 1),
    );
    for (let l = 0; l < 2; l++) assert.ok(maxDiff(r.attention.data[l], ref[l]) <= TOL);
    assert.ok(r.attention.data[0][1] > 0, 'bidirectional: above-diagonal weight present');
    // Padded keys get (numerically) zero weight and the rest matches the masked reference.
    const mask = [1, 1, 1, 0, 0, 1];
    const p = await client.runIds(ids, m.ref, { attentionMask: mask });
    const refM = referenceAttention(m.weights, ids, 'bert', mask);
    const n = ids.length;
    for (let l = 0; l < 2; l++) {
      assert.ok(maxDiff(p.attention.data[l], refM[l]) <= TOL);
      for (let h = 0; h < 2; h++) for (let i = 0; i < n; i++) for (const j of [3, 4]) assert.ok(headView(p.attention, l, h)[i * n + j] < 1e-6);
    }
  });

  it('runIds runs probe ids (random tokens repeated twice) and matches the reference', async () => {
    const m = model('gpt2-op13-where', { kind: 'gpt2', opset: 13, mask: 'where' });
    const half = [17, 200, 45, 3, 99, 250, 8];
    const ids = [...half, ...half];
    const r = await client.runIds(ids, m.ref);
    const ref = referenceAttention(m.weights, ids, 'gpt2');
    assert.ok(maxDiff(r.attention.data[0], ref[0]) <= TOL);
    assert.deepEqual(
      r.tokens.map((t) => t.id),
      ids,
    );
    await rejectsWith(client.runIds([1, 300], m.ref), 'bad-request', /\[0, 300\)/);
  });

  it('caches the session, and notices a replaced or deleted file', async () => {
    const m = model('cache', { kind: 'gpt2', seed: 1 });
    const a = await client.explain('the hat', m.ref);
    const b = await client.explain('the hat', m.ref);
    assert.equal(a.stats.sessionCached, false);
    assert.equal(b.stats.sessionCached, true);
    // Replace with different weights: new session, different attention.
    const other = buildTiny({ kind: 'gpt2', seed: 2 });
    fs.writeFileSync(m.ref.modelPath, other.bytes);
    const future = new Date(Date.now() + 5000);
    fs.utimesSync(m.ref.modelPath, future, future);
    const c = await client.explain('the hat', m.ref);
    assert.equal(c.stats.sessionCached, false);
    const ref = referenceAttention(
      other.weights,
      c.tokens.map((t) => t.id),
      'gpt2',
    );
    assert.ok(maxDiff(c.attention.data[1], ref[1]) <= TOL);
    fs.rmSync(m.ref.modelPath);
    await rejectsWith(client.explain('the hat', m.ref), 'file-not-found', /model\.onnx/);
  });

  it('maxTokens: refuses with the count, or truncates when asked and says so', async () => {
    const m = model('gpt2-op17-add', { kind: 'gpt2', opset: 17, mask: 'add', hints: true });
    const text = 'abcdefghijklmnopqrstuvwxyz';
    const e = await rejectsWith(client.explain(text, m.ref, { maxTokens: 10 }), 'too-many-tokens', /26 tokens; the limit is 10/);
    assert.equal(e.details?.tokens, 26);
    const r = await client.explain(text, m.ref, { maxTokens: 10, truncate: true });
    assert.equal(r.truncatedFrom, 26);
    assert.equal(r.tokens.length, 10);
    assert.equal(r.attention.seq, 10);
    // More tokens than the position table (64) even under maxTokens.
    const long = 'x'.repeat(80);
    await rejectsWith(client.explain(long, m.ref), 'too-many-positions', /only 64 positions/);
    const t = await client.explain(long, m.ref, { truncate: true });
    assert.equal(t.tokens.length, 64);
    assert.equal(t.truncatedFrom, 80);
  });

  it('refuses empty text, foreign tokenizers, fused models — over the worker protocol', async () => {
    const m = model('gpt2-op17-add', { kind: 'gpt2', opset: 17, mask: 'add', hints: true });
    await rejectsWith(client.explain(' \t\r\n ', m.ref), 'empty-text', /empty or only whitespace/);
    const small = model('small-vocab', { kind: 'gpt2', vocab: 100 });
    await rejectsWith(client.explain('the hat', small.ref), 'tokenizer-vocab-mismatch', /only 100 rows/);
    const f = path.join(dir, 'fused.onnx');
    fs.writeFileSync(f, buildFused());
    await rejectsWith(client.explain('the hat', { modelPath: f, tokenizerPath: bpeTok }), 'fused-attention', /Attention/);
    const z = path.join(dir, 'zero.onnx');
    fs.writeFileSync(z, '');
    await rejectsWith(client.explain('the hat', { modelPath: z, tokenizerPath: bpeTok }), 'empty-file');
    // And the client still works afterwards.
    assert.equal((await client.explain('the hat', m.ref)).tokens.map((t) => t.text).join(''), 'the hat');
  });

  it('cancel mid-inference rejects before the worker answers and leaves the client usable; a channel supersedes', async () => {
    // A model big enough that one run takes a while: 1,500 tokens, d=256.
    const big = model('slow', { kind: 'gpt2', d: 256, heads: 4, layers: 4, positions: 2048, vocab: 300 });
    await client.info(big.ref); // load the session first, so `started` means the run itself has begun
    const ids = Array.from({ length: 1500 }, (_, i) => (i * 31) % 261);
    const ac = new AbortController();
    const started = client.workersStarted;
    const p = client.runIds(ids, big.ref, { signal: ac.signal });
    const run = nextRun(currentWorker(client));
    await run.started;
    ac.abort();
    await rejectsWith(p, 'cancelled');
    assert.deepEqual(run.after, [], 'the rejection came before any answer from the worker: the cancel did not wait for the run');
    const again = await client.explain('the hat', model('gpt2-op13-where', { kind: 'gpt2', opset: 13 }).ref);
    assert.equal(again.attention.layers, 2);
    assert.equal(client.workersStarted, started + 1, 'a fresh worker was started');
    // Superseding on a channel, once the first request is running: the first rejects as cancelled, the second resolves.
    const first = client.runIds(ids.slice(0, 1000), big.ref, { channel: 'panel' });
    await nextRun(currentWorker(client)).started;
    const second = client.explain('the hat', model('gpt2-op13-where', { kind: 'gpt2', opset: 13 }).ref, { channel: 'panel' });
    await rejectsWith(first, 'cancelled', /Superseded/);
    assert.equal((await second).tokens.map((t) => t.text).join(''), 'the hat');
  });
});
