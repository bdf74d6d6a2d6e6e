// com.microsoft Attention, the ONNX Runtime transformer optimizer's fusion for BERT and GPT-2 (optimum
// --optimize O2–O4): the input projection lives inside the kernel (packed weights [in, Dq + Dk + Dv], bias,
// qkv_hidden_sizes), with mask_index in any of its forms, unidirectional, past. It outputs no probabilities,
// so a slice computes those heads' Q and K from the kept input with their columns of the packed weights and
// hands them to MultiHeadAttention, whose scores (output 3) go through a Softmax; masks are translated to
// MultiHeadAttention's key_padding_mask / attention_bias with the same mask_filter_value.
import * as ort from 'onnxruntime-node';
import type { onnx } from 'onnx-proto';
import { floatToHalf, halfToFloat32 } from '../../core/half';
import { floatConst, graphInputBehind, inlined, isRunTensor, type KernelContext } from './context';
import { headMajor, takeAxis, type TypedData } from './heads';
import { matmulRows } from './matmul';
import {
  addAux,
  attrInt,
  attrKey,
  attrsOf,
  auxOf,
  dimsOf,
  intAttr,
  node,
  ONNX_TYPE,
  sliceKey,
  sliceModel,
  toFloat,
  trimOptional,
  withAttrs,
  zerosLike,
  type Aux,
} from './sliceGraph';
import type { KernelPlanResult, SliceRun, TensorLookup } from './types';

export const MS_ATTENTION_ATTRIBUTES = [
  'num_heads',
  'qkv_hidden_sizes',
  'unidirectional',
  'mask_filter_value',
  'scale',
  'do_rotary',
  'rotary_embedding_dim',
  'past_present_share_buffer',
];

/** Columns [c0, c0 + w) of a row-major [rows, cols] matrix. */
function columns(m: Float32Array, rows: number, cols: number, c0: number, w: number): Float32Array {
  const out = new Float32Array(rows * w);
  for (let r = 0; r < rows; r++) out.set(m.subarray(r * cols + c0, r * cols + c0 + w), r * w);
  return out;
}

export function planMsAttention(n: onnx.INodeProto, ctx: KernelContext, source: string, label: string): KernelPlanResult {
  const spec = msAttentionSpec(n, ctx, label);
  if ('refused' in spec) return spec;
  return {
    op: 'ms-attention',
    label,
    source,
    output: n.output?.[0] ?? '',
    outputLayout: 'bsd',
    captures: spec.captures,
    headSize: spec.Hk,
    pastInputs: spec.pastInputs,
    counts: () => ({ H: spec.N, Hkv: spec.N }),
    run: (get, h0, count) => msAttentionRun(n, spec, get, h0, count),
    values: (get) => msAttentionValues(spec, get),
  };
}

/** What the slices and values read of the node. Holds nothing of `ctx`: its constants pin the whole model's bytes. */
interface MsAttentionSpec {
  N: number;
  input: string;
  maskIndex?: string;
  /** The packed weights [inDim, cols = Dq + Dk + Dv] and bias [cols]. */
  W: { dims: number[]; data: Float32Array };
  B?: { dims: number[]; data: Float32Array };
  inDim: number;
  cols: number;
  Dq: number;
  Dk: number;
  Dv: number;
  /** Head sizes of the query, key and value. */
  Hq: number;
  Hk: number;
  Hv: number;
  mfv: number;
  aux: { bias: Aux };
  opsets: KernelContext['opsets'];
  captures: string[];
  pastInputs: string[];
}

function msAttentionSpec(n: onnx.INodeProto, ctx: KernelContext, label: string): MsAttentionSpec | { refused: string } {
  const a = attrsOf(n);
  const N = intAttr(a, 'num_heads', 0);
  if (N <= 0) return { refused: `${label} has no positive num_heads` };
  if (intAttr(a, 'do_rotary', 0) === 1)
    return {
      refused: `${label} applies rotary inside com.microsoft Attention (do_rotary = 1), which Headlight cannot reproduce head by head; export with GroupQueryAttention or without the transformer optimizer`,
    };
  if (intAttr(a, 'past_present_share_buffer', 0) === 1)
    return { refused: `${label} shares one buffer between past and present (a decoding step), not a pass over a text` };
  const [input, weights, bias, maskIndex, past, attnBias, pastSeqLen] = n.input ?? [];
  if (pastSeqLen) return { refused: `${label} reads past_sequence_length: it is a decoding step over a shared cache` };
  const W = floatConst(ctx, weights);
  if (!input || !W || W.dims.length !== 2) return { refused: `${label}: its weights are not a constant [in, Dq + Dk + Dv] matrix` };
  const [inDim, cols] = W.dims;
  const sizes = a.get('qkv_hidden_sizes')?.ints?.map((v) => Number(v)) ?? [cols / 3, cols / 3, cols / 3];
  const [Dq, Dk, Dv] = sizes;
  if (sizes.length !== 3 || Dq + Dk + Dv !== cols)
    return { refused: `${label}: qkv_hidden_sizes ${JSON.stringify(sizes)} do not add up to the weights' ${cols} columns` };
  if (Dq % N !== 0 || Dk % N !== 0 || Dv % N !== 0) return { refused: `${label}: num_heads ${N} does not divide the hidden sizes ${Dq}/${Dk}/${Dv}` };
  const B = bias ? floatConst(ctx, bias) : undefined;
  if (bias && (!B || B.data.length !== cols)) return { refused: `${label}: its bias is not a constant of ${cols} values` };
  return {
    N,
    input,
    maskIndex,
    W,
    B,
    inDim,
    cols,
    Dq,
    Dk,
    Dv,
    Hq: Dq / N,
    Hk: Dk / N,
    Hv: Dv / N,
    mfv: a.has('mask_filter_value') ? Number(a.get('mask_filter_value')!.f ?? -10000) : -10000,
    aux: { bias: auxOf(attnBias, ctx.constants, inlined(ctx), 'attention_bias') },
    opsets: ctx.opsets,
    captures: [input, maskIndex, attnBias].filter((x): x is string => isRunTensor(ctx, x)),
    pastInputs: [past].map((x) => graphInputBehind(ctx, x)).filter((x): x is string => !!x),
  };
}

