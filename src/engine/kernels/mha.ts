// com.microsoft MultiHeadAttention, what the ONNX Runtime transformer optimizer and optimum --optimize write
// beside SkipLayerNormalization: separate [B, S, N·H] Q/K/V, key/value as [B, N, L, H], packed QKV
// [B, S, N, 3, H] or packed KV [B, L, N, 2, H], an input-projection bias, key_padding_mask, attention_bias,
// unidirectional. Its output 3 `qk` is the scaled, masked scores; the slice is the kernel on a few heads
// followed by a Softmax over the keys.
import * as ort from 'onnxruntime-node';
import type { onnx } from 'onnx-proto';
import { floatToHalf, halfToFloat32 } from '../../core/half';
import { floatConst, graphInputBehind, inlined, isRunTensor, type KernelContext } from './context';
import { headMajor, takeAxis, takeHeads, type TypedData } from './heads';
import {
  addAux,
  attrInt,
  attrKey,
  attrsOf,
  auxOf,
  type Aux,
  dimsOf,
  intAttr,
  like,
  node,
  ONNX_TYPE,
  sliceKey,
  sliceModel,
  toFloat,
  trimOptional,
  withAttrs,
  zerosLike,
} from './sliceGraph';
import type { KernelPlanResult, SliceRun, TensorLookup } from './types';

export const MHA_ATTRIBUTES = ['num_heads', 'mask_filter_value', 'scale', 'unidirectional'];

type Layout = 'bsd' | 'bnsh' | 'packed-qkv' | 'packed-kv';

export function planMha(n: onnx.INodeProto, ctx: KernelContext, source: string, label: string): KernelPlanResult {
  const spec = mhaSpec(n, ctx, label);
  if ('refused' in spec) return spec;
  return {
    op: 'mha',
    label,
    source,
    output: n.output?.[0] ?? '',
    outputLayout: 'bsd',
    captures: spec.captures,
    pastInputs: spec.pastInputs,
    counts: () => ({ H: spec.N, Hkv: spec.N }),
    run: (get, h0, count) => mhaRun(n, spec, get, h0, count),
    values: async (get) => mhaValues(spec, get),
  };
}

/** What the slices and values read of the node. Holds nothing of `ctx`: its constants pin the whole model's bytes. */
interface MhaSpec {
  N: number;
  query: string;
  key?: string;
  value?: string;
  bias?: string;
  /** The input-projection bias when it is a constant. */
  biasConst?: { dims: number[]; data: Float32Array };
  aux: { kpm: Aux; bias: Aux };
  opsets: KernelContext['opsets'];
  captures: string[];
  pastInputs: string[];
}

function mhaSpec(n: onnx.INodeProto, ctx: KernelContext, label: string): MhaSpec | { refused: string } {
  const N = intAttr(attrsOf(n), 'num_heads', 0);
  if (N <= 0) return { refused: `${label} has no positive num_heads` };
  const [query, key, value, bias, kpm, attnBias, pastKey, pastValue, pastSeqLen, cacheIndirection] = n.input ?? [];
  if (!query) return { refused: `${label} lacks a query` };
  if (pastSeqLen || cacheIndirection)
    return {
      refused: `${label} reads past_sequence_length / cache_indirection: it is a decoding step over a shared or beam-search cache, not a pass over a text`,
    };
  const inl = inlined(ctx);
  const aux = { kpm: auxOf(kpm, ctx.constants, inl, 'key_padding_mask'), bias: auxOf(attnBias, ctx.constants, inl, 'attention_bias') };
  const biasConst = bias ? floatConst(ctx, bias) : undefined;
  return {
    N,
    query,
    key,
    value,
    bias,
    biasConst,
    aux,
    opsets: ctx.opsets,
    captures: [query, key, value, kpm, attnBias, ...(biasConst ? [] : [bias])].filter((x): x is string => isRunTensor(ctx, x)),
    pastInputs: [pastKey, pastValue].map((x) => graphInputBehind(ctx, x)).filter((x): x is string => !!x),
  };
}

