// Roles defined by where a key sits relative to its query: previous-token, self, local, positional (a fixed
// offset), and broad (no place at all: near-uniform).
import type { TextContext } from '../context';
import { LOCAL_WINDOW, type HeadMeasure } from '../measure';
import { restEnough, type RestMeasure } from '../sinkAware';
import { BROAD_THRESHOLD, LOCAL_MAX_OFFSET_SHARE, MIN_POSITIONAL_ROWS, POSITIONAL_REPEAT_SHARE, POSITIONAL_THRESHOLD } from '../thresholds';
import { clamp01, massDecision, notBelow, passes, pct, restPrefix, withRest } from './decision';
import type { Decision, Detector, DetectorContext } from './types';

export const previousToken: Detector = {
  name: 'previous-token',
  decide: (meas, rest, context) =>
    withRest(
      massDecision('previous-token', meas.previous, 'the previous token', (i) => (i >= 1 ? [i - 1] : [])),
      rest?.previous,
      'the previous token',
      rest,
      context,
    ),
};

export const self: Detector = {
  name: 'self',
  decide: (meas, rest, context) =>
    withRest(
      massDecision('self', meas.self, 'the token itself', (i) => [i]),
      rest?.self,
      'the token itself',
      rest,
      context,
    ),
};

/**
 * Local: chance-corrected mass within |i − j| ≤ LOCAL_WINDOW, spread over the window rather than explained by
 * one offset (that would be previous-token / self / positional).
 */
export const local: Detector = {
  name: 'local',
  decide(meas, rest, context) {
    const { n, causal } = context.text;
    const what = `the ${LOCAL_WINDOW} tokens around it`;
    const d = massDecision('local', meas.local, what, (i) => {
      const out: number[] = [];
      for (let j = Math.max(0, i - LOCAL_WINDOW); j <= (causal ? i : Math.min(n - 1, i + LOCAL_WINDOW)); j++) out.push(j);
      return out;
    });
    return withRest(d, rest?.local, what, rest, context);
  },
  vetoes: [oneOffsetCarriesTheWindow],
};

/**
 * A window whose mass sits mostly at one offset is a previous-token, self or positional head, not a local
 * one. The spread is judged on the window the deciding score read: whole rows, or the rest when that decided.
 */
function oneOffsetCarriesTheWindow(own: Decision, _all: readonly Decision[], meas: HeadMeasure, rest: RestMeasure | undefined): void {
  const offsetMass = own.viaRest && rest ? rest.offsetMass : meas.offsetMass;
  let total = 0,
    peak = 0,
    peakOff = 0;
  for (let k = 0; k < offsetMass.length; k++) {
    total += offsetMass[k];
    if (offsetMass[k] > peak) {
      peak = offsetMass[k];
      peakOff = k - LOCAL_WINDOW;
    }
  }
  const share = total > 0 ? peak / total : 1;
  if (own.measurable && share > LOCAL_MAX_OFFSET_SHARE) {
    own.sentence += `, but ${pct(share)} of that sits at offset ${peakOff} alone, so it is not spread locally`;
    own.veto = `${pct(share)} of the window's mass sits at offset ${peakOff}`;
  }
}

/**
 * Positional (Voita et al. 2019): argmax at the same offset for ≥ 90% of the queries where that offset
 * exists; offsets −1 and 0 are the previous-token and self roles. Sink-aware: the same on each row's largest
 * non-sink key, over the keys that are not sinks, when the whole rows do not pass.
 */
export const positional: Detector = {
  name: 'positional',
  decide(meas, rest, context) {
    const ctx = context.text,
      n = ctx.n;
    let pos = offsetDecision(ctx, meas.offsetHist, undefined);
    if (rest && restEnough(rest.restMass) && !passes(pos)) {
      const hist = new Int32Array(Math.max(1, 2 * n - 1));
      for (let i = 0; i < n; i++) if (rest.argmax[i] >= 0 && rest.clear[i] === 1) hist[rest.argmax[i] - i + n - 1]++;
      const r = offsetDecision(ctx, hist, ctx.sink);
      if (r.measurable) {
        pos.rest = { score: r.score, mass: rest.restMass };
        if (r.score >= r.threshold) pos = { ...r, rest: pos.rest, viaRest: true, sentence: `${restPrefix(rest, context.sinkWhat)} ${r.sentence}` };
      }
    }
    return pos;
  },
  vetoes: [offsetIsARepeatTarget],
};

