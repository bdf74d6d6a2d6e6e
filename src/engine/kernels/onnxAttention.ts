// ONNX Attention (opset 23/24), what torch.onnx.export(dynamo=True, opset_version ≥ 23) writes: 4D Q/K/V
// [B, heads, S, d] or 3D [B, S, heads·d] with q_num_heads / kv_num_heads, grouped KV, is_causal, a boolean or
// additive attn_mask, scale, softcap, past KV. onnxruntime 1.30's CPU kernel returns the softmax as output 3
// when qk_matmul_output_mode = 3 (measured: modes 0 and 1 give the raw scaled QKᵀ, 2 the masked scores — the
// spec's table had 1 and 2 swapped, onnx/onnx#7913), so the slice is the kernel itself on a few heads.
import type * as ort from 'onnxruntime-node';
import { type onnx } from 'onnx-proto';
import { halfToFloat32 } from '../../core/half';
import { graphInputBehind, inlined, isRunTensor, staticWidth, type KernelContext } from './context';
import { headMajor, takeAxis, takeHeads, type TypedData } from './heads';
import {
  addAux,
  attrInt,
  attrKey,
  attrsOf,
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
  trimOptional,
  withAttrs,
  attrTensor,
  zeroScalar,
} from './sliceGraph';
import type { KernelPlanResult, TensorLookup } from './types';

export const ONNX_ATTENTION_ATTRIBUTES = ['is_causal', 'kv_num_heads', 'q_num_heads', 'qk_matmul_output_mode', 'scale', 'softcap', 'softmax_precision'];

export function planOnnxAttention(n: onnx.INodeProto, ctx: KernelContext, source: string, label: string): KernelPlanResult {
  const a = attrsOf(n);
  const qHeads = intAttr(a, 'q_num_heads', 0),
    kvHeads = intAttr(a, 'kv_num_heads', 0);
  const [Q, K, V, mask, pastKey, pastValue, nonpad] = n.input ?? [];
  if (!Q || !K || !V) return { refused: `${label} lacks Q, K or V` };
  if (qHeads > 0 !== kvHeads > 0 || (qHeads > 0 && qHeads % kvHeads !== 0))
    return { refused: `${label} has q_num_heads ${qHeads} and kv_num_heads ${kvHeads}: query heads must be a positive multiple of key/value heads` };
  const kWidth = staticWidth(ctx, K);
  if (qHeads > 0 && kWidth !== undefined && kWidth % kvHeads !== 0)
    return { refused: `${label}: K's width ${kWidth} is not kv_num_heads = ${kvHeads} heads of one size` };
  const inl = inlined(ctx);
  // Closures below never hold `ctx`: its constants pin the whole model's bytes.
  const opsets = ctx.opsets;
  const aux = { mask: auxOf(mask, ctx.constants, inl, 'attn_mask'), nonpad: auxOf(nonpad, ctx.constants, inl, 'nonpad_kv_seqlen') };
  const captures = [Q, K, V, mask, nonpad].filter((x): x is string => isRunTensor(ctx, x));

  const counts = (get: TensorLookup) => ({ H: qkShape(get(Q), qHeads).heads, Hkv: qkShape(get(K), kvHeads).heads });

  return {
    op: 'onnx-attention',
    label,
    source,
    output: n.output?.[0] ?? '',
    outputLayout: dimsRankHint(ctx, Q, qHeads) === 3 ? 'bsd' : 'bhsd',
    captures,
    headSize: qHeads > 0 && kWidth !== undefined ? kWidth / kvHeads : kWidth,
    pastInputs: [pastKey, pastValue].map((x) => graphInputBehind(ctx, x)).filter((x): x is string => !!x),
    counts,
    run(get, h0, count, kv0, kv) {
      const q = get(Q);
      const rank = dimsOf(q).length;
      const { H } = counts(get);
      const feeds: Record<string, ort.Tensor> = { Q: takeQkHeads(q, qHeads, h0, count), K: takeQkHeads(get(K), kvHeads, kv0, kv) };
      const inits: onnx.TensorProto[] = [];
      const heads = { H, h0, count, take: (t: ort.Tensor, axis: number) => takeAxis(t, axis, h0, count) };
      const maskIn = addAux(aux.mask, 'attn_mask', get, feeds, inits, heads);
      const nonpadIn = addAux(aux.nonpad, 'nonpad_kv_seqlen', get, feeds, inits);
      const type = ONNX_TYPE[q.type];
      const set = [attrInt('qk_matmul_output_mode', 3), ...(rank === 3 ? [attrInt('q_num_heads', count), attrInt('kv_num_heads', kv)] : [])];
      return {
        key: sliceKey(['onnx-attention', count, kv, attrKey(n), maskIn, nonpadIn], feeds),
        feeds,
        build: () => {
          // V of head size 1 (4D [1, kv, T, 1], 3D [1, T, kv]): the probabilities never read it.
          inits.push(int64Init('v.last', [rank === 4 ? 1 : kv]));
          const nodes = [
            node('Shape', ['K'], ['k.lead'], [attrInt('start', 0), attrInt('end', -1)]),
            node('Concat', ['k.lead', 'v.last'], ['v.shape'], [attrInt('axis', 0)]),
            node('ConstantOfShape', ['v.shape'], ['V'], [attrTensor('value', zeroScalar(type))]),
            node(
              'Attention',
              trimOptional(['Q', 'K', 'V', maskIn, '', '', nonpadIn]),
              ['y', '', '', 'probs'],
              withAttrs(n, ['q_num_heads', 'kv_num_heads', 'qk_matmul_output_mode'], set),
            ),
            ...toFloat('probs', type),
          ];
          return sliceModel(opsets, nodes, feeds, inits);
        },
      };
    },
    values: async (get) => attentionValues(get(V), counts, get),
  };
}