/** mask_index as MultiHeadAttention inputs: a [1, T] key mask (1D and 2D forms) or an additive [1, 1, S, T] bias (3D and 4D forms). */
function maskFeeds({ maskIndex, mfv }: MsAttentionSpec, get: TensorLookup, S: number, type: string): Record<string, ort.Tensor> {
  if (!maskIndex) return {};
  const m = get(maskIndex);
  const d = dimsOf(m);
  const v = Int32Array.from(m.data as ArrayLike<number | bigint>, (x) => Number(x));
  const T = S;
  if (d.length === 1) {
    // [B] = end positions, [2B] = end then start positions (batch 1).
    const end = v[0],
      start = d[0] >= 2 ? v[1] : 0;
    return {
      key_padding_mask: new ort.Tensor(
        'int32',
        Int32Array.from({ length: T }, (_, j) => (j >= start && j < end ? 1 : 0)),
        [1, T],
      ),
    };
  }
  if (d.length === 2) return { key_padding_mask: new ort.Tensor('int32', v, [1, d[1]]) };
  // 3D [B, S, T] or 4D [B, 1, M, M] (cropped to S × T): 0 where masked becomes mask_filter_value.
  const stride = d[d.length - 1];
  const f = new Float32Array(S * T);
  for (let i = 0; i < S; i++) for (let j = 0; j < T; j++) f[i * T + j] = v[i * stride + j] ? 0 : mfv;
  return { attention_bias: type === 'float16' ? new ort.Tensor('float16', floatToHalf(f), [1, 1, S, T]) : new ort.Tensor('float32', f, [1, 1, S, T]) };
}

const weightFeed = (type: string, data: Float32Array, dims: number[]) =>
  type === 'float16' ? new ort.Tensor('float16', floatToHalf(data), dims) : new ort.Tensor('float32', data, dims);

/** Heads [h0, h0 + count): their Q and K projected from the kept input, scored by MultiHeadAttention, then a Softmax. */
function msAttentionRun(n: onnx.INodeProto, spec: MsAttentionSpec, get: TensorLookup, h0: number, count: number): SliceRun {
  const { W, B, inDim, cols, Dq, Hq, Hk } = spec;
  const x = get(spec.input);
  const S = dimsOf(x)[1];
  const feeds: Record<string, ort.Tensor> = {
    x,
    wq: weightFeed(x.type, columns(W.data, inDim, cols, h0 * Hq, count * Hq), [inDim, count * Hq]),
    wk: weightFeed(x.type, columns(W.data, inDim, cols, Dq + h0 * Hk, count * Hk), [inDim, count * Hk]),
  };
  if (B) {
    feeds.bq = weightFeed(x.type, B.data.slice(h0 * Hq, (h0 + count) * Hq), [count * Hq]);
    feeds.bk = weightFeed(x.type, B.data.slice(Dq + h0 * Hk, Dq + (h0 + count) * Hk), [count * Hk]);
  }
  const m = maskFeeds(spec, get, S, x.type);
  Object.assign(feeds, m);
  const inits: onnx.TensorProto[] = [];
  const abIn = m.attention_bias
    ? ''
    : addAux(spec.aux.bias, 'attention_bias', get, feeds, inits, { H: spec.N, h0, count, take: (t, axis) => takeAxis(t, axis, h0, count) });
  const type = ONNX_TYPE[x.type];
  const proj = (w: string, b: string, out: string) =>
    B ? [node('MatMul', ['x', w], [`${out}.mm`]), node('Add', [`${out}.mm`, b], [out])] : [node('MatMul', ['x', w], [out])];
  return {
    key: sliceKey(['ms-attention', count, attrKey(n), abIn], feeds),
    feeds,
    build: () =>
      sliceModel(
        spec.opsets,
        [
          ...proj('wq', 'bq', 'q'),
          ...proj('wk', 'bk', 'k'),
          ...zerosLike('k', 'v', type),
          node(
            'MultiHeadAttention',
            trimOptional(['q', 'k', 'v', '', m.key_padding_mask ? 'key_padding_mask' : '', m.attention_bias ? 'attention_bias' : abIn]),
            ['y', '', '', 'qk'],
            withAttrs(n, ['num_heads', 'qkv_hidden_sizes', 'do_rotary', 'rotary_embedding_dim', 'past_present_share_buffer'], [attrInt('num_heads', count)]),
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

/** Every head's value vectors, float32 [N, S, Hv]: the kept input through the value columns of the packed weights. */
async function msAttentionValues(
  { N, W, B, inDim, cols, Dq, Dk, Dv, Hv, input }: MsAttentionSpec,
  get: TensorLookup,
): Promise<{ data: Float32Array; dims: number[] }> {
  const x = get(input);
  const [, S] = dimsOf(x);
  const xf = x.type === 'float16' ? halfToFloat32(x.data as Uint16Array) : (x.data as Float32Array).slice(); // a copy: the kept run may be released meanwhile
  const v = await matmulRows(xf, S, inDim, columns(W.data, inDim, cols, Dq + Dk, Dv), Dv, B?.data.subarray(Dq + Dk));
  return { data: headMajor(v as TypedData, S, N, Hv, 0, N) as Float32Array, dims: [N, S, Hv] };
}
