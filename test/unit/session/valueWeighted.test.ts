// Value-weighted attention (Kobayashi et al. 2020) through the session layer: the pure reweighting by
// hand, value-weighted thumbnails, and value-weighted Flow equal between a kept (recomputed) run and the
// same run in memory, and equal to rollout over the reweighted heads computed here.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineClient, type ModelRef } from '../../../src/engine';
import { attentionPathway, valueWeighted, valueWeightedReader } from '../../../src/analysis';
import { SessionPipeline } from '../../../src/session/pipeline';
import { thumbnailOf } from '../../../src/session/wire';

const ROOT = path.join(__dirname, '..', '..', '..');
const decoder = (name: string): ModelRef => ({
  modelPath: path.join(ROOT, 'test/fixtures/decoders', name, 'model.onnx'),
  tokenizerPath: path.join(ROOT, 'test/fixtures/decoders/tokenizer.json'),
});
const bundled = (name: string): ModelRef => ({
  modelPath: path.join(ROOT, 'media/models', name, 'model.onnx'),
  tokenizerPath: path.join(ROOT, 'media/models', name, 'tokenizer.json'),
});

describe('session: value-weighted attention', function () {
  this.timeout(60_000);
  let pipeline: SessionPipeline;
  before(() => (pipeline = new SessionPipeline(new EngineClient())));
  after(() => pipeline.dispose());

  it('reweights each row by the key norms and renormalises (hand-computed)', () => {
    // Row 1 of a causal head: [0.5, 0.5] with norms [3, 1] → [0.75, 0.25]; row 0 stays [1].
    const A = Float32Array.from([1, 0, 0.5, 0.5]);
    assert.deepEqual(Array.from(valueWeighted(A, 2, [3, 1])), [1, 0, 0.75, 0.25]);
    assert.deepEqual(Array.from(valueWeighted(A, 2, [0, 0])), [0, 0, 0, 0]);
  });

  for (const [name, model] of [
    ['headlight-mini', bundled('headlight-mini')],
    ['llama-plain-op17', decoder('llama-plain-op17')],
  ] as const) {
    it(`${name}: value-weighted thumbnails and Flow, kept run = in memory = rollout over the reweighted heads`, async () => {
      const text = fs.readFileSync(path.join(ROOT, 'samples/repeats.txt'), 'utf8').slice(0, 240);
      const full = await pipeline.build({ id: 1, title: name, text, model, keep: false, maxTokens: 60, truncate: true });
      const kept = await pipeline.build({ id: 2, title: name, text, model, keep: true, maxTokens: 60, truncate: true });
      try {
        const norms = full.session.valueNorms!;
        assert.ok(norms, full.session.valueNormsNote);
        // A kept run measures its norms after the first paint (an engine request of their own): the same numbers.
        assert.deepEqual(kept.session.valueNorms, norms);
        assert.equal(kept.result.valueNormsPending, undefined, 'the build waited for them');
        const { layers, headsPerLayer, seq } = full.result.attention;
        const reader = valueWeightedReader(
          { ...full.result.attention, head: (l, h) => full.result.attention.data[l].subarray(h * seq * seq, (h + 1) * seq * seq) },
          norms.data,
        );
        // Made on first use (the Heads view asks when it first shows value weighting), not with the explain.
        assert.equal(full.session.valueThumbnails, undefined);
        assert.equal(kept.session.valueThumbnails, undefined);
        const { thumbnails: thumbs, thumbSize } = await full.source.request('heads/valueThumbnails', { sessionId: 1 });
        assert.equal(thumbSize, full.session.thumbSize);
        assert.equal(thumbs.length, layers * headsPerLayer);
        assert.deepEqual(thumbs[headsPerLayer + 1], thumbnailOf(reader.head(1, 1), seq, full.session.thumbSize));
        const [streamed, again] = await Promise.all([
          kept.source.request('heads/valueThumbnails', { sessionId: 2 }),
          kept.source.request('heads/valueThumbnails', { sessionId: 2 }),
        ]);
        assert.deepEqual(streamed.thumbnails, thumbs, 'the kept run makes the same value-weighted thumbnails');
        if (kept.result.kept) assert.equal(again.thumbnails, streamed.thumbnails, 'asked twice, a kept run streams its heads once');
        else assert.deepEqual(again.thumbnails, streamed.thumbnails);
        assert.notDeepEqual(thumbs, full.session.thumbnails, 'value weighting changes what the heads look like');
        for (const token of [seq - 1, Math.floor(seq / 2)]) {
          const want = attentionPathway(reader, token);
          const a = (await full.source.request('flow/rollout', { sessionId: 1, token, weighting: 'value' })) as { layers: Float32Array[] };
          const b = (await kept.source.request('flow/rollout', { sessionId: 2, token, weighting: 'value' })) as { layers: Float32Array[] };
          a.layers.forEach((row, l) =>
            row.forEach((v, j) => {
              assert.ok(Math.abs(v - want.perLayer[l][j]) < 1e-6, `memory L${l} ${j}`);
              assert.ok(Math.abs(b.layers[l][j] - v) < 1e-5, `kept L${l} ${j}`);
            }),
          );
          const plain = (await full.source.request('flow/rollout', { sessionId: 1, token })) as { layers: Float32Array[] };
          assert.ok(
            plain.layers.some((row, l) => row.some((v, j) => Math.abs(v - a.layers[l][j]) > 1e-4)),
            'attention and value-weighted pathways differ',
          );
        }
      } finally {
        kept.source.dispose();
      }
    });
  }
});
