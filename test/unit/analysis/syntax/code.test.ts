// Code relations from tree-sitter with known answers, and the token ↔ node alignment rule on CRLF, tabs,
// emoji split across tokens, multi-token identifiers, and the real byte-level BPE and WordPiece tokenizers.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { alignTokens, buildSyntax, type SyntaxInfo } from '../../../../src/analysis/syntax';
import { encodeText, loadTokenizer } from '../../../../src/engine/tokenize';
import type { Token } from '../../../../src/engine/types';
import { edges, tokenize } from './support';
import { headAnalyzer, matchBrackets } from '../../../../src/analysis';

const rel = (info: SyntaxInfo, name: string): Int32Array => {
  const r = info.relations.find((x) => x.name === name);
  if (!r) throw new Error(`no relation ${name}`);
  return r.gold;
};

describe('syntax: token alignment', () => {
  it('anchors a token at its first non-whitespace character; the first token covering a character owns it', () => {
    const tokens: Token[] = [
      { id: 0, text: '<s>', start: -1, end: -1, special: true },
      { id: 1, text: ' foo', start: 0, end: 4, special: false },
      { id: 2, text: '\t', start: 4, end: 5, special: false },
      { id: 3, text: '😀', start: 5, end: 7, special: false },
      { id: 4, text: '😀', start: 5, end: 7, special: false }, // byte-level BPE: one emoji, two tokens, one span
      { id: 5, text: 'x', start: 7, end: 8, special: false },
    ];
    const al = alignTokens(tokens);
    assert.deepEqual([...al.anchor], [-1, 1, -1, 5, 5, 7]);
    assert.deepEqual([...al.leads], [0, 1, 0, 1, 0, 1]);
    assert.equal(al.tokenAt(0), 1);
    assert.equal(al.tokenAt(6), 3);
    assert.equal(al.tokenAt(8), -1);
  });
});

