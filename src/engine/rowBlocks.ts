// Heads recomputed straight into a caller's buffer, a block of query rows per slice run. Where a head's n×n
// floats exceed glibc's largest heap-served request (32 MiB: 2,896 tokens and up), every whole-head run made
// ORT allocate its output afresh, and a fresh buffer is page-faulted in on first write: 16,400 faults per head
// at 4,096 tokens, 200–270 ms of a 30 ms recompute on a 2-vCPU VM. Blocks of at most ROW_BLOCK_BYTES are served
// from memory the heap keeps, and the destination (the pipeline's shared slots) is written again and again.
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { EngineError } from '../core/errors';
import type { LayerSlice } from './recomputeGraph';

/** One slice run's output at most: well under the 32 MiB above which glibc maps (and faults in) every request. */
export const ROW_BLOCK_BYTES = 16 * 2 ** 20;

/** Ops a slice may hold and still be computed a block of query rows at a time: each output row reads only its own rows. */
const ROWWISE = new Set(['MatMul', 'Div', 'Mul', 'Add', 'Sub', 'Softmax', 'Constant', 'Identity', 'Cast']);

const rowwiseCache = new WeakMap<LayerSlice, boolean>();

/**
 * onnxruntime-node takes no SharedArrayBuffer as an output: a head meant for a shared slot is written into this
 * buffer of the kept run (warm after its first head) and copied over, 64 MB in ~10 ms at 4,096 tokens.
 */
const scratchOf = new WeakMap<KeptTensors, Float32Array>();

/** What a kept run holds (recompute.ts' Captured; spelled out here so the two files do not import each other). */
export interface KeptTensors {
  n: number;
  tensors: Record<string, ort.Tensor>;
  inputs: Record<string, ort.Tensor>;
}

/**
 * Whether a slice's probabilities for query rows [r0, r1) depend on those rows of its inputs only: one MatMul of
 * Q by Kᵀ, elementwise ops with scalar constants and captured [1, 1, n|1, n|1] masks, a Softmax over the keys.
 * Anything that reads a shape, gathers, slices or reduces rows (GPT-2's bias Slice) is not, and keeps whole-head runs.
 */
export function rowwise(slice: LayerSlice): boolean {
  let ok = rowwiseCache.get(slice);
  if (ok === undefined) {
    const model = onnx.ModelProto.decode(slice.bytes);
    const nodes = model.graph?.node ?? [];
    const opset = Number(model.opsetImport?.find((o) => !o.domain)?.version ?? 0);
    const softmaxLast = (nd: onnx.INodeProto) => {
      const axis = nd.attribute?.find((a) => a.name === 'axis');
      if (!axis) return opset >= 13; // before opset 13 the default (axis 1) normalises over heads, rows and keys at once
      const v = Number(axis.i ?? 0);
      return v === -1 || v === 3;
    };
    const scalar = (nd: onnx.INodeProto) =>
      nd.attribute?.every((a) => a.name !== 'value' || (a.t?.dims ?? []).reduce<number>((x, d) => x * Number(d), 1) <= 1) ?? true;
    ok =
      nodes.every((nd) => ROWWISE.has(nd.opType ?? '')) &&
      nodes.filter((nd) => nd.opType === 'MatMul').length === 1 &&
      nodes.filter((nd) => nd.opType === 'Softmax').every(softmaxLast) &&
      nodes.filter((nd) => nd.opType === 'Constant').every(scalar);
    rowwiseCache.set(slice, ok);
  }
  return ok;
}

/**
 * Head h of a row-wise slice into `dest` ([n][n] floats), ROW_BLOCK_BYTES of output per run. False (nothing
 * written) when the captured layouts are not the plain ones: Q [1, H, n, d], Kᵀ [1, H|1, d, n], masks [1, 1, n|1, n|1].
 */
export async function sliceRowsInto(session: ort.InferenceSession, slice: LayerSlice, cap: KeptTensors, h: number, dest: Float32Array): Promise<boolean> {
  const n = cap.n;
  const get = (name: string) => cap.tensors[name] ?? cap.inputs[name];
  const q = cap.tensors[slice.q],
    k = cap.tensors[slice.k];
  const qd = q.dims.map(Number),
    kd = k.dims.map(Number);
  if (qd.length !== 4 || qd[0] !== 1 || qd[2] !== n || kd.length !== 4 || kd[0] !== 1 || kd[3] !== n || (kd[1] !== 1 && kd[1] !== qd[1])) return false;
  if (q.type !== 'float32' || k.type !== 'float32' || h >= qd[1]) return false;
  const others = slice.inputs.filter((name) => name !== slice.q && name !== slice.k);
  for (const name of others) {
    const d = get(name)?.dims.map(Number);
    if (!d || d.length !== 4 || d[0] !== 1 || d[1] !== 1 || (d[2] !== 1 && d[2] !== n) || (d[3] !== 1 && d[3] !== n)) return false;
  }
  const dq = qd[3],
    dk = kd[2];
  const Q = q.data as Float32Array,
    K = k.data as Float32Array;
  const kh = kd[1] === 1 ? 0 : h;
  const kT = new ort.Tensor('float32', K.subarray(kh * dk * n, (kh + 1) * dk * n), [1, 1, dk, n]);
  let target = dest;
  if (dest.buffer instanceof SharedArrayBuffer) {
    let scratch = scratchOf.get(cap);
    if (!scratch) scratchOf.set(cap, (scratch = new Float32Array(n * n)));
    target = scratch;
  }
  const R = Math.max(1, Math.floor(ROW_BLOCK_BYTES / (n * 4)));
  for (let r0 = 0; r0 < n; r0 += R) {
    const rows = Math.min(R, n - r0);
    const feeds: Record<string, ort.Tensor> = {};
    slice.inputs.forEach((name, i) => {
      if (name === slice.q) feeds[`in${i}`] = new ort.Tensor('float32', Q.subarray((h * n + r0) * dq, (h * n + r0 + rows) * dq), [1, 1, rows, dq]);
      else if (name === slice.k) feeds[`in${i}`] = kT;
      else {
        const t = get(name);
        const d = t.dims.map(Number);
        if (d[2] === 1) feeds[`in${i}`] = t;
        else {
          const data = (t.data as Float32Array | Uint8Array).subarray(r0 * d[3], (r0 + rows) * d[3]);
          feeds[`in${i}`] = new ort.Tensor(t.type as 'float32', data as Float32Array, [1, 1, rows, d[3]]); // a bool mask keeps its type and Uint8Array
        }
      }
    });
    const out = new ort.Tensor('float32', target.subarray(r0 * n, (r0 + rows) * n), [1, 1, rows, n]);
    try {
      await session.run(feeds, { [slice.output]: out });
    } catch (e) {
      throw new EngineError(
        'inference-failed',
        `Recomputing attention rows ${r0}–${r0 + rows} (${slice.source}) failed on ${n} tokens: ${(e as Error).message.split('\n')[0]}`,
      );
    }
  }
  if (target !== dest) dest.set(target);
  return true;
}
