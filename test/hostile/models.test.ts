// Every hostile model or tokenizer file, through the worker exactly as "Explain attention" uses it:
// each gets its own code and a specific message, nothing crashes or hangs, and the engine keeps
// answering good requests afterwards (so the panel's previous result stays valid).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineClient, EngineError, type EngineErrorCode, type ModelRef } from '../../src/engine';
import { buildFused, buildNoAttention, buildTiny, buildWithTensor, externalTensor, floatTensor } from '../fixtures/onnxBuilder';
import { byteLevelTokenizer, wordPieceTokenizer, writeJson } from '../fixtures/tokenizers';

const ROOT = path.resolve(__dirname, '..', '..');
const MINI = path.join(ROOT, 'media', 'models', 'headlight-mini');

describe('hostile: model and tokenizer files', function () {
  this.timeout(30_000);
  let dir: string;
  let tok: string;
  let client: EngineClient;
  const good = (): ModelRef => ({ modelPath: path.join(MINI, 'model.onnx'), tokenizerPath: path.join(MINI, 'tokenizer.json') });
  const put = (name: string, bytes: Uint8Array | string): string => {
    const p = path.join(dir, name);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, bytes);
    return p;
  };
  // No hang: the suite's timeout bounds every refusal (a hang fails the test), no clock is read here.
  async function refuses(ref: ModelRef, code: EngineErrorCode, mention: RegExp): Promise<void> {
    await assert.rejects(client.explain('the cat sat on the mat', ref), (e: unknown) => {
      assert.ok(e instanceof EngineError, `not an EngineError: ${String(e)}`);
      assert.equal(e.code, code, e.message);
      assert.match(e.message, mention);
      return true;
    });
    // The engine still serves good requests: a failed explain never costs the previous panel.
    const ok = await client.explain('still fine', good());
    assert.ok(ok.tokens.length > 0);
  }

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-hostile-models-'));
    tok = writeJson(dir, 'bpe.json', byteLevelTokenizer().json);
    client = new EngineClient();
  });
  after(async () => {
    await client.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('zero-byte model', () => refuses({ modelPath: put('zero/model.onnx', new Uint8Array(0)), tokenizerPath: tok }, 'empty-file', /empty \(0 bytes\)/));
  it('truncated model', () => {
    const b = buildTiny({ kind: 'gpt2' }).bytes;
    return refuses({ modelPath: put('trunc/model.onnx', b.subarray(0, b.length >> 1)), tokenizerPath: tok }, 'corrupt-model', /truncated or damaged/);
  });
  it('random bytes', () => {
    const bytes = Uint8Array.from({ length: 8192 }, (_, i) => ((i * 2654435761) >>> 24) | 1);
    return refuses({ modelPath: put('rand/model.onnx', bytes), tokenizerPath: tok }, 'not-onnx', /not an ONNX model/);
  });
  it('a valid ONNX model with no attention', () =>
    refuses({ modelPath: put('plain/model.onnx', buildNoAttention()), tokenizerPath: tok }, 'no-attention', /no attention/));
  it('fused attention with no CPU kernel (com.microsoft.PackedAttention)', () =>
    refuses({ modelPath: put('fused/model.onnx', buildFused()), tokenizerPath: tok }, 'fused-attention', /com\.microsoft\.PackedAttention.*no CPU kernel/s));
  it('external data pointing outside the model folder (../../etc/passwd)', () =>
    refuses(
      { modelPath: put('ext/model.onnx', buildWithTensor(externalTensor('wte', [10, 4], '../../etc/passwd'))), tokenizerPath: tok },
      'external-data-outside',
      /\.\.\/\.\.\/etc\/passwd/,
    ));
  it('a tensor declaring 2 GB in a tiny file', () =>
    refuses(
      { modelPath: put('huge/model.onnx', buildWithTensor(floatTensor('wte', [512, 1048576], new Float32Array(4)))), tokenizerPath: tok },
      'tensor-size-mismatch',
      /\[512, 1048576\]/,
    ));
  it('a malformed tokenizer.json', () =>
    refuses(
      { modelPath: good().modelPath, tokenizerPath: put('bad-tok/tokenizer.json', '{"model": {"type": "BPE", "vocab": ') },
      'tokenizer-invalid',
      /tokenizer/i,
    ));
  it('a tokenizer whose vocabulary is larger than the embedding', () => {
    const tiny = buildTiny({ kind: 'gpt2', vocab: 40 }).bytes; // 40 embedding rows, the byte-level fixture has 260+ ids
    return refuses({ modelPath: put('small-vocab/model.onnx', tiny), tokenizerPath: tok }, 'tokenizer-vocab-mismatch', /vocabulary|embedding/i);
  });
  it("another model's tokenizer (WordPiece on a byte-level model with fewer rows)", () => {
    const wp = writeJson(dir, 'wp.json', wordPieceTokenizer().json);
    const tiny = buildTiny({ kind: 'gpt2', vocab: 20 }).bytes;
    return refuses({ modelPath: put('other-tok/model.onnx', tiny), tokenizerPath: wp }, 'tokenizer-vocab-mismatch', /vocabulary|embedding/i);
  });
  it('a path that is a folder, not a file', () => refuses({ modelPath: dir, tokenizerPath: tok }, 'file-not-found', /is not a file.*\.onnx file itself/));
});