/** The positional decision on an argmax-offset histogram; with `sink`, over non-sink queries and keys only. */
function offsetDecision(ctx: TextContext, hist: Int32Array, sink: Uint8Array | undefined): Decision {
  const { n, causal } = ctx;
  let bestD = 0,
    bestC = -1;
  for (let d = -(n - 1); d <= n - 1; d++) {
    if (d === 0 || d === -1 || (causal && d > 0)) continue; // self and previous-token are roles of their own
    const c = hist[d + n - 1];
    if (c > bestC) {
      bestC = c;
      bestD = d;
    }
  }
  // Eligible rows for offset d: rows with ≥ 2 visible (non-sink) keys where i + d is one of them.
  let rows = 0,
    chance = 0;
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
  return {
    name: 'positional',
    score,
    threshold: POSITIONAL_THRESHOLD,
    measurable,
    reason: measurable ? undefined : sentence,
    source: 'text',
    offset: bestD,
    sentence,
    targets: (i) => {
      const j = i + bestD;
      return j >= 0 && j < n && (!causal || j <= i) ? [j] : [];
    },
  };
}

/**
 * Positional explained by content: on a repeated sequence a duplicate/induction head's target sits at a fixed
 * offset (−T, −T+1). If most positional hits land on the targets of a content role the user's text awards,
 * the offset is a by-product of the repeat, not a positional preference.
 */
function offsetIsARepeatTarget(own: Decision, all: readonly Decision[], meas: HeadMeasure, rest: RestMeasure | undefined, context: DetectorContext): void {
  if (!passes(own) || own.offset === undefined) return;
  const n = context.text.n,
    offset = own.offset;
  const am = own.viaRest && rest ? rest.argmax : meas.argmax,
    clear = own.viaRest && rest ? rest.clear : meas.clear;
  for (const d of all) {
    const t = d.onText ?? d;
    if (!t.targetRows || !notBelow(t) || t.veto || t.source !== 'text') continue;
    const T = t.targetRows.lists;
    let hits = 0,
      onTarget = 0;
    for (let i = 0; i < n; i++) {
      const j = i + offset;
      if (clear[i] !== 1 || am[i] !== j) continue;
      hits++;
      for (let p = T.start[i]; p < T.start[i + 1]; p++)
        if (T.idx[p] === j) {
          onTarget++;
          break;
        }
    }
    if (hits > 0 && onTarget / hits >= POSITIONAL_REPEAT_SHARE) {
      own.veto = `its fixed offset ${offset} is where its ${d.name} target sits (${pct(onTarget / hits)} of the hits)`;
      return;
    }
  }
}

/** Broad: near-uniform over the visible keys; its example is the last query's strongest key. */
export const broad: Detector = {
  name: 'broad',
  decide(meas, _rest, context) {
    const measurable = Number.isFinite(meas.entropy);
    const score = measurable ? clamp01(meas.entropy) : 0;
    return {
      name: 'broad',
      score,
      threshold: BROAD_THRESHOLD,
      measurable,
      reason: measurable ? undefined : 'every row has a single visible key',
      source: 'text',
      sentence: `spreads its attention nearly evenly: mean normalised entropy ${score.toFixed(2)} (1 = uniform over the visible keys)`,
      targets: undefined,
      example: (A) => {
        const { n, tokens } = context.text,
          i = n - 1,
          k = meas.argmax[i];
        return { query: i, key: k, queryText: tokens[i].text, keyText: tokens[k].text, weight: A[i * n + k] };
      },
    };
  },
};
