// What every kernel plan reads off the graph: constants, producers, graph inputs, declared shapes.
import type { onnx } from 'onnx-proto';
import { constantIndex, inlineConstant, readConstant, readFloat } from '../initializers';
import { nbitsShape } from '../nbits';
import { num } from './sliceGraph';

export interface KernelContext {
  /** The model file's name, for messages. */
  label: string;
  modelDir: string;
  opsets: onnx.IOperatorSetIdProto[];
  constants: Map<string, onnx.ITensorProto>;
  producer: Map<string, onnx.INodeProto>;
  graphInputs: Set<string>;
  /** Declared dims (value_info, inputs, outputs): numbers, or the symbol's name. */
  declared: Map<string, (number | string)[]>;
}

export function kernelContext(model: onnx.ModelProto, label: string, modelDir: string): KernelContext {
  const graph = model.graph!;
  const constants = constantIndex(model);
  const producer = new Map<string, onnx.INodeProto>();
  for (const n of graph.node ?? []) for (const o of n.output ?? []) if (o) producer.set(o, n);
  const graphInputs = new Set((graph.input ?? []).map((i) => i.name ?? '').filter((nm) => !constants.has(nm)));
  const declared = new Map<string, (number | string)[]>();
  for (const v of [...(graph.input ?? []), ...(graph.valueInfo ?? []), ...(graph.output ?? [])]) {
    const dims = v.type?.tensorType?.shape?.dim;
    if (v.name && dims)
      declared.set(
        v.name,
        dims.map((d) => (d.dimParam ? d.dimParam : d.dimValue != null ? num(d.dimValue) : '')),
      );
  }
  return { label, modelDir, opsets: model.opsetImport ?? [], constants, producer, graphInputs, declared };
}

/** A tensor computed by the main run (not a graph input, not a constant). */
export const isRunTensor = (ctx: KernelContext, name: string | undefined): name is string => !!name && !ctx.constants.has(name) && !ctx.graphInputs.has(name);

/** A constant copied into a slice model under another name. */
export const inlined =
  (ctx: KernelContext) =>
  (t: onnx.ITensorProto, as: string): onnx.TensorProto =>
    inlineConstant(t, as, ctx.modelDir);

const THROUGH = new Set(['Cast', 'Identity']);

/** A float constant behind Cast/Identity nodes (float16 weights cast to float), as float32. */
export function floatConst(ctx: KernelContext, name: string | undefined): { dims: number[]; data: Float32Array } | undefined {
  for (let depth = 0; name && depth < 4; depth++) {
    const c = ctx.constants.get(name);
    if (c) return readFloat(c, ctx.modelDir);
    const p = ctx.producer.get(name);
    if (!p || !THROUGH.has(p.opType ?? '')) return undefined;
    name = p.input?.[0];
  }
  return undefined;
}

/** Ops whose output keeps the first input's last dimension. */
const SAME_LAST = new Set([
  'Cast',
  'Identity',
  'RotaryEmbedding',
  'Relu',
  'Neg',
  'Sigmoid',
  'Tanh',
  'Softmax',
  'LayerNormalization',
  'SimplifiedLayerNormalization',
  'SkipLayerNormalization',
  'SkipSimplifiedLayerNormalization',
  'RMSNormalization',
]);

/**
 * The last dimension of a tensor when the graph fixes it: declared, or read off the ops that make it
 * (MatMulNBits' N, a MatMul/Gemm weight's columns, a bias' length, a Split's sizes, a Reshape's target, a
 * Transpose that keeps the last axis), through casts, norms and rotary embeddings.
 */
export function staticWidth(ctx: KernelContext, name: string | undefined, depth = 0): number | undefined {
  if (!name || depth > 12) return undefined;
  const d = ctx.declared.get(name);
  const last = d?.[d.length - 1];
  if (typeof last === 'number' && last > 0) return last;
  const p = ctx.producer.get(name);
  if (!p) return undefined;
  const op = p.opType ?? '';
  const input = (i: number) => p.input?.[i];
  if (op === 'MatMulNBits') return nbitsShape(p)?.N;
  if (op === 'MatMul' || op === 'Gemm') {
    const w = floatDims(ctx, input(1));
    const transB = op === 'Gemm' && (p.attribute ?? []).some((a) => a.name === 'transB' && num(a.i) === 1);
    return w && w.length === 2 ? (transB ? w[0] : w[1]) : undefined;
  }
  if (op === 'Add' || op === 'Mul' || op === 'Sub' || op === 'Div') {
    for (const i of [1, 0]) {
      const b = floatDims(ctx, input(i));
      if (b && b.length === 1 && b[0] > 1) return b[0];
    }
    const other = ctx.constants.has(input(0) ?? '') ? input(1) : input(0);
    return staticWidth(ctx, other, depth + 1);
  }
  if (SAME_LAST.has(op)) return staticWidth(ctx, input(0), depth + 1);
  if (op === 'Transpose') {
    const perm = (p.attribute ?? []).find((a) => a.name === 'perm')?.ints?.map(num);
    return perm && perm[perm.length - 1] === perm.length - 1 ? staticWidth(ctx, input(0), depth + 1) : undefined;
  }
  if (op === 'Reshape') {
    const shape = intConst(ctx, input(1));
    const lastDim = shape?.[shape.length - 1];
    return lastDim !== undefined && lastDim > 0 ? lastDim : undefined;
  }
  if (op === 'Split') {
    const axis = num((p.attribute ?? []).find((a) => a.name === 'axis')?.i ?? 0);
    const rank = ctx.declared.get(input(0) ?? '')?.length;
    if (!(axis === -1 || (rank !== undefined && axis === rank - 1))) return undefined;
    const k = (p.output ?? []).indexOf(name);
    const sizes = intConst(ctx, input(1)) ?? (p.attribute ?? []).find((a) => a.name === 'split')?.ints?.map(num);
    if (sizes) return sizes[k];
    const whole = staticWidth(ctx, input(0), depth + 1);
    const parts = (p.output ?? []).length;
    return whole !== undefined && whole % parts === 0 ? whole / parts : undefined;
  }
  return undefined;
}

/** An int64/int32 constant's values (shapes, split sizes), or undefined. */
function intConst(ctx: KernelContext, name: string | undefined): number[] | undefined {
  const t = name ? ctx.constants.get(name) : undefined;
  if (!t) return undefined;
  const c = readConstant(t, ctx.modelDir);
  return c && c.data instanceof Int32Array ? Array.from(c.data) : undefined;
}

function floatDims(ctx: KernelContext, name: string | undefined): number[] | undefined {
  for (let depth = 0; name && depth < 4; depth++) {
    const c = ctx.constants.get(name);
    if (c) return (c.dims ?? []).map(num);
    const p = ctx.producer.get(name);
    if (!p || !THROUGH.has(p.opType ?? '')) return undefined;
    name = p.input?.[0];
  }
  return undefined;
}

/** The graph input behind `name` (through Identity/Cast), when the kernel reads one directly. */
export function graphInputBehind(ctx: KernelContext, name: string | undefined): string | undefined {
  for (let depth = 0; name && depth < 4; depth++) {
    if (ctx.graphInputs.has(name)) return name;
    const p = ctx.producer.get(name);
    if (!p || !THROUGH.has(p.opType ?? '')) return undefined;
    name = p.input?.[0];
  }
  return undefined;
}
