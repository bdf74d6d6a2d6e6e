// The repeat probe's ids: one rule for every tokenizer (ordinary tokens only), BOS as the family runs
// it, and a length that fits the model. Real tokenizer.json files through the real `tokenizers` library.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { classifyDecoded, drawOrdinary, planProbe, probeBos, probeLength, PROBE_MIN_T } from '../../../src/engine/probeIds';
import { loadTokenizer, type LoadedTokenizer } from '../../../src/engine/tokenize';
import { byteLevelTokenizer, sentencePieceTokenizer, wordPieceTokenizer, writeJson } from '../../fixtures/tokenizers';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/** Every ordinary id of a tokenizer (the draw asked for all of them), ascending. */
async function allOrdinary(tok: LoadedTokenizer): Promise<number[]> {
  const limit = Math.min(tok.tokenizer.getVocabSize(false), tok.idLimit);
  return (await drawOrdinary(tok, limit, limit, 1)).ids.sort((a, b) => a - b);
}

const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, k) => a + k);

describe('engine: the repeat probe draws ordinary tokens only', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-probeids-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the rule on decoded text: printable, and the text encodes back to exactly that id', () => {
    assert.equal(classifyDecoded(5, ' the', [5]), undefined);
    assert.equal(classifyDecoded(5, '\n', [5]), 'not-printable');
    assert.equal(classifyDecoded(5, '  ', [5]), 'not-printable');
    assert.equal(classifyDecoded(5, '\uFFFD', [5]), 'not-printable'); // a lone UTF-8 byte
    assert.equal(classifyDecoded(5, 'a\u0007', [5]), 'not-printable');
    assert.equal(classifyDecoded(5, '\u200B', [5]), 'not-printable'); // a format character
    assert.equal(classifyDecoded(5, '[unused5]', [7, 8, 9, 10]), 'not-produced');
    assert.equal(classifyDecoded(5, 'the', [6]), 'not-produced');
  });

  it('a byte tokenizer (ids = bytes, BOS from the template): exactly the printable ASCII bytes', async () => {
    const tok = loadTokenizer(path.join(ROOT, 'test/fixtures/decoders/tokenizer.json'));
    assert.deepEqual(await allOrdinary(tok), range(0x21, 0x7e)); // no controls, no space, no byte ≥ 0x80 alone
    assert.deepEqual(await probeBos(tok), { id: 256, text: '<|bos|>', from: 'template' });
  });

  it('GPT-2 byte-level BPE: printable bytes and merges, no <|endoftext|>, and the family prepends it though the template does not', async () => {
    const tok = loadTokenizer(writeJson(dir, 'gpt2.json', byteLevelTokenizer().json));
    const ids = await allOrdinary(tok);
    const names = ids.map((i) => tok.tokenizer.idToToken(i));
    assert.deepEqual(ids.slice(0, 94), range(0x21, 0x7e));
    assert.deepEqual(names.slice(94), ['Ġt', 'he', 'Ġthe', 'Ġa', 'in', 'Ġin']);
    assert.ok(!names.includes('<|endoftext|>') && !names.includes('Ġ') && !names.includes('Ċ'));
    const enc = await tok.tokenizer.encode('the cat');
    assert.equal(enc.getSpecialTokensMask()[0], 0, "GPT-2's template adds no BOS");
    assert.deepEqual(await probeBos(tok), { id: 262, text: '<|endoftext|>', from: 'convention' });
  });

  it('WordPiece: whole words and characters; no [PAD]/[UNK]/[CLS]/[SEP]/[MASK]; ##-pieces are not what text alone becomes', async () => {
    const tok = loadTokenizer(writeJson(dir, 'wp.json', wordPieceTokenizer().json));
    const names = (await allOrdinary(tok)).map((i) => tok.tokenizer.idToToken(i));
    for (const w of ['the', 'cafe', 'hello', 'a', 'z', '0', '.']) assert.ok(names.includes(w), w);
    for (const w of ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', '##s', '##ing', '##a']) assert.ok(!names.includes(w), w);
    assert.equal((await probeBos(tok))?.text, '[CLS]');
  });

  it('SentencePiece with byte fallback (Llama-style): ▁-pieces; no <0x..> byte tokens, reserved or special tokens', async () => {
    const sp = sentencePieceTokenizer();
    const tok = loadTokenizer(writeJson(dir, 'sp.json', sp.json));
    const ids = await allOrdinary(tok);
    const names = ids.map((i) => tok.tokenizer.idToToken(i));
    assert.deepEqual(names, ['▁t', '▁the', '▁c', '▁cat', '▁s', '▁sat', '▁in']);
    for (const id of [0, 1, 2, ...sp.reserved, sp.bytes0 + 0x0a, sp.bytes0 + 0x41, sp.bytes0 + 0xc3]) assert.ok(!ids.includes(id), String(id));
    assert.deepEqual(await probeBos(tok), { id: 1, text: '<s>', from: 'template' });
  });

  it('a tokenizer with no BOS or EOS at all gets none', async () => {
    const j = byteLevelTokenizer().json as { added_tokens: unknown[]; model: { vocab: Record<string, number> } };
    j.added_tokens = [];
    delete j.model.vocab['<|endoftext|>'];
    assert.equal(await probeBos(loadTokenizer(writeJson(dir, 'nobos.json', j))), undefined);
  });

  it('draws are seeded, distinct, and never reach padded embedding rows past the tokenizer', async () => {
    const tok = loadTokenizer(path.join(ROOT, 'media/models/headlight-mini/tokenizer.json'));
    const a = await planProbe(tok, 2300, undefined, 7),
      b = await planProbe(tok, 2300, undefined, 7),
      c = await planProbe(tok, 2300, undefined, 8);
    assert.deepEqual(a.ids, b.ids);
    assert.notDeepEqual(a.ids, c.ids);
    assert.equal(a.T, 64);
    const r = a.ids.slice(1, 65);
    assert.equal(new Set(r).size, 64);
    assert.deepEqual(a.ids.slice(65), r);
    assert.ok(
      r.every((id) => id < 2047),
      'only ids the tokenizer has (2,047 + <|endoftext|>), never rows 2,048–2,299',
    );
    assert.equal(a.bos?.text, '<|endoftext|>');
    assert.equal(a.draw.checked, 64 + a.draw.rejected['not-printable'] + a.draw.rejected['not-produced'] + a.draw.rejected.special);
  });

  it('the probe fits the model: T = min(64, ⌊(P − b)/2⌋), not measurable below 8', async () => {
    assert.equal(probeLength(undefined, 1), 64);
    assert.equal(probeLength(1024, 1), 64);
    assert.equal(probeLength(128, 1), 63);
    assert.equal(probeLength(128, 0), 64);
    assert.equal(probeLength(64, 1), 31);
    assert.equal(probeLength(64, 0), 32);
    assert.equal(probeLength(16, 1), 7);
    const tok = loadTokenizer(path.join(ROOT, 'test/fixtures/decoders/tokenizer.json'));
    const p64 = await planProbe(tok, 257, 64, 1);
    assert.equal(p64.T, 31);
    assert.equal(p64.ids.length, 63);
    const small = await planProbe(tok, 257, 16, 1);
    assert.equal(small.T, 0);
    assert.deepEqual(small.ids, []);
    assert.match(small.reason ?? '', new RegExp(`16 positions: room for a 7-token repeat, and induction needs at least ${PROBE_MIN_T}`));
  });
});
