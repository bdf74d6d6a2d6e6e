// One pass over one head's attention matrix: the metrics of METRICS plus the chance-corrected
// per-row statistics the roles are decided on. Rows are read once in a tight loop; targeted
// entries (previous, self, sink, window, copies, brackets) are read by index afterwards.
//
// Chance correction: for a row with m visible keys, a head attending uniformly puts b = |S|/m on
// any set S of keys. We score each row as (observed − b) / (1 − b) — 0 for a uniform head, 1 for
// all mass on S, negative when S gets less than chance — and average over the rows where S is
// defined and b < 1. (A causal uniform head gives 1/(i+1) to the previous token: score 0.)
import type { TextContext } from './context';
import type { TargetLists } from './tokenClasses';
import type { HeadMetrics } from './types';

/** |i − j| ≤ LOCAL_WINDOW counts as local attention (a few tokens either side). */
export const LOCAL_WINDOW = 3;

/**
 * An argmax counts for the positional role only if it beats the runner-up by 5%: a head that
 * spreads evenly over i, i−1, i−2 has a tie, and "first of the tied keys" is not a preferred offset.
 */
export const CLEAR_ARGMAX_RATIO = 1.05;

/** Chance-corrected per-row averages for one role target: sum / rows, plus argmax hits. */
export interface RowStat {
  /** Σ over eligible rows of (o − b)/(1 − b). */
  corrected: number;
  /** Σ over eligible rows of the observed mass o. */
  observed: number;
  /** Σ over eligible rows of the baseline b. */
  baseline: number;
  rows: number;
  /** Eligible rows whose argmax key is in the target set. */
  argHits: number;
}

export interface HeadMeasure {
  metrics: HeadMetrics;
  notes: Partial<Record<keyof HeadMetrics, string>>;
  previous: RowStat;
  sink: RowStat;
  self: RowStat;
  local: RowStat;
  /** Mean over local rows of A[i, i+d] for d = −LOCAL_WINDOW..LOCAL_WINDOW. */
  offsetMass: Float64Array;
  punct: RowStat;
  dup: RowStat;
  ind: RowStat;
  bracket: RowStat;
  /** First-token mass restricted to the rows that have a duplicate / induction / bracket target:
   *  tells a real sink from a head that rests on the first token only when it has nothing to do. */
  sinkOnDup: RowStat;
  sinkOnInd: RowStat;
  sinkOnBracket: RowStat;
  /** Mean normalised entropy (same as metrics.entropy). */
  entropy: number;
  /** Argmax key of every row (scratch-owned: copy before the next head if you keep it). */
  argmax: Int32Array;
  /** Rows whose argmax is clear (scratch-owned). */
  clear: Uint8Array;
  /** Counts of clear argmax offsets: offsetHist[d + n − 1] (scratch-owned). */
  offsetHist: Int32Array;
}

// Slots of Scratch.row: one row's Σa, entropy −Σa·ln a, Σa·|i−j|, Σa·ns·|s_i−s_j|, Σa·ns, punctuation
// mass, largest weight, its key, the runner-up's key.
const ROW_S = 0,
  ROW_H = 1,
  ROW_D = 2,
  ROW_CD = 3,
  ROW_CW = 4,
  ROW_PM = 5,
  ROW_MX = 6,
  ROW_AM = 7,
  ROW_A1 = 8,
  ROW_SLOTS = 9;
// Slots of Scratch.sums: the per-head sums over rows that the metrics divide.
const SUM_A = 0,
  SUM_ENT = 1,
  SUM_ENT_ROWS = 2,
  SUM_DIST = 3,
  SUM_CHAR = 4,
  SUM_CHAR_ROWS = 5,
  SUM_PUNCT = 6,
  SUM_MAX = 7,
  SUM_TOP = 8,
  SUM_SLOTS = 9;

