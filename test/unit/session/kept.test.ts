// Bounded-memory sessions: the streamed analysis of a kept run (heads recomputed by the engine a chunk at
// a time, never all in memory) must give exactly what the in-memory path gives — same reports, same
// thumbnails, same head matrices and pathways — and a released run must say so instead of answering.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineClient, type ModelRef } from '../../../src/engine';
import { SessionPipeline, type BuiltSession } from '../../../src/session/pipeline';
import { chunkHeads, type KeptSource, STREAM_CHUNK_BYTES } from '../../../src/session/attentionSource';
import { streamOrder } from '../../../src/session/analysisProtocol';

const ROOT = path.join(__dirname, '..', '..', '..');
const bundled = (name: string): ModelRef => ({
  modelPath: path.join(ROOT, 'media/models', name, 'model.onnx'),
  tokenizerPath: path.join(ROOT, 'media/models', name, 'tokenizer.json'),
});
const decoder = (name: string): ModelRef => ({
  modelPath: path.join(ROOT, 'test/fixtures/decoders', name, 'model.onnx'),
  tokenizerPath: path.join(ROOT, 'test/fixtures/decoders/tokenizer.json'),
});

describe('session: kept (bounded-memory) runs', function () {
  this.timeout(120_000);
  let pipeline: SessionPipeline;
  before(() => (pipeline = new SessionPipeline(new EngineClient())));
  after(() => pipeline.dispose());

  const sample = fs.readFileSync(path.join(ROOT, 'samples/repeats.txt'), 'utf8');
  // [name, model, tokens]: 1,536 tokens make 9.4 MB heads, which come back in the stream's two shared slots,
  // written a block of rows at a time (gemma's slice is row-wise; the slots are reused chunk after chunk).
  const cases: [string, ModelRef, number][] = [
    ['planted', bundled('planted'), 512],
    ['tiny-bert', bundled('tiny-bert'), 512],
    ['qwen-kv-op17', decoder('qwen-kv-op17'), 512],
    ['phi-plain-op14', decoder('phi-plain-op14'), 512],
    ['gemma-plain-op17 at 1,536 tokens', decoder('gemma-plain-op17'), 1536],
  ];

  for (const [name, model, maxTokens] of cases) {
    const text = maxTokens > 512 ? sample.repeat(Math.ceil((maxTokens * 2) / sample.length)) : sample.slice(0, 600);
    it(`${name}: streamed analysis, head matrices and pathways equal the in-memory session`, async () => {
      let kept: BuiltSession | undefined, full: BuiltSession | undefined;
      try {
        const progress: [number, number][] = [];
        kept = await pipeline.build({
          id: 1,
          title: name,
          text,
          model,
          keep: true,
          maxTokens,
          truncate: true,
          onProgress: (d, t) => progress.push([d, t]),
        });
        assert.deepEqual(progress[0], [0, kept.result.attention.layers * kept.result.attention.headsPerLayer], 'progress counts heads from 0 of all');
        full = await pipeline.build({ id: 2, title: name, text, model, keep: false, maxTokens, truncate: true });
        assert.ok(kept.result.kept, 'the model runs in bounded-memory mode');
        assert.equal(kept.result.attention.data.length, 0, 'no attention travels with a kept result');
        assert.ok(kept.result.kept.bytes > 0);
        assert.equal(full.result.kept, undefined);
        const { layers, headsPerLayer, seq } = full.result.attention;
        assert.ok(seq > 20);
        if (maxTokens > 512) assert.equal(seq, maxTokens, 'the long case is long');
        assert.deepEqual(kept.reports, full.reports);
        assert.deepEqual(kept.session.thumbnails, full.session.thumbnails);
        assert.deepEqual(kept.session.heads, full.session.heads);
        for (const [l, h] of [
          [0, 0],
          [layers - 1, headsPerLayer - 1],
          [layers - 1, 0],
        ]) {
          const a: unknown = await kept.source.request('head/matrix', { sessionId: 1, layer: l, head: h });
          const b: unknown = await full.source.request('head/matrix', { sessionId: 2, layer: l, head: h });
          assert.deepEqual(a, b, `L${l}H${h}`);
        }
        // The explain makes no Flow cache (Flow may never be opened): the first pathway streams the heads and leaves one.
        const key = (kept.source as KeptSource).flowCacheKey;
        assert.equal(await pipeline.analysis.cachedFlow(key, 0), undefined, 'no Flow cache before the first pathway');
        for (const token of [0, Math.floor(seq / 2), seq - 1]) {
          const a: unknown = await kept.source.request('flow/rollout', { sessionId: 1, token });
          const b: unknown = await full.source.request('flow/rollout', { sessionId: 2, token });
          assert.deepEqual(a, b, `pathway of token ${token}`);
        }
        assert.ok(await pipeline.analysis.cachedFlow(key, 0), 'the first pathway left a Flow cache');
        await pipeline.analysis.dropFlowCache(key);
        assert.equal(await pipeline.analysis.cachedFlow(key, 0), undefined);
        const streamed: unknown = await kept.source.request('flow/rollout', { sessionId: 1, token: seq - 1 });
        assert.deepEqual(streamed, await full.source.request('flow/rollout', { sessionId: 2, token: seq - 1 }));
        await assert.rejects(kept.source.request('head/matrix', { sessionId: 1, layer: layers, head: 0 }), /no head L\d+H0/);
        await assert.rejects(kept.source.request('flow/rollout', { sessionId: 1, token: seq }), /No token/);
      } finally {
        kept?.source.dispose();
        full?.source.dispose();
      }
    });
  }

  it('long kept runs paint first: onPreview gets an analysing session whose source already answers', async () => {
    const long = 'abcdefghij '.repeat(80); // byte-level: ~880 tokens
    const seen: { session: import('../../../src/protocol').SessionData; matrix: unknown }[] = [];
    const b = await pipeline.build({
      id: 30,
      title: 'long',
      text: long,
      model: decoder('qwen-plain-op17'),
      keep: true,
      maxTokens: 700,
      truncate: true,
      onPreview: (session, source) => {
        // Ask for a head while the analysis streams: answered from the same kept run.
        seen.push({ session, matrix: source.request('head/matrix', { sessionId: 30, layer: 1, head: 3 }) });
      },
    });
    try {
      assert.equal(seen.length, 1);
      const first = seen[0].session;
      assert.equal(first.analysing, true);
      assert.deepEqual([first.heads.length, first.thumbnails.length], [0, 0]);
      // Value norms are no part of the first paint: measured after it, they arrive with the heads.
      assert.equal(first.valueNorms, undefined);
      assert.ok(b.session.valueNorms, b.session.valueNormsNote);
      assert.equal(b.session.valueNorms.data.length, 2 * 8 * b.session.tokens.length);
      // So is direct logit attribution: asked for once the engine has streamed the heads.
      assert.equal(first.dla, undefined);
      assert.ok(b.session.dla, b.session.dlaNote);
      assert.equal(b.session.dla.mean.length, 2 * 8);
      assert.deepEqual(first.tokens, b.session.tokens);
      assert.equal(b.session.analysing, undefined);
      assert.equal(b.session.heads.length, 2 * 8);
      assert.deepEqual(await seen[0].matrix, await b.source.request('head/matrix', { sessionId: 30, layer: 1, head: 3 }));
      // Short runs are painted once, complete (this model's probe ran with the long one)...
      let previews = 0;
      const s = await pipeline.build({ id: 31, title: 's', text: 'short text', model: decoder('qwen-plain-op17'), keep: true, onPreview: () => previews++ });
      assert.equal(previews, 0);
      s.source.dispose();
      // ...except the first on a model, whose eight probe runs come after the first paint.
      const fresh = new SessionPipeline(pipeline.engine);
      try {
        const firstOnModel = await fresh.build({
          id: 32,
          title: 's',
          text: 'short text',
          model: decoder('qwen-plain-op17'),
          keep: true,
          onPreview: () => previews++,
        });
        assert.equal(previews, 1);
        assert.ok(firstOnModel.probe?.status === 'measured', firstOnModel.probe?.note);
        firstOnModel.source.dispose();
        (
          await fresh.build({ id: 33, title: 's', text: 'short text', model: decoder('qwen-plain-op17'), keep: true, onPreview: () => previews++ })
        ).source.dispose();
        assert.equal(previews, 1, 'the probe is measured: the next short run paints once');
      } finally {
        await fresh.analysis.dispose();
      }
    } finally {
      b.source.dispose();
    }
  });

  it('value norms that cannot be measured after the first paint leave a note, never a failed explain', async () => {
    // The real engine asked for the norms of a run it does not hold: its own 'expired' error.
    class Misaddressed extends EngineClient {
      override valueNorms(handle: number) {
        return super.valueNorms(handle + 1000);
      }
    }
    const p = new SessionPipeline(new Misaddressed());
    try {
      const b = await p.build({ id: 40, title: 't', text: 'the cat sat on the mat. the cat', model: decoder('llama-plain-op17'), keep: true });
      assert.ok(b.result.kept);
      assert.equal(b.session.valueNorms, undefined);
      assert.match(b.session.valueNormsNote ?? '', /^measuring them failed \(That explanation is no longer loaded/);
      assert.ok(b.reports.length > 0, 'the heads were analysed all the same');
    } finally {
      await p.dispose();
    }
  });

  it('a released run answers "expired", and the engine frees it', async () => {
    const b = await pipeline.build({ id: 3, title: 't', text: 'one two three four', model: bundled('planted'), keep: true });
    assert.ok(b.result.kept);
    b.source.dispose();
    await assert.rejects(b.source.request('head/matrix', { sessionId: 3, layer: 0, head: 0 }), (e: Error & { code?: string }) => e.code === 'expired');
    await assert.rejects(pipeline.engine.heads(b.result.kept.handle, [[0, 0]]), (e: Error & { code?: string }) => e.code === 'expired');
  });

  it('only the newest runs stay kept in the worker (older handles expire, none pile up)', async () => {
    const built: BuiltSession[] = [];
    for (let i = 0; i < 5; i++) built.push(await pipeline.build({ id: 10 + i, title: 't', text: `run ${i} of five`, model: bundled('planted'), keep: true }));
    await assert.rejects(built[0].source.request('head/matrix', { sessionId: 10, layer: 0, head: 0 }), (e: Error & { code?: string }) => e.code === 'expired');
    const m = await built[4].source.request('head/matrix', { sessionId: 14, layer: 0, head: 0 });
    assert.equal(m.seq, built[4].result.attention.seq);
    for (const b of built) b.source.dispose();
  });

  it('models that export their own attention ignore keep and stay in memory', async () => {
    const b = await pipeline.build({ id: 20, title: 't', text: 'the cat sat on the mat', model: bundled('headlight-mini'), keep: true });
    assert.equal(b.result.kept, undefined);
    assert.equal(b.result.attention.data.length, b.result.attention.layers);
  });

  it('chunks heads by bytes: whole models when short, one head at a time when long', () => {
    const order = streamOrder({ layers: 12, headsPerLayer: 12, seq: 4096, causal: true }, 'analyze');
    assert.deepEqual(order.slice(0, 2), [
      [0, 0],
      [0, 1],
    ]);
    assert.deepEqual(streamOrder({ layers: 2, headsPerLayer: 2, seq: 9, causal: true }, 'flow'), [
      [1, 0],
      [1, 1],
      [0, 0],
      [0, 1],
    ]);
    assert.equal(chunkHeads(order, 4096).length, 144, '64 MB per head at 4,096 tokens: one per message');
    assert.equal(chunkHeads(order, 1024).length, Math.ceil(144 / (STREAM_CHUNK_BYTES / (1024 * 1024 * 4))));
    assert.equal(chunkHeads(order, 100).length, 1);
    // With the layer size given: a layer per message, so the engine and the analysis overlap.
    assert.equal(chunkHeads(order, 1024, 12).length, 12);
    assert.deepEqual(chunkHeads(order, 1024, 12)[1][0], [1, 0]);
    assert.equal(chunkHeads(order, 4096, 12).length, 144);
  });
});
