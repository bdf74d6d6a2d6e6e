// Small pieces for building a kernel's slice: a one-kernel ONNX model whose single float32 output `out` is the
// probabilities of a few heads. Shared by the four kernel plans.
import { valueInfo } from '../valueInfo';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import type { TensorLookup } from './types';

type Long = { toNumber(): number };
export const num = (v: number | Long | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

const DT = onnx.TensorProto.DataType;
/** onnxruntime tensor type → ONNX TensorProto.DataType. */
export const ONNX_TYPE: Record<string, number> = {
  float32: DT.FLOAT,
  float16: DT.FLOAT16,
  float64: DT.DOUBLE,
  int32: DT.INT32,
  int64: DT.INT64,
  int8: DT.INT8,
  uint8: DT.UINT8,
  bool: DT.BOOL,
  bfloat16: DT.BFLOAT16,
};

export const attrInt = (name: string, i: number): onnx.AttributeProto => onnx.AttributeProto.create({ name, i, type: onnx.AttributeProto.AttributeType.INT });
export const attrInts = (name: string, ints: number[]): onnx.AttributeProto =>
  onnx.AttributeProto.create({ name, ints, type: onnx.AttributeProto.AttributeType.INTS });
export const attrTensor = (name: string, t: onnx.ITensorProto): onnx.AttributeProto =>
  onnx.AttributeProto.create({ name, t: t, type: onnx.AttributeProto.AttributeType.TENSOR });

export const node = (opType: string, input: string[], output: string[], attribute: onnx.AttributeProto[] = [], domain = ''): onnx.NodeProto =>
  onnx.NodeProto.create({ opType, input, output, attribute, domain, name: output.find(Boolean) ?? opType });

/** The node's attributes by name. */
export function attrsOf(n: onnx.INodeProto): Map<string, onnx.IAttributeProto> {
  return new Map((n.attribute ?? []).map((a) => [a.name ?? '', a]));
}
export const intAttr = (a: Map<string, onnx.IAttributeProto>, name: string, dflt: number): number => (a.has(name) ? num(a.get(name)!.i) : dflt);

/** The node's attributes except `drop`, with `set` replacing or adding some. */
export function withAttrs(n: onnx.INodeProto, drop: string[], set: onnx.AttributeProto[]): onnx.AttributeProto[] {
  const replaced = new Set([...drop, ...set.map((a) => a.name)]);
  return [...((n.attribute ?? []).filter((a) => !replaced.has(a.name ?? '')) as onnx.AttributeProto[]), ...set];
}

/** A one-element tensor of `elemType` holding 0 (ConstantOfShape's value). */
export function zeroScalar(elemType: number): onnx.TensorProto {
  const bytes =
    elemType === DT.FLOAT16 || elemType === DT.BFLOAT16
      ? 2
      : elemType === DT.DOUBLE || elemType === DT.INT64
        ? 8
        : elemType === DT.BOOL || elemType === DT.UINT8 || elemType === DT.INT8
          ? 1
          : 4;
  return onnx.TensorProto.create({ dataType: elemType, dims: [1], rawData: new Uint8Array(bytes) });
}

/** Nodes making `dst`, zeros shaped like `src` (a value input the probabilities never read). */
export function zerosLike(src: string, dst: string, elemType: number): onnx.NodeProto[] {
  return [node('Shape', [src], [`${dst}.shape`]), node('ConstantOfShape', [`${dst}.shape`], [dst], [attrTensor('value', zeroScalar(elemType))])];
}

/** A constant int64 tensor (shapes, axes) as an initializer. */
export function int64Init(name: string, values: number[]): onnx.TensorProto {
  const b = BigInt64Array.from(values.map((v) => BigInt(v)));
  return onnx.TensorProto.create({ name, dataType: DT.INT64, dims: [values.length], rawData: new Uint8Array(b.buffer) });
}

/** Nodes making `to` (float32; the slice's output `out` by default) from `p` of type `elemType`. */
export function toFloat(p: string, elemType: number, to = 'out'): onnx.NodeProto[] {
  return elemType === DT.FLOAT ? [node('Identity', [p], [to])] : [node('Cast', [p], [to], [attrInt('to', DT.FLOAT)])];
}

/**
 * A slice model: the kernel's opsets, inputs typed like their feeds, one float32 output `out`. `typed` declares
 * intermediate types onnxruntime cannot infer (MultiHeadAttention's optional `qk` output).
 */
export function sliceModel(
  opsets: onnx.IOperatorSetIdProto[],
  nodes: onnx.NodeProto[],
  feeds: Record<string, ort.Tensor>,
  initializers: onnx.TensorProto[] = [],
  typed: Record<string, number> = {},
): Uint8Array {
  const inputs = Object.entries(feeds).map(([name, t]) => valueInfo(name, ONNX_TYPE[t.type] ?? DT.FLOAT));
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 10,
      producerName: 'headlight',
      opsetImport: opsets,
      graph: onnx.GraphProto.create({
        name: 'headlight.kernel-slice',
        node: nodes,
        initializer: initializers,
        input: inputs,
        output: [valueInfo('out', DT.FLOAT)],
        valueInfo: Object.entries(typed).map(([name, t]) => valueInfo(name, t)),
      }),
    }),
  ).finish();
}

