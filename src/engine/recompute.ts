// Bounded-memory attention: the main run keeps each layer's score inputs (captureRun) and a per-layer slice
// of the graph turns them back into probabilities, a few heads at a time, when they are read.
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { EngineError } from '../core/errors';
import { feedTensor, runSession } from './feeds';
import { checkLayer, type LoadedModel } from './loadedModel';
import type { KernelPlan, TensorLookup } from './kernels/types';
import { SHARED_HEADS_FROM_BYTES, type WorkerAttention } from './workerProtocol';
import { rowwise, sliceRowsInto } from './rowBlocks';

/**
 * Slice sessions keep ORT's memory arena: without it every run maps fresh pages for its n×n buffers
 * (1.7× slower per head at 4,096 tokens). Identical layers share one session, and recomputeHeads caps
 * what one run allocates, so the arena holds a few hundred MB at most. One core is left to the analysis
 * worker, which measures each chunk of heads while the slices recompute the next: on two cores, two ORT
 * threads beside it cost 1.4–1.7 CPU-s per 1,024-token explain (spinning, stragglers) against 1.0–1.2 for one.
 */
export const SLICE_OPTIONS: ort.InferenceSession.SessionOptions = {
  logSeverityLevel: 3,
  graphOptimizationLevel: 'all',
  enableCpuMemArena: true,
  intraOpNumThreads: Math.max(1, os.availableParallelism() - 1),
};

/**
 * Run ids and return one Float32Array per layer, [head][query][key], ready to transfer. `extra` outputs
 * (the logits) are fetched in the same run and handed to `onExtra` before the attention is assembled.
 */
export async function runAttention(model: LoadedModel, ids: number[], mask?: number[], extra: string[] = [], onExtra?: OnExtra): Promise<WorkerAttention> {
  const n = ids.length;
  let data: Float32Array[];
  if (model.recompute) {
    const cap = await captureRun(model, ids, mask, extra, onExtra);
    data = [];
    try {
      for (let l = 0; l < model.layers; l++) data.push(await recomputeLayer(model, cap, l));
    } finally {
      disposeCaptured(cap);
    }
  } else {
    const outs = await runSession(model, ids, [...model.attention, ...extra], mask);
    if (extra.length) onExtra?.(Object.fromEntries(extra.map((e) => [e, outs[e]])));
    data = model.attention.map((name) => checkLayer(model.headsPerLayer, name, outs[name], n));
  }
  return { layers: data.length, headsPerLayer: model.headsPerLayer, seq: n, causal: model.causal, data };
}

/** What a recompute-mode run keeps: the captured score inputs (small: O(n·d) per layer) and the feeds. */
export interface Captured {
  n: number;
  tensors: Record<string, ort.Tensor>;
  inputs: Record<string, ort.Tensor>;
  /** Bytes held by `tensors` (the bench and the worker's stats report it). */
  bytes: number;
}

/**
 * What a run hands over besides the attention: the `extra` outputs it fetched, and in recompute mode the kept
 * run itself (a fused kernel's value vectors are read off its kept inputs).
 */
export type OnExtra = (t: Record<string, ort.Tensor>, kept?: Captured) => void;

/** The main run in recompute mode: every layer's score inputs, no probabilities (`extra` outputs go to `onExtra`, not into the capture). */
export async function captureRun(model: LoadedModel, ids: number[], mask?: number[], extra: string[] = [], onExtra?: OnExtra): Promise<Captured> {
  const rec = model.recompute;
  if (!rec) throw new EngineError('bad-request', 'captureRun needs a model loaded in recompute mode.');
  const n = ids.length;
  const inputs: Record<string, ort.Tensor> = {};
  for (const spec of model.plan.inputs) inputs[spec.name] = feedTensor(spec, n, ids, mask);
  let outs: ort.InferenceSession.OnnxValueMapType;
  try {
    outs = await model.session.run(inputs, [...rec.captures, ...extra]);
  } catch (e) {
    throw new EngineError(
      'inference-failed',
      `ONNX Runtime failed while running ${path.basename(model.modelPath)} on ${n} tokens: ${(e as Error).message.split('\n')[0]}`,
    );
  }
  const tensors = { ...outs } as Record<string, ort.Tensor>;
  const fetched = Object.fromEntries(extra.map((e) => [e, tensors[e]]));
  for (const e of extra) if (!rec.captures.includes(e)) delete tensors[e];
  const bytes = Object.values(tensors).reduce((a, t) => a + ((t.data as ArrayBufferView).byteLength ?? 0), 0);
  const cap = { n, tensors, inputs, bytes };
  onExtra?.(fetched, cap);
  return cap;
}

