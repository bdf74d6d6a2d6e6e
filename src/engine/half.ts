// Half-precision (IEEE binary16) to float32: exact, since every half value is a float32. Shared by the
// attention-dump reader (F16 safetensors) and the worker (fp16 logits).
let f16Table: Float32Array | undefined;

/** All 65,536 half values as float32, built once (256 KB): a lookup is exact and faster than bit twiddling per value. */
export function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) t[h] = sign * frac * 2 ** -24; // subnormal
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