/** Reusable buffers so a head's pass allocates nothing per row. */
export class Scratch {
  argmax: Int32Array;
  offsetHist: Int32Array;
  top: Float64Array;
  rowPunct: Float64Array;
  /** 1 when the row's largest weight clearly beats the runner-up (CLEAR_ARGMAX_RATIO). */
  clear: Uint8Array;
  /** One row's sums from scanRowFast / scanRowGeneral (see ROW_*). */
  row: Float64Array;
  /** The head's sums over rows from mainPass (see SUM_*). */
  sums: Float64Array;
  /** lnCount[m] = ln m: an entropy row's normaliser, computed once per text rather than once per row per head. */
  lnCount: Float64Array;
  /** Per row: the runner-up's key, the 2nd and 3rd largest weights, Σ of the row (for the sink-aware pass, sinkAware.ts). */
  argmax2: Int32Array;
  second: Float64Array;
  third: Float64Array;
  rowSum: Float64Array;
  constructor(n: number, k: number) {
    this.argmax2 = new Int32Array(n);
    this.second = new Float64Array(n);
    this.third = new Float64Array(n);
    this.rowSum = new Float64Array(n);
    this.clear = new Uint8Array(n);
    this.rowPunct = new Float64Array(n);
    this.argmax = new Int32Array(n);
    this.offsetHist = new Int32Array(Math.max(1, 2 * n - 1));
    this.top = new Float64Array(Math.max(3, k));
    this.row = new Float64Array(ROW_SLOTS);
    this.sums = new Float64Array(SUM_SLOTS);
    this.lnCount = new Float64Array(n + 1);
    for (let m = 1; m <= n; m++) this.lnCount[m] = Math.log(m);
  }
}

// Natural log of a non-negative float32 from its bits: exponent·ln2 + ln(1 + mantissa) from a
// 4,097-entry table with linear interpolation (abs error < 1e-8; ~3× faster than Math.log, which
// dominated the pass). 0 maps to a finite −88.7 so a·ln(a) = 0 without a branch.
const LN_BITS = 12;
const LN_SHIFT = 23 - LN_BITS;
const LN_TABLE = new Float64Array((1 << LN_BITS) + 1);
for (let t = 0; t <= 1 << LN_BITS; t++) LN_TABLE[t] = Math.log1p(t / (1 << LN_BITS));
const LN_FRAC = 1 / (1 << LN_SHIFT);
const LN_MASK = (1 << LN_SHIFT) - 1;
export function fastLn(bits: number): number {
  const mant = bits & 0x7fffff;
  const t = mant >>> LN_SHIFT;
  const lo = LN_TABLE[t];
  return ((bits >>> 23) - 127) * Math.LN2 + lo + (LN_TABLE[t + 1] - lo) * ((mant & ((1 << LN_SHIFT) - 1)) * LN_FRAC);
}

const newStat = (): RowStat => ({ corrected: 0, observed: 0, baseline: 0, rows: 0, argHits: 0 });

function addRow(s: RowStat, o: number, b: number, hit: boolean): void {
  s.corrected += (o - b) / (1 - b);
  s.observed += o;
  s.baseline += b;
  s.rows++;
  if (hit) s.argHits++;
}

/** Mean of a RowStat's corrected score, NaN when no row was eligible. */
export function meanCorrected(s: RowStat): number {
  return s.rows > 0 ? s.corrected / s.rows : NaN;
}

/**
 * Mass of row i on its target set T; adds the chance-corrected row to `stat`. −1 = no targets.
 * When `tl` is given the same reads are also added, key by key, to tl[w] (the TransformerLens running
 * sum, whose pattern row is the same list): one gather where there were two.
 */
