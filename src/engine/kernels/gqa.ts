// com.microsoft GroupQueryAttention, as the onnxruntime-genai model builder writes it: packed or separate
// Q/K/V, N query heads over K key/value heads, rotary inside (`do_rotary` with cos/sin caches), positions from
// seqlens_k / total_sequence_length (or position_ids), local windows, softcap, smooth softmax, attention bias
// and head sinks. The kernel's own `output_qk` (qk_output = 2) is its softmax, so the slice IS the kernel —
// with num_heads = count, kv_num_heads = kv and the same attributes — fed the kept pre-rotary query and key of
// those heads: rotary, windows and caps are applied exactly as in the model.
import type * as ort from 'onnxruntime-node';
import type { onnx } from 'onnx-proto';
import { halfToFloat32 } from '../../core/half';
import { inlined, isRunTensor, staticWidth, graphInputBehind, type KernelContext } from './context';
import { headMajor, takeAxis, takeHeads, type TypedData } from './heads';
import {
  addAux,
  attrInt,
  attrKey,
  attrsOf,
  trimOptional,
  auxOf,
  dimsOf,
  int64Init,
  intAttr,
  like,
  node,
  ONNX_TYPE,
  sliceKey,
  sliceModel,
  toFloat,
  withAttrs,
  zerosLike,
  zeroScalar,
  attrTensor,
  type Aux,
} from './sliceGraph';
import type { KernelPlanResult, SliceRun, TensorLookup } from './types';

export const GQA_ATTRIBUTES = [
  'num_heads',
  'kv_num_heads',
  'scale',
  'softcap',
  'local_window_size',
  'do_rotary',
  'rotary_interleaved',
  'smooth_softmax',
  'qk_output',
];

export function planGqa(n: onnx.INodeProto, ctx: KernelContext, source: string, label: string): KernelPlanResult {
  const spec = gqaSpec(n, ctx, label);
  if ('refused' in spec) return spec;
  return {
    op: 'gqa',
    label,
    source,
    output: n.output?.[0] ?? '',
    outputLayout: 'bsd',
    captures: spec.captures,
    headSize: spec.headSize,
    pastInputs: spec.pastInputs,
    positionRows: spec.positionRows,
    counts: () => ({ H: spec.N, Hkv: spec.K }),
    run: (get, h0, count, kv0, kv) => gqaRun(n, spec, get, h0, count, kv0, kv),
    values: async (get) => gqaValues(spec, get),
  };
}

/** What the slices and values read of the node. Holds nothing of `ctx`: its constants pin the whole model's bytes. */
interface GqaSpec {
  /** Query heads and key/value heads. */
  N: number;
  K: number;
  /** Q, K and V packed in the query ([S, N + 2K, d]). */
  packed: boolean;
  /** Heads of the query's width: N + 2K when packed, else N. */
  groups: number;
  query: string;
  key?: string;
  value?: string;
  seqlens: string;
  total: string;
  aux: { cos: Aux; sin: Aux; positionIds: Aux; bias: Aux; sink: Aux };
  opsets: KernelContext['opsets'];
  captures: string[];
  pastInputs: string[];
  headSize?: number;
  positionRows?: number;
}

function gqaSpec(n: onnx.INodeProto, ctx: KernelContext, label: string): GqaSpec | { refused: string } {
  const a = attrsOf(n);
  const N = intAttr(a, 'num_heads', 0),
    K = intAttr(a, 'kv_num_heads', 0);
  if (N <= 0 || K <= 0 || N % K !== 0)
    return { refused: `${label} has num_heads ${N} and kv_num_heads ${K}: query heads must be a positive multiple of key/value heads` };
  const [query, key, value, pastKey, pastValue, seqlens, total, cos, sin, positionIds, attnBias, headSink] = n.input ?? [];
  if (!query || !seqlens || !total) return { refused: `${label} lacks query, seqlens_k or total_sequence_length` };
  const packed = !key;
  if (packed !== !value) return { refused: `${label} has a key without a value (or the reverse)` };
  const doRotary = intAttr(a, 'do_rotary', 0) === 1;
  if (doRotary && (!cos || !sin)) return { refused: `${label} asks for rotary (do_rotary = 1) without cos_cache and sin_cache` };
  const width = staticWidth(ctx, query);
  const groups = packed ? N + 2 * K : N;
  if (width !== undefined && width % groups !== 0)
    return {
      refused: `${label}: the query's width ${width} is not ${packed ? `(num_heads + 2 · kv_num_heads) = ${groups}` : `num_heads = ${N}`} heads of one size`,
    };
  const inl = inlined(ctx);
  const aux = {
    cos: auxOf(cos, ctx.constants, inl, 'cos'),
    sin: auxOf(sin, ctx.constants, inl, 'sin'),
    positionIds: auxOf(positionIds, ctx.constants, inl, 'position_ids'),
    bias: auxOf(attnBias, ctx.constants, inl, 'attention_bias'),
    sink: auxOf(headSink, ctx.constants, inl, 'head_sink'),
  };
  const captures = [query, key, value, seqlens, total, cos, sin, positionIds, attnBias, headSink].filter((x): x is string => isRunTensor(ctx, x));
  const cacheRows = cos ? ctx.constants.get(cos)?.dims?.[0] : undefined;
  return {
    N,
    K,
    packed,
    groups,
    query,
    key,
    value,
    seqlens,
    total,
    aux,
    opsets: ctx.opsets,
    captures,
    pastInputs: [pastKey, pastValue].map((x) => graphInputBehind(ctx, x)).filter((x): x is string => !!x),
    headSize: width !== undefined ? width / groups : undefined,
    positionRows: doRotary && cacheRows !== undefined ? Number(cacheRows) : undefined,
  };
}

