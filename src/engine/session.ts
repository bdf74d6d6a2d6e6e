// Worker-side: ONNX Runtime sessions cached per model file, input feeding, attention collection.
// Kept free of worker_threads so the benchmark can drive it directly on one thread.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { EngineError } from './errors';
import { addGraphOutputs, decodeModel, elemTypes, planGraph, readModelBytes, type GraphPlan, type InputSpec } from './onnx-graph';
import { addCaptureOutputs, planRecompute, type LayerSlice } from './recompute-graph';
import { sessionTuning, resolveProviders, providerFailure } from './providers';
import type { WorkerAttention } from './protocol';

export interface LoadedModel {
  key: string;
  modelPath: string;
  plan: GraphPlan;
  session: ort.InferenceSession;
  /** Outputs of the exported model itself (what a plain run fetches). */
  originalOutputs: string[];
  /** Attention outputs whose probe shape was attention (see attentionHeads), in layer order. */
  attention: string[];
  /** Execution providers the session was created with (normalised, e.g. ['cpu']). */
  executionProviders: string[];
  layers: number;
  headsPerLayer: number;
  causal: boolean;
  /**
   * Bounded-memory mode (recompute-graph.ts): the session fetches each layer's score inputs and a
   * per-layer slice session recomputes the probabilities on demand. Undefined: the session fetches
   * the probabilities themselves (`attention` outputs), and `recomputeRefusal` says why.
   */
  recompute?: RecomputeState;
  recomputeRefusal?: string;
}

export interface RecomputeState {
  captures: string[];
  /** One per entry of `attention` (same order). */
  slices: { slice: LayerSlice; session: ort.InferenceSession }[];
  /** A slice computes one head when fed one head of Q and Kᵀ (checked on the load probe). */
  perHead: boolean;
}

// Odd on purpose: a non-attention Softmax whose width is a round number (8 or 16 MoE experts, a
// router over [1, tokens, experts]) must not look like [n, n] attention on the probe.
const PROBE_LEN = 7;
const cache = new Map<string, LoadedModel>();

function fileKey(p: string): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    throw new EngineError('file-not-found', `Model file not found: ${p}. It may have been moved or deleted; pick the model again.`, { path: p });
  }
  return `${st.mtimeMs}:${st.size}`;
}

/**
 * Cached session for `modelPath` with these execution providers; a replaced (mtime/size) or deleted
 * file is noticed on every call. One session per model file: asking for other providers replaces it
 * (a second copy of a large model's weights is not worth keeping for a settings change).
 */
export async function getModel(modelPath: string, opts: { executionProviders?: readonly string[] } = {}): Promise<{ model: LoadedModel; cached: boolean }> {
  const abs = path.resolve(modelPath);
  const providers = resolveProviders(opts.executionProviders);
  let key: string;
  try {
    key = fileKey(abs);
  } catch (e) {
    await evict(abs);
    throw e;
  }
  key += `|${providers.join(',')}`; // part of the cache key: same file, other providers = other session
  const hit = cache.get(abs);
  if (hit && hit.key === key) return { model: hit, cached: true };
  await evict(abs);
  const model = await loadModel(abs, key, { executionProviders: providers });
  cache.set(abs, model);
  return { model, cached: false };
}

async function evict(abs: string): Promise<void> {
  const old = cache.get(abs);
  cache.delete(abs);
  if (old) await releaseModel(old);
}

/**
 * Heads of one attention tensor if its run-time dims are attention over n tokens, else undefined.
 * Batch 1 and trailing [n, n] are required; what stands between is the head axis, possibly split:
 * [1, heads, n, n] (most exports), [1, kv_heads, groups, n, n] (GQA without repeating K/V: query head
 * kv*groups + g, the order of HF's repeat_kv, is exactly the row-major flattening), or [heads, n, n]
 * (heads folded into the batch axis, batch 1).
 */
