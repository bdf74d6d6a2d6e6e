// A by-hand reader of the safetensors header (Hugging Face's format: 8-byte little-endian header length N,
// N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}, then raw
// little-endian data; offsets are relative to the byte after the header). Only the header is read here;
// tensor bytes are read lazily by the caller. Every check has its own message: dumps come from elsewhere.
import * as fs from 'node:fs';
import { EngineError } from '../core/errors';
import { halfTable } from '../core/half';

export type DType = 'F32' | 'F16' | 'BF16';
export const DTYPE_BYTES: Record<DType, number> = { F32: 4, F16: 2, BF16: 2 };

export interface TensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
  /** Absolute byte offset of the tensor's data in the file. */
  offset: number;
  byteLength: number;
}

export interface SafetensorsHeader {
  fileSize: number;
  /** 8 + header length: where the data section starts. */
  dataStart: number;
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
}

/** Header JSON larger than this is refused before it is read (the reference implementation caps it at 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

const invalid = (file: string, message: string, details?: Record<string, string | number | boolean>): EngineError =>
  new EngineError('dump-invalid', `${file}: ${message}`, { file, ...details });

/** Read exactly `length` bytes at `position` (readSync may return fewer at a time). */
export function readFully(fd: number, target: Uint8Array, position: number): void {
  let done = 0;
  while (done < target.length) {
    const got = fs.readSync(fd, target, done, target.length - done, position + done);
    if (got === 0) throw new EngineError('dump-invalid', `unexpected end of file at byte ${position + done}`, { position: position + done });
    done += got;
  }
}

export function readHeader(fd: number, file: string): SafetensorsHeader {
  const fileSize = fs.fstatSync(fd).size;
  if (fileSize < 8)
    throw invalid(file, `truncated header: the file has ${fileSize} bytes, a safetensors file starts with an 8-byte header length`, { fileSize });
  const lenBuf = new Uint8Array(8);
  readFully(fd, lenBuf, 0);
  const headerLen = new DataView(lenBuf.buffer).getBigUint64(0, true);
  if (headerLen > BigInt(fileSize - 8)) {
    throw invalid(file, `header length ${headerLen} runs past the end of the file (${fileSize} bytes): the file is truncated or not safetensors`, {
      fileSize,
      headerLength: String(headerLen),
    });
  }
  const n = Number(headerLen);
  if (n > MAX_HEADER_BYTES) throw invalid(file, `header of ${n} bytes is larger than the ${MAX_HEADER_BYTES}-byte limit`, { headerLength: n });
  if (n < 2) throw invalid(file, `header of ${n} bytes cannot hold a JSON object`, { headerLength: n });
  const json = new Uint8Array(n);
  readFully(fd, json, 8);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (e) {
    throw invalid(file, `header is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid(file, 'header JSON is not an object of tensors');
  const dataStart = 8 + n;
  const dataSize = fileSize - dataStart;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
        metadata = Object.fromEntries(Object.entries(raw).filter(([, v]) => typeof v === 'string'));
      }
      continue;
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(file, `tensor "${name}" is not an object`, { tensor: name });
    const t = raw as Record<string, unknown>;
    if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16') {
      throw invalid(file, `tensor "${name}" has dtype ${JSON.stringify(t.dtype)}; attention dumps must be F32, F16 or BF16`, { tensor: name });
    }
    const shape = t.shape;
    if (!Array.isArray(shape) || !shape.every((d): d is number => Number.isSafeInteger(d) && d >= 0)) {
      throw invalid(file, `tensor "${name}" has shape ${JSON.stringify(shape)}; expected a list of non-negative integers`, { tensor: name });
    }
    const off = t.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d): d is number => Number.isSafeInteger(d) && d >= 0) || off[0] > off[1]) {
      throw invalid(file, `tensor "${name}" has data_offsets ${JSON.stringify(off)}; expected [begin, end] with 0 ≤ begin ≤ end`, { tensor: name });
    }
    const [begin, end] = off as [number, number];
    if (end > dataSize) {
      throw invalid(file, `tensor "${name}" data_offsets [${begin}, ${end}] lie outside the file: the data section has ${dataSize} bytes`, {
        tensor: name,
        end,
        dataSize,
      });
    }
    const elements = shape.reduce((a, b) => a * b, 1);
    const expected = elements * DTYPE_BYTES[t.dtype];
    if (end - begin !== expected) {
      throw invalid(
        file,
        `tensor "${name}" of shape [${shape.join(', ')}] ${t.dtype} needs ${expected} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`,
        { tensor: name, expected, actual: end - begin },
      );
    }
    tensors.set(name, { name, dtype: t.dtype, shape, offset: dataStart + begin, byteLength: expected });
  }
  return { fileSize, dataStart, tensors, metadata };
}

// ---- half precision: core/half.ts (exact: every F16/BF16 value is a float32) ----

/** Little-endian raw bytes of `count` values → float32 (copies; `bytes` may be any alignment). */
export function toFloat32(dtype: DType, bytes: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  if (dtype === 'F32') {
    new Uint8Array(out.buffer).set(bytes.subarray(0, count * 4));
    if (BIG_ENDIAN) for (let i = 0; i < count; i++) out[i] = new DataView(bytes.buffer, bytes.byteOffset).getFloat32(i * 4, true);
    return out;
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, count * 2);
  if (dtype === 'F16') {
    const table = halfTable();
    for (let i = 0; i < count; i++) out[i] = table[dv.getUint16(i * 2, true)];
    return out;
  }
  // BF16 is the top half of a float32: shift the bits into place.
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < count; i++) bits[i] = dv.getUint16(i * 2, true) << 16;
  return out;
}

const BIG_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 0;
