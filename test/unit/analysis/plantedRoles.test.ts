// Synthetic planted heads: 0.8 of each row on the role's target + Dirichlet(1) noise, causal and
// bidirectional, several lengths → exactly the planted role and no other.
import { strict as assert } from 'node:assert';
import { analyzeHeads, buildContext, MIN_ROWS } from '../../../src/analysis';
import { attentionSet, mulberry32, plantedHead, uniformHead } from './support/synth';
import { roleText } from './support/texts';
import { bracketRows, rolePlants, type Plant } from './support/plants';

describe('analysis: planted roles are found, and nothing else', () => {
  for (const causal of [true, false]) {
    for (const n of [24, 64, 160]) {
      it(`${causal ? 'causal' : 'bidirectional'}, ${n} tokens`, () => {
        const rng = mulberry32(n * (causal ? 1 : 7));
        const tokens = roleText(rng, n);
        const ctx = buildContext(tokens, causal);
        const plants: Plant[] = rolePlants(ctx);
        const heads = plants.map((p) => plantedHead(rng, n, causal, p.targets, 0.8));
        heads.push(uniformHead(n, causal));
        const reports = analyzeHeads(attentionSet([heads], n, causal), tokens);
        const expected = [...plants.map((p) => p.role), 'broad'];
        // A short text may hold fewer than MIN_ROWS bracket pairs: then the honest answer is none.
        if (bracketRows(ctx) < MIN_ROWS) {
          const r = reports[expected.indexOf('bracket-matching')];
          assert.deepEqual(r.roles, []);
          assert.equal(r.candidates.find((c) => c.name === 'bracket-matching')?.measurable, false);
          reports.splice(expected.indexOf('bracket-matching'), 1);
          heads.splice(expected.indexOf('bracket-matching'), 1);
          plants.splice(expected.indexOf('bracket-matching'), 1);
          expected.splice(expected.indexOf('bracket-matching'), 1);
        }
        reports.forEach((r, k) => {
          assert.deepEqual(
            r.roles.map((x) => x.name),
            [expected[k]],
            `${expected[k]} head got [${r.roles.map((x) => x.name).join(',')}]: ${JSON.stringify(r.candidates.map((c) => [c.name, +c.score.toFixed(2), c.reason ?? '']))}`,
          );
          const role = r.roles[0];
          assert.ok(role.score >= role.threshold && role.score <= 1);
          if (role.name !== 'broad') {
            assert.ok(role.evidence.example, 'an example edge');
            const ex = role.evidence.example;
            assert.ok(ex && plants[k].targets(ex.query, causal ? ex.query + 1 : n).includes(ex.key), `example ${ex?.query}→${ex?.key} is a planted edge`);
            assert.ok(role.evidence.sentence.includes('`'));
          }
          if (role.name === 'positional') assert.equal(role.offset, causal ? -2 : 1);
        });
      });
    }
  }
});
