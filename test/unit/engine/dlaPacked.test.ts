// Direct logit attribution through a 4/8-bit MatMulNBits unembedding (what the onnxruntime-genai builder writes
// for the LM head): the packed head's columns are read on demand by the runtime itself (nbits.ts), and on twins
// whose every projection and LM head is MatMulNBits (test/fixtures/twins) every term of the stream, through
// the frozen norm, sums to the model's own logits within 1e-4, and each head's DLA equals the one read off the
// unfused twin with the dequantized float weights.
import { strict as assert } from 'node:assert';
import { EngineClient } from '../../../src/engine';
import { decompose, decompositionFetches, prepareUnembedding } from '../../../src/engine/dla';
import { loadModel, releaseModel } from '../../../src/engine/modelCache';
import { buildTwin, type TwinSpec } from '../../fixtures/twins';
import { fetchAll } from '../../fixtures/dlaFetch';

const TEXT = 'the cat sat on the mat. the cat sat on the mat, and the dog sat on the log.';

describe('DLA through a packed (MatMulNBits) unembedding', function () {
  this.timeout(120_000);
  const client = new EngineClient();
  after(() => client.dispose());

  for (const spec of [
    { base: 'llama-gqa', kernel: 'gqa', weights: 'int4' },
    { base: 'llama-gqa', kernel: 'plain', weights: 'int4' },
    { base: 'headlight-small', kernel: 'gqa', weights: 'int8' },
  ] as TwinSpec[]) {
    it(`${spec.base} ${spec.kernel} ${spec.weights}: the terms sum to the logits, and every head's DLA is the float twin's`, async () => {
      const twin = buildTwin(spec);
      const m = await loadModel(twin.modelPath, 'packed');
      try {
        assert.ok(m.dla && !('refused' in m.dla), `no DLA plan: ${m.dla && 'refused' in m.dla ? m.dla.refused : 'none'}`);
        const plan = m.dla;
        assert.equal(plan.residual.unembed.layout, 'columns', 'the LM head is read packed, column by column');
        const ids = Array.from({ length: 37 }, (_, i) => (i * 131 + 17) % Math.min(plan.residual.unembed.vocab, 2000));
        const { fetched, logits, vocab } = await fetchAll(m, decompositionFetches(plan), ids);
        const targets = Int32Array.from(ids, (_, i) => (i + 1 < ids.length ? ids[i + 1] : -1));
        await prepareUnembedding(plan.residual, targets);
        const comps = decompose(plan, fetched, targets, m.headsPerLayer);
        for (let i = 0; i + 1 < ids.length; i++) {
          const sum = comps.reduce((a, c) => a + c.values[i], 0);
          assert.ok(Math.abs(sum - logits[i * vocab + targets[i]]) < 1e-4, `position ${i}: terms sum to ${sum}, logit ${logits[i * vocab + targets[i]]}`);
        }
      } finally {
        await releaseModel(m);
      }
      const packed = await client.explain(TEXT, { modelPath: twin.modelPath, tokenizerPath: twin.tokenizerPath });
      const float = await client.explain(TEXT, { modelPath: twin.plainPath, tokenizerPath: twin.tokenizerPath });
      assert.ok(packed.dla, packed.dlaNote);
      assert.ok(float.dla, float.dlaNote);
      let m2 = 0;
      for (let k = 0; k < float.dla.actual.length; k++)
        if (Number.isFinite(float.dla.actual[k])) m2 = Math.max(m2, Math.abs(packed.dla.actual[k] - float.dla.actual[k]));
      assert.ok(m2 < 1e-4, `per-head DLA differs by ${m2}`);
      assert.ok(
        float.dla.actual.some((v) => Math.abs(v) > 1e-3),
        'some head writes onto the logits, so the comparison means something',
      );
    });
  }
});