function targetMass(A: Float32Array, base: number, T: TargetLists, i: number, m: number, am: number, stat: RowStat, tl?: Float64Array, w = 0): number {
  const s0 = T.start[i],
    s1 = T.start[i + 1];
  if (s1 === s0) return -1;
  let o = 0,
    cnt = 0,
    hit = false;
  if (tl) {
    let t = tl[w];
    for (let p = s0; p < s1; p++) {
      const j = T.idx[p];
      const a = A[base + j];
      t += a;
      if (j >= m) continue; // not visible to this query
      o += a;
      cnt++;
      if (j === am) hit = true;
    }
    tl[w] = t;
  } else {
    for (let p = s0; p < s1; p++) {
      const j = T.idx[p];
      if (j >= m) continue; // not visible to this query
      o += A[base + j];
      cnt++;
      if (j === am) hit = true;
    }
  }
  if (cnt > 0 && cnt < m) addRow(stat, o, cnt / m, hit);
  return o;
}

// V8 note: every loop over rows lives in a function whose code after the loop is trivial, and each
// row's work is a function called once per row. A single big per-head function gets compiled by
// on-stack replacement during its first call, before the code after its first loop has run; that
// code then deoptimised on every later call and the second pass ran in the interpreter (measured:
// 157–360 ms per 144 heads, bimodal from run to run). Small functions called per row get compiled
// normally and stay compiled.

/**
 * A weight above the row's third largest so far: inserted into top[0..2] (descending) with its key, the
 * largest's key in out[ROW_AM] (the FIRST key holding it: ties do not move it) and the runner-up's in
 * out[ROW_A1]. Returns the new third largest. The three and their keys live in memory, not in locals of
 * the row loop: only the threshold is carried from weight to weight, and the loop's common path (no
 * insert: ~97% of the weights of real heads) no longer shuffles five registers (−14% per row scan).
 */
function topInsert(top: Float64Array, out: Float64Array, a: number, j: number): number {
  if (a > top[1]) {
    top[2] = top[1];
    if (a > top[0]) {
      top[1] = top[0];
      out[ROW_A1] = out[ROW_AM];
      top[0] = a;
      out[ROW_AM] = j;
    } else {
      top[1] = a;
      out[ROW_A1] = j;
    }
  } else top[2] = a;
  return top[2];
}

/** Empty top-3 state for a row: no weights yet (−1), the largest's key 0 and no runner-up (−1). */
function resetTop(top: Float64Array, out: Float64Array): void {
  top[0] = -1;
  top[1] = -1;
  top[2] = -1;
  out[ROW_AM] = 0;
  out[ROW_A1] = -1;
}

/**
 * One row when span starts are monotone: keys j ≤ i then j > i, so |i − j| and |s_i − s_j| lose their
 * abs: d = i·Σa − Σa·j and cd = s_i·Σa·ns − Σa·ns·s on the left, mirrored on the right. Writes the
 * row's sums to `out` (ROW_*) and its 3 largest weights, descending, to `top`.
 */
