// What a head does to the prediction: next-token predictions and zero-ablation effects through the real
// worker and onnxruntime, against answers computed elsewhere — a float64 JS forward of a hand-built graph,
// the planted model's PyTorch ablations (scripts/models/planted_effects.py), and the model's own logits.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineClient, logProbs, predictionsFrom, type ModelRef } from '../../../src/engine';
import { buildTiny, makeWeights, referenceRun, type TinyOptions } from '../../fixtures/onnxBuilder';
import { byteLevelTokenizer, writeJson } from '../../fixtures/tokenizers';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const bundled = (name: string): ModelRef => ({
  modelPath: path.join(ROOT, 'media/models', name, 'model.onnx'),
  tokenizerPath: path.join(ROOT, 'media/models', name, 'tokenizer.json'),
});
const decoder = (name: string): ModelRef => ({
  modelPath: path.join(ROOT, 'test/fixtures/decoders', name, 'model.onnx'),
  tokenizerPath: path.join(ROOT, 'test/fixtures/decoders/tokenizer.json'),
});

/** −log p(ids[i+1]) per position from float64 logits rows. */
function refLoss(logits: number[][], ids: number[]): number[] {
  return logits.slice(0, -1).map((row, i) => {
    const m = Math.max(...row);
    const lse = Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0)) + m;
    return lse - row[ids[i + 1]];
  });
}

