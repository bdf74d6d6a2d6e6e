// Spans: every non-special token's [start, end) indexes the ORIGINAL text in UTF-16 units; the
// spans tile the text in order; gaps hold only what the tokenizer drops (whitespace, control/format
// characters, stripped combining marks).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeText, loadTokenizer, type LoadedTokenizer } from '../../../src/engine/tokenize';
import { EngineError } from '../../../src/core/errors';
import type { Token } from '../../../src/engine/types';
import { byteLevelTokenizer, wordPieceTokenizer, writeJson } from '../../fixtures/tokenizers';

const TRICKY = [
  'plain words in a row',
  'line one\r\nline two\r\n\r\nend',
  'tab\tseparated\t\tcols',
  'family 👩‍👩‍👧‍👦 and coder 👩‍💻!',
  'flags 🇩🇪🇯🇵 and skin 👍🏽',
  'combining: e\u0301 a\u0308 n\u0303 precomposed é ä',
  'Hebrew: שלום עולם, Arabic: مرحبا بالعالم.',
  'zero\u200bwidth\u200djoiner\u200cnon\ufeffbom',
  'café naïve Ünïcödé',
  '  leading and trailing  ',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math 𝟙𝟚𝟛',
];

function assertTiling(text: string, tokens: Token[], gapAllowed: RegExp): void {
  let pos = 0;
  let rebuilt = '';
  for (const t of tokens) {
    if (t.special) {
      assert.equal(t.start, -1);
      assert.equal(t.end, -1);
      continue;
    }
    assert.ok(t.start >= pos, `token ${JSON.stringify(t)} starts before ${pos} in ${JSON.stringify(text)}`);
    assert.ok(t.end >= t.start);
    const gap = text.slice(pos, t.start);
    assert.match(gap, gapAllowed, `gap ${JSON.stringify(gap)} before ${JSON.stringify(t)}`);
    assert.equal(t.text, text.slice(t.start, t.end));
    rebuilt += gap + t.text;
    pos = t.end;
  }
  const tail = text.slice(pos);
  assert.match(tail, gapAllowed, `tail ${JSON.stringify(tail)}`);
  assert.equal(rebuilt + tail, text);
  // No span cuts a surrogate pair (VS Code positions must land on characters).
  for (const t of tokens) {
    if (t.special || t.start === t.end) continue;
    for (const at of [t.start, t.end]) {
      const c = text.charCodeAt(at);
      assert.ok(!(at > 0 && at < text.length && c >= 0xdc00 && c <= 0xdfff), `span edge ${at} splits a surrogate pair`);
    }
  }
}

describe('engine: token spans', () => {
  let dir: string;
  let bpe: LoadedTokenizer;
  let wp: LoadedTokenizer;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-spans-'));
    bpe = loadTokenizer(writeJson(dir, 'bpe.json', byteLevelTokenizer().json));
    wp = loadTokenizer(writeJson(dir, 'wp.json', wordPieceTokenizer().json));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const text of TRICKY) {
    it(`byte-level BPE covers exactly: ${JSON.stringify(text).slice(0, 40)}`, async () => {
      const tokens = await encodeText(bpe, text);
      // Byte-level drops nothing: no gaps at all.
      assertTiling(text, tokens, /^$/);
      assert.equal(tokens.map((t) => t.text).join(''), text);
    });
    it(`WordPiece covers exactly (gaps only dropped chars): ${JSON.stringify(text).slice(0, 40)}`, async () => {
      const tokens = await encodeText(wp, text);
      assert.deepEqual([tokens[0].special, tokens[tokens.length - 1].special], [true, true]);
      assert.deepEqual([tokens[0].text, tokens[tokens.length - 1].text], ['[CLS]', '[SEP]']);
      assertTiling(text, tokens, /^[\s\p{Cc}\p{Cf}\p{Mn}]*$/u);
    });
  }

  it('a multi-byte character split into byte tokens belongs to the first piece; later pieces are empty at its end', async () => {
    const text = 'a👩b'; // 👩 is 4 UTF-8 bytes -> 4 byte tokens, 2 UTF-16 units
    const tokens = await encodeText(bpe, text);
    assert.deepEqual(
      tokens.map((t) => [t.start, t.end]),
      [
        [0, 1],
        [1, 3],
        [3, 3],
        [3, 3],
        [3, 3],
        [3, 4],
      ],
    );
    assert.deepEqual(
      tokens.map((t) => t.id),
      [97, 240, 159, 145, 169, 98],
    );
  });

  it('converts code-point offsets to UTF-16 after astral characters', async () => {
    const text = '😀😀 the';
    const tokens = await encodeText(bpe, text);
    const the = tokens[tokens.length - 1];
    assert.equal(the.text, ' the');
    assert.deepEqual([the.start, the.end], [4, 8]);
  });

  it('WordPiece lowercases and strips accents, but spans index the original text', async () => {
    const text = 'Café HELLO';
    const tokens = await encodeText(wp, text);
    assert.deepEqual(
      tokens.map((t) => [t.text, t.start, t.end, t.special]),
      [
        ['[CLS]', -1, -1, true],
        ['Café', 0, 4, false],
        ['HELLO', 5, 10, false],
        ['[SEP]', -1, -1, true],
      ],
    );
    assert.deepEqual(
      tokens.map((t) => t.id),
      [2, 6, 7, 3],
    );
  });

  it('refuses malformed tokenizer files with tokenizer-invalid', () => {
    const cases: [string, string][] = [
      ['broken.json', '{"model": {'],
      ['notok.json', '{"vocab": {"a": 1}}'],
      ['weird.json', '{"model": {"type": "Nope", "vocab": {"a": 0}}}'],
      ['empty.json', ''],
    ];
    for (const [name, body] of cases) {
      fs.writeFileSync(path.join(dir, name), body);
      assert.throws(
        () => loadTokenizer(path.join(dir, name)),
        (e: unknown) => e instanceof EngineError && e.code === 'tokenizer-invalid' && e.message.includes(name),
        name,
      );
    }
    assert.throws(
      () => loadTokenizer(path.join(dir, 'missing.json')),
      (e: unknown) => e instanceof EngineError && e.code === 'file-not-found',
    );
  });
});
