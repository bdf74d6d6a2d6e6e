// Turning one head's measurements into named roles with evidence. A wrong badge is worse than
// none: every role needs a chance-corrected score over enough rows (thresholds.ts).
import type { TextContext } from './context';
import { LOCAL_WINDOW, meanCorrected, type HeadMeasure, type RowStat } from './measure';
import type { ProbeHeadScore } from './probe';
import { restEnough, restScore, type RestMeasure, type RestStat } from './sinkAware';
import {
  BROAD_THRESHOLD, LOCAL_MAX_OFFSET_SHARE, MASS_THRESHOLD, MIN_POSITIONAL_ROWS, MIN_ROWS, POSITIONAL_THRESHOLD, PROBE_THRESHOLD,
} from './thresholds';
import type { EvidenceExample, Role, RoleCandidate, RoleName } from './types';

const pct = (x: number): string => `${Math.round(x * 100)}%`;
const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x);
const show = (s: string): string => '`' + s.replace(/\n/g, '\\n').replace(/`/g, "'") + '`';

interface Decision extends RoleCandidate {
  sentence: string;
  /** Set when the score passes but another criterion rules the role out (reported as the reason). */
  veto?: string;
  /** Key(s) this role expects for query i (for picking an example edge). */
  targets?: (i: number) => number[];
  /** The sink-aware score (sinkAware.ts), when the head keeps enough mass off the sinks to measure it. */
  rest?: { score: number; mass: number };
  /** Awarded on the sink-aware score: the example edge is read off the non-sink argmax. */
  viaRest?: boolean;
}

/** Example edge: a query whose argmax is on the role's target, with the typical (closest to mean) target mass. */
function pickExample(A: Float32Array, ctx: TextContext, argmax: Int32Array, targets: (i: number) => number[], typical: number): EvidenceExample | undefined {
  const n = ctx.n;
  let best = -1, bestGap = Infinity, bestKey = -1;
  for (let i = 0; i < n; i++) {
    const t = targets(i);
    if (t.length === 0 || !t.includes(argmax[i])) continue;
    let o = 0;
    for (const j of t) o += A[i * n + j];
    // Prefer queries with a source span: `the` → `cat` reads better than [BOS] → x.
    const gap = Math.abs(o - typical) + (ctx.nonSpecial[i] === 1 && ctx.nonSpecial[argmax[i]] === 1 ? 0 : 1);
    if (gap < bestGap) {
      bestGap = gap;
      best = i;
      bestKey = argmax[i];
    }
  }
  if (best < 0) return undefined;
  return { query: best, key: bestKey, queryText: ctx.tokens[best].text, keyText: ctx.tokens[bestKey].text, weight: A[best * n + bestKey] };
}

function massDecision(name: RoleName, stat: RowStat, what: string, targets: (i: number) => number[], minRows = MIN_ROWS, why = 'too few queries to measure'): Decision {
  const measurable = stat.rows >= minRows;
  const score = measurable ? clamp01(meanCorrected(stat)) : 0;
  const sentence = measurable
    ? `puts ${pct(stat.observed / stat.rows)} of its attention on ${what} (a uniform head would put ${pct(stat.baseline / stat.rows)}); ${what} is its top choice for ${pct(stat.argHits / stat.rows)} of ${stat.rows} queries`
    : `${why} (${stat.rows} eligible ${stat.rows === 1 ? 'query' : 'queries'}, need ${minRows})`;
  return { name, score, threshold: MASS_THRESHOLD, measurable, reason: measurable ? undefined : sentence, source: 'text', sentence, targets };
}

/** "the first token", or "the first token and `[SEP]`" when special tokens are sinks too. */
function describeSinks(ctx: TextContext): string {
  const names = [...new Set(Array.from(ctx.sinkIdx).filter((i) => i > 0).map((i) => ctx.tokens[i].text))].slice(0, 3);
  return names.length ? `the first token and ${names.map(show).join(', ')}` : 'the first token';
}

const listOf = (T: { start: Int32Array; idx: Int32Array }) => (i: number): number[] => Array.from(T.idx.subarray(T.start[i], T.start[i + 1]));

/** Every role's candidate score for one head, and the awarded roles (strongest first). */
export function decideRoles(A: Float32Array, ctx: TextContext, meas: HeadMeasure, probe?: ProbeHeadScore, rest?: RestMeasure): { roles: Role[]; candidates: RoleCandidate[] } {
  const n = ctx.n;
  const causal = ctx.causal;
  const decisions: Decision[] = [];
  const sinkWhat = describeSinks(ctx);
  /** "parks 70% of its attention on the first token; of the rest (30% of each row on average)". */
  const restPrefix = (r: RestMeasure) => `parks ${pct(r.sinkMass)} of its attention on ${sinkWhat}; of the rest (${pct(r.restMass)} of each row on average)`;
  /** Add the sink-aware reading of a content role; it decides when the whole-row score does not pass. */
  const withRest = (d: Decision, rs: RestStat | undefined, what: string): Decision => {
    if (!rest || !rs || rs.rows < MIN_ROWS || !restEnough(rest.restMass)) return d;
    const score = clamp01(restScore(rs));
    if (!Number.isFinite(score)) return d;
    d.rest = { score, mass: rest.restMass };
    if ((d.measurable && d.score >= d.threshold) || score < d.threshold) return d;
    const whole = d.measurable ? `; ${d.score.toFixed(2)} on whole rows` : '';
    d.sentence = `${restPrefix(rest)} it puts ${pct(rs.observed / rs.weight)} on ${what} (uniform over the rest: ${pct(rs.baseline / rs.weight)}; chance-corrected ${score.toFixed(2)}${whole})`;
    d.score = score;
    d.measurable = true;
    d.reason = undefined;
    d.viaRest = true;
    return d;
  };

  decisions.push(withRest(massDecision('previous-token', meas.previous, 'the previous token', (i) => (i >= 1 ? [i - 1] : [])), rest?.previous, 'the previous token'));
  decisions.push(massDecision('first-token-sink', meas.sink, 'the first token', (i) => (i >= 1 ? [0] : [])));
  decisions.push(withRest(massDecision('self', meas.self, 'the token itself', (i) => [i]), rest?.self, 'the token itself'));

  // Local: chance-corrected mass within |i − j| ≤ LOCAL_WINDOW, spread over the window rather
  // than explained by one offset (that would be previous-token / self / positional).
  {
    const d = massDecision('local', meas.local, `the ${LOCAL_WINDOW} tokens around it`, (i) => {
      const out: number[] = [];
      for (let j = Math.max(0, i - LOCAL_WINDOW); j <= (causal ? i : Math.min(n - 1, i + LOCAL_WINDOW)); j++) out.push(j);
      return out;
    });
    withRest(d, rest?.local, `the ${LOCAL_WINDOW} tokens around it`);
    // Spread is judged on the window the deciding score read: whole rows, or the rest when that decided.
    const offsetMass = d.viaRest && rest ? rest.offsetMass : meas.offsetMass;
    let total = 0, peak = 0, peakOff = 0;
    for (let k = 0; k < offsetMass.length; k++) {
      total += offsetMass[k];
      if (offsetMass[k] > peak) { peak = offsetMass[k]; peakOff = k - LOCAL_WINDOW; }
    }
    const share = total > 0 ? peak / total : 1;
    if (d.measurable && share > LOCAL_MAX_OFFSET_SHARE) {
      d.sentence += `, but ${pct(share)} of that sits at offset ${peakOff} alone, so it is not spread locally`;
      d.veto = `${pct(share)} of the window's mass sits at offset ${peakOff}`;
    }
    decisions.push(d);
  }

  // Positional (Voita et al. 2019): argmax at the same offset for ≥ 90% of the queries where that
  // offset exists; offsets −1 and 0 are the previous-token and self roles. Sink-aware: the same on each
  // row's largest non-sink key, over the keys that are not sinks, when the whole rows do not pass.
  {
    let pos = positional(meas.offsetHist, undefined);
    if (rest && restEnough(rest.restMass) && !(pos.measurable && pos.score >= pos.threshold)) {
      const hist = new Int32Array(Math.max(1, 2 * n - 1));
      for (let i = 0; i < n; i++) if (rest.argmax[i] >= 0 && rest.clear[i] === 1) hist[rest.argmax[i] - i + n - 1]++;
      const r = positional(hist, ctx.sink);
      if (r.measurable) {
        pos.rest = { score: r.score, mass: rest.restMass };
        if (r.score >= r.threshold) pos = { ...r, rest: pos.rest, viaRest: true, sentence: `${restPrefix(rest)} ${r.sentence}` };
      }
    }
    decisions.push(pos);
  }

  // Broad: near-uniform over the visible keys.
  {
    const measurable = Number.isFinite(meas.entropy);
    const score = measurable ? clamp01(meas.entropy) : 0;
    decisions.push({ name: 'broad', score, threshold: BROAD_THRESHOLD, measurable, reason: measurable ? undefined : 'every row has a single visible key', source: 'text', sentence: `spreads its attention nearly evenly: mean normalised entropy ${score.toFixed(2)} (1 = uniform over the visible keys)`, targets: undefined });
  }

  // Duplicate-token and induction are model-level roles, measured the way the literature does: on the
  // model's repeat probe (random tokens repeated twice) when the caller ran one. The user's text then
  // adds its own observation to the evidence. Without a probe (bidirectional models, dumps) the text decides.
  const onText = new Map<RoleName, Decision>(); // what the user's text alone says, for the vetoes below
  const repeatRole = (name: RoleName, stat: RowStat, restStat: RestStat | undefined, what: string, T: { start: Int32Array; idx: Int32Array }, probeScore: number | undefined, probeRaw: number | undefined, probeRest: number | undefined): Decision => {
    const d = withRest(massDecision(name, stat, what, listOf(T), MIN_ROWS, 'the text repeats too few tokens to tell'), restStat, what);
    onText.set(name, d);
    if (probe === undefined || probeScore === undefined || probeRaw === undefined) return d;
    const score = clamp01(probeScore);
    const here = d.measurable ? `; on this text it ${d.sentence}` : '; this text repeats too few tokens to check it here';
    const about = probe.about ?? `a random ${probe.T}-token sequence repeated twice`;
    const out: Decision = { name, score, threshold: PROBE_THRESHOLD, measurable: true, source: 'probe', sentence: `on ${about}, puts ${pct(probeRaw)} of its attention on ${what} (chance-corrected ${score.toFixed(2)})${here}`, targets: d.measurable ? d.targets : undefined };
    // Sink-aware on the probe too: the first token's column set aside, second-copy rows renormalised.
    if (probeRest !== undefined && Number.isFinite(probeRest) && restEnough(probe.restMass)) {
      const rs = clamp01(probeRest);
      out.rest = { score: rs, mass: probe.restMass };
      if (score < PROBE_THRESHOLD && rs >= PROBE_THRESHOLD) {
        out.score = rs;
        out.sentence = `on ${about}, parks ${pct(1 - probe.restMass)} of its attention on the first token; of the rest (${pct(probe.restMass)} of each row on average), chance-corrected ${rs.toFixed(2)} on ${what} (${score.toFixed(2)} on whole rows)${here}`;
      }
    }
    return out;
  };
  decisions.push(repeatRole('duplicate-token', meas.dup, rest?.dup, 'earlier copies of the same token', ctx.dup, probe?.duplicateCorrected, probe?.duplicate, probe?.duplicateRest));
  decisions.push(repeatRole('induction', meas.ind, rest?.ind, 'the token after an earlier copy of itself', ctx.ind, probe?.inductionCorrected, probe?.induction, probe?.inductionRest));

  decisions.push(withRest(massDecision('punctuation', meas.punct, 'punctuation', (i) => {
    const out: number[] = [];
    for (let j = 0; j < (causal ? i + 1 : n); j++) if (ctx.punct[j] === 1) out.push(j);
    return out;
  }, MIN_ROWS, 'the text has no punctuation a query could choose against other tokens'), rest?.punct, 'punctuation'));
  decisions.push(withRest(massDecision('bracket-matching', meas.bracket, 'the matching opening bracket', listOf(ctx.brackets), MIN_ROWS, 'the text has too few matched brackets'), rest?.bracket, 'the matching opening bracket'));

  // A head that rests on the first token only when its content target is absent (TransformerLens'
  // duplicate/induction heads, bracket heads outside brackets) uses it as a no-op, not as a sink:
  // when such a role is awarded, the sink must also hold on the rows that have a target.
  const sinkD = decisions.find((d) => d.name === 'first-token-sink');
  if (sinkD && sinkD.measurable && sinkD.score >= sinkD.threshold) {
    const content: [RoleName, RowStat][] = [['duplicate-token', meas.sinkOnDup], ['induction', meas.sinkOnInd], ['bracket-matching', meas.sinkOnBracket]];
    for (const [name, stat] of content) {
      const d = onText.get(name) ?? decisions.find((x) => x.name === name);
      if (!d || !d.measurable || d.score < d.threshold || d.veto || d.source !== 'text') continue;
      const onRows = stat.rows > 0 ? meanCorrected(stat) : 0;
      if (onRows < sinkD.threshold) {
        sinkD.veto = `it rests on the first token only where it has no ${name} target (score ${onRows.toFixed(2)} on the rows that have one)`;
        const awarded = decisions.find((x) => x.name === name);
        if (awarded) awarded.sentence += '; elsewhere it rests on the first token';
        break;
      }
    }
  }

  // Positional explained by content: on a repeated sequence a duplicate/induction head's target sits
  // at a fixed offset (−T, −T+1). If most positional hits land on an awarded content role's
  // targets, the offset is a by-product of the repeat, not a positional preference.
  const posD = decisions.find((d) => d.name === 'positional');
  if (posD && posD.measurable && posD.score >= posD.threshold && posD.offset !== undefined) {
    for (const [name, T] of [['duplicate-token', ctx.dup], ['induction', ctx.ind], ['bracket-matching', ctx.brackets]] as const) {
      const d = onText.get(name) ?? decisions.find((x) => x.name === name);
      if (!d || !d.measurable || d.score < d.threshold || d.veto || d.source !== 'text') continue;
      let hits = 0, onTarget = 0;
      const am = posD.viaRest && rest ? rest.argmax : meas.argmax, clear = posD.viaRest && rest ? rest.clear : meas.clear;
      for (let i = 0; i < n; i++) {
        const j = i + posD.offset;
        if (clear[i] !== 1 || am[i] !== j) continue;
        hits++;
        for (let p = T.start[i]; p < T.start[i + 1]; p++) if (T.idx[p] === j) { onTarget++; break; }
      }
      if (hits > 0 && onTarget / hits >= 0.5) {
        posD.veto = `its fixed offset ${posD.offset} is where its ${name} target sits (${pct(onTarget / hits)} of the hits)`;
        break;
      }
    }
  }

  const roles: Role[] = [];
  for (const d of decisions) {
    if (!d.measurable || d.score < d.threshold || d.veto) continue;
    let example: EvidenceExample | undefined;
    if (d.source === 'text' || d.targets) {
      if (d.targets) {
        example = pickExample(A, ctx, d.viaRest && rest ? rest.argmax : meas.argmax, d.targets, typicalMass(d));
      } else if (d.name === 'broad') {
        const i = n - 1;
        example = { query: i, key: meas.argmax[i], queryText: ctx.tokens[i].text, keyText: ctx.tokens[meas.argmax[i]].text, weight: A[i * n + meas.argmax[i]] };
      }
    }
    const sentence = d.sentence + (example ? ` — e.g. ${show(example.queryText)} → ${show(example.keyText)}` : '');
    const role: Role = { name: d.name, score: d.score, threshold: d.threshold, evidence: { sentence, example }, source: d.source };
    if (d.offset !== undefined && d.name === 'positional') role.offset = d.offset;
    if (d.rest) role.rest = d.rest;
    roles.push(role);
  }
  roles.sort((a, b) => b.score - a.score);
  const candidates: RoleCandidate[] = decisions.map(({ name, score, threshold, measurable, reason, source, offset, veto, rest: r }) => {
    const c: RoleCandidate = { name, score, threshold, measurable, source };
    if (r) c.rest = r;
    if (reason ?? veto) c.reason = reason ?? `ruled out: ${veto}`;
    if (name === 'positional' && offset !== undefined) c.offset = offset;
    return c;
  });
  return { roles, candidates };

  /** The positional decision on an argmax-offset histogram; with `sink`, over non-sink queries and keys only. */
  function positional(hist: Int32Array, sink: Uint8Array | undefined): Decision {
    let bestD = 0, bestC = -1;
    for (let d = -(n - 1); d <= n - 1; d++) {
      if (d === 0 || d === -1 || (causal && d > 0)) continue;
      const c = hist[d + n - 1];
      if (c > bestC) { bestC = c; bestD = d; }
    }
    // Eligible rows for offset d: rows with ≥ 2 visible (non-sink) keys where i + d is one of them.
    let rows = 0, chance = 0;
    for (let i = 0; i < n; i++) {
      if (sink && sink[i] === 1) continue;
      const end = causal ? i + 1 : n;
      let m = end;
      if (sink) for (let q = 0; q < ctx.sinkIdx.length && ctx.sinkIdx[q] < end; q++) m--;
      const j = i + bestD;
      if (m < 2 || j < 0 || j >= end || (sink && sink[j] === 1)) continue;
      rows++;
      chance += 1 / m;
    }
    chance = rows > 0 ? chance / rows : 1;
    const measurable = rows >= MIN_POSITIONAL_ROWS && bestC >= 0;
    const frac = rows > 0 ? Math.max(0, bestC) / rows : 0;
    const score = measurable ? clamp01((frac - chance) / (1 - chance)) : 0;
    const sentence = measurable
      ? `its strongest ${sink ? 'non-sink ' : ''}key sits at offset ${bestD > 0 ? '+' : ''}${bestD} for ${pct(frac)} of ${rows} queries (chance: ${pct(chance)})`
      : `too few queries to measure a fixed offset (${rows}, need ${MIN_POSITIONAL_ROWS})`;
    return { name: 'positional', score, threshold: POSITIONAL_THRESHOLD, measurable, reason: measurable ? undefined : sentence, source: 'text', offset: bestD, sentence, targets: (i) => { const j = i + bestD; return j >= 0 && j < n && (!causal || j <= i) ? [j] : []; } };
  }

  function typicalMass(d: Decision): number {
    if (d.viaRest && rest) {
      const r = ({ 'previous-token': rest.previous, self: rest.self, local: rest.local, 'duplicate-token': rest.dup, induction: rest.ind, punctuation: rest.punct, 'bracket-matching': rest.bracket } as Partial<Record<RoleName, RestStat>>)[d.name];
      if (r && r.rows > 0) return r.observed / r.rows;
    }
    const s = ({ 'previous-token': meas.previous, 'first-token-sink': meas.sink, self: meas.self, local: meas.local, 'duplicate-token': meas.dup, induction: meas.ind, punctuation: meas.punct, 'bracket-matching': meas.bracket } as Partial<Record<RoleName, RowStat>>)[d.name];
    return s && s.rows > 0 ? s.observed / s.rows : 1;
  }
}
