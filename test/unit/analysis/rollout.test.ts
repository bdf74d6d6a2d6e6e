// Attention rollout (Abnar & Zuidema 2020) on a hand-computed 2-layer example.
import { strict as assert } from 'node:assert';
import { attentionPathway, LayerSums, PathwayBuilder, rolloutMatrix } from '../../../src/analysis';
import { headView } from '../../../src/engine/types';
import { attentionSet, dirichletHead, mulberry32 } from './support/synth';

const close = (a: number, b: number, eps = 1e-7): void => assert.ok(Math.abs(a - b) < eps, `${a} ≠ ${b}`);

describe('analysis: rollout and pathway', () => {
  it('2 layers × 2 heads, 2 causal tokens, by hand', () => {
    // Layer 0 heads: row1 = [1, 0] and [0, 1] → mean [.5, .5]; Â0 row1 = .5·[.5,.5] + .5·[0,1] = [.25, .75]
    // Layer 1 heads: row1 = [.6, .4] and [.2, .8] → mean [.4, .6]; Â1 row1 = [.2, .3] + [0, .5] = [.2, .8]
    // Row 0 is [1, 0] everywhere. Rollout row1 = [.2, .8]·Â0 = .2·[1,0] + .8·[.25,.75] = [.4, .6]
    const l0 = Float32Array.from([1, 0, 1, 0, /* head 1 */ 1, 0, 0, 1]);
    const l1 = Float32Array.from([1, 0, 0.6, 0.4, /* head 1 */ 1, 0, 0.2, 0.8]);
    const att = { layers: 2, headsPerLayer: 2, seq: 2, causal: true, data: [l0, l1] };
    const p = attentionPathway(att, 1);
    close(p.perLayer[1][0], 0.2, 1e-6);
    close(p.perLayer[1][1], 0.8, 1e-6);
    close(p.perLayer[0][0], 0.4, 1e-6);
    close(p.perLayer[0][1], 0.6, 1e-6);
    const R = rolloutMatrix(att);
    [1, 0, 0.4, 0.6].forEach((x, k) => close(R[k], x, 1e-6)); // float32 inputs: 0.6 is 0.60000002
  });

  it('rows sum to 1 and the pathway equals the rollout row (random 3-layer, bidirectional)', () => {
    const rng = mulberry32(3);
    const n = 9;
    const att = attentionSet(
      [0, 1, 2].map(() => [0.5, 2].map((a) => dirichletHead(rng, n, false, a))),
      n,
      false,
    );
    const R = rolloutMatrix(att);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += R[i * n + j];
      close(s, 1, 1e-6);
      const p = attentionPathway(att, i);
      for (const v of p.perLayer)
        close(
          v.reduce((a, b) => a + b, 0),
          1,
          1e-6,
        );
      for (let j = 0; j < n; j++) close(p.perLayer[0][j], R[i * n + j], 1e-12);
    }
  });

  it('a pathway from per-layer head sums (the Flow cache) is bit-identical to one fed head by head', () => {
    const rng = mulberry32(11);
    const n = 13;
    for (const causal of [true, false]) {
      const att = attentionSet(
        [0, 1, 2, 3].map(() => [0.3, 1, 4].map((a) => dirichletHead(rng, n, causal, a))),
        n,
        causal,
      );
      const sums = Array.from({ length: att.layers }, (_, l) => {
        const s = new LayerSums(l, n, causal, att.headsPerLayer);
        for (let h = 0; h < att.headsPerLayer; h++) s.add(headView(att, l, h));
        assert.ok(s.complete);
        assert.equal(s.sum.length, causal ? (n * (n + 1)) / 2 : n * n, 'a causal layer keeps only its lower triangle');
        return s;
      });
      for (const token of [0, 5, n - 1]) {
        const b = new PathwayBuilder(att, token);
        for (let want = b.next(); want; want = b.next()) b.feedLayer(sums[want[0]]);
        assert.deepEqual(b.result(), attentionPathway(att, token));
      }
      assert.throws(() => new PathwayBuilder(att, 0).feedLayer(sums[0]), /needs L3H0/);
    }
  });
});