// Stays whole: one pass over a row with every accumulator in registers; split, it would cost a call per element.
function scanRowFast(
  A: Float32Array,
  bits: Int32Array,
  i: number,
  n: number,
  end: number,
  starts: Float64Array,
  specials: Int32Array,
  punctIdx: Int32Array,
  punctBefore: Int32Array,
  top: Float64Array,
  out: Float64Array,
): void {
  const base = i * n;
  const si = starts[i];
  let s = 0,
    h = 0,
    d = 0,
    cd = 0,
    cw = 0,
    pm = 0;
  // The 3 largest weights in top (topInsert); thr is the third of them.
  resetTop(top, out);
  let thr = -1;
  for (let half = 0; half < 2; half++) {
    const j0 = half === 0 ? 0 : i + 1;
    const j1 = half === 0 ? i + 1 : end;
    let hs = 0,
      hj = 0,
      hc = 0;
    for (let j = j0; j < j1; j++) {
      const a = A[base + j];
      hs += a;
      const b = bits[base + j];
      const mant = b & 0x7fffff;
      const t = mant >>> LN_SHIFT;
      const lo = LN_TABLE[t];
      h -= a * (((b >>> 23) - 127) * Math.LN2 + lo + (LN_TABLE[t + 1] - lo) * ((mant & LN_MASK) * LN_FRAC));
      hj += a * j;
      hc += a * starts[j]; // starts are 0 for specials: this is Σ a·ns·s
      if (a > thr) thr = topInsert(top, out, a, j); // rarely taken once the three are warm
    }
    // Σ a·ns over this half = Σ a minus the (few) special keys' mass.
    let hw = hs;
    for (let q = 0; q < specials.length; q++) {
      const j = specials[q];
      if (j >= j0 && j < j1) hw -= A[base + j];
    }
    // Punctuation mass by index: punctuation tokens are a minority of the keys. punctIdx[q0..q1) are
    // the ones in [j0, j1); four partial sums so the adds don't wait on each other (the gather was
    // bound by one add chain: ~8 ms of 144 heads when half the tokens are punctuation).
    const q1 = punctBefore[j1];
    let q = punctBefore[j0],
      p0 = 0,
      p1 = 0,
      p2 = 0,
      p3 = 0;
    for (; q + 3 < q1; q += 4) {
      p0 += A[base + punctIdx[q]];
      p1 += A[base + punctIdx[q + 1]];
      p2 += A[base + punctIdx[q + 2]];
      p3 += A[base + punctIdx[q + 3]];
    }
    for (; q < q1; q++) p0 += A[base + punctIdx[q]];
    pm += p0 + p1 + (p2 + p3);
    s += hs;
    cw += hw;
    if (half === 0) {
      d += i * hs - hj;
      cd += si * hw - hc;
    } else {
      d += hj - i * hs;
      cd += hc - si * hw;
    }
    if (j1 >= end) break;
  }
  out[ROW_S] = s;
  out[ROW_H] = h;
  out[ROW_D] = d;
  out[ROW_CD] = cd;
  out[ROW_CW] = cw;
  out[ROW_PM] = pm;
  out[ROW_MX] = top[0];
}

/** One row, any span order (the straightforward sums); same outputs as scanRowFast. */
function scanRowGeneral(A: Float32Array, bits: Int32Array, i: number, n: number, end: number, ctx: TextContext, top: Float64Array, out: Float64Array): void {
  const { nonSpecial, starts, punct } = ctx;
  const base = i * n;
  const si = starts[i];
  let s = 0,
    h = 0,
    d = 0,
    cd = 0,
    cw = 0,
    pm = 0;
  resetTop(top, out);
  let thr = -1;
  for (let j = 0; j < end; j++) {
    const a = A[base + j];
    s += a;
    h -= a * fastLn(bits[base + j]);
    d += a * (i > j ? i - j : j - i);
    const ns = nonSpecial[j];
    const dc = si - starts[j];
    cd += a * ns * (dc > 0 ? dc : -dc);
    cw += a * ns;
    pm += a * punct[j];
    if (a > thr) thr = topInsert(top, out, a, j);
  }
  out[ROW_S] = s;
  out[ROW_H] = h;
  out[ROW_D] = d;
  out[ROW_CD] = cd;
  out[ROW_CW] = cw;
  out[ROW_PM] = pm;
  out[ROW_MX] = top[0];
}

/** The k > 3 largest weights of a row, descending, into `top` (only for a caller's topK above 3). */
function topOfRow(A: Float32Array, base: number, end: number, top: Float64Array, k: number): void {
  for (let t = 0; t < k; t++) top[t] = -1;
  let topMin = -1;
  for (let j = 0; j < end; j++) {
    const a = A[base + j];
    if (a > topMin) {
      let p = k - 1;
      while (p > 0 && top[p - 1] < a) {
        top[p] = top[p - 1];
        p--;
      }
      top[p] = a;
      topMin = top[k - 1];
    }
  }
}