describe('engine: predictions and head effects', function () {
  this.timeout(60_000);
  let client: EngineClient;
  let dir: string;
  before(() => {
    client = new EngineClient();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-effects-'));
  });
  after(async () => {
    await client.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("predictionsFrom: top-k, the actual next token's probability and loss, hand-computed", () => {
    // Three positions over a 4-token vocabulary; ids [2, 1, 3].
    const logits = [Math.log(1), Math.log(2), Math.log(3), Math.log(4), 0, 0, 0, 0, 0, 0, 0, 5];
    const p = predictionsFrom(logits, 3, 4, [2, 1, 3], 3);
    assert.deepEqual(Array.from(p.topIds.subarray(0, 6)), [3, 2, 1, 0, 1, 2]); // ties keep the lower id first
    const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-6, `${a} ≠ ${b}`);
    close(p.topP[0], 0.4);
    close(p.topP[1], 0.3);
    close(p.topP[2], 0.2);
    close(p.actualP[0], 0.2);
    close(p.loss[0], -Math.log(0.2)); // position 0 predicts id 1: 2/10
    close(p.actualP[1], 0.25);
    close(p.loss[1], Math.log(4)); // position 1 predicts id 3: uniform
    assert.ok(Number.isNaN(p.actualP[2]) && Number.isNaN(p.loss[2]), 'nothing follows the last token');
    assert.equal(p.topIds[6], 3);
    const lp = logProbs(logits, 2, 4, [1, -1]);
    close(lp[0], Math.log(0.2));
    assert.ok(Number.isNaN(lp[1]));
  });

  describe('a hand-built GPT-2 graph with a tied LM head, against a float64 JS forward', () => {
    const o: TinyOptions = { kind: 'gpt2', layers: 2, heads: 2, d: 16, lmHead: true, seed: 3 };
    let ref: ModelRef;
    const w = makeWeights(o);
    before(() => {
      fs.writeFileSync(path.join(dir, 'tiny.onnx'), buildTiny(o, w).bytes);
      ref = { modelPath: path.join(dir, 'tiny.onnx'), tokenizerPath: writeJson(dir, 'gpt2.json', byteLevelTokenizer().json) };
    });
    const text = 'the cat sat in the hat, the cat sat';

    it('predictions: the loss of every next token equals the reference', async () => {
      const r = await client.explain(text, ref);
      const ids = r.tokens.map((t) => t.id);
      assert.ok(r.predictions, r.predictionsNote);
      const want = refLoss(referenceRun(w, ids, 'gpt2').logits, ids);
      for (let i = 0; i < want.length; i++)
        assert.ok(Math.abs(r.predictions.loss[i] - want[i]) < 1e-4, `position ${i}: ${r.predictions.loss[i]} vs ${want[i]}`);
      assert.ok(Number.isNaN(r.predictions.loss[ids.length - 1]));
      assert.equal(r.predictions.topText.length, ids.length * 5);
    });

    it('value norms: ‖v_j W_O^h‖ per layer, head and key equals the reference (Kobayashi et al. 2020)', async () => {
      const r = await client.explain(text, ref);
      const ids = r.tokens.map((t) => t.id);
      const n = ids.length,
        H = 2,
        d = 16,
        dh = 8;
      assert.ok(r.valueNorms, r.valueNormsNote);
      assert.equal(r.valueNorms.weighting, 'value·W_O');
      const { values } = referenceRun(w, ids, 'gpt2');
      for (let l = 0; l < 2; l++)
        for (let h = 0; h < H; h++)
          for (let j = 0; j < n; j++) {
            // v_j^h · W_O rows h·dh … (h+1)·dh, then its length: the hand-computed edge norm divided by α.
            let s = 0;
            for (let c = 0; c < d; c++) {
              let t = 0;
              for (let a = 0; a < dh; a++) t += values[l][j][h * dh + a] * w.w[l].o[(h * dh + a) * d + c];
              s += t * t;
            }
            const got = r.valueNorms.data[(l * H + h) * n + j];
            assert.ok(Math.abs(got - Math.sqrt(s)) < 1e-4 * Math.max(1, Math.sqrt(s)), `L${l}H${h} key ${j}: ${got} vs ${Math.sqrt(s)}`);
          }
    });

    it('gates at 1 reproduce the unmodified model; one head and a whole layer ablated equal the reference', async () => {
      const r = await client.explain(text, ref);
      const ids = r.tokens.map((t) => t.id);
      const n = ids.length;
      const run = await client.effects(ref, ids, [
        [0, 0],
        [1, 1],
        [0, -1],
        [1, -1],
      ]);
      assert.equal(run.method, 'zero-ablation: Δ loss of the next token (nats)');
      // Gates open = the model as exported, to 1e-5 (×1 is exact; the log-softmax is the graph's own).
      for (let i = 0; i + 1 < n; i++) assert.ok(Math.abs(-run.base![i] - r.predictions!.loss[i]) < 1e-5, `base ${i}`);
      const base = refLoss(referenceRun(w, ids, 'gpt2').logits, ids);
      const gates = (l: number, h: number) => [0, 1].map((ll) => [0, 1].map((hh) => (ll === l && (h === -1 || hh === h) ? 0 : 1)));
      [
        [0, 0],
        [1, 1],
        [0, -1],
        [1, -1],
      ].forEach(([l, h], k) => {
        const abl = refLoss(referenceRun(w, ids, 'gpt2', undefined, gates(l, h)).logits, ids);
        for (let i = 0; i + 1 < n; i++) {
          const want = abl[i] - base[i];
          assert.ok(Math.abs(run.deltas[k][i] - want) < 1e-4, `L${l}H${h} position ${i}: ${run.deltas[k][i]} vs ${want}`);
        }
      });
      assert.ok(
        run.deltas.some((d) => d.some((v) => Math.abs(v) > 1e-3)),
        'the ablations change something',
      );
    });
  });

  it("the planted model: each head's effect equals PyTorch's; removing the induction head costs the second copy, the broad head nothing", async () => {
    const key = JSON.parse(fs.readFileSync(path.join(ROOT, 'media/models/planted/effects.json'), 'utf8')) as {
      ids: number[];
      T: number;
      baseLoss: number[];
      heads: { layer: number; head: number; delta: number[] }[];
      layers: { layer: number; delta: number[] }[];
    };
    const heads = key.heads.map((h) => [h.layer, h.head] as [number, number]);
    const run = await client.effects(bundled('planted'), key.ids, [...heads, [0, -1], [1, -1]]);
    const n = key.ids.length;
    for (let i = 0; i + 1 < n; i++) assert.ok(Math.abs(-run.base![i] - key.baseLoss[i]) < 1e-3, `base loss ${i}`);
    key.heads.forEach((h, k) => {
      for (let i = 0; i + 1 < n; i++)
        assert.ok(Math.abs(run.deltas[k][i] - h.delta[i]) < 1e-3, `L${h.layer}H${h.head} position ${i}: ${run.deltas[k][i]} vs ${h.delta[i]}`);
    });
    key.layers.forEach((l, k) => {
      for (let i = 0; i + 1 < n; i++) assert.ok(Math.abs(run.deltas[heads.length + k][i] - l.delta[i]) < 1e-3, `layer ${l.layer} position ${i}`);
    });
    // Positions T+1 … 2T−1 predict the second copy from the first: the induction head carries them.
    const T = key.T;
    const mean = (d: Float32Array, a: number, b: number) => {
      let s = 0;
      for (let i = a; i < b; i++) s += d[i];
      return s / (b - a);
    };
    const induction = run.deltas[8];
    assert.ok(mean(induction, T + 1, 2 * T) > 3, `second copy Δ ${mean(induction, T + 1, 2 * T)}`);
    const broad = run.deltas[5]; // L0H5: zero query/key weights, writes nothing
    assert.ok(Math.max(...Array.from(broad.subarray(0, n - 1), Math.abs)) < 1e-5);
  });

  for (const name of ['llama-plain-op17', 'qwen-kv-op14', 'gemma-plain-op14', 'phi-kv-op17']) {
    it(`${name}: gates at 1 reproduce the exported logits to 1e-5, and every head has an effect`, async () => {
      const r = await client.explain('the cat sat on the mat. the cat', decoder(name));
      assert.ok(r.predictions, r.predictionsNote);
      const ids = r.tokens.map((t) => t.id);
      const heads: [number, number][] = [];
      for (let l = 0; l < r.model.layers; l++) for (let h = 0; h < r.model.headsPerLayer; h++) heads.push([l, h]);
      const run = await client.effects(decoder(name), ids, heads);
      for (let i = 0; i + 1 < ids.length; i++)
        assert.ok(Math.abs(-run.base![i] - r.predictions.loss[i]) < 1e-5, `${name} base ${i}: ${-run.base![i]} vs ${r.predictions.loss[i]}`);
      assert.equal(run.deltas.length, heads.length);
      assert.ok(run.deltas.every((d) => d.length === ids.length && Number.isNaN(d[ids.length - 1])));
    });
  }

  it('value norms on every bundled model and a decoder family: found W_O where the graph has one', async () => {
    for (const [ref, weighting] of [
      [bundled('headlight-mini'), 'value·W_O'],
      [bundled('headlight-small'), 'value·W_O'],
      [bundled('tiny-bert'), 'value·W_O'],
      [decoder('llama-plain-op17'), 'value·W_O'],
      [decoder('qwen-kv-op14'), 'value·W_O'],
    ] as const) {
      const r = await client.explain('the cat sat on the mat', ref);
      assert.ok(r.valueNorms, `${ref.modelPath}: ${r.valueNormsNote}`);
      assert.equal(r.valueNorms.weighting, weighting, ref.modelPath);
      assert.equal(r.valueNorms.data.length, r.model.layers * r.model.headsPerLayer * r.tokens.length);
      assert.ok(r.valueNorms.data.every((v) => Number.isFinite(v) && v >= 0));
    }
  });

  it('a bidirectional model makes no predictions and says why; its effects are 1 − cosine of its output', async () => {
    const r = await client.explain('the cat sat on the mat', bundled('tiny-bert'));
    assert.equal(r.predictions, undefined);
    assert.match(r.predictionsNote ?? '', /bidirectional model sees every token at once/);
    const run = await client.effects(
      bundled('tiny-bert'),
      r.tokens.map((t) => t.id),
      [
        [0, 0],
        [1, -1],
      ],
    );
    assert.equal(run.method, 'zero-ablation: 1 − cosine of the output per token');
    assert.equal(run.base, undefined);
    assert.ok(run.deltas.every((d) => d.every((v) => v >= -1e-6 && v <= 2)));
    assert.ok(
      run.deltas[1].some((v) => v > 1e-4),
      'removing a whole layer changes the output',
    );
  });
});