export function attentionHeads(dims: readonly number[], n: number): number | undefined {
  const d = dims.map(Number);
  if (d.length < 3 || d.length > 5 || d[d.length - 1] !== n || d[d.length - 2] !== n) return undefined;
  if (d.length === 3) return d[0] >= 1 ? d[0] : undefined;
  if (d[0] !== 1) return undefined;
  const heads = d.slice(1, -2).reduce((a, b) => a * b, 1);
  return heads >= 1 ? heads : undefined;
}

/**
 * Slice sessions keep ORT's memory arena: without it every run maps fresh pages for its n×n buffers
 * (1.7× slower per head at 4,096 tokens). Identical layers share one session, and recomputeHeads caps
 * what one run allocates, so the arena holds a few hundred MB at most.
 */
const SLICE_OPTIONS: ort.InferenceSession.SessionOptions = { logSeverityLevel: 3, graphOptimizationLevel: 'all', enableCpuMemArena: true };

export interface LoadOptions {
  /** false: load the graph as exported (the benchmark's plain run). */
  addAttention?: boolean;
  /** false: fetch the probabilities as graph outputs even where the graph can be sliced (tests compare both). */
  recompute?: boolean;
  /** Normalised provider names (resolveProviders); default ['cpu']. */
  executionProviders?: readonly string[];
  /** Override the tuned defaults (bench/engine-ratio.ts compares them). */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'layout' | 'all';
  intraOpNumThreads?: number;
}

export async function loadModel(abs: string, key: string, options: LoadOptions = {}): Promise<LoadedModel> {
  const label = path.basename(abs);
  const bytes = readModelBytes(abs);
  const proto = decodeModel(bytes, label);
  const plan = planGraph(proto, path.dirname(abs), label);
  const originalOutputs = (proto.graph?.output ?? []).map((o) => o.name ?? '');
  const wantAttention = options.addAttention !== false;
  const providers = [...(options.executionProviders ?? resolveProviders(undefined))];
  const tuning = sessionTuning(providers);
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    logSeverityLevel: 3,
    executionProviders: providers,
    graphOptimizationLevel: options.graphOptimizationLevel ?? tuning.graphOptimizationLevel,
    ...(options.intraOpNumThreads ?? tuning.intraOpNumThreads ? { intraOpNumThreads: options.intraOpNumThreads ?? tuning.intraOpNumThreads } : {}),
    // Loaded from a buffer, ORT does not know where the model lives; external data is resolved here
    // (planGraph already proved every location stays inside this folder).
    ...(plan.externalData ? { extra: { session: { model_external_initializers_file_folder_path: path.dirname(abs) } } } : {}),
  };
  const fail = (e: unknown): never => {
    const why = (e as Error).message.split('\n')[0];
    if (providers.some((p) => p !== 'cpu')) throw providerFailure(providers, why);
    throw new EngineError('session-failed', `ONNX Runtime could not load ${label}: ${why}. Check that the export finished and uses standard ONNX ops (opset 13–23).`);
  };
  const base = { key, modelPath: abs, plan, originalOutputs, layers: 0, headsPerLayer: 0, causal: false, executionProviders: providers };
  if (!wantAttention) {
    const session = await ort.InferenceSession.create(bytes, sessionOptions).catch(fail);
    return { ...base, session, attention: plan.attentionOutputs };
  }
  // Preferred: fetch the score inputs and recompute (bounded memory). Only for Softmax sources we
  // found: a model that exports its own attention outputs gets exactly those.
  let refusal = options.recompute === false ? 'disabled by the caller' : !plan.rewritten ? 'the model exports its own attention outputs' : undefined;
  if (!refusal) {
    const rp = planRecompute(proto, plan.attentionOutputs);
    if ('refused' in rp) refusal = rp.refused;
    else {
      let session: ort.InferenceSession | undefined;
      const slices: RecomputeState['slices'] = [];
      try {
        session = await ort.InferenceSession.create(addCaptureOutputs(bytes, rp.captures, rp.captureTypes, originalOutputs), sessionOptions);
        // Slices are a handful of nodes: CPU, default threads (their MatMul and Softmax are ORT's own
        // kernels). Identical blocks (canonical names) share one session.
        const byBytes = new Map<string, ort.InferenceSession>();
        for (const slice of rp.layers) {
          const key = Buffer.from(slice.bytes).toString('base64');
          let s = byBytes.get(key);
          if (!s) byBytes.set(key, (s = await ort.InferenceSession.create(slice.bytes, SLICE_OPTIONS)));
          slices.push({ slice, session: s });
        }
        const model: LoadedModel = { ...base, session, attention: plan.attentionOutputs, recompute: { captures: rp.captures, slices, perHead: false } };
        await probeAttention(model, label);
        return model;
      } catch (e) {
        if (e instanceof EngineError && e.code === 'no-attention') throw e;
        refusal = `recompute failed: ${(e as Error).message.split('\n')[0]}`;
        await Promise.all([...new Set([session, ...slices.map((s) => s.session)])].map((s) => s?.release().catch(() => undefined)));
      }
    }
  }
  // Fallback: the probabilities as graph outputs (float32, see addGraphOutputs): found Softmax
  // outputs, or the model's own attention outputs, which may be fp16.
  const types = elemTypes(proto, plan.attentionOutputs);
  let added = addGraphOutputs(bytes, plan.attentionOutputs, types, originalOutputs);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(added.bytes, sessionOptions);
  } catch (e) {
    // A type the walk in elemTypes could not see (e.g. an op it does not model): cast everything.
    if (!/Type Error/i.test((e as Error).message)) fail(e);
    added = addGraphOutputs(bytes, plan.attentionOutputs, types, originalOutputs, true);
    session = await ort.InferenceSession.create(added.bytes, sessionOptions).catch(fail);
  }
  const model: LoadedModel = { ...base, session, attention: added.outputs, recomputeRefusal: refusal };
  await probeAttention(model, label);
  return model;
}

