// punctuation: the head attends to punctuation and separator tokens (isPunctuationToken).
import { MIN_ROWS } from '../thresholds';
import { massDecision, withRest } from './decision';
import type { Detector } from './types';

export const punctuation: Detector = {
  name: 'punctuation',
  decide(meas, rest, context) {
    const { n, causal, punct } = context.text;
    const d = massDecision(
      'punctuation',
      meas.punct,
      'punctuation',
      (i) => {
        const out: number[] = [];
        for (let j = 0; j < (causal ? i + 1 : n); j++) if (punct[j] === 1) out.push(j);
        return out;
      },
      MIN_ROWS,
      'the text has no punctuation a query could choose against other tokens',
    );
    return withRest(d, rest?.punct, 'punctuation', rest, context);
  },
};
