// Repeat probe construction and scoring (Olsson et al. 2022), and the bracket matcher.
import { strict as assert } from 'node:assert';
import { makeRepeatProbe, matchBrackets, scoreRepeatProbe } from '../../../src/analysis';
import { attentionSet, mulberry32, plantedHead, tokensFrom } from './support/synth';

describe('analysis: repeat probe', () => {
  it('is [BOS] r r with distinct non-special ids, reproducible by seed', () => {
    const ids = makeRepeatProbe({ size: 100, specialIds: [0, 1], bosId: 99 }, 20, 5);
    assert.equal(ids.length, 41);
    assert.equal(ids[0], 99);
    assert.deepEqual(ids.slice(1, 21), ids.slice(21));
    assert.equal(new Set(ids.slice(1, 21)).size, 20);
    assert.ok(ids.slice(1).every((x) => x >= 2 && x < 99));
    assert.deepEqual(makeRepeatProbe({ size: 100, specialIds: [0, 1], bosId: 99 }, 20, 5), ids);
    assert.notDeepEqual(makeRepeatProbe({ size: 100, specialIds: [0, 1], bosId: 99 }, 20, 6), ids);
    assert.equal(makeRepeatProbe({ size: 10, specialIds: [] }, 4, 1).length, 8);
  });

  it('scores a planted induction head and a planted duplicate head by hand-checkable means', () => {
    const T = 12,
      n = 2 * T + 1,
      rng = mulberry32(9);
    const ind = plantedHead(rng, n, true, (i) => (i > T ? [i - T + 1] : [0]), 0.8);
    const dup = plantedHead(rng, n, true, (i) => (i > T ? [i - T] : [0]), 0.8);
    const ids = makeRepeatProbe({ size: 50, specialIds: [], bosId: 49 }, T, 1);
    const [si, sd] = scoreRepeatProbe(attentionSet([[ind, dup]], n, true), ids, T);
    const mean = (A: Float32Array, off: number): number => {
      let s = 0;
      for (let i = T + 1; i < n; i++) s += A[i * n + i - off];
      return s / T;
    };
    assert.ok(Math.abs(si.induction - mean(ind, T - 1)) < 1e-9 && Math.abs(sd.duplicate - mean(dup, T)) < 1e-9);
    assert.ok(si.induction > 0.8 && si.inductionCorrected > 0.75 && si.duplicateCorrected < 0.1);
    assert.ok(sd.duplicate > 0.8 && sd.inductionCorrected < 0.1);
  });
});

describe('analysis: bracket matcher', () => {
  it('pairs closers with openers across tokens, skips apostrophes, adjacent pairs and self-closing tags', () => {
    const toks = tokensFrom(['f', '(', 'a', ',', ' [', 'b', ']', ')', " don't", ' "', 'q', '"', ' <p', ' class="x">', 'hi', '<br/>', '</p>', ' ()']);
    const { start, idx } = matchBrackets(toks);
    const pairs: string[] = [];
    for (let i = 0; i < toks.length; i++) for (let p = start[i]; p < start[i + 1]; p++) pairs.push(`${i}->${idx[p]}`);
    // ] (6) → [ (4); ) (7) → ( (1); closing " (11) → opening " (9); </p> (16) → <p (12). "()" is one token.
    assert.deepEqual(pairs.sort(), ['11->9', '16->12', '6->4', '7->1'].sort());
  });
});
