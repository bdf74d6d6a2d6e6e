// Half-precision (IEEE binary16) to float32: exact, since every half value is a float32. Shared by the
// attention-dump reader (F16 safetensors), the notebook output format (float16 attention) and the worker (fp16 logits).
let f16Table: Float32Array | undefined;

/** All 65,536 half values as float32, built once (256 KB): a lookup is exact and faster than bit twiddling per value. */
export function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0)
      t[h] = sign * frac * 2 ** -24; // subnormal
    else if (exp === 31) t[h] = frac ? NaN : sign * Infinity;
    else t[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return (f16Table = t);
}

/** Half bit patterns (e.g. an fp16 tensor's data) → float32. */
export function halfToFloat32(bits: ArrayLike<number>): Float32Array {
  const table = halfTable();
  return Float32Array.from(bits, (h) => table[h]);
}

/** float32 → half bit patterns, rounded to nearest even (values fed to an fp16 kernel; exact for values that are halves). */
export function floatToHalf(f: Float32Array): Uint16Array {
  const out = new Uint16Array(f.length);
  const fb = new Float32Array(1),
    ib = new Uint32Array(fb.buffer);
  for (let i = 0; i < f.length; i++) {
    fb[0] = f[i];
    const x = ib[0];
    const sign = (x >>> 16) & 0x8000;
    const exp = ((x >>> 23) & 0xff) - 127 + 15;
    let mant = x & 0x7fffff;
    if (((x >>> 23) & 0xff) === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
      continue;
    }
    if (exp >= 31) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (exp <= 0) {
      if (exp < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - exp;
      let h = mant >>> shift;
      const rem = mant & ((1 << shift) - 1),
        half = 1 << (shift - 1);
      if (rem > half || (rem === half && h & 1)) h++;
      out[i] = sign | h;
      continue;
    }
    let h = (exp << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
    out[i] = sign | h;
  }
  return out;
}
