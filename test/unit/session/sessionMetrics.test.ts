// Effects and DLA folded into a session's metrics (src/session/sessionMetrics.ts): the English words are the ones
// the panel always showed, and every word goes through the `Say` it is given (the webview's translated table).
import * as assert from 'node:assert/strict';
import { sayEnglish, type Say } from '../../../src/protocol/strings';
import type { SessionData, WireDla, WireEffects } from '../../../src/protocol/wire';
import { directVsTotal, sessionWithDla, sessionWithEffects } from '../../../src/session/sessionMetrics';

const session = {
  heads: [
    { layer: 0, head: 0, id: 'L0H0', metrics: {}, notes: {}, roles: [] },
    { layer: 0, head: 1, id: 'L0H1', metrics: {}, notes: {}, roles: [] },
  ],
  metrics: [],
  model: { headsPerLayer: 2, layers: 1 },
} as unknown as SessionData;
const effects = (mean: number[], method = 'zero-ablation: Δ loss of the next token (nats)'): WireEffects => ({
  method,
  meanDelta: Float32Array.from(mean),
  perToken: [],
  sentences: [],
  ms: 1,
});
const dla = (mean: number[], diff = NaN): WireDla => ({
  actual: new Float32Array(mean.length * 2),
  diff: new Float32Array(mean.length * 2).fill(diff),
  altText: [],
  mean: Float32Array.from(mean),
  meanAbs: Float32Array.from(mean, Math.abs),
  sentences: [],
  norm: 'decomposed LayerNorm',
  ms: 1,
});
/** Says the key and its arguments, so a test sees which string was asked for. */
const sayKeys: Say = (key, ...args) => `<${key}|${args.join('|')}>`;

describe('session metrics: effects and DLA on the wire', () => {
  it('folds effects in as the `effect` metric with the English label and definition by default', () => {
    const s = sessionWithEffects(session, effects([0.5, -0.25]));
    assert.deepEqual(
      s.heads.map((h) => h.metrics.effect),
      [0.5, -0.25],
    );
    assert.deepEqual(s.metrics, [
      {
        key: 'effect',
        label: 'Effect of removing it (Δ loss, nats)',
        definition: "zero-ablation: Δ loss of the next token (nats): the head's probabilities × 0, averaged over the tokens.",
      },
    ]);
    const cos = sessionWithEffects(s, effects([1, 1], 'zero-ablation: 1 − cosine'));
    assert.deepEqual(
      cos.metrics.map((m) => m.label),
      ['Effect of removing it (1 − cos)'],
      'replaces, never duplicates',
    );
  });

  it('says every label and sentence through the table it is given', () => {
    const s = sessionWithEffects(session, effects([1, 1]), sayKeys);
    assert.deepEqual(s.metrics[0], {
      key: 'effect',
      label: '<metric.effect.loss|>',
      definition: '<metric.effect.definition|zero-ablation: Δ loss of the next token (nats)>',
    });
    const d = sessionWithDla(session, dla([0.1, 0.2]), sayKeys);
    assert.deepEqual(
      d.metrics.map((m) => [m.label, m.definition]),
      [
        ['<metric.dla|>', '<metric.dla.definition|decomposed LayerNorm>'],
        ['<metric.dlaAbs|>', '<metric.dlaAbs.definition|>'],
      ],
    );
    assert.equal(directVsTotal(dla([0.02]), effects([1]), 0, 'L0H1', false, sayKeys), '<directTotal.indirect|L0H1|+1.00|<directTotal.wrote|+0.02>>');
    assert.equal(
      directVsTotal(dla([2], 0.5), effects([0.3]), 0, 'L1H1', false, sayKeys),
      '<directTotal.liftsOrLater|L1H1|<directTotal.wrote.margin|+2.00|+0.50>|+0.30>',
    );
  });

  it('writes the English sentences word for word as before', () => {
    assert.equal(
      sessionWithDla(session, dla([0.1, 0.2])).metrics[0].definition,
      "What the head writes straight onto the logit of the token that follows, through the final norm frozen at this run's scale (decomposed LayerNorm) and the unembedding, averaged over the tokens: s_i ⟨z_h(i) W_O^h, γ ⊙ W_U[:, next]⟩ (TransformerLens' residual decomposition).",
    );
    assert.equal(
      directVsTotal(dla([0.02], -0.5), effects([1]), 0, 'L0H1', false, sayEnglish),
      "Direct is not total: removing L0H1 changes the loss by +1.00 nats, but it writes only +0.02 directly onto the next token's logit (−0.50 against the model's best other token) — most of its effect passes through later layers.",
    );
    assert.equal(
      directVsTotal(dla([2]), effects([0.3]), 0, 'L1H1'),
      "Direct is not total: L1H1 writes +2.00 directly onto the next token's logit, yet removing it changes the loss by only +0.30 nats — its write lifts other tokens' logits too, or later layers make up for it.",
    );
  });
});
