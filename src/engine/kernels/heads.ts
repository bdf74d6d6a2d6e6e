// Head selection on typed arrays, for feeding a fused kernel's slice a few heads at a time. A tensor is seen
// as [outer, heads, inner]: [1, H, S, d] (outer 1: a zero-copy view), [S, H, d] for a [1, S, H·d] input,
// [S, N + 2K, d] for a packed QKV input, [S, N, 3·H] for MultiHeadAttention's packed layout.
import * as ort from 'onnxruntime-node';

/** The typed arrays onnxruntime hands out for float, float16, integer and bool tensors. */
export type TypedData = Float32Array | Uint16Array | Int32Array | BigInt64Array | Uint8Array | Float64Array;

/** Heads [h0, h0 + count) of data seen as [outer, heads, inner], as [outer, count, inner]. */
export function takeHeads<A extends TypedData>(data: A, outer: number, heads: number, inner: number, h0: number, count: number): A {
  if (outer === 1) return data.subarray(h0 * inner, (h0 + count) * inner) as A;
  const Ctor = data.constructor as new (n: number) => A;
  const out = new Ctor(outer * count * inner);
  for (let o = 0; o < outer; o++) {
    const from = (o * heads + h0) * inner;
    (out as unknown as { set(a: ArrayLike<unknown>, at: number): void }).set(data.subarray(from, from + count * inner), o * count * inner);
  }
  return out;
}

/** Heads [h0, h0 + count) of data seen as [S, heads, d], transposed to [count, S, d]. */
export function headMajor<A extends TypedData>(data: A, S: number, heads: number, d: number, h0: number, count: number): A {
  const Ctor = data.constructor as new (n: number) => A;
  const out = new Ctor(count * S * d);
  const set = out as unknown as { set(a: ArrayLike<unknown>, at: number): void };
  for (let h = 0; h < count; h++) {
    for (let s = 0; s < S; s++) {
      const from = (s * heads + h0 + h) * d;
      set.set(data.subarray(from, from + d), (h * S + s) * d);
    }
  }
  return out;
}

/** Entries [h0, h0 + count) along `axis` of an onnxruntime tensor (a view when nothing precedes the axis but ones). */
export function takeAxis(t: ort.Tensor, axis: number, h0: number, count: number): ort.Tensor {
  const d = t.dims.map(Number);
  const outer = d.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = d.slice(axis + 1).reduce((a, b) => a * b, 1);
  const data = takeHeads(t.data as TypedData, outer, d[axis], inner, h0, count);
  const dims = [...d];
  dims[axis] = count;
  return new ort.Tensor(t.type as 'float32', data as Float32Array, dims);
}
