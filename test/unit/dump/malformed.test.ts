// Every way a dump from elsewhere can be broken gets its own EngineError code and message, and the file
// is closed again (no fd leak) — checked by opening a broken dump many times.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AttentionDump } from '../../../src/dump/attentionDump';
import { isEngineError, type EngineErrorCode } from '../../../src/core/errors';
import { charTokens, f32, safetensorsBytes, writeTokens, type RawTensor } from './support/writeDump';

const TEXT = 'ab';
const N = 3; // BOS + 2 characters
const uniform = (heads: number, n = N): RawTensor => {
  const a = new Float32Array(heads * n * n).fill(1 / n);
  return { dtype: 'F32', shape: [heads, n, n], bytes: f32(a) };
};

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'headlight-dump-bad-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

let seq = 0;
/** A dump folder with these attention bytes and (unless given) a good tokens.json. */
function folder(bytes: Uint8Array, tokens?: unknown): string {
  const dir = path.join(tmp, String(seq++));
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'attention.safetensors'), bytes);
  if (tokens === undefined) writeTokens(path.join(dir, 'tokens.json'), TEXT, charTokens(TEXT));
  else fs.writeFileSync(path.join(dir, 'tokens.json'), typeof tokens === 'string' ? tokens : JSON.stringify(tokens));
  return dir;
}

function rejects(dir: string, code: EngineErrorCode, message: RegExp): void {
  assert.throws(
    () => AttentionDump.open(dir),
    (e: unknown) => {
      assert.ok(isEngineError(e), String(e));
      assert.equal(e.code, code, e.message);
      assert.match(e.message, message);
      return true;
    },
  );
}

const good = () => safetensorsBytes({ attention: { ...uniform(2), shape: [1, 2, N, N] } });
const withHeader = (json: string, data = new Uint8Array(0)): Uint8Array => {
  const h = Buffer.from(json);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, data]);
};