/**
 * Probe: a short run tells layer count, heads, and — decisively — causal vs bidirectional: a causal
 * model gives exactly zero above the diagonal in every head of every layer. In recompute mode it
 * also decides whether a slice can be fed one head at a time (same numbers as the whole layer).
 */
async function probeAttention(model: LoadedModel, label: string): Promise<void> {
  const n = Math.max(2, Math.min(PROBE_LEN, model.plan.positionRows ?? PROBE_LEN));
  const vocab = model.plan.vocabRows ?? 2;
  const probeIds = Array.from({ length: n }, (_, i) => (i * 7 + 1) % vocab);
  const outs: Record<string, { dims: readonly number[]; data: Float32Array }> = {};
  let captured: Captured | undefined;
  if (model.recompute) {
    captured = await captureRun(model, probeIds);
    for (let l = 0; l < model.attention.length; l++) outs[model.attention[l]] = await runSlice(model, captured, l);
  } else {
    const raw = await runSession(model, probeIds, model.attention);
    for (const [name, t] of Object.entries(raw)) outs[name] = { dims: t.dims, data: t.data as Float32Array };
  }
  const shaped = model.attention.filter((name) => outs[name] && attentionHeads(outs[name].dims, n) !== undefined);
  if (!shaped.length) {
    throw new EngineError('no-attention', `${label}: the Softmax outputs Headlight found are not [batch, heads, query, key] attention at run time (shapes ${model.attention.slice(0, 3).map((a) => `[${outs[a]?.dims.join(', ')}]`).join(', ')}). Export the model with plain softmax attention or with attention outputs.`);
  }
  // Every layer must have the query-head count of the first (a stray Softmax elsewhere, e.g. a
  // router over n experts that happens to be n wide, would otherwise break the [head][q][k] layout).
  const heads = attentionHeads(outs[shaped[0]].dims, n)!;
  const usable = shaped.filter((name) => attentionHeads(outs[name].dims, n) === heads);
  let causal = true;
  for (const name of usable) {
    const d = outs[name].data;
    for (let h = 0; h < heads && causal; h++) {
      for (let i = 0; i < n && causal; i++) for (let j = i + 1; j < n; j++) if (Math.abs(d[h * n * n + i * n + j]) > 1e-7) { causal = false; break; }
    }
  }
  if (model.recompute) {
    const keep = new Set(usable);
    model.recompute.slices = model.recompute.slices.filter((s) => keep.has(s.slice.source));
  }
  Object.assign(model, { attention: usable, layers: usable.length, headsPerLayer: heads, causal });
  if (model.recompute && captured) model.recompute.perHead = await perHeadWorks(model, captured, outs, n);
}

