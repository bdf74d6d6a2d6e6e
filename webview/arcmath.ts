// Which arcs to draw, as plain arithmetic on a quantised head matrix (weight = byte/255). No DOM here, so
// the same code runs in the page and in Node tests. An arc is drawn when it is among its query row's
// top-k AND its weight is at least the threshold; the rest are counted so the view can say what is hidden.

export interface ArcSelection {
  /** Per query i, the chosen keys and their bytes, heaviest first: keys[off[i] .. off[i+1]). */
  off: Int32Array;
  keys: Int32Array;
  bytes: Uint8Array;
  /** Pairs a query may see: n(n+1)/2 for causal models, n² otherwise. */
  total: number;
  shown: number;
  /** Weight ≥ threshold but not in the row's top-k. */
  hiddenByTopK: number;
  /** In the row's top-k but below the threshold (or zero). */
  hiddenByThreshold: number;
}

/** Smallest byte whose weight byte/255 reaches the threshold. */
export function thresholdByte(threshold: number): number {
  let b = Math.ceil(threshold * 255 - 1e-9);
  if (b < 0) b = 0;
  while (b > 0 && (b - 1) / 255 >= threshold) b--;
  while (b <= 255 && b / 255 < threshold) b++;
  return b;
}

/**
 * The k heaviest keys of one row (ties: lower key index first), written to outKeys/outBytes; returns how
 * many (≤ k, and only keys with a non-zero byte). Insertion into a k-long sorted list: O(n·k), fine for k ≤ 64.
 */
export function rowTopK(data: Uint8Array, row: number, n: number, limit: number, k: number, outKeys: Int32Array, outBytes: Uint8Array): number {
  let m = 0;
  const base = row * n;
  for (let j = 0; j < limit; j++) {
    const b = data[base + j];
    if (b === 0) continue;
    if (m === k && b <= outBytes[m - 1]) continue;
    let p = m < k ? m++ : k - 1;
    while (p > 0 && outBytes[p - 1] < b) {
      outBytes[p] = outBytes[p - 1];
      outKeys[p] = outKeys[p - 1];
      p--;
    }
    outBytes[p] = b;
    outKeys[p] = j;
  }
  return m;
}

export function selectArcs(data: Uint8Array, n: number, causal: boolean, k: number, threshold: number): ArcSelection {
  const tb = Math.max(1, thresholdByte(threshold));
  const kk = Math.max(1, Math.min(k, n));
  const off = new Int32Array(n + 1);
  const keys = new Int32Array(n * kk);
  const bytes = new Uint8Array(n * kk);
  const rk = new Int32Array(kk);
  const rb = new Uint8Array(kk);
  let shown = 0,
    hiddenByTopK = 0,
    hiddenByThreshold = 0;
  for (let i = 0; i < n; i++) {
    const limit = causal ? i + 1 : n;
    let above = 0;
    const base = i * n;
    for (let j = 0; j < limit; j++) if (data[base + j] >= tb) above++;
    const m = rowTopK(data, i, n, limit, kk, rk, rb);
    let kept = 0;
    for (let t = 0; t < m; t++) {
      if (rb[t] >= tb) {
        keys[shown] = rk[t];
        bytes[shown] = rb[t];
        shown++;
        kept++;
      }
    }
    hiddenByTopK += above - kept;
    hiddenByThreshold += Math.min(kk, limit) - kept;
    off[i + 1] = shown;
  }
  const total = causal ? (n * (n + 1)) / 2 : n * n;
  return { off, keys: keys.slice(0, shown), bytes: bytes.slice(0, shown), total, shown, hiddenByTopK, hiddenByThreshold };
}

const fmt = (x: number) => x.toLocaleString('en-US');

/** "showing 3,072 of 524,800 arcs; 412 above 0.1 hidden by top-3" */
export function describeSelection(
  s: { total: number; shown: number; hiddenByTopK: number; hiddenByThreshold: number },
  k: number,
  threshold: number,
  heads = 1,
): string {
  const parts = [`showing ${fmt(s.shown)} of ${fmt(s.total)} arcs${heads > 1 ? ` (${heads} heads)` : ''}`];
  if (s.hiddenByTopK > 0) parts.push(`${fmt(s.hiddenByTopK)} above ${threshold} hidden by top-${k}`);
  if (s.hiddenByThreshold > 0) parts.push(`${fmt(s.hiddenByThreshold)} of the top-${k} below ${threshold} hidden`);
  return parts.join('; ');
}

/** Keys for `token/hover`: the row's heaviest keys (≤ 64), weights 0..1, from one matrix or a mean of several. */
export function hoverKeys(mats: Uint8Array[], n: number, row: number, causal: boolean, count: number): { index: number; weight: number }[] {
  const limit = causal ? row + 1 : n;
  if (mats.length === 0) return [];
  let data: Uint8Array;
  let r = row;
  if (mats.length === 1) data = mats[0];
  else {
    // Mean of the heads' rows, kept in bytes so ties and rounding follow the same rule as one head.
    data = new Uint8Array(n);
    for (let j = 0; j < limit; j++) {
      let s = 0;
      for (const m of mats) s += m[row * n + j];
      data[j] = Math.round(s / mats.length);
    }
    r = 0;
  }
  const k = Math.min(64, count, limit);
  const keys = new Int32Array(k),
    bytes = new Uint8Array(k);
  const m = rowTopK(data, r, n, limit, k, keys, bytes);
  const out: { index: number; weight: number }[] = [];
  for (let t = 0; t < m; t++) out.push({ index: keys[t], weight: bytes[t] / 255 });
  return out;
}