describe('dump: malformed files are refused with a specific message', () => {
  it('the well-formed baseline opens', () => {
    const d = AttentionDump.open(folder(good()));
    assert.deepEqual([d.layers, d.headsPerLayer, d.seq], [1, 2, N]);
    d.close();
  });
  it('truncated header (fewer than 8 bytes)', () => rejects(folder(new Uint8Array([1, 2, 3])), 'dump-invalid', /truncated header: the file has 3 bytes/));
  it('header length past the end of the file', () => {
    const b = good();
    new DataView(b.buffer, b.byteOffset).setBigUint64(0, BigInt(b.length), true);
    rejects(folder(b), 'dump-invalid', /header length \d+ runs past the end of the file/);
  });
  it('a huge header length (2^63) does not allocate', () => {
    const b = good();
    new DataView(b.buffer, b.byteOffset).setBigUint64(0, 2n ** 63n, true);
    rejects(folder(b), 'dump-invalid', /header length 9223372036854775808 runs past the end/);
  });
  it('header that is not JSON', () => rejects(folder(withHeader('{"attention": {"dtype": "F32",')), 'dump-invalid', /header is not valid JSON/));
  it('header JSON that is not an object', () => rejects(folder(withHeader('[1, 2]   ')), 'dump-invalid', /header JSON is not an object/));
  it('data_offsets outside the file', () =>
    rejects(
      folder(withHeader(JSON.stringify({ attention: { dtype: 'F32', shape: [1, 1, N, N], data_offsets: [0, 36] } }), new Uint8Array(20))),
      'dump-invalid',
      /data_offsets \[0, 36\] lie outside the file: the data section has 20 bytes/,
    ));
  it('shape × dtype size disagrees with data_offsets', () =>
    rejects(
      folder(withHeader(JSON.stringify({ attention: { dtype: 'F16', shape: [1, 1, N, N], data_offsets: [0, 36] } }), new Uint8Array(36))),
      'dump-invalid',
      /shape \[1, 1, 3, 3\] F16 needs 18 bytes but data_offsets \[0, 36\] hold 36/,
    ));
  it('begin > end', () =>
    rejects(
      folder(withHeader(JSON.stringify({ attention: { dtype: 'F32', shape: [0], data_offsets: [8, 4] } }), new Uint8Array(8))),
      'dump-invalid',
      /data_offsets \[8,4\]; expected \[begin, end\]/,
    ));
  it('an unsupported dtype', () =>
    rejects(
      folder(safetensorsBytes({ attention: { dtype: 'I64', shape: [1], bytes: new Uint8Array(8) } })),
      'dump-invalid',
      /dtype "I64"; attention dumps must be F32, F16 or BF16/,
    ));
  it('a bad shape', () =>
    rejects(
      folder(withHeader(JSON.stringify({ attention: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }), new Uint8Array(4))),
      'dump-invalid',
      /shape \[1.5\]; expected a list/,
    ));
  it('no attention tensor', () =>
    rejects(folder(safetensorsBytes({ logits: uniform(1) })), 'dump-invalid', /no tensor "attention" and no "layer.0".*found: logits/));
  it('"attention" of the wrong rank', () =>
    rejects(folder(safetensorsBytes({ attention: uniform(2) })), 'dump-invalid', /"attention" has shape \[2, 3, 3\]; expected \[layers, heads, q, k\]/));
  it('a batch of 2 is not squeezed', () =>
    rejects(folder(safetensorsBytes({ attention: { ...uniform(2), shape: [2, 1, 1, N, N] } })), 'dump-invalid', /shape \[2, 1, 1, 3, 3\]/));
  it('per-layer tensors with a gap', () =>
    rejects(folder(safetensorsBytes({ 'layer.0': uniform(1), 'layer.2': uniform(1) })), 'dump-invalid', /2 layer tensors but no "layer.1"/));
  it('per-layer tensors that disagree', () =>
    rejects(
      folder(safetensorsBytes({ 'layer.0': uniform(2), 'layer.1': uniform(1) })),
      'dump-mismatch',
      /"layer.1" is \[1, 3, 3\] but "layer.0" is \[2, 3, 3\]/,
    ));
  it('q ≠ k', () =>
    rejects(
      folder(safetensorsBytes({ attention: { dtype: 'F32', shape: [1, 1, N, 4], bytes: new Uint8Array(N * 4 * 4) } })),
      'dump-mismatch',
      /3 queries × 4 keys/,
    ));
  it('tokens.json count ≠ q', () =>
    rejects(folder(good(), { text: 'abc', tokens: charTokens('abc') }), 'dump-mismatch', /lists 4 tokens but attention.safetensors covers 3/));
  it('a span out of range', () =>
    rejects(
      folder(good(), { text: TEXT, tokens: [charTokens(TEXT)[0], { text: 'a', start: 0, end: 1 }, { text: 'b', start: 1, end: 5 }] }),
      'dump-invalid',
      /token 2 span \[1, 5\) is out of range for a text of 2 UTF-16 units/,
    ));
  it('a span with end < start', () =>
    rejects(
      folder(good(), { text: TEXT, tokens: [charTokens(TEXT)[0], { start: 1, end: 0 }, { start: 1, end: 2 }] }),
      'dump-invalid',
      /token 1 span \[1, 0\) is out of range/,
    ));
  it('a token without offsets', () =>
    rejects(
      folder(good(), { text: TEXT, tokens: [charTokens(TEXT)[0], { text: 'a' }, { start: 1, end: 2 }] }),
      'dump-invalid',
      /token 1 needs integer "start" and "end"/,
    ));
  it('tokens.json that is not JSON', () => rejects(folder(good(), '{"text": '), 'dump-invalid', /tokens.json: not valid JSON/));
  it('tokens.json without text', () => rejects(folder(good(), { tokens: [] }), 'dump-invalid', /"text" must be a string/));
  it('no tokens.json at all', () => {
    const dir = folder(good());
    fs.rmSync(path.join(dir, 'tokens.json'));
    rejects(dir, 'file-not-found', /no tokens.json beside the attention file/);
  });
  it('no attention file', () => {
    const dir = folder(good());
    fs.rmSync(path.join(dir, 'attention.safetensors'));
    rejects(dir, 'file-not-found', /cannot open the attention file/);
  });
  it('refusals close the file: 3,000 broken opens leave the fd count unchanged', function () {
    if (!fs.existsSync('/proc/self/fd')) this.skip();
    const dir = folder(good(), { text: 'abc', tokens: charTokens('abc') });
    const before = fs.readdirSync('/proc/self/fd').length;
    for (let i = 0; i < 3000; i++) assert.throws(() => AttentionDump.open(dir));
    assert.equal(fs.readdirSync('/proc/self/fd').length, before);
  });
});
