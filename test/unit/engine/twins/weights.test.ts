// Stage 2 twins: 4-bit and 8-bit MatMulNBits weights (the plain twin multiplies by the dequantized weights,
// so the two compute the same function) and fp16 graphs. Tolerances measured on onnxruntime-node 1.30 CPU.
import { strict as assert } from 'node:assert';
import * as ort from 'onnxruntime-node';

import { specName } from '../../../fixtures/twins';
import { HALF, QUANTIZED, QUANTIZED_ACC4 } from '../../../fixtures/twins/catalog';
import { assertTwin, FP32, maxAbsDiff, type Tolerance } from '../../../fixtures/twins/compare';
import { Graph, T } from '../../../fixtures/twins/graph';
import { linearWeights, quantize } from '../../../fixtures/twins/weights';
import { rng } from '../../../fixtures/onnxBuilder';

/** accuracy_level 4 (int8 activations) against float activations: worst measured 4.4e-2 · max|logit|, 8.6e-2 in p. */
const ACC4: Tolerance = { logits: 0.1, probs: 0.2 };
/** fp16 kernels against the fp16 plain twin: worst measured 3.6e-3 · max|logit|, 5.6e-3 in p. */
const FP16: Tolerance = { logits: 1e-2, probs: 1.5e-2 };

describe('twins: quantized and fp16 weights', function () {
  this.timeout(60000);

  for (const bits of [4, 8] as const)
    for (const zp of [false, true]) {
      it(`MatMulNBits ${bits}-bit${zp ? ' with zero points' : ''}: the node computes x · dequantized W, which is within half a step of W`, async () => {
        const r = rng(bits * 10 + (zp ? 1 : 0));
        const K = 96,
          N = 40,
          M = 5; // K not a multiple of 64: blocks of 32 only
        const W = Float32Array.from({ length: K * N }, () => r() * 2);
        const q = quantize(W, K, N, bits, zp);
        let err = 0,
          changed = 0;
        for (let k = 0; k < K; k++)
          for (let n = 0; n < N; n++) {
            const s = q.scales[n * (K / 32) + Math.floor(k / 32)];
            err = Math.max(err, Math.abs(W[k * N + n] - q.dequantized[k * N + n]) / s);
            if (W[k * N + n] !== q.dequantized[k * N + n]) changed++;
          }
        assert.ok(err <= 0.5 + 1e-6, `quantization error ${err} steps`);
        assert.ok(changed > (K * N) / 2, 'the weights really are quantized');
        const g = new Graph(17);
        g.input('x', T.FLOAT, [M, K]);
        const w = linearWeights({ spec: { weights: `int${bits}${zp ? '-zp' : ''}` }, fused: true, dt: T.FLOAT, g }, W, K, N);
        g.named('MatMulNBits', 'mm', w.nbits!.inputs('x'), ['y'], w.nbits!.attrs, 'com.microsoft');
        g.output('y', T.FLOAT, [M, N]);
        const x = Float32Array.from({ length: M * K }, () => r());
        const session = await ort.InferenceSession.create(g.encode('nbits', { 'com.microsoft': 1 }));
        const y = (await session.run({ x: new ort.Tensor('float32', x, [M, K]) })).y.data as Float32Array;
        const ref = new Float64Array(M * N);
        for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) ref[m * N + n] += x[m * K + k] * q.dequantized[k * N + n];
        assert.ok(maxAbsDiff(y, ref) < 1e-5, `MatMulNBits vs x · dequantized: ${maxAbsDiff(y, ref)}`);
        await session.release();
      });
    }

  for (const spec of QUANTIZED) it(specName(spec), () => assertTwin(spec, FP32));
  for (const spec of QUANTIZED_ACC4) it(`${specName(spec)} (int8 activations: loose)`, () => assertTwin(spec, ACC4));
  for (const spec of HALF) it(specName(spec), () => assertTwin(spec, FP16));
});
