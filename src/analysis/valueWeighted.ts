// Value-weighted attention (Kobayashi et al. 2020): row i of a head, each key j weighted by the size of
// what it sends, ‖v_j W_O^h‖, then renormalised so the row sums to 1 again — "where the head's output
// comes from" rather than "where it looks". The engine measures the norms (engine/values.ts).
import type { HeadReader } from './heads';

/** α_ij · norm_j / Σ_j α_ij · norm_j for every row (a row whose weighted sum is 0 stays 0). */
export function valueWeighted(A: Float32Array, n: number, norms: ArrayLike<number>): Float32Array {
  const out = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    const base = i * n;
    let s = 0;
    for (let j = 0; j < n; j++) s += A[base + j] * norms[j];
    if (s <= 0) continue;
    const inv = 1 / s;
    for (let j = 0; j < n; j++) out[base + j] = A[base + j] * norms[j] * inv;
  }
  return out;
}

/** A reader whose heads are value-weighted: `norms` is [layers × heads × n] as the engine returns it. */
export function valueWeightedReader(r: HeadReader, norms: Float32Array): HeadReader {
  const { layers, headsPerLayer, seq, causal } = r;
  return {
    layers,
    headsPerLayer,
    seq,
    causal,
    head: (l, h) => valueWeighted(r.head(l, h), seq, norms.subarray((l * headsPerLayer + h) * seq, (l * headsPerLayer + h + 1) * seq)),
  };
}
