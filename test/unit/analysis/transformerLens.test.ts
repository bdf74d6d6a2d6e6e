// tlPrevious / tlDuplicate / tlInduction must equal TransformerLens detect_head
// (transformer_lens/head_detector.py, error_measure "mul", no exclusions) on the same tensors.
// The reference below is written straight from that file: build the 0/1 pattern, Σ(A⊙P)/ΣA.
import { strict as assert } from 'node:assert';
import { analyzeHeads } from '../../../src/analysis';
import type { Token } from '../../../src/engine/types';
import { attentionSet, dirichletHead, mulberry32 } from './support/synth';

type Pattern = number[][];
// get_previous_token_head_detection_pattern: ones on the sub-diagonal, tril.
const prevPattern = (ids: number[]): Pattern => ids.map((_, i) => ids.map((__, j) => (j === i - 1 ? 1 : 0)));
// get_duplicate_token_head_detection_pattern: eq_mask with the diagonal zeroed, tril.
const dupPattern = (ids: number[]): Pattern => ids.map((a, i) => ids.map((b, j) => (a === b && j !== i && j <= i ? 1 : 0)));
// get_induction_head_detection_pattern: duplicate pattern rolled one column right, column 0 zeroed, tril.
const indPattern = (ids: number[]): Pattern => {
  const d = dupPattern(ids);
  const n = ids.length;
  return d.map((row, i) => row.map((_, j) => (j === 0 ? 0 : j <= i ? d[i][(j - 1 + n) % n] : 0)));
};
// process_head_attention_pattern_score (mul): (A * P).sum() / A.sum()
function detect(A: Float32Array, n: number, P: Pattern): number {
  let num = 0,
    den = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      num += A[i * n + j] * P[i][j];
      den += A[i * n + j];
    }
  return num / den;
}

describe('analysis: TransformerLens detect_head equivalence', () => {
  for (const n of [5, 17, 40]) {
    it(`random heads on a sequence with repeats, n = ${n}`, () => {
      const rng = mulberry32(n);
      const ids = [0, ...Array.from({ length: n - 1 }, () => 1 + Math.floor(rng() * 6))];
      const tokens: Token[] = ids.map((id, i) => ({ id, text: `t${id}`, start: i === 0 ? -1 : i * 2, end: i === 0 ? -1 : i * 2 + 2, special: i === 0 }));
      const heads = [[0.2, 1, 5].map((a) => dirichletHead(rng, n, true, a))];
      const reports = analyzeHeads(attentionSet(heads, n, true), tokens);
      reports.forEach((r, k) => {
        const A = heads[0][k];
        assert.ok(Math.abs(r.metrics.tlPrevious - detect(A, n, prevPattern(ids))) < 1e-9);
        assert.ok(Math.abs(r.metrics.tlDuplicate - detect(A, n, dupPattern(ids))) < 1e-9);
        assert.ok(Math.abs(r.metrics.tlInduction - detect(A, n, indPattern(ids))) < 1e-9);
      });
    });
  }
});