/** One head of Q and Kᵀ through the slice gives that head's rows, bit for bit like the whole layer? */
async function perHeadWorks(model: LoadedModel, cap: Captured, outs: Record<string, { data: Float32Array }>, n: number): Promise<boolean> {
  try {
    for (let l = 0; l < model.layers; l++) {
      for (const h of new Set([0, model.headsPerLayer - 1])) {
        const one = await runSliceHeads(model, cap, l, h, 1);
        if (!one) return false;
        const whole = outs[model.attention[l]].data.subarray(h * n * n, (h + 1) * n * n);
        for (let i = 0; i < whole.length; i++) if (Math.abs(whole[i] - one[i]) > 1e-6) return false;
      }
    }
    return true;
  } catch {
    return false; // e.g. a Reshape in the slice that names the head count
  }
}

function feedTensor(spec: InputSpec, n: number, ids: number[], mask?: number[]): ort.Tensor {
  const intTensor = (values: number[], dims: number[]) =>
    spec.elemType === 6 ? new ort.Tensor('int32', Int32Array.from(values), dims) : new ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), dims);
  switch (spec.role) {
    case 'ids': return intTensor(ids, [1, n]);
    case 'mask': return intTensor(mask ?? new Array<number>(n).fill(1), [1, n]);
    case 'token-type': return intTensor(new Array<number>(n).fill(0), [1, n]);
    case 'position': return intTensor(Array.from({ length: n }, (_, i) => i), [1, n]);
    case 'use-cache-branch': return new ort.Tensor('bool', new Uint8Array([0]), [1]);
    case 'past': {
      // Empty cache: batch 1, the symbolic sequence dim 0, fixed dims as exported.
      const dims = spec.dims.map((d, i) => (typeof d === 'number' ? d : /batch/i.test(d) || i === 0 ? 1 : 0));
      if (dims.every((d) => d !== 0)) dims[dims.length - 2] = 0;
      if (spec.elemType === 10) return new ort.Tensor('float16', new Uint16Array(0), dims);
      return new ort.Tensor('float32', new Float32Array(0), dims);
    }
  }
}

