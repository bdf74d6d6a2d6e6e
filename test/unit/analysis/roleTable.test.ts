// The role table (src/analysis/roles/index.ts): one row per role, every role name the panel lists is decided
// by a row or by the syntax roles, and a head's candidates come out in the table's order, one per row.
import { strict as assert } from 'node:assert';
import { analyzeHeads, headAnalyzer } from '../../../src/analysis';
import { DETECTORS } from '../../../src/analysis/roles';
import { buildSyntax } from '../../../src/analysis/syntax';
import { ROLE_NAMES } from '../../../src/protocol';
import { attentionSet, dirichletHead, mulberry32, uniformHead } from './support/synth';
import { roleText } from './support/texts';
import { CODE, PROSE, tokenize } from './syntax/support';

describe('analysis: the role table', () => {
  it('has one row per role name', () => {
    const names = DETECTORS.map((d) => d.name);
    assert.equal(new Set(names).size, names.length, `a role decided twice: ${names.join(', ')}`);
  });

  it("decides every role the panel lists: the table's rows, and the syntax roles on a Python module and an English paragraph", async () => {
    const decided = new Set<string>(DETECTORS.map((d) => d.name));
    for (const [language, text] of [
      ['python', CODE],
      ['plaintext', PROSE],
    ] as const) {
      const tokens = tokenize(text);
      const syntax = await buildSyntax(tokens, { language, text });
      const an = headAnalyzer({ layers: 1, headsPerLayer: 1, seq: tokens.length, causal: true }, tokens, { syntax });
      for (const c of an.analyze(0, 0, uniformHead(tokens.length, true)).candidates) decided.add(c.name);
    }
    assert.deepEqual(
      ROLE_NAMES.filter((name) => !decided.has(name)),
      [],
      'role names no detector decides',
    );
    assert.deepEqual(
      [...decided].filter((name) => !(ROLE_NAMES as readonly string[]).includes(name)),
      [],
      'roles decided that the panel does not list',
    );
  });

  it('gives each head one candidate per row, in table order, causal and bidirectional', () => {
    const rng = mulberry32(3);
    for (const causal of [true, false]) {
      const n = 30;
      const tokens = roleText(rng, n);
      const [head] = analyzeHeads(attentionSet([[dirichletHead(rng, n, causal, 1)]], n, causal), tokens);
      assert.deepEqual(
        head.candidates.map((c) => c.name),
        DETECTORS.map((d) => d.name),
      );
    }
  });
});
