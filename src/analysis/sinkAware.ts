// Sink-aware scores: what a head does with the attention it does not park on a sink. Real heads put
// 50–90% of their attention on the first token (or [CLS]/[SEP]) and spend the rest on a clear pattern;
// scored on whole rows, a head with 0.7 on the first token and 0.3 on the previous token reads as
// previous-token 0.3. Here, as in TransformerLens' `exclude_bos`, the sink columns are set aside and
// each row is renormalised over the rest.
//
// Row i (a query that is not itself a sink) keeps r_i = Σ of its weights off the sink columns, over
// m'_i non-sink visible keys. For a target set S (sinks removed) with mass o_i the renormalised row
// scores c_i = (o_i/r_i − b)/(1 − b), b = |S|/m'_i. Rows are weighted by r_i — a row that keeps 1%
// of its attention off the sink says little — so the head's score is Σ r_i·c_i / Σ r_i
// = Σ (o_i − b·r_i)/(1 − b) / Σ r_i, with no division by a tiny r_i. 0 = uniform over the rest,
// 1 = all of the rest on the target.
import type { TextContext } from './context';
import { CLEAR_ARGMAX_RATIO, LOCAL_WINDOW, type Scratch } from './measure';
import { MIN_REST_MASS, REST_MASS_ROUNDING } from './thresholds';

// Module-local copies of the constants the per-row code reads: where this module runs unbundled (tsx:
// tests, benchmarks) an imported binding is a getter call on every read, ~⅓ of measureRest's time.
const WINDOW = LOCAL_WINDOW;
const CLEAR_RATIO = CLEAR_ARGMAX_RATIO;

/** The rest is enough to read a pattern off (MIN_REST_MASS, less float32 rounding of rows that keep exactly that). */
export function restEnough(mass: number): boolean {
  return mass >= MIN_REST_MASS - REST_MASS_ROUNDING;
}

export interface RestStat {
  /** Σ (o − b·r)/(1 − b) over eligible rows. */
  num: number;
  /** Σ r over eligible rows. */
  weight: number;
  rows: number;
  /** Σ o and Σ b·r: the observed and the uniform-over-the-rest mass, for the evidence. */
  observed: number;
  baseline: number;
  /** Eligible rows whose largest non-sink weight is on the target. */
  argHits: number;
}

export interface RestMeasure {
  /** Rows that are not sinks and see ≥ 2 non-sink keys. */
  rows: number;
  /** Mean over those rows of the mass off the sinks (r) and on them. */
  restMass: number;
  sinkMass: number;
  previous: RestStat;
  self: RestStat;
  local: RestStat;
  punct: RestStat;
  dup: RestStat;
  ind: RestStat;
  bracket: RestStat;
  /** Mean over local rows of A[i, i+d], sinks excluded, d = −LOCAL_WINDOW..LOCAL_WINDOW. */
  offsetMass: Float64Array;
  /** Largest non-sink key of each row (−1 for rows that are sinks or see < 2 non-sink keys). */
  argmax: Int32Array;
  /** 1 where that key clearly beats the next non-sink key. */
  clear: Uint8Array;
}

export const newRestStat = (): RestStat => ({ num: 0, weight: 0, rows: 0, observed: 0, baseline: 0, argHits: 0 });

/** One row: target mass o of a row keeping r off the sinks, against b = |target| / m' non-sink keys. */
export function addRest(s: RestStat, o: number, r: number, b: number, hit: boolean): void {
  s.num += (o - b * r) / (1 - b);
  s.weight += r;
  s.rows++;
  s.observed += o;
  s.baseline += b * r;
  if (hit) s.argHits++;
}

/** The head's sink-aware score for one target (NaN when no row was eligible). */
export function restScore(s: RestStat): number {
  return s.weight > 0 ? s.num / s.weight : NaN;
}

/** Mass on a target list of row i, sinks skipped; adds the row when the target is defined and not everything. */
function restTargets(
  A: Float32Array,
  base: number,
  T: { start: Int32Array; idx: Int32Array },
  i: number,
  m: number,
  mRest: number,
  r: number,
  sink: Uint8Array,
  am: number,
  stat: RestStat,
): boolean {
  let o = 0,
    cnt = 0,
    hit = false;
  for (let p = T.start[i]; p < T.start[i + 1]; p++) {
    const j = T.idx[p];
    if (j >= m || sink[j] === 1) continue;
    o += A[base + j];
    cnt++;
    if (j === am) hit = true;
  }
  if (cnt === 0 || cnt >= mRest) return false;
  addRest(stat, o, r, cnt / mRest, hit);
  return true;
}

/** Largest and runner-up non-sink weights of a row by a scan (only when the two largest overall are both sinks). */
function scanNonSink(A: Float32Array, base: number, end: number, sink: Uint8Array): [number, number, number] {
  let t0 = -1,
    t1 = -1,
    am = -1;
  for (let j = 0; j < end; j++) {
    if (sink[j] === 1) continue;
    const a = A[base + j];
    if (a > t0) {
      t1 = t0;
      t0 = a;
      am = j;
    } else if (a > t1) t1 = a;
  }
  return [am, t0, t1];
}

