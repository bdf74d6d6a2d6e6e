// The committed small dumps (written by scripts/fixtures/make-dump.py from a tiny torch model) read back
// exactly: tokens with UTF-16 spans, shapes, and every sampled value equal to what PyTorch decoded.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AttentionDump } from '../../../src/dump/attentionDump';
import { toFloat32 } from '../../../src/dump/safetensors';

const DIR = path.join(__dirname, '../../fixtures/dumps/small');
interface FileRef {
  dtype: string;
  sum: number;
  perHeadSum: number[][];
  samples: [number, number, number, number, number][];
}
const ref = JSON.parse(fs.readFileSync(path.join(DIR, 'reference.json'), 'utf8')) as {
  text: string;
  layers: number;
  heads: number;
  seq: number;
  files: Record<string, FileRef>;
};

const cases: [string, string, string][] = [
  ['attention', DIR, 'stacked'],
  ['f16', path.join(DIR, 'f16.safetensors'), 'per-layer'],
  ['bf16', path.join(DIR, 'bf16.safetensors'), 'per-layer'],
];

describe('dump: the committed small dumps', () => {
  for (const [stem, p, layout] of cases) {
    it(`${stem}: shape, layout, tokens and values equal the python reference`, () => {
      const d = AttentionDump.open(p);
      try {
        const r = ref.files[stem];
        assert.equal(d.dtype, r.dtype);
        assert.equal(d.layout, layout);
        assert.deepEqual([d.layers, d.headsPerLayer, d.seq], [ref.layers, ref.heads, ref.seq]);
        assert.equal(d.model, 'tiny-torch');
        assert.equal(d.causal, true); // given in tokens.json for F32; inferred from the zeros above the diagonal otherwise
        assert.equal(d.text, ref.text);
        assert.equal(d.tokens.length, ref.seq);
        assert.deepEqual(d.tokens[0], { id: 0, text: '<bos>', start: -1, end: -1, special: true });
        // The cat emoji is one code point, two UTF-16 units: its span is [25, 27) and the next token starts at 27.
        const cat = d.tokens.find((t) => t.text === '\u{1F408}');
        assert.deepEqual(cat && [cat.start, cat.end], [25, 27]);
        for (const t of d.tokens.slice(1)) assert.equal(ref.text.slice(t.start, t.end), t.text);
        for (const [l, h, q, k, v] of r.samples) assert.equal(d.head(l, h)[q * d.seq + k], v, `L${l}H${h}[${q},${k}]`);
        let total = 0;
        for (let l = 0; l < d.layers; l++)
          for (let h = 0; h < d.headsPerLayer; h++) {
            let s = 0;
            for (const x of d.head(l, h)) s += x;
            assert.ok(Math.abs(s - r.perHeadSum[l][h]) < 1e-9, `L${l}H${h} sum ${s} vs ${r.perHeadSum[l][h]}`);
            total += s;
          }
        assert.ok(Math.abs(total - r.sum) < 1e-8);
      } finally {
        d.close();
      }
    });
  }

  it('F16 and BF16 decode to the same float32 values PyTorch gives for the F32 attention rounded to each', () => {
    const f32 = AttentionDump.open(DIR),
      f16 = AttentionDump.open(path.join(DIR, 'f16.safetensors')),
      bf16 = AttentionDump.open(path.join(DIR, 'bf16.safetensors'));
    try {
      const A = f32.head(1, 2),
        B = f16.head(1, 2),
        C = bf16.head(1, 2);
      let maxF16 = 0,
        maxBF16 = 0;
      for (let i = 0; i < A.length; i++) {
        maxF16 = Math.max(maxF16, Math.abs(A[i] - B[i]));
        maxBF16 = Math.max(maxBF16, Math.abs(A[i] - C[i]));
      }
      // Attention weights are ≤ 1: F16 keeps 11 significant bits, BF16 8.
      assert.ok(maxF16 > 0 && maxF16 <= 2 ** -11, `F16 max error ${maxF16}`);
      assert.ok(maxBF16 > maxF16 && maxBF16 <= 2 ** -8, `BF16 max error ${maxBF16}`);
    } finally {
      f32.close();
      f16.close();
      bf16.close();
    }
  });

  it('half conversions are exact on edge bit patterns', () => {
    const u16 = (xs: number[]) => new Uint8Array(Uint16Array.from(xs).buffer);
    assert.deepEqual(
      [...toFloat32('F16', u16([0x3c00, 0x0001, 0x03ff, 0x0400, 0x7bff, 0xc000, 0xfc00, 0x7c00, 0x8000, 0x3555]), 10)],
      [1, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, 65504, -2, -Infinity, Infinity, -0, Math.fround(0.333251953125)],
    );
    assert.ok(Number.isNaN(toFloat32('F16', u16([0x7e00]), 1)[0]));
    assert.deepEqual([...toFloat32('BF16', u16([0x3f80, 0xc000, 0x0001, 0x7f80, 0x3eab]), 5)], [1, -2, 2 ** -133, Infinity, Math.fround(0.333984375)]);
    // F32 from an odd byte offset (a head's data needs no alignment).
    const raw = new Uint8Array(9);
    new DataView(raw.buffer).setFloat32(1, 0.25, true);
    new DataView(raw.buffer).setFloat32(5, -3.5, true);
    assert.deepEqual([...toFloat32('F32', raw.subarray(1), 2)], [0.25, -3.5]);
  });
});
