// Constant tensors of a graph (initializers and Constant nodes) read as typed arrays: the fused-kernel
// slices need a kernel's bias, packed weights and rotary caches, value weighting needs W_O. External data is
// read from the model's folder (planGraph has already proved every location stays inside it).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { halfToFloat32 } from '../core/half';

type Long = { toNumber(): number };
const num = (v: number | Long | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

const T = onnx.TensorProto.DataType;

export interface ConstTensor {
  dims: number[];
  dataType: number;
  /** Float types as float32 (float16 widened exactly); integer types as numbers; raw bytes for the 4/8-bit packed ones. */
  data: Float32Array | Int32Array | Uint8Array | Float64Array;
}

/** Every constant of the graph by name: initializers, then Constant nodes' `value`. */
export function constantIndex(model: onnx.ModelProto): Map<string, onnx.ITensorProto> {
  const out = new Map<string, onnx.ITensorProto>();
  for (const t of model.graph?.initializer ?? []) out.set(t.name ?? '', t);
  for (const n of model.graph?.node ?? []) {
    if (n.opType !== 'Constant') continue;
    const t = (n.attribute ?? []).find((a) => a.name === 'value')?.t;
    if (t) out.set(n.output?.[0] ?? '', t);
  }
  return out;
}

function rawBytes(t: onnx.ITensorProto, modelDir: string | undefined): Uint8Array | undefined {
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    if (!modelDir) return undefined;
    const kv = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    const offset = Number(kv.get('offset') ?? 0);
    const length = Number(kv.get('length') ?? -1);
    const file = path.join(modelDir, kv.get('location') ?? '');
    const fd = fs.openSync(file, 'r');
    try {
      const size = length >= 0 ? length : fs.fstatSync(fd).size - offset;
      const buf = Buffer.alloc(size);
      fs.readSync(fd, buf, 0, size, offset);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } finally {
      fs.closeSync(fd);
    }
  }
  return t.rawData && t.rawData.length ? t.rawData : undefined;
}

/** Aligned copy of `bytes` viewed as `Ctor` (raw data inside a protobuf buffer is rarely aligned). */
function view<A>(bytes: Uint8Array, Ctor: { new (b: ArrayBuffer): A; BYTES_PER_ELEMENT: number }): A {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Ctor(copy.buffer);
}

/** A constant's values, or undefined for a type this reader does not decode. */
export function readConstant(t: onnx.ITensorProto, modelDir?: string): ConstTensor | undefined {
  const dims = (t.dims ?? []).map(num);
  const dataType = t.dataType ?? 0;
  const raw = rawBytes(t, modelDir);
  let data: ConstTensor['data'] | undefined;
  switch (dataType) {
    case T.FLOAT:
      data = raw ? view(raw, Float32Array) : Float32Array.from(t.floatData ?? []);
      break;
    case T.FLOAT16:
      data = halfToFloat32(raw ? view(raw, Uint16Array) : (t.int32Data ?? []));
      break;
    case T.DOUBLE:
      data = raw ? view(raw, Float64Array) : Float64Array.from(t.doubleData ?? []);
      break;
    case T.INT32:
      data = raw ? view(raw, Int32Array) : Int32Array.from(t.int32Data ?? []);
      break;
    case T.INT64:
      data = raw ? Int32Array.from(view(raw, BigInt64Array), (v) => Number(v)) : Int32Array.from(t.int64Data ?? [], (v) => num(v));
      break;
    case T.UINT8:
    case T.INT8:
    case 21:
    case 22: // uint4, int4 data = raw ? view(raw, Uint8Array) : Uint8Array.from(t.int32Data ?? []); break;
    default:
      return undefined;
  }
  return { dims, dataType, data };
}

/** A float constant as float32 (float16/double widened or narrowed), or undefined. */
export function readFloat(t: onnx.ITensorProto | undefined, modelDir?: string): { dims: number[]; data: Float32Array } | undefined {
  if (!t) return undefined;
  const c = readConstant(t, modelDir);
  if (!c || ![T.FLOAT, T.FLOAT16, T.DOUBLE].includes(c.dataType)) return undefined;
  return { dims: c.dims, data: c.data instanceof Float32Array ? c.data : Float32Array.from(c.data as Float64Array) };
}

/**
 * `t` renamed, with its data copied (external data read in): a tensor that a model loaded from a buffer can
 * hold, and that does not keep the decoded model's bytes alive (raw data decodes as a view into them).
 */
export function inlineConstant(t: onnx.ITensorProto, name: string, modelDir?: string): onnx.TensorProto {
  const raw = rawBytes(t, modelDir);
  return onnx.TensorProto.create({
    ...t,
    name,
    externalData: [],
    dataLocation: onnx.TensorProto.DataLocation.DEFAULT,
    rawData: raw ? Uint8Array.from(raw) : t.rawData,
  });
}
