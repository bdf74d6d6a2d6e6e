// Bounded-memory mode (src/engine/recomputeGraph.ts): attention recomputed from the captured score
// inputs must equal the Softmax outputs of the full graph on every fixture we have — hand-built
// GPT-2/BERT graphs (both mask styles, past-kv), the Llama/Qwen/Phi/Gemma exports, and the bundled
// models — layer by layer and head by head.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { captureRun, disposeCaptured, loadModel, recomputeHeads, releaseModel, runAttention, type LoadedModel } from '../../../src/engine/modelCache';
import { planRecompute } from '../../../src/engine/recomputeGraph';
import { headsPerRun, RECOMPUTE_RUN_BYTES, RECYCLED_RUN_BYTES } from '../../../src/engine/recompute';
import { buildTiny } from '../../fixtures/onnxBuilder';

const ROOT = path.join(__dirname, '..', '..', '..');
const TOL = 1e-5;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'headlight-recompute-'));

const decoders = fs
  .readdirSync(path.join(ROOT, 'test/fixtures/decoders'))
  .filter((f) => fs.existsSync(path.join(ROOT, 'test/fixtures/decoders', f, 'model.onnx')));
const built: [string, Parameters<typeof buildTiny>[0]][] = [
  ['gpt2-where', { kind: 'gpt2', layers: 3, heads: 4, d: 32, mask: 'where' }],
  ['gpt2-add-op13', { kind: 'gpt2', layers: 2, heads: 2, mask: 'add', opset: 13 }],
  ['gpt2-past', { kind: 'gpt2', layers: 2, heads: 2, past: true }],
  ['bert', { kind: 'bert', layers: 2, heads: 4, d: 32 }],
];
const cases: { name: string; file: string; causal: boolean }[] = [
  ...built.map(([name, o]) => {
    const file = path.join(tmp, `${name}.onnx`);
    fs.writeFileSync(file, buildTiny(o).bytes);
    return { name, file, causal: o.kind === 'gpt2' };
  }),
  ...decoders.map((d) => ({ name: d, file: path.join(ROOT, 'test/fixtures/decoders', d, 'model.onnx'), causal: true })),
  { name: 'planted', file: path.join(ROOT, 'media/models/planted/model.onnx'), causal: true },
  { name: 'tiny-bert', file: path.join(ROOT, 'media/models/tiny-bert/model.onnx'), causal: false },
];

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('engine: attention recomputed from captured score inputs', function () {
  this.timeout(60_000);
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  for (const c of cases) {
    it(`${c.name}: every layer and every head equals the graph's own Softmax output (≤ ${TOL})`, async () => {
      const rec = await loadModel(c.file, 'rec');
      const out = await loadModel(c.file, 'out', { recompute: false });
      try {
        assert.ok(rec.recompute, `recompute mode refused: ${rec.recomputeRefusal}`);
        assert.equal(out.recompute, undefined);
        assert.equal(rec.layers, out.layers);
        assert.equal(rec.headsPerLayer, out.headsPerLayer);
        assert.equal(rec.causal, c.causal);
        const vocab = rec.plan.vocabRows ?? 100;
        const ids = Array.from({ length: 23 }, (_, i) => (i * 37 + 5) % vocab);
        const mask = c.name.startsWith('bert') || c.name.includes('-kv-') ? ids.map((_, i) => (i < 19 ? 1 : 0)) : undefined;
        const a = await runAttention(rec, ids, mask);
        const b = await runAttention(out, ids, mask);
        assert.equal(a.data.length, b.data.length);
        for (let l = 0; l < a.layers; l++) assert.ok(maxDiff(a.data[l], b.data[l]) <= TOL, `layer ${l}: ${maxDiff(a.data[l], b.data[l])}`);
        // Head by head from one captured run (what the streaming analysis and the panel read).
        const cap = await captureRun(rec, ids, mask);
        const n = ids.length;
        for (let l = 0; l < rec.layers; l++) {
          for (let h = 0; h < rec.headsPerLayer; h++) {
            const [one] = await recomputeHeads(rec, cap, [[l, h]]);
            const d = maxDiff(one, b.data[l].subarray(h * n * n, (h + 1) * n * n));
            assert.ok(d <= TOL, `L${l}H${h}: ${d}`);
          }
        }
        // The point of it all: what the run holds is O(n·d) per layer, not O(heads·n²).
        assert.ok(cap.bytes < b.data.reduce((s, x) => s + x.byteLength, 0) * 4, `captured ${cap.bytes} bytes`);
        disposeCaptured(cap);
      } finally {
        await releaseModel(rec);
        await releaseModel(out);
      }
    });
  }

  it('feeds one head at a time where the slice allows it, and says so', async () => {
    const models: LoadedModel[] = [];
    try {
      for (const name of ['gpt2-where', 'llama-plain-op17', 'phi-plain-op17']) {
        const c = cases.find((x) => x.name === name)!;
        const m = await loadModel(c.file, 'x');
        models.push(m);
      }
      assert.equal(models[0].recompute?.perHead, true, 'GPT-2: [1, heads, n, d] scores → one head at a time');
      assert.equal(models[1].recompute?.perHead, true, 'Llama: K/V repeated before the MatMul → per head');
      // Phi's export keeps GQA grouped: Q is [1, kv, groups, n, d], so it recomputes whole layers.
      assert.equal(models[2].recompute?.perHead, false);
    } finally {
      for (const m of models) await releaseModel(m);
    }
  });

  it("recomputes few heads per run while they fit the allocator's reused buffers, up to the cap beyond", () => {
    // 512 and 1,024 tokens: 1 and 4 MB per head, so 8 and 2 heads per run stay within RECYCLED_RUN_BYTES.
    assert.deepEqual(
      [512, 1024].map((n) => headsPerRun(n * n)),
      [8, 2],
    );
    // 2,048 and 4,096 tokens: 16 and 64 MB per head, never reused, so runs take up to RECOMPUTE_RUN_BYTES (32 MB):
    // two heads, then one alone.
    assert.deepEqual(
      [2048, 4096].map((n) => headsPerRun(n * n)),
      [2, 1],
    );
    assert.equal(headsPerRun(8192 * 8192), 1, 'a head over the cap still runs, alone');
    for (const n of [16, 512, 1024, 1448, 2048, 4096]) {
      const bytes = headsPerRun(n * n) * n * n * 4;
      const cap = n * n * 4 <= RECYCLED_RUN_BYTES ? RECYCLED_RUN_BYTES : Math.max(RECOMPUTE_RUN_BYTES, n * n * 4);
      assert.ok(bytes <= cap, `${n} tokens: ${bytes} bytes per run`);
    }
  });

  it('captures Q and Kᵀ (not the probabilities) and slices only the attention block', () => {
    const m = onnx.ModelProto.decode(buildTiny({ kind: 'gpt2', layers: 2, heads: 2, mask: 'where' }).bytes);
    const softmaxes = m.graph!.node!.filter((n) => n.opType === 'Softmax').map((n) => n.output![0]);
    const plan = planRecompute(m, softmaxes);
    assert.ok(!('refused' in plan));
    for (const l of plan.layers) {
      const slice = onnx.ModelProto.decode(l.bytes);
      const ops = slice.graph!.node!.map((n) => n.opType);
      assert.equal(ops.filter((o) => o === 'MatMul').length, 1, 'only the score MatMul');
      assert.equal(ops.filter((o) => o === 'Softmax').length, 1);
      assert.ok(!l.captures.includes(l.source), 'the probabilities are never captured');
      assert.ok(l.captures.includes(l.q) && l.captures.includes(l.k));
      assert.ok(l.nodes < 40, `${l.nodes} nodes`);
    }
  });

  it('refuses (and the engine falls back to Softmax outputs) when no MatMul feeds the Softmax', async () => {
    const file = path.join(ROOT, 'media/models/headlight-mini/model.onnx');
    const m = await loadModel(file, 'mini');
    try {
      // headlight-mini exports attn.N outputs itself: those are used as they are.
      assert.equal(m.recompute, undefined);
      assert.match(m.recomputeRefusal ?? '', /exports its own attention outputs/);
      const a = await runAttention(m, [1, 2, 3, 4]);
      assert.equal(a.layers, 2);
    } finally {
      await releaseModel(m);
    }
  });
});