export function disposeCaptured(cap: Captured): void {
  for (const t of Object.values(cap.tensors)) t.dispose?.();
}

/**
 * Layer `layer` of a captured run through its slice: [1, heads, n, n] (or the graph's own head layout).
 * `override` replaces captured tensors by name (runSliceHeads feeds some heads of Q and Kᵀ).
 */
export async function runSlice(
  model: LoadedModel,
  cap: Captured,
  layer: number,
  override: Record<string, ort.Tensor> = {},
): Promise<{ dims: readonly number[]; data: Float32Array }> {
  const entry = model.recompute!.slices[layer];
  if (entry.kind === 'kernel') {
    const { H } = entry.kernel.counts(lookup(cap));
    return { dims: [1, H, cap.n, cap.n], data: await runKernelHeads(model, cap, entry.kernel, layer, 0, H) };
  }
  const { slice, session } = entry;
  const feeds: Record<string, ort.Tensor> = {};
  slice.inputs.forEach((name, i) => (feeds[`in${i}`] = override[name] ?? cap.tensors[name] ?? cap.inputs[name]));
  let out: ort.InferenceSession.OnnxValueMapType;
  try {
    out = await session.run(feeds, [slice.output]);
  } catch (e) {
    throw new EngineError(
      'inference-failed',
      `Recomputing attention of layer ${layer} (${slice.source}) failed on ${cap.n} tokens: ${(e as Error).message.split('\n')[0]}`,
    );
  }
  const t = out[slice.output];
  return { dims: t.dims, data: t.data as Float32Array };
}

/** A captured run's tensors and feeds by name, for kernel slices. */
function lookup(cap: Captured): TensorLookup {
  return (name) => {
    const t = cap.tensors[name] ?? cap.inputs[name];
    if (!t) throw new EngineError('inference-failed', `The kept run has no tensor ${name}.`);
    return t;
  };
}

/**
 * How many of heads [h0, h0 + want) one kernel slice run can take, and over which key/value heads: a run
 * stays inside one group of query heads sharing a key head (kv = 1), or covers whole groups.
 */
export function kernelChunk(H: number, Hkv: number, h0: number, want: number): { count: number; kv0: number; kv: number } {
  const G = H / Hkv;
  if (G === 1) return { count: want, kv0: h0, kv: want };
  if (h0 % G !== 0 || want < G) return { count: Math.min(want, G - (h0 % G)), kv0: Math.floor(h0 / G), kv: 1 };
  const groups = Math.floor(want / G);
  return { count: groups * G, kv0: h0 / G, kv: groups };
}

/** Heads [h0, h0 + count) of a fused kernel's layer, [count][n][n] in one buffer (`into` where given), a slice run per chunk. */
async function runKernelHeads(
  model: LoadedModel,
  cap: Captured,
  kernel: KernelPlan,
  layer: number,
  h0: number,
  count: number,
  into?: Float32Array,
): Promise<Float32Array> {
  const get = lookup(cap);
  const { H, Hkv } = kernel.counts(get);
  const nn = cap.n * cap.n;
  const out = into ?? new Float32Array(count * nn);
  for (let done = 0; done < count;) {
    const c = kernelChunk(H, Hkv, h0 + done, count - done);
    const run = kernel.run(get, h0 + done, c.count, c.kv0, c.kv);
    const sessions = model.recompute!.kernelSessions;
    let session = sessions.get(run.key);
    if (!session) {
      session = ort.InferenceSession.create(run.build(), SLICE_OPTIONS);
      sessions.set(run.key, session);
      session.catch(() => sessions.delete(run.key));
    }
    let t: ort.Tensor;
    try {
      t = (await (await session).run(run.feeds, ['out'])).out;
    } catch (e) {
      throw new EngineError(
        'inference-failed',
        `Recomputing attention of layer ${layer} (${kernel.label}) failed on ${cap.n} tokens: ${(e as Error).message.split('\n')[0]}`,
      );
    }
    const data = t.data as Float32Array;
    if (data.length !== c.count * nn)
      throw new EngineError(
        'inference-failed',
        `${kernel.label}: its probabilities came back as [${t.dims.join(', ')}], not [1, ${c.count}, ${cap.n}, ${cap.n}].`,
      );
    run.post?.(data, c.count, cap.n, cap.n);
    out.set(data, done * nn);
    t.dispose?.();
    done += c.count;
  }
  return out;
}

