// DLA in the wire format and "direct is not total": hand-computed means, sentences and the disagreement rule,
// then on headlight-mini and samples/repeats.txt, where the layer-0 heads that feed the induction heads write
// almost nothing onto the logits directly yet matter when removed.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SessionData, WireDla, WireEffects } from '../../../src/protocol';
import { directVsTotal, sessionWithDla } from '../../../src/session/sessionMetrics';
import { toWireDla } from '../../../src/session/dlaWire';
import { SessionPipeline } from '../../../src/session/pipeline';
import { toWireEffects } from '../../../src/session/effectsWire';
import { EngineClient, type EngineResult } from '../../../src/engine';

const ROOT = path.resolve(__dirname, '..', '..', '..');

describe('session: direct logit attribution on the wire', function () {
  this.timeout(120_000);

  it("toWireDla: per-head means over the tokens with a next token, the alternative's text, the sentence", () => {
    // 1 layer × 2 heads, 3 tokens "a b c": position 2 has no next token.
    const result = {
      model: { layers: 1, headsPerLayer: 2 },
      tokens: [
        { id: 1, text: 'a', start: 0, end: 1, special: false },
        { id: 2, text: ' b', start: 1, end: 3, special: false },
        { id: 3, text: ' c', start: 3, end: 5, special: false },
      ],
      predictions: {
        k: 2,
        topIds: Int32Array.from([2, 9, 7, 3, 1, 1]),
        topText: [' b', ' z', ' y', ' c', 'a', 'a'],
        topP: new Float32Array(6),
        actualP: new Float32Array(3),
        loss: new Float32Array(3),
      },
      dla: {
        actual: Float32Array.from([1, -3, NaN, 0.5, 0.5, NaN]),
        diff: Float32Array.from([2, -1, NaN, 0, 0, NaN]),
        targets: Int32Array.from([2, 3, -1]),
        alternatives: Int32Array.from([9, 7, -1]),
        norm: 'LayerNormalization',
        ms: 1,
      },
    } as unknown as EngineResult;
    const w = toWireDla(result, 'a b c')!;
    assert.deepEqual(Array.from(w.mean), [-1, 0.5]);
    assert.deepEqual(Array.from(w.meanAbs), [2, 0.5]);
    assert.deepEqual(w.altText, [' z', ' y', '']); // the top prediction at 0 is the actual token: the runner-up
    assert.equal(
      w.sentences[0],
      "L0H0 writes −1.00 per token on average directly onto the next token's logit (mean size 2.00); most where it takes −3.00 from ` c` after ` b`; −1.00 against ` y`, the model's best other token",
    );
    const s = sessionWithDla(
      {
        heads: [
          { layer: 0, head: 0, id: 'L0H0', metrics: {}, notes: {}, roles: [] },
          { layer: 0, head: 1, id: 'L0H1', metrics: {}, notes: {}, roles: [] },
        ],
        metrics: [],
        model: { headsPerLayer: 2, layers: 1 },
      } as unknown as SessionData,
      w,
    );
    assert.deepEqual(
      s.heads.map((x) => [x.metrics.dla, x.metrics.dlaAbs]),
      [
        [-1, 2],
        [0.5, 0.5],
      ],
    );
    assert.deepEqual(
      s.metrics.map((m) => m.key),
      ['dla', 'dlaAbs'],
    );
  });

  it('directVsTotal: a large effect with a small direct write, a large write with a small effect, and agreement', () => {
    const dla = (mean: number[]): WireDla => ({
      actual: Float32Array.from(mean.flatMap((m) => [m, m])),
      diff: new Float32Array(mean.length * 2).fill(NaN),
      altText: [],
      mean: Float32Array.from(mean),
      meanAbs: Float32Array.from(mean, Math.abs),
      sentences: [],
      norm: '',
      ms: 0,
    });
    const eff = (d: number[]): WireEffects => ({
      method: 'zero-ablation: Δ loss of the next token (nats)',
      meanDelta: Float32Array.from(d),
      perToken: [],
      sentences: [],
      ms: 0,
    });
    assert.match(directVsTotal(dla([0.02]), eff([1]), 0, 'L0H1')!, /removing L0H1 changes the loss by \+1\.00 nats, but it writes only \+0\.02 directly/);
    assert.match(
      directVsTotal(dla([2]), eff([0.3]), 0, 'L1H1', true)!,
      /writes \+2\.00 directly .* only \+0\.30 nats — its write lifts other tokens' logits too\.$/,
    );
    assert.equal(directVsTotal(dla([0.5]), eff([0.6]), 0, 'L1H3'), undefined);
    assert.equal(directVsTotal(dla([0.01]), eff([0.05]), 0, 'L0H0'), undefined, 'both small: nothing to say');
    assert.equal(directVsTotal(dla([0.01]), { ...eff([1]), method: 'zero-ablation: 1 − cosine of the output per token' }, 0, 'L0H0'), undefined);
  });

  it('headlight-mini on repeats.txt: the layer-0 heads that feed induction are flagged, the induction head L1H3 is not', async () => {
    const pipeline = new SessionPipeline(new EngineClient());
    try {
      const model = {
        modelPath: path.join(ROOT, 'media/models/headlight-mini/model.onnx'),
        tokenizerPath: path.join(ROOT, 'media/models/headlight-mini/tokenizer.json'),
      };
      const text = fs.readFileSync(path.join(ROOT, 'samples/repeats.txt'), 'utf8');
      const b = await pipeline.build({ id: 1, title: 't', text, model });
      assert.ok(b.session.dla, b.session.dlaNote);
      const e = toWireEffects(await pipeline.measureEffects(model, b.result), b.reports, b.result.tokens, text, 4);
      const flagged = b.session.heads.filter((hd) => directVsTotal(b.session.dla!, e, hd.layer * 4 + hd.head, hd.id, hd.layer === 1)).map((hd) => hd.id);
      assert.ok(
        ['L0H1', 'L0H3'].every((id) => flagged.includes(id)),
        `flagged: ${flagged.join(',')}`,
      );
      assert.ok(!flagged.includes('L1H3'), 'the induction head writes its effect directly');
    } finally {
      await pipeline.dispose();
    }
  });
});
