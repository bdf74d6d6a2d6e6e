// The output format read by the host (src/notebook/format.ts, analyseOutput.ts): outputs written by the Python
// helper decode to the values the helper itself decodes them to, and every malformed output — wrong shapes, NaN,
// rows that do not sum to 1, bad base64, a zip bomb, 100 MB of JSON — is refused with its own message.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { attentionOf, inlineBytes, readOutput } from '../../../src/notebook/analyseOutput';
import { headOf, log8Table, OutputError, parseOutput, type NotebookOutput } from '../../../src/notebook/format';
import { DEBIAN_PYTHON, pythonSkipReason, ROOT } from '../../fixtures/notebook';

const f16 = (x: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(x);
  return b;
};
/** A 1-layer, 1-head, 2-token causal output whose stored bytes (lower triangle: w00, w10, w11) are `raw`. */
function tiny(raw: Buffer, patch: Record<string, unknown> = {}, att: Record<string, unknown> = {}): string {
  return JSON.stringify({
    version: 1,
    text: 'ab',
    tokens: [
      { start: 0, end: 1 },
      { start: 1, end: 2 },
    ],
    shape: [1, 1, 2],
    causal: true,
    attention: { dtype: 'float16', layout: 'lower', compression: 'none', data: raw.toString('base64'), ...att },
    ...patch,
  });
}
// float16 bit patterns: 1.0 = 0x3c00, 0.5 = 0x3800, 0.25 = 0x3400, NaN = 0x7e00, −0.5 = 0xb800.
const GOOD = Buffer.concat([f16(0x3c00), f16(0x3800), f16(0x3800)]);

function decode(text: string): Float32Array[] {
  const o = readOutput(text);
  return attentionOf(o, o.attention!, inlineBytes(o, o.attention!)).data;
}
function refuses(text: string, re: RegExp): void {
  assert.throws(
    () => decode(text),
    (e: unknown) => e instanceof OutputError && re.test(e.message),
    `expected ${re}`,
  );
}

