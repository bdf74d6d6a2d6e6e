// Next-token predictions from a causal LM's logits: per position, the top-k tokens with probabilities, the
// probability of the token that actually follows, and its loss (surprisal, nats). Only summaries leave the
// worker: at 1,024 tokens a 50k vocabulary's logits are 200 MB.

export const TOP_K = 5;

export interface PredictionArrays {
  n: number;
  k: number;
  /** [n × k] ids and probabilities, best first; position i predicts token i + 1. */
  topIds: Int32Array;
  topP: Float32Array;
  /** p(token i + 1 | ≤ i) and −ln of it; NaN at the last position (nothing follows in the selection). */
  actualP: Float32Array;
  loss: Float32Array;
}

/** Softmax statistics of one row of logits: max and log Σ exp(x − max), in float64. */
function logSumExp(logits: ArrayLike<number>, base: number, V: number): { max: number; lse: number } {
  let max = -Infinity;
  for (let v = 0; v < V; v++) if (logits[base + v] > max) max = logits[base + v];
  let s = 0;
  for (let v = 0; v < V; v++) s += Math.exp(logits[base + v] - max);
  return { max, lse: Math.log(s) };
}

/** log p(target) under each row's softmax: row r of `logits` [rows × V] against `targets[r]` (−1: skip, NaN). */
export function logProbs(logits: ArrayLike<number>, rows: number, V: number, targets: ArrayLike<number>): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    if (t < 0 || t >= V) {
      out[r] = NaN;
      continue;
    }
    const { max, lse } = logSumExp(logits, r * V, V);
    out[r] = logits[r * V + t] - max - lse;
  }
  return out;
}

/** Predictions for a selection of `ids` from its logits [n × V] (batch 1). */
export function predictionsFrom(logits: ArrayLike<number>, n: number, V: number, ids: ArrayLike<number>, k = TOP_K): PredictionArrays {
  const kk = Math.min(k, V);
  const topIds = new Int32Array(n * kk),
    topP = new Float32Array(n * kk),
    actualP = new Float32Array(n),
    loss = new Float32Array(n);
  const bestV = new Float64Array(kk),
    bestI = new Int32Array(kk);
  for (let i = 0; i < n; i++) {
    const base = i * V;
    const { max, lse } = logSumExp(logits, base, V);
    bestV.fill(-Infinity);
    bestI.fill(-1);
    for (let v = 0; v < V; v++) {
      const x = logits[base + v];
      if (x <= bestV[kk - 1]) continue;
      let p = kk - 1;
      while (p > 0 && bestV[p - 1] < x) {
        bestV[p] = bestV[p - 1];
        bestI[p] = bestI[p - 1];
        p--;
      }
      bestV[p] = x;
      bestI[p] = v;
    }
    for (let t = 0; t < kk; t++) {
      topIds[i * kk + t] = bestI[t];
      topP[i * kk + t] = Math.exp(bestV[t] - max - lse);
    }
    if (i + 1 < n && ids[i + 1] >= 0 && ids[i + 1] < V) {
      const lp = logits[base + ids[i + 1]] - max - lse;
      actualP[i] = Math.exp(lp);
      loss[i] = -lp;
    } else {
      actualP[i] = NaN;
      loss[i] = NaN;
    }
  }
  return { n, k: kk, topIds, topP, actualP, loss };
}

/**
 * Predictions from the reduction the engine appends to the graph (nextTokenGraph.ts): `topLogP` and `topIds`
 * [n × k] (log p and ids, best first), `nextLogP` [n] (log p of the token that follows), the logits' width V.
 * The same arrays predictionsFrom makes from the logits themselves: NaN where nothing follows or where the
 * next id is no row of the logits.
 */
export function predictionsFromReduced(
  topLogP: Float32Array,
  topIds: ArrayLike<number | bigint>,
  nextLogP: Float32Array,
  n: number,
  k: number,
  ids: ArrayLike<number>,
  V: number,
): PredictionArrays {
  const out = new Int32Array(n * k),
    topP = new Float32Array(n * k),
    actualP = new Float32Array(n),
    loss = new Float32Array(n);
  for (let t = 0; t < n * k; t++) {
    out[t] = Number(topIds[t]);
    topP[t] = Math.exp(topLogP[t]);
  }
  for (let i = 0; i < n; i++) {
    const lp = i + 1 < n && ids[i + 1] >= 0 && ids[i + 1] < V ? nextLogP[i] : NaN;
    actualP[i] = Math.exp(lp);
    loss[i] = -lp;
  }
  return { n, k, topIds: out, topP, actualP, loss };
}
