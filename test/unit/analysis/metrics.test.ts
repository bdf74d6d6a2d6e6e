// Every metric pinned on hand-computed matrices (arithmetic in the comments).
import { strict as assert } from 'node:assert';
import { analyzeHeads, METRICS } from '../../../src/analysis';
import type { Token } from '../../../src/engine/types';

const close = (a: number, b: number, eps = 1e-6): void => assert.ok(Math.abs(a - b) < eps, `${a} ≠ ${b}`);
const tok = (id: number, text: string, start: number, special = false): Token =>
  special ? { id, text, start: -1, end: -1, special } : { id, text, start, end: start + text.length, special };

describe('analysis metrics: hand-computed values', () => {
  it('4×4 causal head: [BOS] x , x', () => {
    // Text "x,x": t1 "x" [0,1), t2 "," [1,2), t3 "x" [2,3) (same id as t1).
    const tokens = [tok(0, '<bos>', -1, true), tok(5, 'x', 0), tok(6, ',', 1), tok(5, 'x', 2)];
    const A = Float32Array.from([1, 0, 0, 0, 0.5, 0.5, 0, 0, 0.2, 0.6, 0.2, 0, 0.1, 0.2, 0.3, 0.4]);
    const [r] = analyzeHeads({ layers: 1, headsPerLayer: 1, seq: 4, causal: true, data: [A] }, tokens);
    const m = r.metrics;
    assert.equal(r.id, 'L0H0');
    // entropy: row0 excluded (1 key); row1 ln2/ln2 = 1; row2 −(2·.2ln.2 + .6ln.6)/ln3 = 0.9502705/1.0986123
    // = 0.8649735; row3 −(.1ln.1+.2ln.2+.3ln.3+.4ln.4)/ln4 = 1.2798542/1.3862944 = 0.9232197; mean 0.9293977
    close(m.entropy, 0.9293977, 1e-5);
    // distance: row1 .5·1; row2 .2·2+.6·1 = 1; row3 .1·3+.2·2+.3·1 = 1; (0+.5+1+1)/4 = 0.625
    close(m.distance, 0.625);
    // chars (specials skipped, rows renormalised over non-special keys): row1 0; row2 (.6·1)/.8 = .75;
    // row3 (.2·2 + .3·1)/.9 = .7778; mean over 3 non-special queries = 0.5092593
    close(m.charDistance, (0 + 0.75 + 0.7 / 0.9) / 3);
    close(m.sink, (1 + 0.5 + 0.2 + 0.1) / 4); // 0.45
    close(m.self, (1 + 0.5 + 0.2 + 0.4) / 4); // 0.525
    close(m.previous, (0 + 0.5 + 0.6 + 0.3) / 4); // 0.35
    close(m.punctuation, (0.2 + 0.3) / 4); // "," is t2: rows 2, 3 → 0.125
    close(m.duplicate, 0.2); // only row3 repeats (t1): A[3,1]
    close(m.induction, 0.3); // token after the earlier copy: A[3,2]
    close(m.maxWeight, (1 + 0.5 + 0.6 + 0.4) / 4); // 0.625
    close(m.topK, (1 + 1 + 1 + 0.9) / 4); // k=3: row3 .4+.3+.2
    // TransformerLens Σ(A⊙P)/ΣA with ΣA = 4.
    close(m.tlPrevious, 1.4 / 4);
    close(m.tlDuplicate, 0.2 / 4);
    close(m.tlInduction, 0.3 / 4);
    assert.ok(Number.isNaN(m.probeInduction));
    assert.match(r.notes.probeInduction ?? '', /no repeat-probe/);
    // k = 2: row2 .6+.2, row3 .4+.3 → (1+1+.8+.7)/4
    const [r2] = analyzeHeads({ layers: 1, headsPerLayer: 1, seq: 4, causal: true, data: [A] }, tokens, { topK: 2 });
    close(r2.metrics.topK, 3.5 / 4);
  });

  it('3×3 bidirectional head: a bb c', () => {
    const tokens = [tok(1, 'a', 0), tok(2, 'bb', 1), tok(3, 'c', 3)];
    const A = Float32Array.from([0.6, 0.3, 0.1, 0.25, 0.5, 0.25, 0.1, 0.2, 0.7]);
    const [r] = analyzeHeads({ layers: 1, headsPerLayer: 1, seq: 3, causal: false, data: [A] }, tokens);
    const m = r.metrics;
    // entropy rows /ln3: 0.8979457/1.0986123 = 0.8173454; 1.0397208/1.0986123 = 0.9463946;
    // 0.8018214/1.0986123 = 0.7298467; mean 0.8311956
    close(m.entropy, 0.8311956, 1e-5);
    close(m.distance, (0.5 + 0.5 + 0.4) / 3); // row0 .3+.2; row1 .25+.25; row2 .2+.2
    close(m.charDistance, (0.6 + 0.75 + 0.7) / 3); // starts 0,1,3: row0 .3·1+.1·3; row1 .25·1+.25·2; row2 .1·3+.2·2
    close(m.sink, (0.6 + 0.25 + 0.1) / 3);
    close(m.self, (0.6 + 0.5 + 0.7) / 3);
    close(m.previous, (0.25 + 0.2) / 3);
    close(m.punctuation, 0);
    assert.ok(Number.isNaN(m.duplicate) && Number.isNaN(m.induction));
    assert.match(r.notes.duplicate ?? '', /repeats/);
    close(m.maxWeight, 0.6);
    close(m.topK, 1);
  });

  it('METRICS defines every metric key once, with a definition', () => {
    const keys = METRICS.map((d) => d.key);
    assert.equal(new Set(keys).size, keys.length);
    assert.deepEqual(
      [...keys].sort(),
      Object.keys(
        analyzeHeads({ layers: 1, headsPerLayer: 1, seq: 2, causal: true, data: [Float32Array.from([1, 0, 0.5, 0.5])] }, [tok(1, 'a', 0), tok(2, 'b', 1)])[0]
          .metrics,
      ).sort(),
    );
    for (const d of METRICS) assert.ok(d.definition.length > 20, d.key);
  });
});
