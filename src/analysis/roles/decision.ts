// Building blocks the detectors share: the chance-corrected mass decision, its sink-aware reading, and the
// wording of the evidence. A wrong badge is worse than none: every role needs a chance-corrected score over
// enough rows (thresholds.ts).
import type { TextContext } from '../context';
import { meanCorrected, type RowStat } from '../measure';
import { restEnough, restScore, type RestMeasure, type RestStat } from '../sinkAware';
import { MASS_THRESHOLD, MIN_ROWS } from '../thresholds';
import type { TargetLists } from '../tokenClasses';
import type { RoleName } from '../types';
import type { Decision, DetectorContext } from './types';

export const pct = (x: number): string => `${Math.round(x * 100)}%`;
export const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x);
/** A token's text as inline code in an evidence sentence (newlines and backticks made visible). */
export const show = (s: string): string => '`' + s.replace(/\n/g, '\\n').replace(/`/g, "'") + '`';

/** The decision is measurable and its score reaches its threshold (vetoes aside). */
export const passes = (d: Decision): boolean => d.measurable && d.score >= d.threshold;

/**
 * The award's test, and the vetoes' test of the roles they check against: as `passes`, except that a NaN
 * score is not below its threshold, so it counts as passing. NaN reaches a score only from NaN attention
 * (clamp01 keeps it); the table reproduces the behaviour it had before it was a table (issue 28 changed no
 * decision) — a NaN score should rather be "not measurable", a change of its own.
 */
export const notBelow = (d: Decision): boolean => d.measurable && !(d.score < d.threshold);

/** Row i's targets in a per-row target list. */
export const listOf =
  (T: TargetLists) =>
  (i: number): number[] =>
    Array.from(T.idx.subarray(T.start[i], T.start[i + 1]));

/** How many special-token sinks besides the first token an evidence sentence names. */
const MAX_SINK_NAMES = 3;

/** "the first token", or "the first token and `[SEP]`" when special tokens are sinks too. */
export function describeSinks(ctx: TextContext): string {
  const names = [
    ...new Set(
      Array.from(ctx.sinkIdx)
        .filter((i) => i > 0)
        .map((i) => ctx.tokens[i].text),
    ),
  ].slice(0, MAX_SINK_NAMES);
  return names.length ? `the first token and ${names.map(show).join(', ')}` : 'the first token';
}

/** "parks 70% of its attention on the first token; of the rest (30% of each row on average)". */
export const restPrefix = (r: RestMeasure, sinkWhat: string): string =>
  `parks ${pct(r.sinkMass)} of its attention on ${sinkWhat}; of the rest (${pct(r.restMass)} of each row on average)`;

/** A mass role on whole rows: chance-corrected mass on `what`, measurable over at least `minRows` rows. */
export function massDecision(
  name: RoleName,
  stat: RowStat,
  what: string,
  targets: (i: number) => number[],
  minRows = MIN_ROWS,
  why = 'too few queries to measure',
): Decision {
  const measurable = stat.rows >= minRows;
  const score = measurable ? clamp01(meanCorrected(stat)) : 0;
  const sentence = measurable
    ? `puts ${pct(stat.observed / stat.rows)} of its attention on ${what} (a uniform head would put ${pct(stat.baseline / stat.rows)}); ${what} is its top choice for ${pct(stat.argHits / stat.rows)} of ${stat.rows} queries`
    : `${why} (${stat.rows} eligible ${stat.rows === 1 ? 'query' : 'queries'}, need ${minRows})`;
  return { name, score, threshold: MASS_THRESHOLD, measurable, reason: measurable ? undefined : sentence, source: 'text', sentence, targets, stat };
}

/** Add the sink-aware reading of a content role; it decides when the whole-row score does not pass. */
export function withRest(d: Decision, rs: RestStat | undefined, what: string, rest: RestMeasure | undefined, context: DetectorContext): Decision {
  if (!rest || !rs || rs.rows < MIN_ROWS || !restEnough(rest.restMass)) return d;
  const score = clamp01(restScore(rs));
  if (!Number.isFinite(score)) return d;
  d.rest = { score, mass: rest.restMass };
  if (passes(d) || score < d.threshold) return d;
  const whole = d.measurable ? `; ${d.score.toFixed(2)} on whole rows` : '';
  d.sentence = `${restPrefix(rest, context.sinkWhat)} it puts ${pct(rs.observed / rs.weight)} on ${what} (uniform over the rest: ${pct(rs.baseline / rs.weight)}; chance-corrected ${score.toFixed(2)}${whole})`;
  d.score = score;
  d.measurable = true;
  d.reason = undefined;
  d.viaRest = true;
  d.restStat = rs;
  return d;
}