/** A tensor of the same type over other data and dims. */
export function like(t: ort.Tensor, data: ort.Tensor['data'], dims: readonly number[]): ort.Tensor {
  return new ort.Tensor(t.type as 'float32', data as Float32Array, dims);
}

export const dimsOf = (t: ort.Tensor): number[] => t.dims.map(Number);

/** A key for a slice model: the op, its head counts, and the types and ranks of its feeds. */
export function sliceKey(parts: (string | number)[], feeds: Record<string, ort.Tensor>): string {
  return [...parts, ...Object.entries(feeds).map(([k, t]) => `${k}:${t.type}:${t.dims.length}`)].join('|');
}

/**
 * An optional kernel input read by a slice: nothing, a constant (copied into the slice model as an
 * initializer), or a tensor of the main run (fed). `headAxis`: the axis along which it holds one entry per
 * query head (attention biases, masks, sinks), so a run takes only its heads.
 */
export type Aux = { kind: 'none' } | { kind: 'const'; tensor: onnx.TensorProto } | { kind: 'run'; name: string };

export function auxOf(
  name: string | undefined,
  constants: Map<string, onnx.ITensorProto>,
  inlined: (t: onnx.ITensorProto, as: string) => onnx.TensorProto,
  as: string,
): Aux {
  if (!name) return { kind: 'none' };
  const c = constants.get(name);
  if (c) return { kind: 'const', tensor: inlined(c, as) };
  return { kind: 'run', name };
}

/** The aux as a slice input called `as`: its feed (heads taken along `headAxis` when it has one per head) or its initializer. */
export function addAux(
  aux: Aux,
  as: string,
  get: TensorLookup,
  feeds: Record<string, ort.Tensor>,
  inits: onnx.TensorProto[],
  heads?: { H: number; h0: number; count: number; take: (t: ort.Tensor, axis: number) => ort.Tensor },
): string {
  if (aux.kind === 'none') return '';
  if (aux.kind === 'const') {
    if (heads) {
      // A per-head constant (rare): feed the heads' part like a run tensor.
      const t = constTensor(aux.tensor);
      const axis = perHeadAxis(dimsOf(t), heads.H);
      feeds[as] = axis === undefined ? t : heads.take(t, axis);
      return as;
    }
    inits.push(aux.tensor);
    return as;
  }
  const t = get(aux.name);
  const axis = heads ? perHeadAxis(dimsOf(t), heads.H) : undefined;
  feeds[as] = axis === undefined || !heads ? t : heads.take(t, axis);
  return as;
}

/**
 * The axis of a mask or bias that holds one entry per query head, broadcast against [B, H, S, T] (rank 4:
 * axis 1; rank 3: axis 0; rank 1 [H]: a per-head vector such as GQA's head_sink). Undefined when it is
 * broadcast over heads.
 */
export function perHeadAxis(dims: number[], H: number): number | undefined {
  if (H <= 1) return undefined;
  if (dims.length === 4 && dims[1] === H) return 1;
  if (dims.length === 3 && dims[0] === H) return 0;
  if (dims.length === 1 && dims[0] === H) return 0;
  return undefined;
}

/** An initializer as an onnxruntime tensor (float, float16, int32/int64, bool). */
export function constTensor(t: onnx.TensorProto): ort.Tensor {
  const dims = (t.dims ?? []).map(num);
  const raw = t.rawData && t.rawData.length ? t.rawData : undefined;
  const copy = (Ctor: { new (b: ArrayBuffer): unknown }) => {
    const u = new Uint8Array(raw!.byteLength);
    u.set(raw!);
    return new Ctor(u.buffer);
  };
  switch (t.dataType) {
    case DT.FLOAT:
      return new ort.Tensor('float32', raw ? (copy(Float32Array) as Float32Array) : Float32Array.from(t.floatData ?? []), dims);
    case DT.FLOAT16:
      return new ort.Tensor('float16', raw ? (copy(Uint16Array) as Uint16Array) : Uint16Array.from(t.int32Data ?? []), dims);
    case DT.INT32:
      return new ort.Tensor('int32', raw ? (copy(Int32Array) as Int32Array) : Int32Array.from(t.int32Data ?? []), dims);
    case DT.INT64:
      return new ort.Tensor('int64', raw ? (copy(BigInt64Array) as BigInt64Array) : BigInt64Array.from((t.int64Data ?? []).map((v) => BigInt(num(v)))), dims);
    case DT.BOOL:
      return new ort.Tensor('bool', raw ? (copy(Uint8Array) as Uint8Array) : Uint8Array.from(t.int32Data ?? []), dims);
    default:
      throw new Error(`unsupported constant type ${t.dataType}`);
  }
}

/** The node's attributes as a stable string (part of a slice's key: layers with other scales get other slices). */
export function attrKey(n: onnx.INodeProto): string {
  return JSON.stringify((n.attribute ?? []).map((a) => [a.name, a.i == null ? null : num(a.i), a.f ?? null, (a.ints ?? []).map(num)]));
}

/** Optional inputs after the last given one are left out (an empty name stands for an omitted one). */
export function trimOptional(inputs: string[]): string[] {
  const out = [...inputs];
  while (out.length && !out[out.length - 1]) out.pop();
  return out;
}
