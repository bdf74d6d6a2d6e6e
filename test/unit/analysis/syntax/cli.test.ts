// The syntax roles from the command line: `explain FILE` reads the language off the extension, and
// `explain --dump PATH` analyses a dump whose tokens.json says "language" exactly as the panel does —
// a head planted from the parse is named, with per-token syntax in the JSON and in the HTML report.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildSyntax } from '../../../../src/analysis/syntax';
import { attentionSet, buildHead, uniformHead } from '../support/synth';
import { writeDumpFolder, writeTokens } from '../../dump/support/writeDump';
import { CODE, tokenize } from './support';

import { cliScratch, runCli as run } from '../../../fixtures/cli';

interface Json {
  tokens: { text: string; syntax?: string; special: boolean }[];
  syntax?: { mode: string; language: string; partial: boolean; note?: string };
  syntaxNote?: string;
  relations?: { name: string; edges: [number, number][] }[];
  heads: { id: string; roles: { name: string; score: number; relation?: { accuracy: number; baseline: number; count: number }; evidence: string }[] }[];
}

describe('syntax roles from the command line', function () {
  this.timeout(60_000);
  const tmp = cliScratch('headlight-syntax-cli-');

  it('explain FILE.py parses it as Python: every token carries its node type, and the JSON says where the roles came from', () => {
    const file = path.join(tmp, 'walk.py');
    fs.writeFileSync(file, 'def f(values):\n    return [v * 2 for v in values]\n');
    const out = path.join(tmp, 'walk.json');
    const r = run(['explain', file, '--json', out]);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(fs.readFileSync(out, 'utf8')) as Json;
    assert.deepEqual(j.syntax, { mode: 'code', language: 'python', partial: false });
    assert.equal(j.syntaxNote, undefined, 'no caveat, no note');
    assert.ok(
      j.tokens.some((t) => t.syntax === 'identifier'),
      JSON.stringify(j.tokens.map((t) => t.syntax)),
    );
    const txt = path.join(tmp, 'note.txt');
    fs.writeFileSync(txt, 'The old man saw a dog.');
    const r2 = run(['explain', txt, '--json', out]);
    assert.equal(r2.status, 0, r2.stderr);
    const k = JSON.parse(fs.readFileSync(out, 'utf8')) as Json;
    assert.deepEqual(k.syntax, { mode: 'prose', language: 'prose', partial: false });
    assert.ok(k.tokens.some((t) => t.syntax === 'NOUN'));
  });

  it("explain --dump: a head planted on each token's AST parent is named ast-parent with accuracy 1, in the JSON and the report", async () => {
    const tokens = tokenize(CODE);
    const n = tokens.length;
    const info = await buildSyntax(tokens, { language: 'python', text: CODE });
    const gold = info.relations.find((r) => r.name === 'ast-parent')!.gold;
    const parentHead = buildHead(n, true, (i, m, row) => {
      row[0] = 0.3;
      if (gold[i] > 0) row[gold[i]] = 0.7;
      else for (let j = 1; j < m; j++) row[j] = 0.7 / Math.max(1, m - 1);
      if (m === 1) row[0] = 1;
    });
    const dir = writeDumpFolder(path.join(tmp, 'dump'), attentionSet([[parentHead, uniformHead(n, true)]], n, true), CODE, tokens);
    writeTokens(path.join(dir, 'tokens.json'), CODE, tokens, { causal: true, model: 'generated', language: 'python' });
    const out = path.join(tmp, 'dump.json'),
      html = path.join(tmp, 'dump.html');
    const r = run(['explain', '--dump', dir, '--json', out, '--report', html]);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(fs.readFileSync(out, 'utf8')) as Json;
    const role = j.heads[0].roles.find((x) => x.name === 'ast-parent');
    assert.ok(role, JSON.stringify(j.heads[0].roles));
    assert.equal(role.relation?.accuracy, 1);
    assert.ok(role.relation.baseline < 0.5);
    assert.deepEqual(
      j.heads[1].roles.filter((x) => x.name === 'ast-parent'),
      [],
    );
    assert.ok(j.tokens.filter((t) => t.syntax).length > n / 2);
    // The gold edges it was scored against travel too, exactly the parse's.
    assert.deepEqual(
      j.relations!.find((r) => r.name === 'ast-parent')!.edges,
      [...gold].flatMap((g, d) => (g >= 0 ? [[d, g]] : [])),
    );
    const report = fs.readFileSync(html, 'utf8');
    assert.ok(report.includes('ast-parent'), 'the report carries the role');
    // Without "language" the dump is read as prose, and says so.
    writeTokens(path.join(dir, 'tokens.json'), CODE, tokens, { causal: true, model: 'generated' });
    const r2 = run(['explain', '--dump', dir, '--json', out]);
    assert.equal(r2.status, 0, r2.stderr);
    assert.equal((JSON.parse(fs.readFileSync(out, 'utf8')) as Json).syntax?.mode, 'prose');
    // A language Headlight has no grammar for is read as prose, and the panel's note says so.
    writeTokens(path.join(dir, 'tokens.json'), CODE, tokens, { causal: true, model: 'generated', language: 'cobol' });
    const r3 = run(['explain', '--dump', dir, '--json', out]);
    assert.equal(r3.status, 0, r3.stderr);
    assert.match((JSON.parse(fs.readFileSync(out, 'utf8')) as Json).syntaxNote ?? '', /no grammar for cobol: read as English prose/);
  });

  it('--dump refuses what only a model run has, with a usage message', () => {
    const r = run(['explain', '--dump', tmp, '--model', tmp]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--dump runs no model/);
  });
});
