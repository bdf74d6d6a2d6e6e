// What every kernel plan reads off the graph: constants, producers, graph inputs, declared shapes.
import { onnx } from 'onnx-proto';
import { constantIndex, inlineConstant, readFloat } from '../initializers';
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
    if (v.name && dims) declared.set(v.name, dims.map((d) => (d.dimParam ? d.dimParam : d.dimValue != null ? num(d.dimValue) : '')));
  }
  return { label, modelDir, opsets: model.opsetImport ?? [], constants, producer, graphInputs, declared };
}

/** A tensor computed by the main run (not a graph input, not a constant). */
export const isRunTensor = (ctx: KernelContext, name: string | undefined): name is string => !!name && !ctx.constants.has(name) && !ctx.graphInputs.has(name);

/** A constant copied into a slice model under another name. */
export const inlined = (ctx: KernelContext) => (t: onnx.ITensorProto, as: string): onnx.TensorProto => inlineConstant(t, as, ctx.modelDir);

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

/**
 * The last dimension of a tensor when the graph fixes it: declared, or read off the projection that makes it
 * (MatMulNBits' N, a MatMul/Gemm weight's columns, a bias' length), through casts and rotary embeddings.
 */
export function staticWidth(ctx: KernelContext, name: string | undefined): number | undefined {
  for (let depth = 0; name && depth < 8; depth++) {
    const d = ctx.declared.get(name);
    const last = d?.[d.length - 1];
    if (typeof last === 'number' && last > 0) return last;
    const p = ctx.producer.get(name);
    if (!p) return undefined;
    const op = p.opType ?? '';
    if (op === 'MatMulNBits') return nbitsShape(p)?.N;
    if (op === 'MatMul' || op === 'Gemm') {
      const w = floatDims(ctx, p.input?.[1]);
      const transB = op === 'Gemm' && (p.attribute ?? []).some((a) => a.name === 'transB' && num(a.i) === 1);
      if (w && w.length === 2) return transB ? w[0] : w[1];
      return undefined;
    }
    if (op === 'Add') {
      const b = floatDims(ctx, p.input?.[1]) ?? floatDims(ctx, p.input?.[0]);
      if (b && b.length === 1) return b[0];
      name = ctx.constants.has(p.input?.[0] ?? '') ? p.input?.[1] : p.input?.[0];
      continue;
    }
    if (THROUGH.has(op) || op === 'RotaryEmbedding') { name = p.input?.[0]; continue; }
    return undefined;
  }
  return undefined;
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
