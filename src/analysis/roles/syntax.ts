// Syntax roles: a head scored against the gold edges and target sets of src/analysis/syntax/ (a parse for
// code, a tagger for prose). Not rows of the role table (index.ts): which of these roles exist depends on what
// the parse or the tagger found in the text, and every relation is scored the same way.
//
// Relations (ast-parent, bracket-pair, def-use, block-opener, determiner-noun, adjective-noun) are scored
// as Clark et al. 2019 score BERT: accuracy = the share of dependents whose most-attended key is the gold
// token, against the best fixed relative offset for the same dependents. Sink-aware like sinkAware.ts: the
// argmax is over the keys that are not sinks (the first token, [CLS]/[SEP]/BOS), counts only when it
// clearly beats the next non-sink key (ties are no choice), and needs the head to keep MIN_REST_MASS off
// the sinks. Mass roles (keyword, sentiment) are chance-corrected like measure.ts (0 = uniform over the
// visible keys), on whole rows and on the rest of each row (sinkAware.ts); rare-token (Voita et al. 2019) is
// the chance-corrected share of rows whose argmax is the rarest visible token.
import type { TextContext } from '../context';
import type { Scratch } from '../measure';
import { restEnough, type RestMeasure } from '../sinkAware';
import type { SyntaxInfo } from '../syntax/types';
import { MASS_THRESHOLD, MIN_POSITIONAL_ROWS, MIN_RELATION_DEPENDENTS, MIN_REST_MASS, MIN_ROWS, RELATION_ACCURACY, RELATION_MARGIN } from '../thresholds';
import type { Role, RoleCandidate, RoleName } from '../types';
import { clamp01, pct, show } from './decision';

const signed = (d: number): string => (d > 0 ? `+${d}` : `${d}`);

export interface PreparedRelation {
  name: RoleName;
  what: string;
  /** Query tokens scored and each one's gold key (after reversal in causal models). */
  queries: Int32Array;
  gold: Int32Array;
  baseline: number;
  baselineOffset: number;
  /** Pairs read later → earlier because the model is causal. */
  reversed: boolean;
  partial: boolean;
}

interface PreparedMass {
  name: RoleName;
  what: string;
  idx: Int32Array;
  count: Int32Array;
}

export interface PreparedSyntax {
  info: SyntaxInfo;
  relations: PreparedRelation[];
  masses: PreparedMass[];
  /** Per row: the rarity of the rarest visible non-sink key (NaN when the row is not eligible), and the chance a uniform argmax lands on a key of that rarity. */
  rarest?: Float64Array;
  rareChance?: Float64Array;
}

/** Non-sink keys query i sees. */
function restKeys(ctx: TextContext, i: number): number {
  const end = ctx.causal ? i + 1 : ctx.n;
  let k = 0;
  for (let q = 0; q < ctx.sinkIdx.length && ctx.sinkIdx[q] < end; q++) k++;
  return end - k;
}

/** A relation's eligible dependents (each query's nearest gold key, reversed where the model is causal) and its best fixed offset. */
function prepareRelation(rel: SyntaxInfo['relations'][number], ctx: TextContext): PreparedRelation {
  const n = ctx.n;
  const byQuery = new Map<number, number>();
  let reversed = false;
  for (let d = 0; d < n; d++) {
    const g = rel.gold[d];
    if (g < 0 || g === d) continue;
    let q = d,
      k = g;
    if (ctx.causal && g > d) {
      if (!rel.reversible) continue;
      q = g;
      k = d;
      reversed = true;
    }
    if (ctx.sink[q] === 1 || ctx.sink[k] === 1 || restKeys(ctx, q) < 2) continue;
    const had = byQuery.get(q);
    if (had === undefined || Math.abs(k - q) < Math.abs(had - q)) byQuery.set(q, k);
  }
  const queries = Int32Array.from([...byQuery.keys()].sort((a, b) => a - b));
  const gold = Int32Array.from(queries, (q) => byQuery.get(q)!);
  const offsets = new Map<number, number>();
  let best = 0,
    bestOff = 0;
  queries.forEach((q, p) => {
    const o = gold[p] - q;
    const c = (offsets.get(o) ?? 0) + 1;
    offsets.set(o, c);
    if (c > best || (c === best && Math.abs(o) < Math.abs(bestOff))) {
      best = c;
      bestOff = o;
    }
  });
  return {
    name: rel.name,
    what: reversed && rel.whatBack ? rel.whatBack : rel.what,
    queries,
    gold,
    baseline: queries.length ? best / queries.length : 0,
    baselineOffset: bestOff,
    reversed,
    partial: !!rel.partial,
  };
}