function layoutOf(spec: MhaSpec, get: TensorLookup): { layout: Layout; q: ort.Tensor; k?: ort.Tensor; v?: ort.Tensor } {
  const q = get(spec.query);
  const k = spec.key ? get(spec.key) : undefined;
  const v = spec.value ? get(spec.value) : undefined;
  if (q.dims.length === 5) return { layout: 'packed-qkv', q };
  if (k?.dims.length === 5) return { layout: 'packed-kv', q, k };
  if (k?.dims.length === 4) return { layout: 'bnsh', q, k, v };
  return { layout: 'bsd', q, k, v };
}

/** The input-projection bias as float32 [Dq + Dk + Dv], or undefined. */
function biasOf(spec: MhaSpec, get: TensorLookup): Float32Array | undefined {
  if (!spec.bias) return undefined;
  if (spec.biasConst) return spec.biasConst.data;
  const t = get(spec.bias);
  return t.type === 'float16' ? halfToFloat32(t.data as Uint16Array) : Float32Array.from(t.data as Float32Array);
}

function mhaRun(n: onnx.INodeProto, spec: MhaSpec, get: TensorLookup, h0: number, count: number): SliceRun {
  const { layout, q, k } = layoutOf(spec, get);
  const { feeds, Hq, Hk } = headFeeds(spec.N, layout, q, k, h0, count);
  const type = ONNX_TYPE[q.type];
  const full = biasOf(spec, get);
  if (full) feeds.bias = biasFeed(full, spec.N, Hq, Hk, layout, h0, count, q.type);
  const inits: onnx.TensorProto[] = [];
  const heads = { H: spec.N, h0, count, take: (t: ort.Tensor, axis: number) => takeAxis(t, axis, h0, count) };
  const kpmIn = addAux(spec.aux.kpm, 'key_padding_mask', get, feeds, inits);
  const abIn = addAux(spec.aux.bias, 'attention_bias', get, feeds, inits, heads);
  const hasValue = layout === 'bsd' || layout === 'bnsh';
  return {
    key: sliceKey(['mha', layout, count, attrKey(n), kpmIn, abIn], feeds),
    feeds,
    build: () =>
      sliceModel(
        spec.opsets,
        [
          ...(hasValue ? zerosLike('key', 'value', type) : []),
          node(
            'MultiHeadAttention',
            trimOptional(['query', feeds.key ? 'key' : '', hasValue ? 'value' : '', feeds.bias ? 'bias' : '', kpmIn, abIn]),
            ['y', '', '', 'qk'],
            withAttrs(n, ['num_heads'], [attrInt('num_heads', count)]),
            'com.microsoft',
          ),
          // The scores in float32 before the Softmax, as onnxruntime's CPU kernels compute it for float16 too.
          ...toFloat('qk', type, 'qk.f32'),
          node('Softmax', ['qk.f32'], ['out'], [attrInt('axis', -1)]),
        ],
        feeds,
        inits,
        { qk: type },
      ),
  };
}

/** Heads [h0, h0 + count) of the query (and key), in the kernel's layout; the query and key head sizes. */
function headFeeds(
  N: number,
  layout: Layout,
  q: ort.Tensor,
  k: ort.Tensor | undefined,
  h0: number,
  count: number,
): { feeds: Record<string, ort.Tensor>; Hq: number; Hk: number } {
  const qd = dimsOf(q);
  const feeds: Record<string, ort.Tensor> = {};
  if (layout === 'packed-qkv') {
    const H = qd[4];
    feeds.query = like(q, takeHeads(q.data as TypedData, qd[1], N, 3 * H, h0, count), [1, qd[1], count, 3, H]);
    return { feeds, Hq: H, Hk: H };
  }
  const Hq = qd[2] / N;
  feeds.query = like(q, takeHeads(q.data as TypedData, qd[1], N, Hq, h0, count), [1, qd[1], count * Hq]);
  const kd = dimsOf(k!);
  let Hk: number;
  if (layout === 'packed-kv') {
    Hk = kd[4];
    feeds.key = like(k!, takeHeads(k!.data as TypedData, kd[1], N, 2 * Hk, h0, count), [1, kd[1], count, 2, Hk]);
  } else if (layout === 'bnsh') {
    Hk = kd[3];
    feeds.key = takeAxis(k!, 1, h0, count);
  } else {
    Hk = kd[2] / N;
    feeds.key = like(k!, takeHeads(k!.data as TypedData, kd[1], N, Hk, h0, count), [1, kd[1], count * Hk]);
  }
  return { feeds, Hq, Hk };
}

