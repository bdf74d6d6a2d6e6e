// Element types of a graph's tensors where the graph does not declare them, by walking back through producers.
import { onnx } from 'onnx-proto';
import { num } from './weights';

const FLOAT = onnx.TensorProto.DataType.FLOAT;
// Ops whose output has the element type of one given input (the rest: see elemTypes below).
const SAME_AS_INPUT: Record<string, number> = { Where: 1 };
const BOOL_OPS = new Set(['Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf']);
const INT64_OPS = new Set(['Shape', 'Size', 'ArgMax', 'ArgMin', 'NonZero']);
/**
 * com.microsoft ops whose outputs have their first input's type (projections, norms, activations, rotary and
 * the attention kernels, their present caches included); EmbedLayerNormalization's outputs have its word
 * table's type, but for mask_index (int32).
 */
const MS_SAME_AS_INPUT = new Set([
  'MatMulNBits',
  'RotaryEmbedding',
  'SkipLayerNormalization',
  'SkipSimplifiedLayerNormalization',
  'SimplifiedLayerNormalization',
  'FastGelu',
  'BiasGelu',
  'Gelu',
  'QuickGelu',
  'BiasAdd',
  'GemmFastGelu',
  'GroupQueryAttention',
  'MultiHeadAttention',
  'Attention',
  'BiasSplitGelu',
]);

/**
 * Element types of `names` (ONNX TensorProto.DataType), or undefined where the graph does not tell:
 * declared value_info/inputs/outputs first, else a walk back through producers (Cast → its `to`,
 * comparisons → bool, shape ops → int64, Where → its X, everything else → its first input's type).
 */
export function elemTypes(model: onnx.ModelProto, names: string[]): (number | undefined)[] {
  const graph = model.graph!;
  const known = new Map<string, number>();
  for (const v of [...(graph.input ?? []), ...(graph.valueInfo ?? []), ...(graph.output ?? [])]) {
    const t = v.type?.tensorType?.elemType;
    if (v.name && t) known.set(v.name, t);
  }
  for (const t of graph.initializer ?? []) if (t.name && t.dataType) known.set(t.name, t.dataType);
  const producer = new Map<string, onnx.INodeProto>();
  for (const n of graph.node ?? []) for (const o of n.output ?? []) producer.set(o, n);
  const attr = (n: onnx.INodeProto, name: string) => (n.attribute ?? []).find((a) => a.name === name);
  const memo = new Map<string, number | undefined>();
  const typeOf = (name: string, depth: number): number | undefined => {
    if (known.has(name)) return known.get(name);
    if (memo.has(name)) return memo.get(name);
    const n = producer.get(name);
    let t: number | undefined;
    if (n && depth < 200) {
      const op = n.opType ?? '';
      if (n.domain === 'com.microsoft' && op === 'EmbedLayerNormalization') {
        t = name === n.output?.[1] ? onnx.TensorProto.DataType.INT32 : typeOf((n.input ?? [])[2] ?? '', depth + 1);
      } else if (n.domain === 'com.microsoft' && MS_SAME_AS_INPUT.has(op)) t = typeOf((n.input ?? [])[0] ?? '', depth + 1);
      else if (n.domain && n.domain !== 'ai.onnx') t = undefined;
      else if (op === 'Cast') t = num(attr(n, 'to')?.i);
      else if (op === 'Constant') t = attr(n, 'value')?.t?.dataType ?? undefined;
      else if (op === 'ConstantOfShape') t = attr(n, 'value')?.t?.dataType ?? FLOAT;
      else if (BOOL_OPS.has(op)) t = onnx.TensorProto.DataType.BOOL;
      else if (INT64_OPS.has(op)) t = onnx.TensorProto.DataType.INT64;
      // Split's every output has its input's type (Q, K, V of a fused qkv projection).
      else if ((n.output ?? [])[0] === name || op === 'Split') t = typeOf((n.input ?? [])[SAME_AS_INPUT[op] ?? 0] ?? '', depth + 1);
    }
    memo.set(name, t || undefined);
    return t || undefined;
  };
  return names.map((nm) => typeOf(nm, 0));
}