/** A target set's non-sink members, and their running count (count[e]: members among keys 0 … e − 1). */
function prepareMass(m: SyntaxInfo['masses'][number], ctx: TextContext): PreparedMass {
  const n = ctx.n;
  const list: number[] = [];
  for (let j = 0; j < n; j++) if (m.target[j] === 1 && ctx.sink[j] === 0) list.push(j);
  const count = new Int32Array(n + 1);
  for (let j = 0; j < n; j++) count[j + 1] = count[j] + (m.target[j] === 1 && ctx.sink[j] === 0 ? 1 : 0);
  return { name: m.name, what: m.what, idx: Int32Array.from(list), count };
}

/** Per row: the rarity of the rarest visible non-sink key (NaN where the row is not eligible). */
function rarestPerRow(r: Float64Array, ctx: TextContext): Float64Array {
  const n = ctx.n;
  const rarest = new Float64Array(n).fill(NaN);
  if (ctx.causal) {
    let mx = NaN;
    for (let i = 0; i < n; i++) {
      if (ctx.sink[i] === 0 && Number.isFinite(r[i]) && !(r[i] <= mx)) mx = r[i];
      if (ctx.sink[i] === 0 && restKeys(ctx, i) >= 2) rarest[i] = mx;
    }
  } else {
    let mx = NaN;
    for (let j = 0; j < n; j++) if (ctx.sink[j] === 0 && Number.isFinite(r[j]) && !(r[j] <= mx)) mx = r[j];
    for (let i = 0; i < n; i++) if (ctx.sink[i] === 0 && restKeys(ctx, i) >= 2) rarest[i] = mx;
  }
  return rarest;
}

/**
 * Per row: the chance a uniform argmax over the visible non-sink keys lands on one of the rarest rank. Clears
 * `rarest[i]` (to NaN) where every visible key is of that rank.
 */
function rareChancePerRow(rarest: Float64Array, r: Float64Array, ctx: TextContext): Float64Array {
  const n = ctx.n;
  const rareChance = new Float64Array(n);
  const tiedBy = new Map<number, number>();
  let mRest = 0;
  const all = !ctx.causal;
  if (all)
    for (let j = 0; j < n; j++)
      if (ctx.sink[j] === 0) {
        mRest++;
        tiedBy.set(r[j], (tiedBy.get(r[j]) ?? 0) + 1);
      }
  for (let i = 0; i < n; i++) {
    if (!all && ctx.sink[i] === 0) {
      mRest++;
      tiedBy.set(r[i], (tiedBy.get(r[i]) ?? 0) + 1);
    }
    if (!Number.isFinite(rarest[i])) continue;
    const tied = tiedBy.get(rarest[i]) ?? 0;
    // Every visible key is of the rarest rank (one repeated token): nothing to choose against.
    if (tied >= mRest) rarest[i] = NaN;
    else rareChance[i] = tied / mRest;
  }
  return rareChance;
}

/** Per text, once: each relation's eligible dependents and baseline, each target set's index list. */
export function prepareSyntax(info: SyntaxInfo, ctx: TextContext): PreparedSyntax {
  const n = ctx.n;
  if (info.tokenSyntax.length !== n) throw new RangeError(`syntax covers ${info.tokenSyntax.length} tokens, the text has ${n}`);
  const relations = info.relations.map((rel) => prepareRelation(rel, ctx));
  const masses = info.masses.map((m) => prepareMass(m, ctx));
  const rarest = info.rarity ? rarestPerRow(info.rarity, ctx) : undefined;
  const rareChance = rarest && info.rarity ? rareChancePerRow(rarest, info.rarity, ctx) : undefined;
  return { info, relations, masses, rarest, rareChance };
}

interface Decision {
  candidate: RoleCandidate;
  role?: Role;
}

