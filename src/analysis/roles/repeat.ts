// duplicate-token and induction: model-level roles, measured the way the literature does — on the model's
// repeat probe (random tokens repeated twice, Olsson et al. 2022) when the caller ran one; the user's text
// then adds its own observation to the evidence. Without a probe (bidirectional models, dumps) the text decides.
import type { HeadMeasure } from '../measure';
import type { ProbeHeadScore } from '../probe';
import { restEnough, type RestMeasure } from '../sinkAware';
import { MIN_ROWS, PROBE_THRESHOLD } from '../thresholds';
import type { RoleName } from '../types';
import { clamp01, listOf, massDecision, pct, withRest } from './decision';
import type { Decision, DetectorContext, Detector } from './types';

/** Where each repeat role's numbers live: the measurement and sink-aware keys, the text's target lists, the probe's scores. */
interface RepeatSpec {
  name: RoleName;
  what: string;
  key: 'dup' | 'ind';
  sinkKey: 'sinkOnDup' | 'sinkOnInd';
  probe: { score: 'duplicateCorrected' | 'inductionCorrected'; raw: 'duplicate' | 'induction'; rest: 'duplicateRest' | 'inductionRest' };
}

const repeatDetector = (s: RepeatSpec): Detector => ({ name: s.name, decide: (meas, rest, context) => repeatDecision(s, meas, rest, context) });

export const duplicateToken = repeatDetector({
  name: 'duplicate-token',
  what: 'earlier copies of the same token',
  key: 'dup',
  sinkKey: 'sinkOnDup',
  probe: { score: 'duplicateCorrected', raw: 'duplicate', rest: 'duplicateRest' },
});

export const induction = repeatDetector({
  name: 'induction',
  what: 'the token after an earlier copy of itself',
  key: 'ind',
  sinkKey: 'sinkOnInd',
  probe: { score: 'inductionCorrected', raw: 'induction', rest: 'inductionRest' },
});

function repeatDecision(s: RepeatSpec, meas: HeadMeasure, rest: RestMeasure | undefined, context: DetectorContext): Decision {
  const lists = context.text[s.key];
  const d = withRest(
    massDecision(s.name, meas[s.key], s.what, listOf(lists), MIN_ROWS, 'the text repeats too few tokens to tell'),
    rest?.[s.key],
    s.what,
    rest,
    context,
  );
  d.targetRows = { sinkMass: meas[s.sinkKey], lists };
  const probe = context.probe;
  if (probe === undefined) return d;
  const raw = probe[s.probe.raw],
    score = clamp01(probe[s.probe.score]);
  const here = d.measurable ? `; on this text it ${d.sentence}` : '; this text repeats too few tokens to check it here';
  const about = probe.about ?? `a random ${probe.T}-token sequence repeated twice`;
  const out: Decision = {
    name: s.name,
    score,
    threshold: PROBE_THRESHOLD,
    measurable: true,
    source: 'probe',
    sentence: `on ${about}, puts ${pct(raw)} of its attention on ${s.what} (chance-corrected ${score.toFixed(2)})${here}`,
    targets: d.measurable ? d.targets : undefined,
    stat: d.stat,
    onText: d,
  };
  withProbeRest(out, probe, probe[s.probe.rest], score, s.what, here, about);
  return out;
}

/** Sink-aware on the probe too: the first token's column set aside, second-copy rows renormalised; it decides when the whole rows do not pass. */
function withProbeRest(out: Decision, probe: ProbeHeadScore, probeRest: number, score: number, what: string, here: string, about: string): void {
  if (!Number.isFinite(probeRest) || !restEnough(probe.restMass)) return;
  const rs = clamp01(probeRest);
  out.rest = { score: rs, mass: probe.restMass };
  if (score < PROBE_THRESHOLD && rs >= PROBE_THRESHOLD) {
    out.score = rs;
    out.sentence = `on ${about}, parks ${pct(1 - probe.restMass)} of its attention on the first token; of the rest (${pct(probe.restMass)} of each row on average), chance-corrected ${rs.toFixed(2)} on ${what} (${score.toFixed(2)} on whole rows)${here}`;
  }
}
