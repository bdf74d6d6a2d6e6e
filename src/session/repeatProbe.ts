// The model-level repeat probe: random ordinary tokens repeated twice, run once per causal model, whose scores
// (induction, duplicate-token) the roles read beside the text's own. Split from pipeline.ts, which caches it per model file.
import type { EngineClient, ModelRef, ProbePlan } from '../engine';
import type { ProbeHeadScore } from '../analysis';
import { EngineError } from '../core/errors';
import type { AnalysisClient } from './analysisClient';

const PROBE_SEED = 20220308; // fixed: model-level roles must not change between runs

/**
 * What became of the model-level repeat probe for a build. Never a reason to fail an explain: a probe that
 * cannot fit the model, fails, is cancelled or runs out of memory leaves the text-only roles and says why.
 */
export interface ProbeOutcome {
  status: 'measured' | 'not-measurable' | 'failed';
  scores?: ProbeHeadScore[];
  plan?: ProbePlan;
  /** One sentence for the panel, the CLI and the report. */
  note: string;
}

/** "a random 31-token sequence of ordinary tokens (ids 72, 101, 33, …) repeated twice after `<|endoftext|>`". */
export function describeProbe(plan: ProbePlan, draws = 1): string {
  const r = plan.ids.slice(plan.bos ? 1 : 0, (plan.bos ? 1 : 0) + plan.T);
  const shown = r.slice(0, 6).join(', ') + (r.length > 6 ? ', …' : '');
  const bos = plan.bos
    ? ` after \`${plan.bos.text}\`${plan.bos.from === 'convention' ? " (prepended by the family's convention; the tokenizer's template adds none)" : ''}`
    : ' with no BOS (the tokenizer defines none)';
  const what =
    draws > 1
      ? `${draws} random ${plan.T}-token sequences of ordinary tokens (the first: ids ${shown}), each repeated twice${bos}, averaged`
      : `a random ${plan.T}-token sequence of ordinary tokens (ids ${shown}) repeated twice${bos}`;
  return what;
}

/** Independent probe draws per model: their mean is what the roles read. */
export const PROBE_DRAWS = 8;

/** The per-head mean of several draws' scores (every numeric field; same heads in the same order). */
export function averageProbeScores(draws: ProbeHeadScore[][]): ProbeHeadScore[] {
  return draws[0].map((first, k) => {
    const out = { ...first };
    for (const key of Object.keys(first) as (keyof ProbeHeadScore)[]) {
      if (typeof first[key] !== 'number' || key === 'layer' || key === 'head' || key === 'T' || key === 'rows') continue;
      let s = 0,
        c = 0;
      for (const d of draws) {
        const v = d[k][key] as number;
        if (Number.isFinite(v)) {
          s += v;
          c++;
        }
      }
      (out as Record<string, unknown>)[key] = c ? s / c : NaN;
    }
    return out;
  });
}

/** Run the probe's draws on `model` and average them; never throws (a failure is an outcome, retried on the next explain). */
export async function runRepeatProbe(engine: EngineClient, analysis: AnalysisClient, model: ModelRef): Promise<ProbeOutcome> {
  let plan: ProbePlan | undefined;
  try {
    plan = await engine.probePlan(model, PROBE_SEED);
    if (plan.reason)
      return {
        status: 'not-measurable',
        plan,
        note: `Induction and duplicate-token are not measurable on this model: ${plan.reason}. Roles come from the text alone.`,
      };
    // Several independent draws, averaged: one sequence's score spreads by ±0.1 on a real head (measured on
    // the answer-key models), enough to flip a head near the threshold with the seed.
    const draws: ProbeHeadScore[][] = [];
    for (let d = 0; d < PROBE_DRAWS; d++) {
      const pd = d === 0 ? plan : await engine.probePlan(model, PROBE_SEED + d);
      const r = await engine.runIds(pd.ids, model);
      draws.push((await analysis.scoreProbe(r.attention, pd.ids, pd.T)).scores);
    }
    const scores = averageProbeScores(draws);
    const about = describeProbe(plan, PROBE_DRAWS);
    for (const s of scores) s.about = about;
    return { status: 'measured', scores, plan, note: `Model-level roles measured on ${about}.` };
  } catch (e) {
    const why = e instanceof EngineError ? e.message : ((e as Error)?.message ?? String(e));
    return {
      status: 'failed',
      plan,
      note: `The model's repeat probe failed (${why}); roles come from the text alone, and the probe is tried again on the next explain.`,
    };
  }
}
