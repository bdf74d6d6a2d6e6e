// The small parts the fused-kernel path stands on, against hand-computed answers: which heads one slice run
// takes (grouped query attention), head selection on packed layouts, and MatMulNBits weights as onnxruntime
// dequantises them (4-bit blocks built here by hand from known values).
import { strict as assert } from 'node:assert';
import { onnx } from 'onnx-proto';
import { kernelChunk } from '../../../src/engine/recompute';
import { headMajor, takeHeads } from '../../../src/engine/kernels/heads';
import { nbitsWeight } from '../../../src/engine/nbits';
import { floatToHalf, halfToFloat32 } from '../../../src/core/half';

describe('engine: fused-kernel parts', () => {
  it('a run stays inside one group of query heads, or takes whole groups', () => {
    // 8 query heads over 2 key/value heads: groups of 4.
    assert.deepEqual(kernelChunk(8, 2, 0, 8), { count: 8, kv0: 0, kv: 2 });
    assert.deepEqual(kernelChunk(8, 2, 0, 6), { count: 4, kv0: 0, kv: 1 });
    assert.deepEqual(kernelChunk(8, 2, 2, 6), { count: 2, kv0: 0, kv: 1 }, 'from the middle of a group: to its end');
    assert.deepEqual(kernelChunk(8, 2, 5, 1), { count: 1, kv0: 1, kv: 1 });
    assert.deepEqual(kernelChunk(8, 2, 4, 2), { count: 2, kv0: 1, kv: 1 }, 'fewer than a group: inside it');
    // No grouping: any run, one key head per query head.
    assert.deepEqual(kernelChunk(4, 4, 1, 3), { count: 3, kv0: 1, kv: 3 });
    // Multi-query: one key head for all.
    assert.deepEqual(kernelChunk(6, 1, 0, 6), { count: 6, kv0: 0, kv: 1 });
    assert.deepEqual(kernelChunk(6, 1, 2, 2), { count: 2, kv0: 0, kv: 1 });
  });

  it('takes heads out of [S, heads, d] (a copy) and [1, H, S, d] (a view), and transposes to head-major', () => {
    // S = 2 positions, 3 heads, d = 2: value = 100·s + 10·h + c.
    const x = Float32Array.from({ length: 12 }, (_, i) => {
      const s = Math.floor(i / 6),
        h = Math.floor((i % 6) / 2),
        c = i % 2;
      return 100 * s + 10 * h + c;
    });
    assert.deepEqual([...takeHeads(x, 2, 3, 2, 1, 2)], [10, 11, 20, 21, 110, 111, 120, 121]);
    const view = takeHeads(x, 1, 3, 4, 1, 1);
    assert.equal(view.buffer, x.buffer, 'outer 1 is a view');
    assert.deepEqual([...headMajor(x, 2, 3, 2, 1, 2)], [10, 11, 110, 111, 20, 21, 120, 121]);
  });

  it('float → half → float is exact for halves and rounds to nearest even otherwise', () => {
    const halves = Float32Array.from([0, -0, 1, -2.5, 65504, 6.103515625e-5, 5.960464477539063e-8, 0.333251953125]);
    assert.deepEqual([...halfToFloat32(floatToHalf(halves))], [...halves]);
    // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even (1).
    assert.equal(halfToFloat32(floatToHalf(Float32Array.from([1 + 2 ** -11])))[0], 1);
    assert.equal(halfToFloat32(floatToHalf(Float32Array.from([1e6])))[0], Infinity);
  });

  it('MatMulNBits weights: the runtime reads hand-packed 4-bit blocks as (q − zero point) · scale', async () => {
    // K = 32 inputs (one block), N = 2 outputs. Column n, row k: q = (k + 3n) mod 16, scale 0.5 / 0.25,
    // zero point 8 by default; two q per byte, the lower k in the low nibble.
    const K = 32,
      N = 2,
      scales = [0.5, 0.25];
    const B = new Uint8Array((N * K) / 2);
    const q = (k: number, n: number) => (k + 3 * n) % 16;
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k += 2) B[(n * K) / 2 + k / 2] = q(k, n) | (q(k + 1, n) << 4);
    const t = (name: string, dataType: number, dims: number[], raw: Uint8Array) => onnx.TensorProto.create({ name, dataType, dims, rawData: raw });
    const constants = new Map<string, onnx.ITensorProto>([
      ['B', t('B', onnx.TensorProto.DataType.UINT8, [N, 1, K / 2], B)],
      ['scales', t('scales', onnx.TensorProto.DataType.FLOAT, [N], new Uint8Array(Float32Array.from(scales).buffer))],
    ]);
    const attr = (name: string, i: number) => onnx.AttributeProto.create({ name, i, type: onnx.AttributeProto.AttributeType.INT });
    const n = onnx.NodeProto.create({
      opType: 'MatMulNBits',
      domain: 'com.microsoft',
      input: ['x', 'B', 'scales'],
      output: ['y'],
      attribute: [attr('K', K), attr('N', N), attr('bits', 4), attr('block_size', 32)],
    });
    const w = await nbitsWeight(n, constants);
    assert.ok(w);
    assert.equal(w.rows, K);
    assert.equal(w.cols, N);
    for (let k = 0; k < K; k++) for (let c = 0; c < N; c++) assert.equal(w.data[k * N + c], (q(k, c) - 8) * scales[c], `W[${k}][${c}]`);
  });
});
