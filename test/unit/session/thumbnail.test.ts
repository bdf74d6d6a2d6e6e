import * as assert from 'node:assert/strict';
import { thumbnailOf } from '../../../src/session/wire';
import { mulberry32 } from '../../../src/core/prng';

describe('thumbnailOf (block means, scaled to the head maximum, square-root lifted)', () => {
  it('shrinks a 4×4 causal head to 2×2 by block means', () => {
    // rows sum to 1; blocks: TL = rows 0–1 × cols 0–1, TR, BL, BR
    const A = Float32Array.from([1, 0, 0, 0, 0.5, 0.5, 0, 0, 0.2, 0.2, 0.6, 0, 0.1, 0.1, 0.2, 0.6]);
    const t = thumbnailOf(A, 4, 2);
    // means: TL (1+0+0.5+0.5)/4 = 0.5, TR 0, BL (0.2+0.2+0.1+0.1)/4 = 0.15, BR (0.6+0+0.2+0.6)/4 = 0.35
    const expect = [0.5, 0, 0.15, 0.35].map((m) => Math.round(Math.sqrt(m / 0.5) * 255));
    assert.deepEqual([...t], expect);
  });

  it('keeps uneven blocks exact (5 tokens into 2 blocks: 3 + 2) and pads small inputs top-left', () => {
    const n = 5;
    const A = new Float32Array(n * n);
    for (let i = 0; i < n; i++) A[i * n + i] = 1; // identity
    const t = thumbnailOf(A, n, 2);
    // blocks [0,3) and [3,5): diagonal blocks hold 3 of 9 and 2 of 4 ones → means 1/3 and 1/2
    assert.deepEqual([...t], [Math.round(Math.sqrt(1 / 3 / 0.5) * 255), 0, 0, 255]);
    const small = thumbnailOf(Float32Array.from([1, 0, 0.5, 0.5]), 2, 4);
    assert.equal(small.length, 16);
    assert.deepEqual([...small.slice(0, 2)], [255, 0]);
    assert.deepEqual([...small.slice(4, 6)], [Math.round(Math.sqrt(0.5) * 255), Math.round(Math.sqrt(0.5) * 255)]);
    assert.ok(small.slice(2, 4).every((x) => x === 0) && small.slice(8).every((x) => x === 0));
  });

  it("causal: reads each row only up to the diagonal — the same thumbnail over the mask's zeros, value-weighted too", () => {
    const n = 7;
    const A = new Float32Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) A[i * n + j] = (1 + ((i * 3 + j * 5) % 4)) / (2.5 * (i + 1)); // uneven rows, zero above the diagonal
    const w = Float32Array.from({ length: n }, (_, j) => 0.5 + j / 3);
    for (const size of [2, 3, 7, 9]) {
      assert.deepEqual(thumbnailOf(A, n, size, undefined, true), thumbnailOf(A, n, size), `size ${size}`);
      assert.deepEqual(thumbnailOf(A, n, size, w, true), thumbnailOf(A, n, size, w), `value-weighted, size ${size}`);
    }
    A[5] = 0.9; // (row 0, key 5) a weight above the diagonal is outside what a causal head can attend to: not drawn
    assert.deepEqual(thumbnailOf(A, n, 2, undefined, true)[1], 0);
    assert.ok(thumbnailOf(A, n, 2)[1] > 0);
  });

  it('equals a straightforward block sum, byte for byte, on random heads (plain and value-weighted, causal or not)', () => {
    // Row by row, block by block, each block's keys summed in key order and added in row order: the order
    // the optimised pass keeps (it sums four rows side by side), so the bytes match exactly.
    const reference = (A: Float32Array, n: number, size: number, w: Float32Array | undefined, causal: boolean): number[] => {
      const s = Math.min(size, n);
      const edge = Array.from({ length: s + 1 }, (_, c) => Math.min(n, Math.ceil((c * n) / s)));
      const acc = new Float64Array(s * s);
      for (let i = 0; i < n; i++) {
        const r = edge.findIndex((e, k) => i >= e && i < edge[k + 1]);
        const end = causal ? i + 1 : n;
        let rs = 0;
        if (w) for (let j = 0; j < end; j++) rs += A[i * n + j] * w[j];
        if (w && rs <= 0) continue;
        for (let c = 0; c < s && edge[c] < end; c++) {
          let sum = 0;
          for (let j = edge[c]; j < Math.min(edge[c + 1], end); j++) sum += w ? Math.fround(A[i * n + j] * w[j] * (1 / rs)) : A[i * n + j];
          acc[r * s + c] += sum;
        }
      }
      const mean = Array.from(acc, (v, b) => v / Math.max(1, (edge[Math.floor(b / s) + 1] - edge[Math.floor(b / s)]) * (edge[(b % s) + 1] - edge[b % s])));
      const max = Math.max(0, ...mean);
      const out = new Array<number>(size * size).fill(0);
      if (max > 0) mean.forEach((v, b) => (out[Math.floor(b / s) * size + (b % s)] = Math.round(Math.sqrt(v / max) * 255)));
      return out;
    };
    const rng = mulberry32(7);
    for (const n of [1, 2, 5, 47, 48, 49, 101]) {
      const A = new Float32Array(n * n);
      for (let i = 0; i < n; i++) {
        // Softmax-like rows with a spike, exact ties and exact zeros; junk above the diagonal that a causal read skips.
        for (let j = 0; j < n; j++) A[i * n + j] = j > i ? rng() : rng() < 0.2 ? 0 : rng() < 0.3 ? 0.125 : rng() * rng();
        A[i * n + Math.floor(rng() * (i + 1))] += 2;
      }
      const w = Float32Array.from({ length: n }, () => (rng() < 0.1 ? 0 : rng() * 3));
      for (const causal of [true, false])
        for (const size of [48, 7, 2])
          for (const weights of [undefined, w])
            assert.deepEqual(
              Array.from(thumbnailOf(A, n, size, weights, causal)),
              reference(A, n, size, weights, causal),
              `n ${n} size ${size} causal ${causal} weighted ${!!weights}`,
            );
    }
  });
});