/**
 * Heads [h0, h0 + count) of a captured run, [count][n][n], without computing the others: the slice is
 * fed those heads' rows of Q and Kᵀ. Undefined when the captured layout is not [1, heads, ·, ·].
 */
export async function runSliceHeads(model: LoadedModel, cap: Captured, layer: number, h0: number, count = 1): Promise<Float32Array | undefined> {
  const entry = model.recompute!.slices[layer];
  if (entry.kind === 'kernel') return runKernelHeads(model, cap, entry.kernel, layer, h0, count);
  const { slice } = entry;
  const H = model.headsPerLayer;
  const part = (name: string, allowShared: boolean): ort.Tensor | undefined => {
    const t = cap.tensors[name];
    const d = t.dims.map(Number);
    if (d.length !== 4 || d[0] !== 1) return undefined;
    if (d[1] === 1 && allowShared) return t; // one K for every head (multi-query)
    if (d[1] !== H) return undefined;
    const per = d[2] * d[3];
    const data = (t.data as Float32Array).subarray(h0 * per, (h0 + count) * per);
    return new ort.Tensor(t.type as 'float32', data, [1, count, d[2], d[3]]);
  };
  const q = part(slice.q, false);
  const k = part(slice.k, true);
  if (!q || !k) return undefined;
  const r = await runSlice(model, cap, layer, { [slice.q]: q, [slice.k]: k });
  const n = cap.n;
  if (r.data.length !== count * n * n) return undefined;
  return r.data;
}

/** One layer [head][query][key] from a captured run (head by head where possible: less memory, and faster). */
export async function recomputeLayer(model: LoadedModel, cap: Captured, layer: number): Promise<Float32Array> {
  const n = cap.n;
  if (!model.recompute?.perHead) return checkLayer(model.headsPerLayer, model.attention[layer], await runSlice(model, cap, layer), n);
  const out = new Float32Array(model.headsPerLayer * n * n);
  const heads = await recomputeHeads(
    model,
    cap,
    Array.from({ length: model.headsPerLayer }, (_, h) => [layer, h] as const),
  );
  heads.forEach((a, h) => out.set(a, h * n * n));
  return out;
}

/**
 * Output of one slice run: the slice session's arena keeps its high-water mark, so cap it. 32 MB (two heads at
 * 2,048 tokens, one at 4,096) against the 128 MB it was: the Qwen2.5-0.5B shape at 2,048 tokens peaked 1.0 GB lower
 * (5.0 → 3.9–4.1 GB) with the same explain time (23.7 vs 23.6–24.6 s, interleaved), the long-context model at 4,096
 * 0.1 GB lower (3.85 → 3.75 GB) at the same time (12.6–12.7 s both ways).
 */
export const RECOMPUTE_RUN_BYTES = 32 * 2 ** 20;

/**
 * Where a head fits, runs stay under this: onnxruntime-node copies each output into a new ArrayBuffer, and
 * buffers this small are handed back by the allocator once the analysis drops them, while larger ones are
 * mapped fresh and page-faulted in every run (GPT-2-small shape, 1,024 tokens: 12,300 faults and 99 ms per
 * layer as one 48 MB run, 36 faults and 86 ms as six 8 MB runs; an explain 49–104 k faults against 8–11 k).
 * Two heads per run at 1,024 tokens lose nothing to one layer per run; heads over 8 MB (2,048 tokens and up)
 * keep RECOMPUTE_RUN_BYTES.
 */
export const RECYCLED_RUN_BYTES = 8 * 2 ** 20;

/** Heads per slice run at n×n floats per head (see RECYCLED_RUN_BYTES and RECOMPUTE_RUN_BYTES). */
export function headsPerRun(nn: number): number {
  const bytes = nn * 4;
  return Math.max(1, Math.floor((bytes <= RECYCLED_RUN_BYTES ? RECYCLED_RUN_BYTES : RECOMPUTE_RUN_BYTES) / bytes));
}

