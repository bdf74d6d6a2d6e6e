// Reading an ONNX file defensively: size checks before any decoding, decoding guarded so hostile bytes
// become an EngineError (never a crash), and every initializer checked against its declared size, external
// data kept inside the model's folder.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { EngineError } from '../core/errors';
import { num } from './weights';

/** protobuf (and so ONNX without external data) cannot hold more than 2 GiB in one message. */
export const MAX_MODEL_BYTES = 2 ** 31 - 1;

/**
 * Read the file, with size checks before any decoding. `spare` bytes of room are left after it (not part of
 * the returned view), so appendMessage can add outputs without copying the whole model.
 */
export function readModelBytes(modelPath: string, spare = 0): Buffer {
  let st: fs.Stats;
  try {
    st = fs.statSync(modelPath);
  } catch {
    throw new EngineError('file-not-found', `Model file not found: ${modelPath}. Point the model setting at an existing .onnx file.`, { path: modelPath });
  }
  if (!st.isFile())
    throw new EngineError('file-not-found', `${modelPath} is not a file. Give the path of the .onnx file itself (or a folder holding model.onnx).`);
  if (st.size === 0)
    throw new EngineError('empty-file', `The model file ${modelPath} is empty (0 bytes); the download or export probably failed. Export it again.`);
  if (st.size > MAX_MODEL_BYTES) {
    throw new EngineError(
      'model-too-large',
      `${modelPath} is ${(st.size / 2 ** 30).toFixed(1)} GiB; a single ONNX protobuf is limited to 2 GiB. Export with external data (torch.onnx.export(..., external_data=True) or onnx.save(..., save_as_external_data=True)).`,
      { bytes: st.size },
    );
  }
  if (!spare) return fs.readFileSync(modelPath);
  const buf = Buffer.allocUnsafe(st.size + spare);
  const fd = fs.openSync(modelPath, 'r');
  try {
    let at = 0;
    while (at < st.size) {
      const got = fs.readSync(fd, buf, at, st.size - at, at);
      if (got === 0) break;
      at += got;
    }
    return buf.subarray(0, at);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * `original` followed by `extra` (protobuf merges an appended message into the model). Written into the room
 * readModelBytes left after the model when there is enough — no copy of a model that may be gigabytes — else
 * concatenated. A later append overwrites an earlier one's room: use each result before appending again.
 */
export function appendMessage(original: Uint8Array, extra: Uint8Array): Uint8Array {
  const end = original.byteOffset + original.length;
  if (end + extra.length <= original.buffer.byteLength) {
    const whole = new Uint8Array(original.buffer, original.byteOffset, original.length + extra.length);
    whole.set(extra, original.length);
    return whole;
  }
  return Buffer.concat([original, extra]);
}

/** Decode guarded: hostile bytes become not-onnx / corrupt-model, never a crash. */
export function decodeModel(bytes: Uint8Array, label: string): onnx.ModelProto {
  const looksLikeOnnx = bytes.length > 0 && bytes[0] === 0x08; // field 1 (ir_version), varint
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    if (looksLikeOnnx) {
      throw new EngineError(
        'corrupt-model',
        `${label} starts like an ONNX model but cannot be decoded (${(e as Error).message}); it is probably truncated or damaged. Copy or export it again and compare its size with the original.`,
      );
    }
    throw notOnnx(bytes, label);
  }
  if (!model.graph || num(model.irVersion) <= 0 || num(model.irVersion) > 100) {
    if (looksLikeOnnx && num(model.irVersion) > 0) {
      throw new EngineError('corrupt-model', `${label} has an ONNX header but no graph; it is probably truncated or damaged. Export it again.`);
    }
    throw notOnnx(bytes, label);
  }
  if ((model.graph.node ?? []).length === 0)
    throw new EngineError('corrupt-model', `${label} decodes as ONNX but its graph has no nodes. Export the model again.`);
  return model;
}

function notOnnx(bytes: Uint8Array, label: string): EngineError {
  const head = Buffer.from(bytes.subarray(0, 4)).toString('latin1');
  let hint = 'Give an .onnx file exported with torch.onnx.export or optimum-cli export onnx.';
  if (head.startsWith('PK')) hint = 'It looks like a zip/PyTorch checkpoint (.pt/.bin); convert it with torch.onnx.export first.';
  else if (head.startsWith('{')) hint = 'It looks like JSON (a tokenizer.json or config.json?); the model setting needs the .onnx file.';
  else if (head.startsWith('GGUF')) hint = 'It is a GGUF file (llama.cpp); Headlight needs ONNX.';
  return new EngineError('not-onnx', `${label} is not an ONNX model. ${hint}`);
}

const ELEM_BITS: Record<number, number> = {
  1: 32,
  2: 8,
  3: 8,
  4: 16,
  5: 16,
  6: 32,
  7: 64,
  9: 8,
  10: 16,
  11: 64,
  12: 32,
  13: 64,
  14: 64,
  15: 128,
  16: 16,
  17: 8,
  18: 8,
  19: 8,
  20: 8,
  21: 4,
  22: 4,
  23: 4,
};

/** Every initializer must hold the bytes its dims declare; external data must stay inside the model's folder. */
export function checkTensor(t: onnx.ITensorProto, modelDir: string, label: string): { external: boolean } {
  const dims = (t.dims ?? []).map(num);
  const name = t.name || '(unnamed)';
  if (dims.some((d) => d < 0 || !Number.isFinite(d)))
    throw new EngineError('corrupt-model', `Tensor ${name} in ${label} has a negative dimension; the file is damaged. Export it again.`);
  const count = dims.reduce((a, b) => a * b, 1);
  const bits = ELEM_BITS[t.dataType ?? 0];
  const bytes = bits === undefined ? undefined : Math.ceil((count * bits) / 8);
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    const kv = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    const loc = kv.get('location') ?? '';
    const resolved = path.resolve(modelDir, loc);
    const rel = path.relative(modelDir, resolved);
    if (!loc || path.isAbsolute(loc) || rel.startsWith('..') || path.isAbsolute(rel) || loc.includes('\0')) {
      throw new EngineError(
        'external-data-outside',
        `Tensor ${name} in ${label} points its external data at "${loc}", outside the model's folder. Headlight only reads external data files that sit beside the model (or below it). Re-save the model with onnx.save(..., save_as_external_data=True, location="model.onnx.data").`,
        { tensor: name, location: loc },
      );
    }
    let st: fs.Stats;
    try {
      // realpath: a symlink inside the folder must not lead outside it either.
      const real = fs.realpathSync(resolved);
      const realRel = path.relative(fs.realpathSync(modelDir), real);
      if (realRel.startsWith('..') || path.isAbsolute(realRel)) {
        throw new EngineError(
          'external-data-outside',
          `Tensor ${name} in ${label}: external data "${loc}" is a link leading outside the model's folder. Copy the data file next to the model.`,
          { tensor: name, location: loc },
        );
      }
      st = fs.statSync(real);
    } catch (e) {
      if (e instanceof EngineError) throw e;
      throw new EngineError(
        'external-data-missing',
        `Tensor ${name} in ${label} needs the external data file "${loc}", which is not in ${modelDir}. Copy it next to the model file.`,
        { tensor: name, location: loc },
      );
    }
    const offset = Number(kv.get('offset') ?? 0);
    const length = kv.has('length') ? Number(kv.get('length')) : bytes;
    if (
      !Number.isFinite(offset) ||
      offset < 0 ||
      (length !== undefined && (!Number.isFinite(length) || offset + length > st.size)) ||
      (bytes !== undefined && offset + bytes > st.size)
    ) {
      throw new EngineError(
        'tensor-size-mismatch',
        `Tensor ${name} in ${label} declares ${bytes ?? length} bytes at offset ${offset} of "${loc}", but that file has only ${st.size} bytes. The data file is truncated or belongs to another export.`,
        { tensor: name },
      );
    }
    return { external: true };
  }
  if (bytes === undefined) return { external: false }; // strings and unknown types: nothing to measure
  const raw = t.rawData?.length ?? 0;
  const typed =
    (t.floatData?.length ?? 0) + (t.int32Data?.length ?? 0) + (t.int64Data?.length ?? 0) + (t.doubleData?.length ?? 0) + (t.uint64Data?.length ?? 0);
  const ok = raw > 0 ? raw === bytes : typed > 0 ? typed === count || typed === 2 * count || typed === Math.ceil(count / 2) : count === 0;
  if (!ok) {
    throw new EngineError(
      'tensor-size-mismatch',
      `Tensor ${name} in ${label} declares shape [${dims.join(', ')}] (${bytes} bytes) but holds ${raw || typed} ${raw ? 'bytes' : 'values'}. The file is damaged or was edited; export it again.`,
      { tensor: name, declaredBytes: bytes },
    );
  }
  return { external: false };
}
