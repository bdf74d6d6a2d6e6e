// Information-flow routes (Ferrando & Voita 2024, "Information Flow Routes: Automatically Interpreting
// Language Models at Scale"; the LLM Transparency Tool's graph view). The residual stream at position i is
// updated twice per layer: by attention, y = x_i + Σ_h Σ_j α^h_ij v_j W_O^h + b, and by the MLP, y = x + m.
// Each term c of an update gets the share
//     imp(c) = max(0, ‖y‖ − ‖y − c‖) / Σ_terms max(0, ‖y‖ − ‖y − c'‖)
// (how much nearer to y the term alone gets than nothing, as a proportion of all terms), and an edge is kept
// when its share reaches the threshold. Starting from a chosen token's final stream, the route is traced back
// layer by layer: an attention edge (head h, key j → query i) brings j's stream at the layer's input into the
// route, a residual or MLP edge brings i's own. The paper measures distances with the L1 norm; here they are
// Euclidean, because ‖y − α v W_O‖₂ expands into ‖y‖², ⟨W_O^h y, v_j⟩ and ‖v_j W_O^h‖ — the value-weighted
// norms Headlight already has — without materialising every α·v·W_O vector. Where the terms cancel so much
// that none alone comes nearer to y than nothing (every proximity 0; an MLP that undoes most of the stream),
// the shares fall back to each term's positive projection on y, ⟨c, y⟩ = (‖y‖² + ‖c‖² − ‖y − c‖²) / 2, so the
// route does not stop there. Pure functions: the engine supplies each step's distances (RouteSteps).

import type { RouteEdge, RouteGraph } from '../protocol';

export type { RouteEdge, RouteGraph };

/** Distances of one attention update's terms at one row: ‖y‖, ‖y − x‖ (the residual), ‖y − b‖ (bias, NaN: none), ‖y − c_hj‖ per head and key; and each term's own norm. */
export interface AttentionRow {
  y: number;
  residual: number;
  bias: number;
  /** [head × keys] distances, NaN where the key is not visible. */
  terms: Float64Array;
  keys: number;
  /** ‖x‖, ‖b‖ and ‖c_hj‖ (for the projection fallback). */
  residualNorm: number;
  biasNorm: number;
  termNorms: Float64Array;
}

/** Distances of one MLP update at one row: ‖y‖, ‖y − x‖ (= ‖m‖) and ‖y − m‖ (= ‖x‖). */
export interface MlpRow {
  y: number;
  residual: number;
  mlp: number;
}

export interface RouteSteps {
  layers: number;
  heads: number;
  /** The MLP update of layer l (from the stream after its attention to the next layer's input) at each of `rows`. */
  mlp(layer: number, rows: number[]): Promise<MlpRow[]>;
  /** The attention update of layer l at each of `rows`. */
  attention(layer: number, rows: number[]): Promise<AttentionRow[]>;
}

/** The proximity of a term whose removal leaves y at distance `dist`: max(0, ‖y‖ − dist). */
export const proximity = (y: number, dist: number): number => (Number.isFinite(dist) ? Math.max(0, y - dist) : 0);

/** A term's positive projection on y, max(0, ⟨c, y⟩), from ‖y‖, ‖c‖ and ‖y − c‖. */
export const projection = (y: number, c: number, dist: number): number =>
  Number.isFinite(dist) && Number.isFinite(c) ? Math.max(0, (y * y + c * c - dist * dist) / 2) : 0;

/** Shares of an attention row: [residual, bias, ...terms] proximities normalised to sum 1 (projections when no proximity is positive). */
export function attentionShares(r: AttentionRow): { residual: number; bias: number; terms: Float64Array } {
  for (const score of [proximity, null]) {
    const of = (dist: number, norm: number) => (score ? score(r.y, dist) : projection(r.y, norm, dist));
    const pr = of(r.residual, r.residualNorm),
      pb = of(r.bias, r.biasNorm);
    const terms = new Float64Array(r.terms.length);
    let total = pr + pb;
    for (let k = 0; k < terms.length; k++) {
      terms[k] = of(r.terms[k], r.termNorms[k]);
      total += terms[k];
    }
    if (total <= 0) continue;
    for (let k = 0; k < terms.length; k++) terms[k] /= total;
    return { residual: pr / total, bias: pb / total, terms };
  }
  return { residual: 0, bias: 0, terms: new Float64Array(r.terms.length) };
}

/** Shares of an MLP row (terms x and m, with ‖y − x‖ = ‖m‖ and ‖y − m‖ = ‖x‖), projections when neither proximity is positive. */
export function mlpShares(r: MlpRow): { residual: number; mlp: number } {
  let pr = proximity(r.y, r.residual),
    pm = proximity(r.y, r.mlp);
  if (pr + pm <= 0) {
    pr = projection(r.y, r.mlp, r.residual);
    pm = projection(r.y, r.residual, r.mlp);
  }
  const total = pr + pm;
  return total > 0 ? { residual: pr / total, mlp: pm / total } : { residual: 0, mlp: 0 };
}

/**
 * The route from `token`'s final stream: every edge whose share reaches `threshold` and that leads into the
 * route, traced from the last layer down to the input tokens.
 */
export async function traceRoutes(token: number, steps: RouteSteps, threshold: number): Promise<RouteGraph> {
  const edges: RouteEdge[] = [];
  let active = new Set([token]); // positions whose stream at the current level is in the route
  for (let l = steps.layers - 1; l >= 0; l--) {
    // MLP step: the next layer's input (or the final stream) ← the stream after layer l's attention.
    const rows = [...active].sort((a, b) => a - b);
    const mids = new Set<number>();
    const mlp = await steps.mlp(l, rows);
    rows.forEach((i, k) => {
      const s = mlpShares(mlp[k]);
      if (s.residual >= threshold) {
        edges.push({ layer: l, kind: 'mlp-residual', head: -1, from: i, to: i, weight: s.residual });
        mids.add(i);
      }
      if (s.mlp >= threshold) {
        edges.push({ layer: l, kind: 'mlp', head: -1, from: i, to: i, weight: s.mlp });
        mids.add(i);
      }
    });
    // Attention step: the stream after attention ← the layer's input at the same position and at the keys.
    const midRows = [...mids].sort((a, b) => a - b);
    const inputs = new Set<number>();
    const att = await steps.attention(l, midRows);
    midRows.forEach((i, k) => {
      const r = att[k];
      const s = attentionShares(r);
      if (s.residual >= threshold) {
        edges.push({ layer: l, kind: 'attention-residual', head: -1, from: i, to: i, weight: s.residual });
        inputs.add(i);
      }
      for (let h = 0; h < steps.heads; h++) {
        for (let j = 0; j < r.keys; j++) {
          const w = s.terms[h * r.keys + j];
          if (w >= threshold) {
            edges.push({ layer: l, kind: 'head', head: h, from: j, to: i, weight: w });
            inputs.add(j);
          }
        }
      }
    });
    active = inputs;
  }
  return { token, threshold, layers: steps.layers, edges };
}