describe('syntax: code relations (tree-sitter)', function () {
  this.timeout(20_000);
  const py = 'def f(x):\n    y = x\n    return y\n';

  it('Python: ast-parent, bracket-pair, def-use and block-opener, token by token', async () => {
    const tokens = tokenize(py);
    // 0 BOS, 1 def, 2 ' f', 3 '(', 4 'x', 5 ')', 6 ':', 7 '\n    y', 8 ' =', 9 ' x', 10 '\n    return', 11 ' y', 12 '\n'
    assert.equal(tokens.length, 13);
    const info = await buildSyntax(tokens, { language: 'python', text: py, offset: 0 });
    assert.equal(info.mode, 'code');
    assert.equal(info.partial, false);
    assert.deepEqual(edges(tokens, rel(info, 'ast-parent')), [
      'f@2→def@1',
      '(@3→def@1',
      'x@4→(@3',
      ')@5→(@3',
      ':@6→def@1',
      'y@7→def@1',
      '=@8→y@7',
      'x@9→y@7',
      'return@10→y@7',
      'y@11→return@10',
    ]);
    assert.deepEqual(edges(tokens, rel(info, 'bracket-pair')), [')@5→(@3']);
    assert.deepEqual(edges(tokens, rel(info, 'def-use')), ['x@9→x@4', 'y@11→y@7']);
    assert.deepEqual(edges(tokens, rel(info, 'block-opener')), ['y@7→def@1', '=@8→def@1', 'x@9→def@1', 'return@10→def@1', 'y@11→def@1']);
    assert.equal(info.tokenSyntax[2], 'identifier');
    assert.equal(info.tokenSyntax[1], 'def in function_definition');
    assert.equal(info.tokenSyntax[12], null, 'a whitespace-only token has no node');
  });

  it('the same code with CRLF line ends and tab indentation gives the same edges', async () => {
    const lf = tokenize(py);
    const crlf = py.replace(/\n/g, '\r\n').replace(/ {4}/g, '\t');
    const tokens = tokenize(crlf);
    assert.equal(tokens.length, lf.length);
    const a = await buildSyntax(lf, { language: 'python', text: py });
    const b = await buildSyntax(tokens, { language: 'python', text: crlf });
    for (const r of a.relations) assert.deepEqual([...rel(b, r.name)], [...r.gold], r.name);
  });

  it('TypeScript and JavaScript: the keyword opening each block, nested; braces and parentheses paired by the parse', async () => {
    const src = 'function g(a: number) {\n  if (a > 1) {\n    return a;\n  }\n  return 0;\n}\n';
    for (const language of ['typescript', 'javascript', 'typescriptreact']) {
      const text = language === 'javascript' ? src.replace(': number', '') : src;
      const tokens = tokenize(text);
      const info = await buildSyntax(tokens, { language, text });
      const op = edges(tokens, rel(info, 'block-opener'));
      assert.ok(
        op.some((e) => /^return@\d+→if@/.test(e)),
        `${language}: ${op.join(' ')}`,
      );
      assert.ok(
        op.some((e) => /^if@\d+→function@1$/.test(e)),
        `${language}: ${op.join(' ')}`,
      );
      assert.ok(
        op.some((e) => /^0@\d+→function@1$/.test(e)),
        'a literal inside `return 0;` begins its leaf: it maps too',
      );
      const br = edges(tokens, rel(info, 'bracket-pair'));
      const closes = tokens.filter((t) => t.text.trim() === '}' || t.text.trim() === ')').length;
      assert.equal(br.length, closes, `${language}: every ) and } is paired: ${br.join(' ')}`);
      for (const e of br) assert.match(e, /^(\)@\d+→\(|\}@\d+→\{)/);
      const du = edges(tokens, rel(info, 'def-use'));
      assert.ok(du.length >= 2 && du.every((e) => /^a@\d+→a@\d+$/.test(e)), `${language}: ${du.join(' ')}`);
    }
  });

  it('multi-token identifiers: the later pieces start no node and are no dependents; a use points at the first piece of the definition', async () => {
    const text = 'getUserName = 1\nprint(getUserName)\n';
    const tokens = tokenize(text);
    const idx = (t: string, k: number) => tokens.map((x, i) => [x.text.trim(), i] as const).filter(([x]) => x === t)[k][1];
    const info = await buildSyntax(tokens, { language: 'python', text });
    const parent = rel(info, 'ast-parent');
    assert.equal(parent[idx('User', 0)], -1);
    assert.equal(parent[idx('Name', 0)], -1);
    assert.equal(rel(info, 'def-use')[idx('get', 1)], idx('get', 0));
    assert.equal(rel(info, 'def-use')[idx('User', 1)], -1);
    assert.equal(info.tokenSyntax[idx('User', 0)], 'identifier', 'every piece shows its node');
  });

  it('an emoji split over two tokens: the first piece owns it, quotes and names still pair', async () => {
    const text = 's = "😀"\nt = s\n';
    const tokens: Token[] = [
      { id: 9, text: '<s>', start: -1, end: -1, special: true },
      { id: 1, text: 's', start: 0, end: 1, special: false },
      { id: 2, text: ' =', start: 1, end: 3, special: false },
      { id: 3, text: ' "', start: 3, end: 5, special: false },
      { id: 4, text: '😀', start: 5, end: 7, special: false },
      { id: 5, text: '😀', start: 5, end: 7, special: false },
      { id: 6, text: '"', start: 7, end: 8, special: false },
      { id: 7, text: '\n', start: 8, end: 9, special: false },
      { id: 8, text: 't', start: 9, end: 10, special: false },
      { id: 2, text: ' =', start: 10, end: 12, special: false },
      { id: 1, text: ' s', start: 12, end: 14, special: false },
      { id: 7, text: '\n', start: 14, end: 15, special: false },
    ];
    const info = await buildSyntax(tokens, { language: 'python', text });
    assert.deepEqual(edges(tokens, rel(info, 'bracket-pair')), ['"@6→"@3']);
    assert.deepEqual(edges(tokens, rel(info, 'def-use')), ['s@10→s@1']);
    assert.equal(rel(info, 'ast-parent')[5], -1, 'the second piece of the emoji is no dependent');
    assert.equal(rel(info, 'ast-parent')[4], 3, "the emoji (string content) → the string's opening quote");
  });

  it('a selection that cuts a function in half is parsed with its document: the same edges as the whole file where both ends are inside', async () => {
    const doc =
      'import os\n\ndef walk(root, depth):\n    for name in os.listdir(root):\n        if depth > 0:\n            walk(name, depth - 1)\n    return root\n';
    const whole = tokenize(doc, false);
    const cut = doc.indexOf('\n    for');
    const sel = doc.slice(cut);
    const part = tokenize(sel, false);
    const a = await buildSyntax(whole, { language: 'python', text: doc });
    const b = await buildSyntax(part, { language: 'python', text: doc, offset: cut });
    assert.equal(b.partial, false, 'the document parses, the selection alone would not matter');
    const first = whole.findIndex((t) => t.start === cut);
    assert.ok(first > 0 && whole.length - first === part.length, 'the selection tokenizes the same way');
    for (const r of a.relations) {
      const g = rel(b, r.name);
      for (let d = 0; d < part.length; d++) {
        const full = r.gold[d + first];
        assert.equal(g[d], full >= first ? full - first : -1, `${r.name} of ${JSON.stringify(part[d].text)}`);
      }
    }
    assert.ok(edges(part, rel(b, 'block-opener')).some((e) => e.startsWith('walk@') && e.includes('→if@')));
  });

  it('a parse with errors gives the relations of what parsed, flagged partial', async () => {
    const text = 'def g(y):\n    return y\n\nx = (1 +\n\ndef h(z):\n    return z\n';
    const tokens = tokenize(text);
    const info = await buildSyntax(tokens, { language: 'python', text });
    assert.equal(info.partial, true);
    assert.match(info.note ?? '', /errors/);
    assert.ok(info.relations.every((r) => r.partial));
    const at = (t: string, k = 0) => tokens.map((x, i) => [x.text.trim(), i] as const).filter(([x]) => x === t)[k][1];
    // The intact function keeps its edges; inside the broken statement the parse guessed, so no edge is read there.
    assert.equal(rel(info, 'def-use')[at('y', 1)], at('y', 0));
    assert.equal(rel(info, 'block-opener')[at('return', 0)], at('def', 0));
    assert.equal(rel(info, 'block-opener')[at('return', 1)], -1);
  });

  it('an unknown language is read as prose, and says so; a stale document falls back to the selection', async () => {
    const text = 'The cat sat on the mat.';
    const tokens = tokenize(text);
    const info = await buildSyntax(tokens, { language: 'cobol', text });
    assert.equal(info.mode, 'prose');
    assert.match(info.note ?? '', /no grammar for cobol/);
    const stale = await buildSyntax(tokens, { language: 'plaintext', text: 'Something else entirely', offset: 0 });
    assert.match(stale.note ?? '', /no longer matches/);
    assert.equal(stale.mode, 'prose');
  });

  for (const model of ['headlight-mini', 'tiny-bert']) {
    it(`real tokenizer (${model}): CRLF, tabs, emoji — every edge joins the characters the parse joins`, async () => {
      const text = 'def greet(name):\r\n\tmessage = "héllo 😀 " + name\r\n\tif message:\r\n\t\tprint(message, [name])\r\n\treturn message\r\n';
      const tok = loadTokenizer(path.join(__dirname, '../../../../media/models', model, 'tokenizer.json'));
      const tokens = await encodeText(tok, text);
      const info = await buildSyntax(tokens, { language: 'python', text });
      assert.equal(info.partial, false);
      const al = alignTokens(tokens);
      const at = (i: number) => text.slice(al.anchor[i]);
      const du = rel(info, 'def-use');
      let n = 0;
      du.forEach((g, d) => {
        if (g < 0) return;
        n++;
        const name = /^[A-Za-z_]\w*/.exec(at(d))?.[0];
        assert.ok(name && at(g).startsWith(name), `${model}: ${JSON.stringify(tokens[d].text)} → ${JSON.stringify(tokens[g].text)}`);
      });
      assert.ok(n >= 5, `${model}: ${n} def-use edges`);
      const pairs: Record<string, string> = { ')': '(', ']': '[', '"': '"' };
      let b = 0;
      rel(info, 'bracket-pair').forEach((g, d) => {
        if (g < 0) return;
        b++;
        // A token holding several closers (`])`) keeps the last one's pair: the outermost.
        const closers = [...tokens[d].text].filter((c) => c in pairs);
        assert.ok(
          tokens[g].text.includes(pairs[closers[closers.length - 1]]),
          `${model}: ${JSON.stringify(tokens[d].text)} → ${JSON.stringify(tokens[g].text)}`,
        );
      });
      assert.ok(b >= 3, `${model}: ${b} bracket pairs`);
      const op = rel(info, 'block-opener');
      const ifTok = al.tokenAt(text.indexOf('if '));
      const printTok = al.tokenAt(text.indexOf('print'));
      assert.equal(op[printTok], ifTok, `${model}: print → if`);
    });
  }
});