/** q [S, groups, d] of the packed or separate query; key heads at N + kv in a packed query. */
function qkv({ N, K, packed, groups, query, key }: GqaSpec, get: TensorLookup) {
  const q = get(query);
  const [, S, W] = dimsOf(q);
  const d = W / groups;
  return { q, S, d, k: packed ? q : get(key!), kFirst: packed ? N : 0, kGroups: packed ? N + 2 * K : K };
}

function gqaRun(n: onnx.INodeProto, spec: GqaSpec, get: TensorLookup, h0: number, count: number, kv0: number, kv: number): SliceRun {
  const { aux } = spec;
  const { q, S, d, k, kFirst, kGroups } = qkv(spec, get);
  const feeds: Record<string, ort.Tensor> = {
    query: like(q, takeHeads(q.data as TypedData, S, spec.groups, d, h0, count), [1, S, count * d]),
    key: like(k, takeHeads(k.data as TypedData, S, kGroups, d, kFirst + kv0, kv), [1, S, kv * d]),
    seqlens_k: get(spec.seqlens),
    total_sequence_length: get(spec.total),
  };
  const inits: onnx.TensorProto[] = [];
  const heads = { H: spec.N, h0, count, take: (t: ort.Tensor, axis: number) => takeAxis(t, axis, h0, count) };
  const extra = [
    addAux(aux.cos, 'cos', get, feeds, inits),
    addAux(aux.sin, 'sin', get, feeds, inits),
    addAux(aux.positionIds, 'position_ids', get, feeds, inits),
    addAux(aux.bias, 'attention_bias', get, feeds, inits, heads),
    addAux(aux.sink, 'head_sink', get, feeds, inits, heads),
  ];
  const type = ONNX_TYPE[q.type];
  return {
    key: sliceKey(['gqa', count, kv, d, attrKey(n), ...extra], feeds),
    feeds,
    // Keys past seqlens_k (right padding) are masked, but output_qk leaves their columns unwritten.
    post: (probs, c, rows, T) => {
      const valid = Number((feeds.seqlens_k.data as ArrayLike<number | bigint>)[0]) + 1;
      if (valid >= T) return;
      for (let r = 0; r < c * rows; r++) probs.fill(0, r * T + valid, (r + 1) * T);
    },
    build: () => {
      // An empty cache [1, kv, 0, d] and a zero value: the probabilities read neither.
      inits.push(int64Init('past.shape', [1, kv, 0, d]));
      const nodes = [
        ...zerosLike('key', 'value', type),
        node('ConstantOfShape', ['past.shape'], ['past'], [attrTensor('value', zeroScalar(type))]),
        node(
          'GroupQueryAttention',
          trimOptional(['query', 'key', 'value', 'past', 'past', 'seqlens_k', 'total_sequence_length', ...extra]),
          ['y', 'present_key', 'present_value', 'probs'],
          withAttrs(n, [], [attrInt('num_heads', count), attrInt('kv_num_heads', kv), attrInt('qk_output', 2)]),
          'com.microsoft',
        ),
        ...toFloat('probs', type),
      ];
      return sliceModel(spec.opsets, nodes, feeds, inits);
    },
  };
}

/** Every key/value head's value vectors, float32 [K, S, d]. */
function gqaValues(spec: GqaSpec, get: TensorLookup): { data: Float32Array; dims: number[] } | undefined {
  const { N, K, packed } = spec;
  if (!packed && !spec.value) return undefined;
  const { S, d } = qkv(spec, get);
  const v = packed ? get(spec.query) : get(spec.value!);
  const vGroups = packed ? N + 2 * K : K;
  const data = headMajor(v.data as TypedData, S, vGroups, d, packed ? N + K : 0, K);
  return { data: v.type === 'float16' ? halfToFloat32(data as Uint16Array) : Float32Array.from(data as Float32Array), dims: [K, S, d] };
}
