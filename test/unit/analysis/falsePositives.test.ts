// ≥ 1,000 random heads (fixed seed) must get no role — except `broad`, by decision: `broad` means
// near-uniform (mean normalised entropy ≥ BROAD_THRESHOLD). Uniform heads get exactly [broad];
// Dirichlet heads with high concentration (α = 10) are spread over everything and get broad; low
// concentration (α ≤ 0.3) never does; in between, broad exactly when the entropy clears the bar.
import { strict as assert } from 'node:assert';
import { analyzeHeads, BROAD_THRESHOLD } from '../../../src/analysis';
import { attentionSet, dirichletHead, mulberry32, uniformHead } from './support/synth';
import { roleText } from './support/texts';

describe('analysis: no roles on random heads', () => {
  it('uniform heads (causal and bidirectional, 8–200 tokens) are exactly [broad]', () => {
    for (const causal of [true, false]) {
      for (const n of [8, 16, 33, 64, 128, 200]) {
        const tokens = roleText(mulberry32(n), n);
        const [r] = analyzeHeads(attentionSet([[uniformHead(n, causal)]], n, causal), tokens);
        assert.deepEqual(
          r.roles.map((x) => x.name),
          ['broad'],
          `n=${n} causal=${causal}`,
        );
        for (const c of r.candidates) if (c.name !== 'broad') assert.ok(c.score < 1e-5, `${c.name} ${c.score}`);
      }
    }
  });

  it('1,200 random Dirichlet heads get no role but (high-entropy) broad', () => {
    const rng = mulberry32(2024);
    let heads = 0,
      broad = 0;
    const counts: Record<string, number> = {};
    for (const causal of [true, false]) {
      for (const n of [16, 32, 64, 96]) {
        const tokens = roleText(rng, n);
        for (const alpha of [0.1, 0.3, 1, 3, 10]) {
          const layer = Array.from({ length: 30 }, () => dirichletHead(rng, n, causal, alpha));
          for (const r of analyzeHeads(attentionSet([layer], n, causal), tokens)) {
            heads++;
            for (const role of r.roles) counts[role.name] = (counts[role.name] ?? 0) + 1;
            const others = r.roles.filter((x) => x.name !== 'broad');
            assert.deepEqual(others, [], `α=${alpha} n=${n} causal=${causal}: ${JSON.stringify(others.map((o) => [o.name, o.score]))}`);
            const isBroad = r.roles.some((x) => x.name === 'broad');
            assert.equal(isBroad, r.metrics.entropy >= BROAD_THRESHOLD);
            if (alpha <= 0.3) assert.ok(!isBroad);
            if (alpha >= 10) assert.ok(isBroad);
            if (isBroad) broad++;
          }
        }
      }
    }
    assert.equal(heads, 1200);
    assert.ok(broad > 0 && broad < heads);
  });
});