/** An empty measure for a text of n tokens: no rows yet, no argmax (−1) anywhere. */
function newRestMeasure(n: number): RestMeasure {
  return {
    rows: 0,
    restMass: 0,
    sinkMass: 0,
    previous: newRestStat(),
    self: newRestStat(),
    local: newRestStat(),
    punct: newRestStat(),
    dup: newRestStat(),
    ind: newRestStat(),
    bracket: newRestStat(),
    offsetMass: new Float64Array(2 * LOCAL_WINDOW + 1),
    argmax: new Int32Array(n).fill(-1),
    clear: new Uint8Array(n),
  };
}

/**
 * Row i's largest non-sink key and whether it clearly wins, into out.argmax[i] / out.clear[i] (written there,
 * not returned, so the per-row call allocates nothing): the row's argmax, else its runner-up, else a scan
 * (two sinks on top). `m`: the keys row i sees.
 */
function restArgmaxRow(A: Float32Array, base: number, i: number, m: number, sink: Uint8Array, scratch: Scratch, out: RestMeasure): void {
  const { argmax, argmax2, second, third } = scratch;
  let am = argmax[i],
    clear: number;
  if (sink[am] === 0) {
    clear = second[i] <= 0 || A[base + am] > CLEAR_RATIO * second[i] ? 1 : 0;
  } else if (argmax2[i] >= 0 && sink[argmax2[i]] === 0) {
    am = argmax2[i];
    // The next non-sink weight is at most the third largest overall: a conservative test.
    clear = second[i] > CLEAR_RATIO * Math.max(0, third[i]) ? 1 : 0;
  } else {
    const [k, t0, t1] = scanNonSink(A, base, m, sink);
    am = k;
    clear = t0 > CLEAR_RATIO * Math.max(0, t1) ? 1 : 0;
  }
  out.argmax[i] = am;
  out.clear[i] = clear;
}

/** Row i's mass on its non-sink neighbours within LOCAL_WINDOW (per offset too), against the rest of the row `r`. */
function addLocalRow(
  A: Float32Array,
  base: number,
  i: number,
  n: number,
  causal: boolean,
  sink: Uint8Array,
  mRest: number,
  r: number,
  am: number,
  out: RestMeasure,
): void {
  const lo = Math.max(0, i - WINDOW);
  const hi = causal ? i : Math.min(n - 1, i + WINDOW);
  let w = 0,
    cnt = 0;
  for (let j = lo; j <= hi; j++) {
    if (sink[j] === 1) continue;
    w += A[base + j];
    cnt++;
  }
  if (cnt > 0 && cnt < mRest) {
    for (let j = lo; j <= hi; j++) if (sink[j] === 0) out.offsetMass[j - i + WINDOW] += A[base + j];
    addRest(out.local, w, r, cnt / mRest, am >= lo && am <= hi);
  }
}

/**
 * One head's sink-aware statistics. Reads what measureHead's main pass left in `scratch` (row sums,
 * the three largest weights and the two largest keys per row) plus the targeted entries: O(targets) per row.
 */
export function measureRest(A: Float32Array, ctx: TextContext, scratch: Scratch): RestMeasure {
  const n = ctx.n;
  const causal = ctx.causal;
  const { sink, sinkIdx } = ctx;
  const { rowSum, rowPunct } = scratch;
  const out = newRestMeasure(n);
  let restSum = 0,
    sinkSum = 0;
  for (let i = 0; i < n; i++) {
    if (sink[i] === 1) continue;
    const m = causal ? i + 1 : n;
    const base = i * n;
    let s = 0,
      ks = 0;
    for (let q = 0; q < sinkIdx.length; q++) {
      const j = sinkIdx[q];
      if (j >= m) break;
      s += A[base + j];
      ks++;
    }
    const mRest = m - ks;
    if (mRest < 2) continue;
    const r = rowSum[i] - s;
    out.rows++;
    restSum += r;
    sinkSum += s;

    restArgmaxRow(A, base, i, m, sink, scratch, out);
    const am = out.argmax[i];

    const b1 = 1 / mRest;
    if (i >= 1 && sink[i - 1] === 0) addRest(out.previous, A[base + i - 1], r, b1, am === i - 1);
    addRest(out.self, A[base + i], r, b1, am === i);

    addLocalRow(A, base, i, n, causal, sink, mRest, r, am, out);

    // Punctuation is never a sink (isPunctuationToken), so the row's punctuation mass is all off the sinks.
    const pc = causal ? ctx.punctBefore[i + 1] : ctx.punctBefore[n];
    if (pc > 0 && pc < mRest) addRest(out.punct, rowPunct[i], r, pc / mRest, am >= 0 && ctx.punct[am] === 1);

    restTargets(A, base, ctx.dup, i, m, mRest, r, sink, am, out.dup);
    restTargets(A, base, ctx.ind, i, m, mRest, r, sink, am, out.ind);
    restTargets(A, base, ctx.brackets, i, m, mRest, r, sink, am, out.bracket);
  }
  if (out.rows > 0) {
    out.restMass = restSum / out.rows;
    out.sinkMass = sinkSum / out.rows;
    for (let k = 0; k < out.offsetMass.length; k++) out.offsetMass[k] /= out.local.rows || 1;
  }
  return out;
}
