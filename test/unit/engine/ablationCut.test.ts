// Exact ablation on a cut copy of the graph (ablationCut.ts): the stream after the ablated head's layer is
// rebuilt from the clean run minus that head's output, and only the layers above are rerun. Checked against
// PyTorch's zero-ablations (scripts/fixtures/make-dla.py) and against the gated whole graph on every decoder
// family; graphs that cannot be cut fall back to the gated graph and say why.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadModel, type LoadedModel } from '../../../src/engine/modelCache';
import { cutState, measureHeadEffects } from '../../../src/engine/ablationCut';
import { measureEffects } from '../../../src/engine/effects';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const all = (m: LoadedModel): [number, number][] =>
  Array.from({ length: m.layers * m.headsPerLayer }, (_, k) => [Math.floor(k / m.headsPerLayer), k % m.headsPerLayer]);

describe('engine: exact ablation on a cut copy of the graph', function () {
  this.timeout(120_000);

  for (const name of ['gpt2-op14', 'gpt2-op17', 'llama-op17']) {
    it(`${name}: every head's Δ loss per token equals PyTorch's zero-ablation`, async () => {
      const ref = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/fixtures/dla', name, 'reference.json'), 'utf8')) as {
        runs: { ids: number[]; ablation: (number | null)[][][] }[];
      };
      const m = await loadModel(path.join(ROOT, 'test/fixtures/dla', name, 'model.onnx'), name);
      try {
        const st = await cutState(m);
        assert.ok(!('refused' in st), 'refused' in st ? st.refused : '');
        for (const run of ref.runs) {
          // In |DLA|-like scrambled order, so batches mix and layers alternate.
          const heads = all(m).reverse();
          const r = await measureHeadEffects(m, run.ids, heads);
          assert.equal(r.cut, undefined, 'the cut copy was used');
          heads.forEach(([l, h], k) => {
            for (let i = 0; i + 1 < run.ids.length; i++)
              assert.ok(Math.abs(r.deltas[k][i] - run.ablation[l][h][i]!) < 1e-4, `L${l}H${h} at ${i}: ${r.deltas[k][i]} vs PyTorch ${run.ablation[l][h][i]}`);
            assert.ok(Number.isNaN(r.deltas[k][run.ids.length - 1]));
          });
        }
      } finally {
        await m.session.release();
      }
    });
  }

  const decoders = ['llama', 'qwen', 'gemma'].flatMap((a) => ['plain', 'kv'].map((i) => `test/fixtures/decoders/${a}-${i}-op17/model.onnx`));
  for (const file of [...decoders, 'media/models/headlight-mini/model.onnx', 'media/models/headlight-small/model.onnx']) {
    it(`${file}: the cut copy agrees with the gated whole graph`, async () => {
      const m = await loadModel(path.join(ROOT, file), file);
      try {
        const ids = Array.from({ length: 24 }, (_, i) => [5, 17, 99, 3, 42, 7][i % 6] + (i > 11 ? 1 : 0));
        const heads = all(m);
        const cut = await measureHeadEffects(m, ids, heads);
        assert.equal(cut.cut, undefined, `fell back: ${cut.cut}`);
        const gated = await measureEffects(m, ids, heads);
        let worst = 0;
        heads.forEach((_, k) => {
          for (let i = 0; i + 1 < ids.length; i++) worst = Math.max(worst, Math.abs(cut.deltas[k][i] - gated.deltas[k][i]));
        });
        assert.ok(worst < 1e-4, `largest difference ${worst}`);
        assert.ok(
          heads.some((_, k) => cut.deltas[k].some((v) => Math.abs(v) > 1e-3)),
          'some head matters',
        );
      } finally {
        await m.session.release();
      }
    });
  }

  it('phi (attention and MLP read the same layer input in parallel): refused with the reason, measured on the gated graph', async () => {
    const m = await loadModel(path.join(ROOT, 'test/fixtures/decoders/phi-plain-op17/model.onnx'), 'phi');
    try {
      const ids = [5, 17, 99, 3, 5, 17, 99];
      const r = await measureHeadEffects(m, ids, [[1, 0]]);
      assert.match(r.cut ?? '', /outside the residual path|beside the residual stream/);
      const gated = await measureEffects(m, ids, [[1, 0]]);
      assert.deepEqual(Array.from(r.deltas[0]), Array.from(gated.deltas[0]));
    } finally {
      await m.session.release();
    }
  });

  it('planted (no output projection to subtract a head through): the gated graph, with the reason', async () => {
    const m = await loadModel(path.join(ROOT, 'media/models/planted/model.onnx'), 'planted');
    try {
      const r = await measureHeadEffects(m, [256, 97, 98, 97, 98], [[0, 0]]);
      assert.match(r.cut ?? '', /not found/);
    } finally {
      await m.session.release();
    }
  });
});