function relationDecision(p: PreparedRelation, A: Float32Array, ctx: TextContext, rest: RestMeasure): Decision {
  const base: RoleCandidate = {
    name: p.name,
    score: 0,
    threshold: Math.max(RELATION_ACCURACY, p.baseline + RELATION_MARGIN),
    measurable: false,
    source: 'text',
  };
  const count = p.queries.length;
  if (count < MIN_RELATION_DEPENDENTS) return { candidate: { ...base, reason: `too few dependents in this text (${count}, need ${MIN_RELATION_DEPENDENTS})` } };
  if (!restEnough(rest.restMass))
    return {
      candidate: {
        ...base,
        reason: `keeps ${pct(rest.restMass)} of its attention off the sinks (need ${pct(MIN_REST_MASS)}) — too little to read a choice from`,
      },
    };
  let hits = 0,
    ex = -1;
  for (let p2 = 0; p2 < count; p2++) {
    const q = p.queries[p2],
      g = p.gold[p2];
    if (rest.argmax[q] !== g || rest.clear[q] !== 1) continue;
    hits++;
    // The example: prefer an edge that is not at the baseline offset (it shows what the offset cannot).
    if (ex < 0 || (p.gold[ex] - p.queries[ex] === p.baselineOffset && g - q !== p.baselineOffset)) ex = p2;
  }
  const accuracy = hits / count;
  const relation = { accuracy, baseline: p.baseline, baselineOffset: p.baselineOffset, count, ...(p.partial ? { partial: true } : {}) };
  const candidate: RoleCandidate = { ...base, score: accuracy, measurable: true, relation };
  if (accuracy < base.threshold) return { candidate };
  const q = p.queries[ex],
    k = p.gold[ex];
  const dir = p.reversed ? ' (read from the later token back, as the model is causal)' : '';
  const sentence = `its strongest non-sink key is ${p.what}${dir} for ${pct(accuracy)} of ${count} dependents (the best fixed offset, ${signed(p.baselineOffset)}, gets ${pct(p.baseline)})${p.partial ? '; the parse had errors, so only what parsed was scored' : ''} — e.g. ${show(ctx.tokens[q].text)} → ${show(ctx.tokens[k].text)}`;
  const role: Role = {
    name: p.name,
    score: accuracy,
    threshold: base.threshold,
    source: 'text',
    relation,
    evidence: { sentence, example: { query: q, key: k, queryText: ctx.tokens[q].text, keyText: ctx.tokens[k].text, weight: A[q * ctx.n + k] } },
  };
  return { candidate, role };
}

/** One target set's sums over a head's rows: whole rows, and the rest of each row off the sinks (with the argmax example). */
interface MassTally {
  rows: number;
  corrected: number;
  observed: number;
  baseline: number;
  argHits: number;
  rRows: number;
  rNum: number;
  rWeight: number;
  rObs: number;
  rBase: number;
  exQ: number;
  exK: number;
}

function massTally(m: PreparedMass, A: Float32Array, ctx: TextContext, rest: RestMeasure, rowSum: Float64Array): MassTally {
  const n = ctx.n;
  let rows = 0,
    corrected = 0,
    observed = 0,
    baseline = 0,
    argHits = 0;
  let rRows = 0,
    rNum = 0,
    rWeight = 0,
    rObs = 0,
    rBase = 0;
  let exQ = -1,
    exK = -1;
  for (let i = 0; i < n; i++) {
    if (ctx.sink[i] === 1) continue;
    const end = ctx.causal ? i + 1 : n;
    const t = m.count[end];
    const base = i * n;
    let o = 0;
    for (let p = 0; p < m.idx.length && m.idx[p] < end; p++) o += A[base + m.idx[p]];
    if (t > 0 && t < end) {
      const b = t / end;
      rows++;
      corrected += (o - b) / (1 - b);
      observed += o;
      baseline += b;
    }
    let s = 0,
      ks = 0;
    for (let q = 0; q < ctx.sinkIdx.length && ctx.sinkIdx[q] < end; q++) {
      s += A[base + ctx.sinkIdx[q]];
      ks++;
    }
    const mRest = end - ks;
    if (t > 0 && t < mRest && mRest >= 2) {
      const r = rowSum[i] - s;
      const b = t / mRest;
      rRows++;
      rNum += (o - b * r) / (1 - b);
      rWeight += r;
      rObs += o;
      rBase += b * r;
      const am = rest.argmax[i];
      if (am >= 0 && m.count[am + 1] - m.count[am] === 1) {
        argHits++;
        if (exQ < 0 || (exK === exQ && am !== i)) {
          exQ = i;
          exK = am;
        }
      }
    }
  }
  return { rows, corrected, observed, baseline, argHits, rRows, rNum, rWeight, rObs, rBase, exQ, exK };
}

