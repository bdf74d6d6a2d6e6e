// Heads recomputed a block of query rows at a time into a reused (shared) buffer: only for slices whose rows
// are independent, bit for bit what the whole-head slice run gives, and the usual path everywhere else.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { captureRun, disposeCaptured, loadModel, recomputeHeads, recomputeHeadsInto, releaseModel, type LoadedModel } from '../../../src/engine/modelCache';
import { rowwise, ROW_BLOCK_BYTES } from '../../../src/engine/rowBlocks';
import type { LayerSlice } from '../../../src/engine/recomputeGraph';
import { onnx } from 'onnx-proto';
import { buildTwin } from '../../fixtures/twins';

const ROOT = path.join(__dirname, '..', '..', '..');
const decoder = (name: string) => path.join(ROOT, 'test/fixtures/decoders', name, 'model.onnx');
/** 1,536 tokens: 9.4 MB heads (over the 8 MB from which the pipeline hands out shared slots), 3 row blocks each. */
const N = 1536;
const ids = Array.from({ length: N }, (_, i) => 3 + ((i * 31) % 250));

describe('engine: heads written a block of rows at a time into a shared buffer', function () {
  this.timeout(120_000);
  const loaded: LoadedModel[] = [];
  const load = async (name: string) => {
    const m = await loadModel(decoder(name), decoder(name));
    loaded.push(m);
    return m;
  };
  after(async () => {
    for (const m of loaded) await releaseModel(m);
  });

  it('knows which slices are row-wise: a score MatMul, scalars, captured masks and a Softmax over the keys', async () => {
    const gemma = await load('gemma-plain-op17');
    const slices = gemma.recompute!.slices;
    assert.ok(slices.every((s) => s.kind === 'cut' && rowwise(s.slice)));
    // Qwen's slice builds its causal mask from the scores' shape (Shape, Range, Gather…): rows are not independent there.
    const qwen = await load('qwen-plain-op17');
    assert.ok(qwen.recompute!.slices.every((s) => s.kind === 'cut' && !rowwise(s.slice)));
    // A Softmax without an axis normalises per row from opset 13 on; before it, over heads, rows and keys at once.
    const bare = (opset: number): LayerSlice => {
      const m = onnx.ModelProto.create({
        irVersion: 7,
        opsetImport: [{ domain: '', version: opset }],
        graph: {
          name: 's',
          node: [
            onnx.NodeProto.create({ opType: 'MatMul', input: ['in0', 'in1'], output: ['t'] }),
            onnx.NodeProto.create({ opType: 'Softmax', input: ['t'], output: ['out'] }),
          ],
        },
      });
      return { bytes: onnx.ModelProto.encode(m).finish() } as LayerSlice;
    };
    assert.equal(rowwise(bare(13)), true);
    assert.equal(rowwise(bare(11)), false);
    assert.ok(N * 4 * Math.floor(ROW_BLOCK_BYTES / (N * 4)) <= ROW_BLOCK_BYTES && ROW_BLOCK_BYTES < 32 * 2 ** 20, 'a block stays under glibc’s mmap ceiling');
  });

  it('writes row-wise heads into the shared buffer, bit-identical to the whole-head run', async () => {
    const m = await load('gemma-plain-op17');
    const cap = await captureRun(m, ids);
    try {
      const list: [number, number][] = [
        [1, 0],
        [1, 1],
        [0, m.headsPerLayer - 1],
      ];
      const sab = new SharedArrayBuffer(list.length * N * N * 4);
      const got = await recomputeHeadsInto(m, cap, list, new Float32Array(sab));
      const want = await recomputeHeads(m, cap, list);
      got.forEach((g, i) => {
        assert.equal(g.buffer, sab, `head ${i} is a view into the shared buffer`);
        assert.equal(g.byteOffset, i * N * N * 4);
        assert.deepEqual(g, want[i], `L${list[i][0]}H${list[i][1]}`);
      });
      // Every row is a distribution over the keys it may see.
      const A = got[0];
      for (const q of [0, 700, N - 1]) {
        let sum = 0;
        for (let k = 0; k < N; k++) sum += A[q * N + k];
        assert.ok(Math.abs(sum - 1) < 1e-4, `row ${q} sums to ${sum}`);
        assert.equal(A[q * N + q + 1] ?? 0, 0, 'causal');
      }
      await assert.rejects(recomputeHeadsInto(m, cap, list, new Float32Array(N * N)), /do not fit/);
    } finally {
      disposeCaptured(cap);
    }
  });

  it("copies a fused kernel's large heads into the shared buffer, equal to its own buffers", async () => {
    // A Llama-shaped GroupQueryAttention twin (rotary inside the kernel): its slices are built around the kernel.
    const twin = buildTwin({ base: 'llama-gqa', kernel: 'gqa' });
    const m = await loadModel(twin.modelPath, 'gqa-twin');
    loaded.push(m);
    assert.ok(m.recompute?.slices.every((s) => s.kind === 'kernel'));
    const n = 1500;
    const cap = await captureRun(
      m,
      ids.slice(0, n).map((x) => x % (m.plan.vocabRows ?? 100)),
    );
    try {
      const list: [number, number][] = [
        [0, 0],
        [0, 1],
        [m.layers - 1, m.headsPerLayer - 1],
      ];
      const sab = new SharedArrayBuffer(list.length * n * n * 4);
      const got = await recomputeHeadsInto(m, cap, list, new Float32Array(sab));
      const want = await recomputeHeads(m, cap, list);
      got.forEach((g, i) => {
        assert.equal(g.buffer, sab, `head ${i} is a view into the shared buffer`);
        assert.deepEqual(g, want[i], `L${list[i][0]}H${list[i][1]}`);
      });
    } finally {
      disposeCaptured(cap);
    }
  });

  it('recomputes other slices as usual, into buffers of their own', async () => {
    const m = await load('qwen-plain-op17');
    const cap = await captureRun(m, ids.slice(0, 1500));
    try {
      const n = 1500;
      const sab = new SharedArrayBuffer(2 * n * n * 4);
      const got = await recomputeHeadsInto(
        m,
        cap,
        [
          [0, 0],
          [0, 1],
        ],
        new Float32Array(sab),
      );
      const want = await recomputeHeads(m, cap, [
        [0, 0],
        [0, 1],
      ]);
      got.forEach((g, i) => {
        assert.ok(g.buffer instanceof ArrayBuffer, 'not the shared buffer');
        assert.deepEqual(g, want[i]);
      });
    } finally {
      disposeCaptured(cap);
    }
  });
});