/** Every row's scan, summed into scratch.sums (SUM_*); per-row argmax, clear and punctuation mass into scratch. */
function mainPass(A: Float32Array, ctx: TextContext, scratch: Scratch, kUser: number, k: number): void {
  const n = ctx.n;
  const causal = ctx.causal;
  const { nonSpecial, starts, specialIdx, punctIdx, punctBefore } = ctx;
  const { argmax, top, rowPunct, clear, row, sums, lnCount, argmax2, second, third, rowSum } = scratch;
  const bits = new Int32Array(A.buffer, A.byteOffset, A.length);
  const fast = ctx.startsMonotone;
  sums.fill(0);
  for (let i = 0; i < n; i++) {
    const end = causal ? i + 1 : n;
    if (fast) scanRowFast(A, bits, i, n, end, starts, specialIdx, punctIdx, punctBefore, top, row);
    else scanRowGeneral(A, bits, i, n, end, ctx, top, row);
    argmax2[i] = row[ROW_A1];
    second[i] = top[1];
    third[i] = top[2];
    rowSum[i] = row[ROW_S];
    if (k > 3) topOfRow(A, i * n, end, top, k);
    argmax[i] = row[ROW_AM];
    sums[SUM_A] += row[ROW_S];
    if (end >= 2) {
      sums[SUM_ENT] += row[ROW_H] / lnCount[end];
      sums[SUM_ENT_ROWS]++;
    }
    sums[SUM_DIST] += row[ROW_D];
    if (nonSpecial[i] === 1 && row[ROW_CW] > 0) {
      sums[SUM_CHAR] += row[ROW_CD] / row[ROW_CW];
      sums[SUM_CHAR_ROWS]++;
    }
    sums[SUM_PUNCT] += row[ROW_PM];
    rowPunct[i] = row[ROW_PM];
    sums[SUM_MAX] += row[ROW_MX];
    let tk = 0;
    for (let t = 0; t < kUser; t++) if (top[t] > 0) tk += top[t];
    clear[i] = top[0] > CLEAR_ARGMAX_RATIO * Math.max(0, top[1]) ? 1 : 0;
    sums[SUM_TOP] += tk;
  }
}

/** The targeted reads' accumulators for one head. */
class TargetAcc {
  previous = newStat();
  sink = newStat();
  self = newStat();
  local = newStat();
  punct = newStat();
  dup = newStat();
  ind = newStat();
  bracket = newStat();
  sinkOnDup = newStat();
  sinkOnInd = newStat();
  sinkOnBracket = newStat();
  offsetMass = new Float64Array(2 * LOCAL_WINDOW + 1);
  sinkSum = 0;
  selfSum = 0;
  prevSum = 0;
  dupMass = 0;
  dupRows = 0;
  indMass = 0;
  indRows = 0;
  /** TransformerLens running sums Σ A ⊙ P: [TL_DUP] duplicate, [TL_IND] induction. */
  tl = new Float64Array(2);
  /** dupIndMass's row results (−1 = no targets), as targetMass returns them. */
  rowDup = 0;
  rowInd = 0;
}

/**
 * targetMass for the duplicate list and the induction list of a row whose induction targets are its
 * duplicate targets + 1 (ctx.indAfterDup): one walk, adjacent reads. Same sums in the same order.
 */
function dupIndMass(A: Float32Array, base: number, T: TargetLists, i: number, m: number, am: number, acc: TargetAcc, tl: Float64Array | undefined): void {
  const s0 = T.start[i],
    s1 = T.start[i + 1];
  if (s1 === s0) {
    acc.rowDup = -1;
    acc.rowInd = -1;
    return;
  }
  let od = 0,
    cd = 0,
    hd = false,
    oi = 0,
    ci = 0,
    hi = false;
  let td = tl ? tl[TL_DUP] : 0,
    ti = tl ? tl[TL_IND] : 0;
  for (let p = s0; p < s1; p++) {
    const j = T.idx[p];
    const a = A[base + j],
      b = A[base + j + 1];
    td += a;
    ti += b;
    if (j < m) {
      // visible to this query
      od += a;
      cd++;
      if (j === am) hd = true;
    }
    if (j + 1 < m) {
      oi += b;
      ci++;
      if (j + 1 === am) hi = true;
    }
  }
  if (tl) {
    tl[TL_DUP] = td;
    tl[TL_IND] = ti;
  }
  if (cd > 0 && cd < m) addRow(acc.dup, od, cd / m, hd);
  if (ci > 0 && ci < m) addRow(acc.ind, oi, ci / m, hi);
  acc.rowDup = od;
  acc.rowInd = oi;
}
const TL_DUP = 0,
  TL_IND = 1;

