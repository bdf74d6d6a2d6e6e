// Model-level probe: a random token sequence repeated twice (Olsson et al. 2022). A head that
// attends from the second copy of r_k to r_{k+1} in the first copy is doing induction; to r_k
// itself, duplicate-token. The engine runs the probe once per model and caches the attention.
import type { AttentionSet } from '../core/attention';
import { asReader, type HeadReader } from './heads';
import { mulberry32, randInt } from '../core/prng';
import { addRest, newRestStat, restScore, type RestStat } from './sinkAware';

export interface ProbeVocab {
  size: number;
  /** Ids never drawn (BOS/EOS/PAD/UNK…). */
  specialIds: number[];
  /** Prepended when given (GPT-2 style models are usually run with a BOS). */
  bosId?: number;
}

/**
 * [BOS?] r_1..r_T r_1..r_T with r drawn by a seeded PRNG from [0, size) minus `specialIds` — for synthetic
 * attention (tests, dumps). A real model's probe draws ordinary tokens only: see engine/probeIds.ts. The r_k are distinct when the
 * vocabulary allows, so the only repeats are the planted ones and every pattern is unambiguous.
 */
export function makeRepeatProbe(vocab: ProbeVocab, T: number, seed: number): number[] {
  if (!Number.isInteger(T) || T < 2) throw new RangeError(`repeat probe length must be an integer ≥ 2, got ${T}`);
  const banned = new Set(vocab.specialIds);
  if (vocab.bosId !== undefined) banned.add(vocab.bosId);
  const usable = vocab.size - [...banned].filter((id) => id >= 0 && id < vocab.size).length;
  if (usable < 2) throw new RangeError('vocabulary has fewer than 2 ordinary tokens');
  const distinct = usable >= T;
  const rng = mulberry32(seed);
  const r: number[] = [];
  const used = new Set<number>();
  while (r.length < T) {
    const id = randInt(rng, vocab.size);
    if (banned.has(id) || (distinct && used.has(id))) continue;
    used.add(id);
    r.push(id);
  }
  return [...(vocab.bosId !== undefined ? [vocab.bosId] : []), ...r, ...r];
}

export interface ProbeHeadScore {
  layer: number;
  head: number;
  /** Olsson et al.: mean over second-copy queries i of A[i, i − T + 1]. */
  induction: number;
  /** Mean over second-copy queries i of A[i, i − T]. */
  duplicate: number;
  /** TransformerLens previous-token score on the probe: Σ_{i≥1} A[i, i−1] / Σ A. */
  previous: number;
  /** Chance-corrected versions: mean of (a − 1/m)/(1 − 1/m), m = keys visible to query i. */
  inductionCorrected: number;
  duplicateCorrected: number;
  /** Number of second-copy queries (= T). */
  rows: number;
  T: number;
  /**
   * Sink-aware versions (TransformerLens' exclude_bos idea): the first token's column removed and each
   * row renormalised over the rest, chance-corrected against the remaining keys, rows weighted by the
   * mass they keep. A head that parks 70% on the first token and spends the rest on the earlier copy
   * scores ~1 here and ~0.3 above.
   */
  inductionRest: number;
  duplicateRest: number;
  /** TransformerLens previous-token score with column 0 zeroed: Σ_{i≥2} A[i, i−1] / Σ_{j≥1} A. */
  previousRest: number;
  /** Mean over second-copy queries of the mass not on the first token (what the *Rest scores rest on). */
  restMass: number;
  /** What the probe was, in words, for the evidence (set by whoever ran it). */
  about?: string;
}

/** Row i's sink-aware reading of one probe target: the first token (the sink) set aside; nothing when the target is the sink. */
function addProbeRest(stat: RestStat, a: number, r: number, mRest: number, target: number): void {
  if (target < 1 || mRest < 2) return; // the target is the sink itself, or nothing to choose between
  addRest(stat, a, r, 1 / mRest, false);
}

/** Score every head on the probe's attention. `ids` is what makeRepeatProbe returned. */
export function scoreRepeatProbe(attention: AttentionSet | HeadReader, ids: ArrayLike<number>, T: number): ProbeHeadScore[] {
  const att = asReader(attention);
  const n = att.seq;
  if (ids.length !== n) throw new RangeError(`probe has ${ids.length} ids but the attention covers ${n} tokens`);
  const o = n - 2 * T;
  if (o < 0 || o > 1) throw new RangeError(`expected [BOS?] + 2·T tokens, got ${n} for T = ${T}`);
  const out: ProbeHeadScore[] = [];
  for (let layer = 0; layer < att.layers; layer++) {
    for (let head = 0; head < att.headsPerLayer; head++) {
      const A = att.head(layer, head);
      let ind = 0,
        dup = 0,
        indC = 0,
        dupC = 0,
        prev = 0,
        sum = 0,
        prevX = 0,
        col0 = 0;
      for (let i = 0; i < n; i++) {
        const end = att.causal ? i + 1 : n;
        for (let j = 0; j < end; j++) sum += A[i * n + j];
        if (i >= 1) prev += A[i * n + i - 1];
        if (i >= 2) prevX += A[i * n + i - 1];
        col0 += A[i * n];
      }
      const sumX = sum - col0;
      const indX = newRestStat(),
        dupX = newRestStat();
      let rest = 0;
      for (let i = o + T; i < n; i++) {
        const m = att.causal ? i + 1 : n;
        const b = 1 / m;
        const ai = A[i * n + i - T + 1];
        const ad = A[i * n + i - T];
        ind += ai;
        dup += ad;
        indC += (ai - b) / (1 - b);
        dupC += (ad - b) / (1 - b);
        let rowSum = 0;
        for (let j = 0; j < m; j++) rowSum += A[i * n + j];
        const r = rowSum - A[i * n];
        rest += r;
        addProbeRest(indX, ai, r, m - 1, i - T + 1);
        addProbeRest(dupX, ad, r, m - 1, i - T);
      }
      out.push({
        layer,
        head,
        induction: ind / T,
        duplicate: dup / T,
        previous: prev / sum,
        inductionCorrected: indC / T,
        duplicateCorrected: dupC / T,
        rows: T,
        T,
        inductionRest: restScore(indX),
        duplicateRest: restScore(dupX),
        previousRest: sumX > 0 ? prevX / sumX : NaN,
        restMass: rest / T,
      });
    }
  }
  return out;
}