function massDecision(m: PreparedMass, A: Float32Array, ctx: TextContext, rest: RestMeasure, rowSum: Float64Array): Decision {
  const n = ctx.n;
  const { rows, corrected, observed, baseline, argHits, rRows, rNum, rWeight, rObs, rBase, exQ, exK } = massTally(m, A, ctx, rest, rowSum);
  const measurable = rows >= MIN_ROWS;
  const whole = measurable ? clamp01(corrected / rows) : 0;
  const candidate: RoleCandidate = { name: m.name, score: whole, threshold: MASS_THRESHOLD, measurable, source: 'text' };
  let sentence = `puts ${pct(observed / Math.max(1, rows))} of its attention on ${m.what} (a uniform head would put ${pct(baseline / Math.max(1, rows))}); one of them is its top non-sink choice for ${pct(argHits / Math.max(1, rRows))} of ${rRows} queries`;
  const restOk = rRows >= MIN_ROWS && rWeight > 0 && restEnough(rest.restMass);
  if (restOk) {
    const rs = clamp01(rNum / rWeight);
    candidate.rest = { score: rs, mass: rest.restMass };
    if (!(measurable && whole >= MASS_THRESHOLD) && rs >= MASS_THRESHOLD) {
      candidate.score = rs;
      candidate.measurable = true;
      sentence = `parks ${pct(rest.sinkMass)} of its attention on the sinks; of the rest (${pct(rest.restMass)} of each row on average) it puts ${pct(rObs / rWeight)} on ${m.what} (uniform over the rest: ${pct(rBase / rWeight)}; chance-corrected ${rs.toFixed(2)})`;
    }
  }
  if (!candidate.measurable) {
    candidate.reason = `the text has too few rows with ${m.what} to choose against other tokens (${rows}, need ${MIN_ROWS})`;
    return { candidate };
  }
  if (candidate.score < MASS_THRESHOLD) return { candidate };
  const example = exQ >= 0 ? { query: exQ, key: exK, queryText: ctx.tokens[exQ].text, keyText: ctx.tokens[exK].text, weight: A[exQ * n + exK] } : undefined;
  if (example) sentence += ` — e.g. ${show(example.queryText)} → ${show(example.keyText)}`;
  return {
    candidate,
    role: {
      name: m.name,
      score: candidate.score,
      threshold: MASS_THRESHOLD,
      source: 'text',
      evidence: { sentence, example },
      ...(candidate.rest ? { rest: candidate.rest } : {}),
    },
  };
}

function rareDecision(rarest: Float64Array, rareChance: Float64Array, rarity: Float64Array, A: Float32Array, ctx: TextContext, rest: RestMeasure): Decision {
  const n = ctx.n;
  const base: RoleCandidate = { name: 'rare-token', score: 0, threshold: MASS_THRESHOLD, measurable: false, source: 'text' };
  if (!restEnough(rest.restMass))
    return { candidate: { ...base, reason: `keeps ${pct(rest.restMass)} of its attention off the sinks (need ${pct(MIN_REST_MASS)})` } };
  let rows = 0,
    hits = 0,
    chance = 0,
    exQ = -1,
    exK = -1;
  for (let i = 0; i < n; i++) {
    const mx = rarest[i];
    if (!Number.isFinite(mx)) continue;
    rows++;
    chance += rareChance[i];
    const am = rest.argmax[i];
    if (am >= 0 && rest.clear[i] === 1 && rarity[am] === mx) {
      hits++;
      if (exQ < 0 || (exQ === exK && am !== i)) {
        exQ = i;
        exK = am;
      }
    }
  }
  if (rows < MIN_POSITIONAL_ROWS) return { candidate: { ...base, reason: `too few queries to measure (${rows}, need ${MIN_POSITIONAL_ROWS})` } };
  const c = chance / rows,
    frac = hits / rows;
  const score = clamp01((frac - c) / (1 - c));
  const candidate: RoleCandidate = { ...base, score, measurable: true };
  if (score < MASS_THRESHOLD) return { candidate };
  const example = exQ >= 0 ? { query: exQ, key: exK, queryText: ctx.tokens[exQ].text, keyText: ctx.tokens[exK].text, weight: A[exQ * n + exK] } : undefined;
  const sentence = `its strongest non-sink key is the rarest token it can see (largest vocabulary id) for ${pct(frac)} of ${rows} queries (chance: ${pct(c)})${example ? ` — e.g. ${show(example.queryText)} → ${show(example.keyText)}` : ''}`;
  return { candidate, role: { name: 'rare-token', score, threshold: MASS_THRESHOLD, source: 'text', evidence: { sentence, example } } };
}

/** One head's syntax roles and candidates (appended to the role table's). */
export function decideSyntaxRoles(
  A: Float32Array,
  ctx: TextContext,
  scratch: Scratch,
  rest: RestMeasure,
  prep: PreparedSyntax,
): { roles: Role[]; candidates: RoleCandidate[] } {
  const decisions: Decision[] = [];
  for (const p of prep.relations) decisions.push(relationDecision(p, A, ctx, rest));
  for (const m of prep.masses) decisions.push(massDecision(m, A, ctx, rest, scratch.rowSum));
  if (prep.rarest && prep.rareChance && prep.info.rarity) decisions.push(rareDecision(prep.rarest, prep.rareChance, prep.info.rarity, A, ctx, rest));
  return { roles: decisions.flatMap((d) => (d.role ? [d.role] : [])), candidates: decisions.map((d) => d.candidate) };
}