export async function runSession(model: LoadedModel, ids: number[], fetch: string[], mask?: number[]): Promise<ort.InferenceSession.OnnxValueMapType> {
  const n = ids.length;
  const feeds: Record<string, ort.Tensor> = {};
  for (const spec of model.plan.inputs) feeds[spec.name] = feedTensor(spec, n, ids, mask);
  try {
    return await model.session.run(feeds, fetch);
  } catch (e) {
    throw new EngineError('inference-failed', `ONNX Runtime failed while running ${path.basename(model.modelPath)} on ${n} tokens: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Run ids and return one Float32Array per layer, [head][query][key], ready to transfer. */
export async function runAttention(model: LoadedModel, ids: number[], mask?: number[]): Promise<WorkerAttention> {
  const n = ids.length;
  let data: Float32Array[];
  if (model.recompute) {
    const cap = await captureRun(model, ids, mask);
    data = [];
    try {
      for (let l = 0; l < model.layers; l++) data.push(await recomputeLayer(model, cap, l));
    } finally {
      disposeCaptured(cap);
    }
  } else {
    const outs = await runSession(model, ids, model.attention, mask);
    data = model.attention.map((name) => checkLayer(model.headsPerLayer, name, outs[name], n));
  }
  return { layers: data.length, headsPerLayer: model.headsPerLayer, seq: n, causal: model.causal, data };
}

/** `heads` heads of attention over n tokens in `t`, as a Float32Array that owns its buffer. */
function checkLayer(heads: number, name: string, t: { dims: readonly number[]; data: unknown } | undefined, n: number): Float32Array {
  if (!t || attentionHeads(t.dims, n) !== heads) {
    throw new EngineError('inference-failed', `Attention output ${name} has shape [${t?.dims.join(', ')}], expected [1, ${heads}, ${n}, ${n}].`);
  }
  const d = t.data;
  const f = d instanceof Float32Array ? d : Float32Array.from(d as ArrayLike<number>);
  // Own the whole buffer so it can be transferred (ORT may hand out views into a larger one).
  return f.byteOffset === 0 && f.byteLength === f.buffer.byteLength && f.buffer instanceof ArrayBuffer ? f : f.slice();
}

/** What a recompute-mode run keeps: the captured score inputs (small: O(n·d) per layer) and the feeds. */
export interface Captured {
  n: number;
  tensors: Record<string, ort.Tensor>;
  inputs: Record<string, ort.Tensor>;
  /** Bytes held by `tensors` (the bench and the worker's stats report it). */
  bytes: number;
}

/** The main run in recompute mode: every layer's score inputs, no probabilities. */
export async function captureRun(model: LoadedModel, ids: number[], mask?: number[]): Promise<Captured> {
  const rec = model.recompute;
  if (!rec) throw new EngineError('bad-request', 'captureRun needs a model loaded in recompute mode.');
  const n = ids.length;
  const inputs: Record<string, ort.Tensor> = {};
  for (const spec of model.plan.inputs) inputs[spec.name] = feedTensor(spec, n, ids, mask);
  let outs: ort.InferenceSession.OnnxValueMapType;
  try {
    outs = await model.session.run(inputs, rec.captures);
  } catch (e) {
    throw new EngineError('inference-failed', `ONNX Runtime failed while running ${path.basename(model.modelPath)} on ${n} tokens: ${(e as Error).message.split('\n')[0]}`);
  }
  const tensors = outs as Record<string, ort.Tensor>;
  const bytes = Object.values(tensors).reduce((a, t) => a + ((t.data as ArrayBufferView).byteLength ?? 0), 0);
  return { n, tensors, inputs, bytes };
}

export function disposeCaptured(cap: Captured): void {
  for (const t of Object.values(cap.tensors)) t.dispose?.();
}

/**
 * Layer `layer` of a captured run through its slice: [1, heads, n, n] (or the graph's own head layout).
 * `override` replaces captured tensors by name (runSliceHeads feeds some heads of Q and Kᵀ).
 */
export async function runSlice(model: LoadedModel, cap: Captured, layer: number, override: Record<string, ort.Tensor> = {}): Promise<{ dims: readonly number[]; data: Float32Array }> {
  const { slice, session } = model.recompute!.slices[layer];
  const feeds: Record<string, ort.Tensor> = {};
  slice.inputs.forEach((name, i) => (feeds[`in${i}`] = override[name] ?? cap.tensors[name] ?? cap.inputs[name]));
  let out: ort.InferenceSession.OnnxValueMapType;
  try {
    out = await session.run(feeds, [slice.output]);
  } catch (e) {
    throw new EngineError('inference-failed', `Recomputing attention of layer ${layer} (${slice.source}) failed on ${cap.n} tokens: ${(e as Error).message.split('\n')[0]}`);
  }
  const t = out[slice.output];
  return { dims: t.dims, data: t.data as Float32Array };
}

/**
 * Heads [h0, h0 + count) of a captured run, [count][n][n], without computing the others: the slice is
 * fed those heads' rows of Q and Kᵀ. Undefined when the captured layout is not [1, heads, ·, ·].
 */
export async function runSliceHeads(model: LoadedModel, cap: Captured, layer: number, h0: number, count = 1): Promise<Float32Array | undefined> {
  const { slice } = model.recompute!.slices[layer];
  const H = model.headsPerLayer;
  const part = (name: string, allowShared: boolean): ort.Tensor | undefined => {
    const t = cap.tensors[name];
    const d = t.dims.map(Number);
    if (d.length !== 4 || d[0] !== 1) return undefined;
    if (d[1] === 1 && allowShared) return t; // one K for every head (multi-query)
    if (d[1] !== H) return undefined;
    const per = d[2] * d[3];
    const data = (t.data as Float32Array).subarray(h0 * per, (h0 + count) * per);
    return new ort.Tensor(t.type as 'float32', data as Float32Array, [1, count, d[2], d[3]]);
  };
  const q = part(slice.q, false);
  const k = part(slice.k, true);
  if (!q || !k) return undefined;
  const r = await runSlice(model, cap, layer, { [slice.q]: q, [slice.k]: k });
  const n = cap.n;
  if (r.data.length !== count * n * n) return undefined;
  return r.data;
}

/** One head n×n from a captured run: fed alone where the slice allows it, else cut from its layer. */
export async function recomputeHead(model: LoadedModel, cap: Captured, layer: number, head: number): Promise<Float32Array> {
  return (await recomputeHeads(model, cap, [[layer, head]]))[0];
}

/** One layer [head][query][key] from a captured run (head by head where possible: less memory, and faster). */
export async function recomputeLayer(model: LoadedModel, cap: Captured, layer: number): Promise<Float32Array> {
  const n = cap.n;
  if (!model.recompute?.perHead) return checkLayer(model.headsPerLayer, model.attention[layer], await runSlice(model, cap, layer), n);
  const out = new Float32Array(model.headsPerLayer * n * n);
  const heads = await recomputeHeads(model, cap, Array.from({ length: model.headsPerLayer }, (_, h) => [layer, h] as const));
  heads.forEach((a, h) => out.set(a, h * n * n));
  return out;
}

/** Output of one slice run: heads recomputed together share the arena's high-water mark, so cap it. */
export const RECOMPUTE_RUN_BYTES = 128 * 2 ** 20;

/**
 * Heads of a captured run, one n×n Float32Array per [layer, head] in `list` order. Consecutive heads of
 * a layer are recomputed together (up to RECOMPUTE_RUN_BYTES per run: 2 heads at 4,096 tokens, whole
 * layers at 1,024 — several heads per run is ~2× faster per head than one at a time). The arrays of one
 * run are views into one buffer: transfer `new Set(arrays.map((a) => a.buffer))`.
 */
export async function recomputeHeads(model: LoadedModel, cap: Captured, list: readonly (readonly [number, number])[]): Promise<Float32Array[]> {
  const n = cap.n;
  const nn = n * n;
  const perRun = Math.max(1, Math.floor(RECOMPUTE_RUN_BYTES / (nn * 4)));
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
      if (wholeLayer?.layer !== layer) wholeLayer = { layer, data: checkLayer(model.headsPerLayer, model.attention[layer], await runSlice(model, cap, layer), n) };
      out.push(wholeLayer.data.slice(h0 * nn, (h0 + 1) * nn));
      i += 1;
    }
  }
  return out;
}

export async function releaseModel(m: LoadedModel): Promise<void> {
  await Promise.all([...new Set([m.session, ...(m.recompute?.slices ?? []).map((s) => s.session)])].map((s) => s.release().catch(() => undefined)));
}

export function clearSessionCache(): Promise<void> {
  return Promise.all([...cache.keys()].map(evict)).then(() => undefined);
}
