// Reading constant tensors off a decoded graph: the one place weights are turned into float32 for the JS
// side (output projections, norms, the unembedding). A weight reaches its consumer directly, through
// Identity (shared parameters), Cast (float16 stored, float computed), Transpose (exported without
// constant folding), or as a small constant expression (Gemma's RMSNorm reads 1 + w). Quantised weights
// (MatMulNBits) are dequantised by the runtime (nbits.ts): W_O whole, a packed unembedding column by column
// (residual.ts). Initializers' bytes (float16, external data) are read by initializers.ts.
import type { onnx } from 'onnx-proto';
import { constantIndex, readFloat } from './initializers';

type Long = { toNumber(): number };
export const num = (v: number | Long | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

export interface GraphIndex {
  model: onnx.ModelProto;
  nodes: onnx.INodeProto[];
  /** Initializers and Constant nodes' values by tensor name. */
  inits: Map<string, onnx.ITensorProto>;
  producer: Map<string, { node: onnx.INodeProto; index: number }>;
  consumers: Map<string, onnx.INodeProto[]>;
  graphInputs: Set<string>;
  /** The model file's folder, for external data (undefined: external tensors read as not found). */
  dir?: string;
}

export function indexGraph(model: onnx.ModelProto, dir?: string): GraphIndex {
  const graph = model.graph!;
  const nodes = graph.node ?? [];
  const inits = constantIndex(model);
  const producer = new Map<string, { node: onnx.INodeProto; index: number }>();
  const consumers = new Map<string, onnx.INodeProto[]>();
  nodes.forEach((n, index) => {
    for (const o of n.output ?? []) if (o) producer.set(o, { node: n, index });
    for (const i of n.input ?? [])
      if (i) {
        const c = consumers.get(i);
        if (c) c.push(n);
        else consumers.set(i, [n]);
      }
  });
  const graphInputs = new Set((graph.input ?? []).map((i) => i.name ?? '').filter((nm) => !inits.has(nm)));
  return { model, nodes, inits, producer, consumers, graphInputs, dir };
}

export interface Weight {
  data: Float32Array;
  dims: number[];
}

/** float32 values of a FLOAT / FLOAT16 / DOUBLE tensor proto (external data read from `dir`), or undefined. */
export function tensorData(t: onnx.ITensorProto, dir?: string): Float32Array | undefined {
  return readFloat(t, dir)?.data;
}

function transpose2(data: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = data[r * cols + c];
  return t;
}

/** Ops a constant expression may use: elementwise on broadcastable operands (a scalar or same shape). */
const ELEMENTWISE: Record<string, (a: number, b: number) => number> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  Div: (a, b) => a / b,
};

/**
 * The float32 value of constant tensor `name`: an initializer or Constant, or one reached through Identity,
 * Cast, a 2-D Transpose, Reshape/Unsqueeze/Squeeze (dims kept from the source), or an elementwise
 * Add/Sub/Mul/Div of two constants where one is a scalar or both have the same size. Undefined otherwise.
 */
export function weightOf(g: GraphIndex, name: string, depth = 0): Weight | undefined {
  if (depth > 8) return undefined;
  const init = g.inits.get(name);
  if (init) {
    const data = tensorData(init, g.dir);
    const dims = (init.dims ?? []).map(num);
    return data && data.length === dims.reduce((a, b) => a * b, 1) ? { data, dims } : undefined;
  }
  const p = g.producer.get(name)?.node;
  if (!p || p.domain) return undefined;
  const op = p.opType ?? '';
  const first = () => weightOf(g, p.input?.[0] ?? '', depth + 1);
  if (op === 'Identity' || op === 'Cast') return first();
  if (op === 'Reshape' || op === 'Unsqueeze' || op === 'Squeeze') {
    // Only the values matter to callers that know the shape they expect (a [d] scale read as [1, 1, d]).
    const w = first();
    return w ? { data: w.data, dims: [w.data.length] } : undefined;
  }
  if (op === 'Transpose') {
    const perm = (p.attribute ?? []).find((a) => a.name === 'perm')?.ints?.map(num);
    const w = first();
    if (!w || w.dims.length !== 2 || (perm && !(perm[0] === 1 && perm[1] === 0))) return undefined;
    return { data: transpose2(w.data, w.dims[0], w.dims[1]), dims: [w.dims[1], w.dims[0]] };
  }
  const f = ELEMENTWISE[op];
  if (f) {
    const a = first(),
      b = weightOf(g, p.input?.[1] ?? '', depth + 1);
    if (!a || !b) return undefined;
    const [big, small, swap] = a.data.length >= b.data.length ? [a, b, false] : [b, a, true];
    if (small.data.length !== 1 && small.data.length !== big.data.length) return undefined;
    const out = new Float32Array(big.data.length);
    for (let i = 0; i < out.length; i++) {
      const x = big.data[i],
        y = small.data.length === 1 ? small.data[0] : small.data[i];
      out[i] = swap ? f(y, x) : f(x, y);
    }
    return { data: out, dims: big.dims };
  }
  return undefined;
}

/** A 2-D weight as [rows = input features, cols = output features] for `x · W`, read off a MatMul or Gemm node's second input. */
export function matmulWeight(g: GraphIndex, n: onnx.INodeProto): { data: Float32Array; rows: number; cols: number } | undefined {
  if (n.opType !== 'MatMul' && n.opType !== 'Gemm') return undefined;
  if (n.domain) return undefined;
  const w = weightOf(g, n.input?.[1] ?? '');
  if (!w || w.dims.length !== 2) return undefined;
  const transB = n.opType === 'Gemm' && (n.attribute ?? []).some((a) => a.name === 'transB' && num(a.i) === 1);
  // Gemm's transB stores [out, in]: rows must be the input features.
  return transB ? { data: transpose2(w.data, w.dims[0], w.dims[1]), rows: w.dims[1], cols: w.dims[0] } : { data: w.data, rows: w.dims[0], cols: w.dims[1] };
}
