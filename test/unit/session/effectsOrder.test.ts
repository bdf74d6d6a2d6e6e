// Which heads Measure Head Effects ablates and in which order, and the streamed, partial measurements on the
// wire: by |DLA| from hand-made DLA, scopes, and a real pipeline run whose groups arrive one by one.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { dlaOrder, effectOrder, scopeHeads } from '../../../src/session/effectsOrder';
import { SessionPipeline, type HeadEffects } from '../../../src/session/pipeline';
import { toWireEffects } from '../../../src/session/effectsWire';
import { EngineClient, type EngineResult } from '../../../src/engine';
import type { HeadReport } from '../../../src/analysis';

const ROOT = path.resolve(__dirname, '..', '..', '..');

describe('session: the order and scope of head effects', function () {
  this.timeout(120_000);
  // 2 layers × 2 heads, 3 tokens: mean |DLA| per head (layer-major) 1, 4, 3, 2.
  const result = {
    model: { layers: 2, headsPerLayer: 2 },
    tokens: [{}, {}, {}],
    dla: { actual: Float32Array.from([1, -1, NaN, 4, -4, NaN, -3, 3, NaN, 2, 2, NaN]) },
  } as unknown as EngineResult;
  const reports = [
    { layer: 0, head: 0, roles: [] },
    { layer: 0, head: 1, roles: [{ name: 'previous-token' }] },
    { layer: 1, head: 0, roles: [{ name: 'induction' }] },
    { layer: 1, head: 1, roles: [{ name: 'previous-token' }] },
  ] as unknown as HeadReport[];

  it('orders by mean |DLA|; a whole measurement goes layer by layer, the layer holding the top head first', () => {
    assert.deepEqual(dlaOrder(result), [
      [0, 1],
      [1, 0],
      [1, 1],
      [0, 0],
    ]);
    assert.deepEqual(effectOrder(result), [
      [0, 1],
      [0, 0],
      [1, 0],
      [1, 1],
    ]);
    assert.deepEqual(
      dlaOrder({ ...result, dla: undefined }),
      [
        [0, 0],
        [0, 1],
        [1, 0],
        [1, 1],
      ],
      'no DLA: layer-major',
    );
  });

  it('scopes: the first k by |DLA|, a layer, a role, picked heads (in |DLA| order)', () => {
    assert.deepEqual(scopeHeads({ kind: 'top', count: 2 }, result, reports), [
      [0, 1],
      [1, 0],
    ]);
    assert.deepEqual(scopeHeads({ kind: 'layer', layer: 1 }, result, reports), [
      [1, 0],
      [1, 1],
    ]);
    assert.deepEqual(scopeHeads({ kind: 'role', role: 'previous-token' }, result, reports), [
      [0, 1],
      [1, 1],
    ]);
    assert.deepEqual(
      scopeHeads(
        {
          kind: 'heads',
          heads: [
            [0, 0],
            [1, 1],
          ],
        },
        result,
        reports,
      ),
      [
        [1, 1],
        [0, 0],
      ],
    );
    assert.deepEqual(scopeHeads({ kind: 'role', role: 'bracket-matching' }, result, reports), []);
  });

  it('a real measurement streams its groups; a subset lands in the layer-major wire layout with the rest unmeasured', async () => {
    const pipeline = new SessionPipeline(new EngineClient());
    try {
      const model = {
        modelPath: path.join(ROOT, 'media/models/headlight-small/model.onnx'),
        tokenizerPath: path.join(ROOT, 'media/models/headlight-small/tokenizer.json'),
      };
      const b = await pipeline.build({ id: 1, title: 't', text: 'the cat sat on the mat. the cat sat on the mat.', model });
      // Two layers and the top head elsewhere: more than one streamed group (6 heads each).
      const two = [...scopeHeads({ kind: 'layer', layer: 2 }, b.result, b.reports), ...scopeHeads({ kind: 'layer', layer: 3 }, b.result, b.reports)];
      const heads = two.concat(
        scopeHeads({ kind: 'top', count: 5 }, b.result, b.reports)
          .filter(([l]) => l < 2)
          .slice(0, 1),
      );
      const partial: HeadEffects[] = [];
      const e = await pipeline.measureEffects(model, b.result, { heads, onPartial: (s) => partial.push(s) });
      assert.deepEqual(
        e.heads.map((x) => [x.layer, x.head]),
        heads,
        'measured in the order asked',
      );
      assert.equal(e.cutNote, undefined, 'headlight-small is ablated on cut copies');
      assert.ok(partial.length >= 2 && partial.every((p, k) => k === 0 || p.heads.length > partial[k - 1].heads.length), 'groups arrive one after another');
      const w = toWireEffects(e, b.reports, b.result.tokens, b.session.text, 4);
      assert.equal(w.measured, heads.length);
      for (let k = 0; k < 16; k++) {
        const asked = heads.some(([l, h]) => l * 4 + h === k);
        assert.equal(Number.isFinite(w.meanDelta[k]), asked, `head ${k}`);
        assert.equal(w.perToken[k].length > 0, asked);
        assert.equal(w.sentences[k] !== '', asked);
      }
    } finally {
      await pipeline.dispose();
    }
  });
});
