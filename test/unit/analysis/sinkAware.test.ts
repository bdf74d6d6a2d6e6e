// The sink-aware scores pinned on a hand-computed matrix (arithmetic in the comments), and the repeat
// probe's sink-aware induction score against its definition.
import { strict as assert } from 'node:assert';
import { buildContext, measureHead, scoreRepeatProbe, Scratch } from '../../../src/analysis';
import { measureRest, restScore } from '../../../src/analysis/sinkAware';
import type { Token } from '../../../src/engine/types';

const close = (a: number, b: number, eps = 1e-6): void => assert.ok(Math.abs(a - b) < eps, `${a} ≠ ${b}`);
const tok = (id: number, text: string, start: number, special = false): Token =>
  special ? { id, text, start: -1, end: -1, special } : { id, text, start, end: start + text.length, special };

describe('analysis: sink-aware scores, hand-computed', () => {
  it('5×5 causal head over [BOS] a b c d: previous-token and self on the rest of each row', () => {
    const tokens = [tok(0, '<bos>', -1, true), tok(1, 'a', 0), tok(2, 'b', 1), tok(3, 'c', 2), tok(4, 'd', 3)];
    const A = Float32Array.from([1, 0, 0, 0, 0, 0.8, 0.2, 0, 0, 0, 0.6, 0.3, 0.1, 0, 0, 0.5, 0.1, 0.3, 0.1, 0, 0.7, 0, 0, 0.25, 0.05]);
    const ctx = buildContext(tokens, true);
    const scratch = new Scratch(5, 3);
    measureHead(A, ctx, scratch);
    const r = measureRest(A, ctx, scratch);
    // Row 0 is the sink; row 1 sees one non-sink key (nothing to choose). Rows 2–4 keep r = .4, .5, .3
    // over m' = 2, 3, 4 non-sink keys.
    assert.equal(r.rows, 3);
    close(r.restMass, (0.4 + 0.5 + 0.3) / 3);
    close(r.sinkMass, (0.6 + 0.5 + 0.7) / 3);
    // previous: renormalised o' = .3/.4 = .75, .3/.5 = .6, .25/.3 = .8333 against b = 1/2, 1/3, 1/4:
    // c = .5, .4, .7778; weighted by r: (.4·.5 + .5·.4 + .3·.7778)/1.2 = .63333/1.2 = .527778
    close(restScore(r.previous), 0.633333333 / 1.2);
    assert.equal(r.previous.rows, 3);
    // self: o' = .1/.4, .1/.5, .05/.3 → c = −.2/.5·… ; Σ (o − b·r)/(1 − b) = (.1 − .2)/.5 + (.1 − .5/3)/(2/3) + (.05 − .075)/.75
    // = −.2 − .1 − .033333 = −.333333; / 1.2 = −.277778 (less than a uniform spread over the rest)
    close(restScore(r.self), -0.333333333 / 1.2);
    // The largest non-sink key of rows 2–4: a, b, c (each row's overall argmax is the sink).
    assert.deepEqual(Array.from(r.argmax), [-1, -1, 1, 2, 3]);
  });

  it("the probe's sink-aware induction: first column set aside, rows renormalised, weighted by what they keep", () => {
    // [BOS] r1 r2 r1 r2, T = 2; a head with .6 on BOS and .4 on the token after the earlier copy.
    const n = 5,
      T = 2;
    const A = new Float32Array(n * n);
    const set = (i: number, w: Record<number, number>) => {
      for (const [j, v] of Object.entries(w)) A[i * n + Number(j)] = v;
    };
    set(0, { 0: 1 });
    set(1, { 0: 1 });
    set(2, { 0: 0.5, 2: 0.5 });
    set(3, { 0: 0.6, 2: 0.4 }); // query r1 (2nd copy): target i − T + 1 = 2 (r2 after the first r1)
    set(4, { 0: 0.6, 3: 0.4 }); // query r2: target 3
    const [s] = scoreRepeatProbe({ layers: 1, headsPerLayer: 1, seq: n, causal: true, data: [A] }, [9, 1, 2, 1, 2], T);
    close(s.induction, 0.4);
    // Rows 3, 4: r = .4 over m' = 3, 4 keys: (.4 − .4/3)/(2/3) = .4; (.4 − .4/4)/(3/4) = .4; Σ/Σr = .8/.8 = 1
    close(s.inductionRest, 1);
    close(s.restMass, 0.4);
    // Whole rows: (.4 − 1/4)/(3/4) = .2, (.4 − 1/5)/(4/5) = .25 → .225
    close(s.inductionCorrected, 0.225);
  });
});