describe('notebook output format', () => {
  it('decodes a hand-written float16 output: [[1, 0], [0.5, 0.5]]', () => {
    assert.deepEqual(Array.from(decode(tiny(GOOD))[0]), [1, 0, 0.5, 0.5]);
    const packed = zlib.deflateSync(GOOD);
    assert.deepEqual(Array.from(decode(tiny(packed, {}, { compression: 'zlib' }))[0]), [1, 0, 0.5, 0.5]);
  });

  it('log8: the codes the format defines (1, 2^-1, the knee 2^-7, 2^-8, the floor 2^-24)', () => {
    const t = log8Table();
    assert.deepEqual([t[0], t[255], t[239], t[143], t[139], t[75]], [0, 1, 0.5, 2 ** -7, 2 ** -8, 2 ** -24]);
    // A uniform row over 3 keys: 1/3 = 2^-1.585 → code round(255 − 25.4) = 230 → 2^(−25/16) = 0.3385 each, sum 1.0156:
    // the decoder renormalises the row.
    const o = parseOutput({
      text: 'abc',
      tokens: [0, 1, 2].map((i) => ({ start: i, end: i + 1 })),
      shape: [1, 1, 3],
      causal: false,
      attention: { dtype: 'log8', layout: 'full', compression: 'none', data: '' },
    });
    const A = headOf(new Uint8Array(9).fill(230), o, o.attention!, 0, 0);
    for (const w of A) assert.ok(Math.abs(w - 1 / 3) < 1e-7, String(w));
  });

  it('refuses malformed outputs, each with a message that names the problem', () => {
    refuses(tiny(Buffer.concat([f16(0x3c00), f16(0x7e00), f16(0x3800)])), /L0H0, row 1 \(token "b"\): weight 0 is NaN/);
    refuses(tiny(Buffer.concat([f16(0x3c00), f16(0xb800), f16(0x3c00)])), /L0H0, row 1 \(token "b"\): weight 0 is -0\.5, outside \[0, 1\]/);
    refuses(
      tiny(Buffer.concat([f16(0x3c00), f16(0x3400), f16(0x3400)])),
      /row 1 \(token "b"\): the weights sum to 0\.5000; each query's attention must sum to 1/,
    );
    refuses(tiny(GOOD.subarray(0, 4)), /holds 4 bytes; 1 layers × 1 heads × 2 tokens in float16 \(lower\) is 6 bytes/);
    refuses(tiny(GOOD, { shape: [1, 1, 3] }), /covers 3 tokens but the output lists 2/);
    refuses(tiny(GOOD, { shape: [1, 1] }), /"shape" must be \[layers, heads, tokens\]/);
    refuses(tiny(GOOD, { shape: [1, 0, 2] }), /"shape" must be/);
    refuses(tiny(GOOD, {}, { data: '@@@@' }), /not base64/);
    refuses(tiny(GOOD, {}, { compression: 'zlib' }), /not zlib data/);
    refuses(tiny(GOOD, {}, { dtype: 'int4' }), /"attention.dtype" must be "float16" or "log8"/);
    refuses(tiny(GOOD, { causal: false }), /"layout": "lower" stores only keys up to each query/);
    refuses(tiny(GOOD, { version: 7 }), /format 7 by a newer headlight helper; this Headlight reads format 1/);
    refuses(tiny(GOOD, { dump: { path: 'x' } }), /either "attention" \(inline\) or "dump"/);
    refuses(
      tiny(GOOD, {
        tokens: [
          { start: 0, end: 1 },
          { start: 1, end: 9 },
        ],
      }),
      /token 1 span \[1, 9\) is out of range/,
    );
    refuses(tiny(GOOD, { layers: [0, 0] }), /"layers" must list 1 distinct model layer numbers/);
    refuses('{"text": "a", ', /not valid JSON/);
    refuses('[1, 2]', /a JSON object with "text", "tokens"/);
    // A full-layout output that says causal but gives weight to a later token.
    const full = Buffer.concat([f16(0x3800), f16(0x3800), f16(0x3800), f16(0x3800)]);
    refuses(tiny(full, {}, { layout: 'full' }), /row 0 \(token "a"\): it gives weight 0\.5 to the later token 1, but the output says the model is causal/);
  });

  it('a zip bomb stops at the size its shape needs; a shape too large is refused before any decoding', () => {
    const bomb = zlib.deflateSync(Buffer.alloc(64 * 1024 * 1024)); // 64 MB of zeros in ~65 KB
    refuses(tiny(bomb, {}, { compression: 'zlib' }), /decompresses to more than the 6 bytes its shape needs/);
    const tokens = Array.from({ length: 8192 }, (_, i) => ({ start: 0, end: 0, id: i }));
    refuses(tiny(GOOD, { text: '', tokens, shape: [64, 64, 8192] }), /weights is more than one output can hold/);
  });

  it('a 100 MB output is refused by its size, before it is parsed', () => {
    refuses(
      tiny(GOOD, { text: 'x'.repeat(100 * 1000 * 1000) }),
      /This Headlight output is 100\.0 MB; outputs up to 64\.0 MB are read inline\. Write larger attention to a dump file/,
    );
    // Not JSON at all: the size is what it is refused for, so nothing parsed it.
    refuses('{'.repeat(100 * 1000 * 1000), /This Headlight output is 100\.0 MB/);
  });

  describe('outputs the Python helper writes', function () {
    this.timeout(60_000);
    before(async function () {
      const why = await pythonSkipReason();
      if (why) {
        console.log(`      skipped: ${why}`);
        this.skip();
      }
    });

    it('decode to what the helper decodes them to, in every dtype, layout and compression', () => {
      // The helper encodes seeded random attention four ways and decodes each itself (_encode.decode).
      const script = `
import json, numpy as np
from headlight import _encode
rng = np.random.default_rng(3)
out = []
for causal in (True, False):
    x = rng.normal(size=(2, 3, 9, 9)) * 2
    if causal: x = np.where(np.tril(np.ones((9, 9), bool)), x, -np.inf)
    a = np.exp(x - x.max(-1, keepdims=True)); a = (a / a.sum(-1, keepdims=True)).astype(np.float32)
    for dtype in ("float16", "log8"):
        att = _encode.encode(a, causal, dtype)
        out.append({"payload": {"text": "abcdefghi", "tokens": [{"start": i, "end": i + 1} for i in range(9)], "shape": [2, 3, 9], "causal": causal, "attention": att},
                    "decoded": _encode.decode(att, (2, 3, 9)).ravel().tolist()})
print(json.dumps(out))`;
      const r = spawnSync(DEBIAN_PYTHON, ['-c', script], { cwd: ROOT, env: { ...process.env, PYTHONPATH: path.join(ROOT, 'python') }, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const cases = JSON.parse(r.stdout) as { payload: { attention: { dtype: string; layout: string; compression: string } }; decoded: number[] }[];
      assert.equal(cases.length, 4);
      for (const c of cases) {
        const got = decode(JSON.stringify(c.payload)).flatMap((l) => Array.from(l));
        const what = `${c.payload.attention.dtype} ${c.payload.attention.layout} ${c.payload.attention.compression}`;
        assert.equal(got.length, c.decoded.length, what);
        // float16: bit-exact. log8: the same codes; the rows' renormalisation may round the last float32 bit apart.
        const tol = c.payload.attention.dtype === 'float16' ? 0 : 2e-7;
        got.forEach((v, i) => assert.ok(Math.abs(v - c.decoded[i]) <= tol * Math.max(1, c.decoded[i]), `${what}: weight ${i} ${v} vs ${c.decoded[i]}`));
      }
    });
  });
});

export type { NotebookOutput };
