// first-token-sink: the head parks its attention on the first token (a no-op "sink", Xiao et al. 2023).
import { meanCorrected } from '../measure';
import { massDecision, notBelow, passes } from './decision';
import type { Decision, Detector } from './types';

export const firstTokenSink: Detector = {
  name: 'first-token-sink',
  decide: (meas) => massDecision('first-token-sink', meas.sink, 'the first token', (i) => (i >= 1 ? [0] : [])),
  vetoes: [restsOnlyWhereNoTarget],
};

/**
 * A head that rests on the first token only when its content target is absent (TransformerLens' duplicate /
 * induction heads, bracket heads outside brackets) uses it as a no-op, not as a sink: when such a role is
 * awarded on the user's text, the sink must also hold on the rows that have a target. The first content role
 * (in table order) that it fails rules the sink out, and that role's evidence says where the head rests.
 */
function restsOnlyWhereNoTarget(own: Decision, all: readonly Decision[]): void {
  if (!passes(own)) return;
  for (const d of all) {
    const t = d.onText ?? d;
    if (!t.targetRows || !notBelow(t) || t.veto || t.source !== 'text') continue;
    const stat = t.targetRows.sinkMass;
    const onRows = stat.rows > 0 ? meanCorrected(stat) : 0;
    if (onRows < own.threshold) {
      own.veto = `it rests on the first token only where it has no ${d.name} target (score ${onRows.toFixed(2)} on the rows that have one)`;
      d.sentence += '; elsewhere it rests on the first token';
      return;
    }
  }
}
