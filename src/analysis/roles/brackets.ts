// bracket-matching: a closing bracket attends to its opener (the parse's pairs for code, the text's otherwise:
// analyzeHeads.ts). Its target exists on closing brackets only, so the sink and positional vetoes check it.
import { MIN_ROWS } from '../thresholds';
import { listOf, massDecision, withRest } from './decision';
import type { Detector } from './types';

export const bracketMatching: Detector = {
  name: 'bracket-matching',
  decide(meas, rest, context) {
    const lists = context.text.brackets;
    const what = 'the matching opening bracket';
    const d = withRest(
      massDecision('bracket-matching', meas.bracket, what, listOf(lists), MIN_ROWS, 'the text has too few matched brackets'),
      rest?.bracket,
      what,
      rest,
      context,
    );
    d.targetRows = { sinkMass: meas.sinkOnBracket, lists };
    return d;
  },
};
