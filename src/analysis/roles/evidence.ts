// The example edge an awarded role shows: a query whose strongest key is one of the role's targets, with
// the typical (closest to the mean) target mass.
import type { TextContext } from '../context';
import type { EvidenceExample } from '../types';
import type { Decision } from './types';

/**
 * Added to a candidate query's distance from the typical mass when the query or its key has no source span
 * (BOS, [SEP]): masses lie in [0, 1], so any edge between two real tokens wins — `the` → `cat` reads better
 * than [BOS] → x.
 */
const SPANLESS_PENALTY = 1;

/** Example edge: a query whose argmax is on the role's target, with the typical (closest to mean) target mass. */
export function pickExample(
  A: Float32Array,
  ctx: TextContext,
  argmax: Int32Array,
  targets: (i: number) => number[],
  typical: number,
): EvidenceExample | undefined {
  const n = ctx.n;
  let best = -1,
    bestGap = Infinity,
    bestKey = -1;
  for (let i = 0; i < n; i++) {
    const t = targets(i);
    if (t.length === 0 || !t.includes(argmax[i])) continue;
    let o = 0;
    for (const j of t) o += A[i * n + j];
    const gap = Math.abs(o - typical) + (ctx.nonSpecial[i] === 1 && ctx.nonSpecial[argmax[i]] === 1 ? 0 : SPANLESS_PENALTY);
    if (gap < bestGap) {
      bestGap = gap;
      best = i;
      bestKey = argmax[i];
    }
  }
  if (best < 0) return undefined;
  return { query: best, key: bestKey, queryText: ctx.tokens[best].text, keyText: ctx.tokens[bestKey].text, weight: A[best * n + bestKey] };
}

/** The mean target mass per row of the statistic that decided (1 when the role has none, e.g. positional). */
export function typicalMass(d: Decision): number {
  if (d.viaRest && d.restStat && d.restStat.rows > 0) return d.restStat.observed / d.restStat.rows;
  return d.stat && d.stat.rows > 0 ? d.stat.observed / d.stat.rows : 1;
}