/** 3 when the kernel takes 3D inputs (q_num_heads is required for them), else 4. */
function dimsRankHint(ctx: KernelContext, Q: string, qHeads: number): 3 | 4 {
  const d = ctx.declared.get(Q);
  if (d) return d.length === 3 ? 3 : 4;
  return qHeads > 0 ? 3 : 4;
}

/** Heads and head size of a kept Q or K: 4D carries them, 3D needs the attribute. */
function qkShape(t: ort.Tensor, heads3d: number) {
  const d = dimsOf(t);
  return d.length === 4 ? { rank: 4, heads: d[1], S: d[2], d: d[3] } : { rank: 3, heads: heads3d, S: d[1], d: d[2] / heads3d };
}

/** Heads h0 … h0 + count − 1 of a kept Q or K, in its own layout. */
function takeQkHeads(t: ort.Tensor, heads3d: number, h0: number, count: number): ort.Tensor {
  const s = qkShape(t, heads3d);
  if (s.rank === 4) return takeAxis(t, 1, h0, count);
  return like(t, takeHeads(t.data as TypedData, s.S, s.heads, s.d, h0, count), [1, s.S, count * s.d]);
}

/** The values V as float32 [Hkv, T, dv], from 4D [1, Hkv, T, dv] or 3D [1, T, Hkv·dv]. */
function attentionValues(v: ort.Tensor, counts: (get: TensorLookup) => { Hkv: number }, get: TensorLookup): { data: Float32Array; dims: number[] } {
  const d = dimsOf(v);
  let data: TypedData, dims: number[];
  if (d.length === 4) {
    data = v.data as TypedData;
    dims = [d[1], d[2], d[3]];
  } else {
    const { Hkv } = counts(get);
    const dv = d[2] / Hkv;
    data = headMajor(v.data as TypedData, d[1], Hkv, dv, 0, Hkv);
    dims = [Hkv, d[1], dv];
  }
  return { data: v.type === 'float16' ? halfToFloat32(data as Uint16Array) : Float32Array.from(data as Float32Array), dims };
}