/** Row i's targeted reads (previous, self, sink, window, copies, brackets): O(few) per row. */
function targetRow(A: Float32Array, ctx: TextContext, i: number, am: number, clearI: number, rowPunctI: number, hist: Int32Array, acc: TargetAcc): void {
  const n = ctx.n;
  const causal = ctx.causal;
  const base = i * n;
  const m = causal ? i + 1 : n;
  const { tlDup, tlInd } = ctx;
  acc.sinkSum += A[base];
  acc.selfSum += A[base + i];
  if (i >= 1) acc.prevSum += A[base + i - 1];
  // Where the role lists equal TransformerLens' (every non-special query), the TL sums ride along
  // with the role reads below; otherwise (and for a row that returns early) they are read here.
  const shared = ctx.tlShared[i] === 1 && m >= 2;
  if (!shared) {
    const tl = acc.tl;
    let tlD = tl[TL_DUP];
    for (let p = tlDup.start[i]; p < tlDup.start[i + 1]; p++) tlD += A[base + tlDup.idx[p]];
    tl[TL_DUP] = tlD;
    let tlI = tl[TL_IND];
    for (let p = tlInd.start[i]; p < tlInd.start[i + 1]; p++) tlI += A[base + tlInd.idx[p]];
    tl[TL_IND] = tlI;
  }
  if (m < 2) return; // one visible key: nothing to choose, no evidence either way
  const b1 = 1 / m;
  if (clearI === 1) hist[am - i + n - 1]++; // ties (a head spreading evenly) pick no offset
  if (i >= 1) {
    addRow(acc.previous, A[base + i - 1], b1, am === i - 1);
    addRow(acc.sink, A[base], b1, am === 0);
  }
  addRow(acc.self, A[base + i], b1, am === i);

  const lo = Math.max(0, i - LOCAL_WINDOW);
  const hiV = causal ? i : Math.min(n - 1, i + LOCAL_WINDOW);
  const cnt = hiV - lo + 1;
  if (cnt < m) {
    let w = 0;
    const offsetMass = acc.offsetMass;
    for (let j = lo; j <= hiV; j++) {
      const a = A[base + j];
      w += a;
      offsetMass[j - i + LOCAL_WINDOW] += a;
    }
    addRow(acc.local, w, cnt / m, am >= lo && am <= hiV);
  }

  const pc = causal ? ctx.punctBefore[i + 1] : ctx.punctBefore[n];
  if (pc > 0 && pc < m) {
    addRow(acc.punct, rowPunctI, pc / m, ctx.punct[am] === 1);
  }

  const tlShared = shared ? acc.tl : undefined;
  let od: number, oi: number;
  if (ctx.indAfterDup[i] === 1) {
    dupIndMass(A, base, ctx.dup, i, m, am, acc, tlShared);
    od = acc.rowDup;
    oi = acc.rowInd;
  } else {
    od = targetMass(A, base, ctx.dup, i, m, am, acc.dup, tlShared, TL_DUP);
    oi = targetMass(A, base, ctx.ind, i, m, am, acc.ind, tlShared, TL_IND);
  }
  if (od >= 0) {
    acc.dupMass += od;
    acc.dupRows++;
    if (i >= 1) addRow(acc.sinkOnDup, A[base], b1, am === 0);
  }
  if (oi >= 0) {
    acc.indMass += oi;
    acc.indRows++;
    if (i >= 1) addRow(acc.sinkOnInd, A[base], b1, am === 0);
  }
  if (targetMass(A, base, ctx.brackets, i, m, am, acc.bracket) >= 0 && i >= 1) addRow(acc.sinkOnBracket, A[base], b1, am === 0);
}

