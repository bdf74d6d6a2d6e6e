// Synthetic attention for tests and the benchmark: random (Dirichlet) heads, uniform heads and
// planted-role heads, all from a seeded PRNG.
import type { AttentionSet, Token } from '../../../../src/engine/types';
import { mulberry32, type Rng } from '../../../../src/core/prng';

export { mulberry32, type Rng };

function normal(rng: Rng): number {
  let u = 0;
  while (u === 0) u = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** Gamma(α, 1) by Marsaglia–Tsang (α < 1 via the α + 1 boost). */
export function gamma(rng: Rng, alpha: number): number {
  if (alpha < 1) {
    let u = 0;
    while (u === 0) u = rng();
    return gamma(rng, alpha + 1) * Math.pow(u, 1 / alpha);
  }
  const d = alpha - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number, v: number;
    do {
      x = normal(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

export type RowFn = (i: number, m: number, row: Float64Array) => void;

/** Build an n×n head whose row i (m visible keys) is filled by `fill` and normalised. */
export function buildHead(n: number, causal: boolean, fill: RowFn): Float32Array {
  const A = new Float32Array(n * n);
  const row = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const m = causal ? i + 1 : n;
    row.fill(0);
    fill(i, m, row);
    let s = 0;
    for (let j = 0; j < m; j++) s += row[j];
    for (let j = 0; j < m; j++) A[i * n + j] = row[j] / s;
  }
  return A;
}

export const uniformHead = (n: number, causal: boolean): Float32Array => buildHead(n, causal, (_i, m, row) => row.fill(1, 0, m));

export const dirichletHead = (rng: Rng, n: number, causal: boolean, alpha: number): Float32Array =>
  buildHead(n, causal, (_i, m, row) => {
    for (let j = 0; j < m; j++) row[j] = gamma(rng, alpha) + 1e-30;
  });

/**
 * A planted head: `soft` of each row's mass on the target set (split evenly), the rest spread as
 * random noise (Dirichlet(1)) over all visible keys. Rows with no target get noise only.
 */
export function plantedHead(rng: Rng, n: number, causal: boolean, targets: (i: number, m: number) => number[], soft = 0.8): Float32Array {
  return buildHead(n, causal, (i, m, row) => {
    let noise = 0;
    for (let j = 0; j < m; j++) {
      row[j] = gamma(rng, 1);
      noise += row[j];
    }
    const t = targets(i, m).filter((j) => j >= 0 && j < m);
    if (t.length === 0) return;
    for (let j = 0; j < m; j++) row[j] *= (1 - soft) / noise;
    for (const j of t) row[j] += soft / t.length;
  });
}

export function attentionSet(heads: Float32Array[][], n: number, causal: boolean): AttentionSet {
  const H = heads[0].length;
  const data = heads.map((layer) => {
    const buf = new Float32Array(H * n * n);
    layer.forEach((h, k) => buf.set(h, k * n * n));
    return buf;
  });
  return { layers: heads.length, headsPerLayer: H, seq: n, causal, data };
}

/** Tokens from texts: consecutive spans, ids by text (same text → same id). A leading special BOS if asked. */
export function tokensFrom(texts: string[], bos = false): Token[] {
  const ids = new Map<string, number>();
  const out: Token[] = [];
  if (bos) out.push({ id: 0, text: '<|bos|>', start: -1, end: -1, special: true });
  let pos = 0;
  for (const t of texts) {
    if (!ids.has(t)) ids.set(t, ids.size + 1);
    out.push({ id: ids.get(t) as number, text: t, start: pos, end: pos + t.length, special: false });
    pos += t.length;
  }
  return out;
}