describe('bracket-matching reads the parse where there is one', function () {
  this.timeout(20_000);
  it('a "(" inside a string is no opener to the parser: the heuristic pairs the call\'s ")" with it, the parse with the call\'s "("', async () => {
    const src = 'y = f("(", a)\n';
    const tokens = tokenize(src);
    const closer = tokens.findIndex((t) => t.text === ')');
    const callOpen = tokens.findIndex((t) => t.text === '(');
    const stringOpen = tokens.findIndex((t, i) => i > callOpen && t.text === '(');
    const list = (T: { start: Int32Array; idx: Int32Array }, i: number) => Array.from(T.idx.subarray(T.start[i], T.start[i + 1]));
    assert.deepEqual(list(matchBrackets(tokens), closer), [stringOpen], 'the text heuristic is fooled by the string');
    const info = await buildSyntax(tokens, { language: 'python', text: src });
    const an = headAnalyzer({ layers: 1, headsPerLayer: 1, seq: tokens.length, causal: true }, tokens, { syntax: info });
    assert.deepEqual(list(an.ctx.brackets, closer), [callOpen], "with a parse, bracket-matching targets the parse's pair");
    // Prose keeps the heuristic.
    const prose = headAnalyzer({ layers: 1, headsPerLayer: 1, seq: tokens.length, causal: true }, tokens, {});
    assert.deepEqual(list(prose.ctx.brackets, closer), [stringOpen]);
  });
});