function targetPass(A: Float32Array, ctx: TextContext, scratch: Scratch, acc: TargetAcc): void {
  const { argmax, clear, rowPunct, offsetHist } = scratch;
  offsetHist.fill(0);
  for (let i = 0; i < ctx.n; i++) targetRow(A, ctx, i, argmax[i], clear[i], rowPunct[i], offsetHist, acc);
}

/**
 * Measure one head. `A` is the n×n row-major matrix (rows = queries). `topK` = how many largest
 * weights per row the concentration metric sums.
 */
export function measureHead(A: Float32Array, ctx: TextContext, scratch: Scratch, topK = 3): HeadMeasure {
  const n = ctx.n;
  const kUser = Math.max(1, Math.min(topK, n));
  // Track at least the two largest weights: positional needs to know whether the argmax is clear.
  const k = Math.max(2, kUser);
  mainPass(A, ctx, scratch, kUser, k);
  const acc = new TargetAcc();
  targetPass(A, ctx, scratch, acc);

  const sums = scratch.sums;
  const entRows = sums[SUM_ENT_ROWS],
    charRows = sums[SUM_CHAR_ROWS],
    sumA = sums[SUM_A];
  const { dupRows, indRows, prevSum } = acc;
  const entropy = entRows > 0 ? sums[SUM_ENT] / entRows : NaN;
  const notes: HeadMeasure['notes'] = {};
  if (entRows === 0) notes.entropy = 'every row has a single visible key';
  if (charRows === 0) notes.charDistance = 'no query with a source span attends to a token with one';
  if (dupRows === 0) notes.duplicate = 'no token of the text repeats an earlier one';
  if (indRows === 0) notes.induction = 'no token of the text repeats an earlier one';
  const probeNote = 'no repeat-probe attention was given';
  notes.probeInduction = probeNote;
  notes.probeDuplicate = probeNote;
  notes.probePrevious = probeNote;

  const metrics: HeadMetrics = {
    entropy,
    distance: sums[SUM_DIST] / n,
    charDistance: charRows > 0 ? sums[SUM_CHAR] / charRows : NaN,
    sink: acc.sinkSum / n,
    self: acc.selfSum / n,
    previous: prevSum / n,
    punctuation: sums[SUM_PUNCT] / n,
    duplicate: dupRows > 0 ? acc.dupMass / dupRows : NaN,
    induction: indRows > 0 ? acc.indMass / indRows : NaN,
    maxWeight: sums[SUM_MAX] / n,
    topK: sums[SUM_TOP] / n,
    // TransformerLens detect_head, error_measure "mul", no exclusions: Σ(A ⊙ P) / Σ A.
    tlPrevious: prevSum / sumA,
    tlDuplicate: acc.tl[TL_DUP] / sumA,
    tlInduction: acc.tl[TL_IND] / sumA,
    probeInduction: NaN,
    probeDuplicate: NaN,
    probePrevious: NaN,
  };
  return {
    metrics,
    notes,
    previous: acc.previous,
    sink: acc.sink,
    self: acc.self,
    local: acc.local,
    offsetMass: acc.offsetMass,
    punct: acc.punct,
    dup: acc.dup,
    ind: acc.ind,
    bracket: acc.bracket,
    sinkOnDup: acc.sinkOnDup,
    sinkOnInd: acc.sinkOnInd,
    sinkOnBracket: acc.sinkOnBracket,
    entropy,
    argmax: scratch.argmax,
    clear: scratch.clear,
    offsetHist: scratch.offsetHist,
  };
}