/** [q part, k part, v part] of these heads' bias, in the query's type; the slice's value is zeros of the key's width. */
function biasFeed(full: Float32Array, N: number, Hq: number, Hk: number, layout: Layout, h0: number, count: number, qType: ort.Tensor['type']): ort.Tensor {
  const Dq = N * Hq,
    Dk = N * Hk;
  const b = new Float32Array(count * (Hq + 2 * Hk));
  b.set(full.subarray(h0 * Hq, (h0 + count) * Hq), 0);
  b.set(full.subarray(Dq + h0 * Hk, Dq + (h0 + count) * Hk), count * Hq);
  if (layout === 'packed-qkv') b.set(full.subarray(Dq + Dk + h0 * Hk, Dq + Dk + (h0 + count) * Hk), count * (Hq + Hk));
  return qType === 'float16' ? new ort.Tensor('float16', floatToHalf(b), [b.length]) : new ort.Tensor('float32', b, [b.length]);
}

/** Every head's value vectors, float32 [N, L, Hv], with the v part of the bias added as the kernel does. */
function mhaValues(spec: MhaSpec, get: TensorLookup): { data: Float32Array; dims: number[] } | undefined {
  const { N } = spec;
  const { layout, q, k, v } = layoutOf(spec, get);
  const full = biasOf(spec, get);
  const heads = valueHeads(N, layout, q, k, v);
  if (!heads) return undefined;
  const { data, dims } = heads;
  if (full && layout !== 'bnsh') {
    // The kernel adds the v part of the bias to every value vector.
    const [, L, Hv] = dims;
    const off = full.length - N * Hv;
    for (let h = 0; h < N; h++) for (let s = 0; s < L; s++) for (let c = 0; c < Hv; c++) data[(h * L + s) * Hv + c] += full[off + h * Hv + c];
  }
  return { data, dims };
}

/** The value vectors head-major as float32 [N, L, Hv] (a copy), out of whichever input holds them. */
function valueHeads(
  N: number,
  layout: Layout,
  q: ort.Tensor,
  k: ort.Tensor | undefined,
  v: ort.Tensor | undefined,
): { data: Float32Array; dims: number[] } | undefined {
  const f32 = (t: ort.Tensor, d: TypedData) => (t.type === 'float16' ? halfToFloat32(d as Uint16Array) : Float32Array.from(d as Float32Array));
  if (layout === 'packed-qkv' || layout === 'packed-kv') {
    // V is entry 2 of [S, N, 3, H] (or 1 of [L, N, 2, H]).
    const t = layout === 'packed-qkv' ? q : k!;
    const d = dimsOf(t);
    const [L, parts, H] = [d[1], d[3], d[4]];
    const src = f32(t, t.data as TypedData);
    const data = new Float32Array(N * L * H);
    for (let h = 0; h < N; h++)
      for (let s = 0; s < L; s++) data.set(src.subarray(((s * N + h) * parts + parts - 1) * H, ((s * N + h) * parts + parts) * H), (h * L + s) * H);
    return { data, dims: [N, L, H] };
  }
  if (!v) return undefined;
  const d = dimsOf(v);
  if (layout === 'bnsh') return { data: f32(v, v.data as TypedData), dims: [d[1], d[2], d[3]] };
  const Hv = d[2] / N;
  return { data: f32(v, headMajor(v.data as TypedData, d[1], N, Hv, 0, N)), dims: [N, d[1], Hv] };
}