/**
 * Heads of a captured run, one n×n Float32Array per [layer, head] in `list` order. Consecutive heads of
 * a layer are recomputed together (headsPerRun: 2 heads at 1,024 and at 4,096 tokens, 8 at 512 and at
 * 2,048 — several heads per run is ~2× faster per head than one at a time). The arrays of one
 * run are views into one buffer: transfer `transferList(arrays)` (core/transfer.ts).
 */
export async function recomputeHeads(model: LoadedModel, cap: Captured, list: readonly (readonly [number, number])[]): Promise<Float32Array[]> {
  const n = cap.n;
  const nn = n * n;
  const perRun = headsPerRun(nn);
  const out: Float32Array[] = [];
  let wholeLayer: { layer: number; data: Float32Array } | undefined;
  for (let i = 0; i < list.length;) {
    const [layer, h0] = list[i];
    let count = 1;
    while (i + count < list.length && count < perRun && list[i + count][0] === layer && list[i + count][1] === h0 + count) count++;
    let data = model.recompute?.perHead ? await runSliceHeads(model, cap, layer, h0, count) : undefined;
    if (data) {
      data = checkLayer(count, model.attention[layer], { dims: [1, count, n, n], data }, n);
      for (let c = 0; c < count; c++) out.push(data.subarray(c * nn, (c + 1) * nn));
      i += count;
    } else {
      // Whole layer (grouped GQA layouts): computed once for all requested heads of the layer.
      if (wholeLayer?.layer !== layer)
        wholeLayer = { layer, data: checkLayer(model.headsPerLayer, model.attention[layer], await runSlice(model, cap, layer), n) };
      out.push(wholeLayer.data.slice(h0 * nn, (h0 + 1) * nn));
      i += 1;
    }
  }
  return out;
}

/**
 * Heads of a captured run, in `list` order, written into `dest` ([count][n][n], a view of a SharedArrayBuffer the
 * pipeline reuses) where that saves memory traffic: heads over SHARED_HEADS_FROM_BYTES of a row-wise slice are computed
 * a block of rows at a time straight into it (rowBlocks.ts: no fresh, page-faulted buffer per head); a fused
 * kernel's large heads are copied into it from their runs. The others are recomputed as usual into buffers of
 * their own (GPT-2-style slices: a copy into `dest` would cost more than it saves).
 */
export async function recomputeHeadsInto(
  model: LoadedModel,
  cap: Captured,
  list: readonly (readonly [number, number])[],
  dest: Float32Array,
): Promise<Float32Array[]> {
  const nn = cap.n * cap.n;
  if (dest.length < list.length * nn)
    throw new EngineError('bad-request', `${list.length} heads of ${cap.n} tokens do not fit the ${dest.byteLength}-byte buffer.`);
  const out: Float32Array[] = [];
  for (let i = 0; i < list.length;) {
    const [layer, head] = list[i];
    const view = dest.subarray(i * nn, (i + 1) * nn);
    const entry = model.recompute?.slices[layer];
    if (
      model.recompute?.perHead &&
      entry?.kind === 'cut' &&
      nn * 4 > SHARED_HEADS_FROM_BYTES &&
      rowwise(entry.slice) &&
      (await sliceRowsInto(entry.session, entry.slice, cap, head, view))
    ) {
      out.push(view);
      i++;
      continue;
    }
    let count = 1;
    while (i + count < list.length && list[i + count][0] === layer && list[i + count][1] === head + count) count++;
    if (entry?.kind === 'kernel' && nn * 4 > SHARED_HEADS_FROM_BYTES) {
      // A fused kernel's heads: its runs still allocate their own output, but the copy lands in the reused slot
      // instead of a second fresh buffer (half the page faults).
      const block = dest.subarray(i * nn, (i + count) * nn);
      await runKernelHeads(model, cap, entry.kernel, layer, head, count, block);
      for (let c = 0; c < count; c++) out.push(block.subarray(c * nn, (c + 1) * nn));
    } else out.push(...(await recomputeHeads(model, cap, list.slice(i, i + count))));
    i += count;
  }
  return out;
}
