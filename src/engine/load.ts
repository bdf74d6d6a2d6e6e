// Loading a model: decode, plan, add the capture (or attention) outputs, create the ORT sessions, probe.
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { onnx } from 'onnx-proto';
import { EngineError } from '../core/errors';
import { addGraphOutputs, appendMessage, decodeModel, elemTypes, planGraph, readModelBytes, type GraphPlan } from './onnxGraph';
import { addCaptureOutputs, planRecompute, type RecomputePlan } from './recomputeGraph';
import { sessionTuning, resolveProviders, providerFailure } from './providers';
import type { LoadedModel, RecomputeState } from './loadedModel';
import { probeAttention } from './loadProbe';
import { planValues } from './values';
import { SLICE_OPTIONS } from './recompute';
import { exposeKernelProbabilities } from './kernels/expose';
import { planStream, streamSessionOutputs } from './dlaPlan';
import { planNextToken } from './nextTokenGraph';

export interface LoadOptions {
  /** false: load the graph as exported (the benchmark's plain run). */
  addAttention?: boolean;
  /** false: fetch the probabilities as graph outputs even where the graph can be sliced (tests compare both). */
  recompute?: boolean;
  /** Normalised provider names (resolveProviders); default ['cpu']. */
  executionProviders?: readonly string[];
  /** Override the tuned defaults (bench/engineRatio.ts compares them). */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'layout' | 'all';
  intraOpNumThreads?: number;
}

export async function loadModel(abs: string, key: string, options: LoadOptions = {}): Promise<LoadedModel> {
  const m = await prepare(abs, key, options);
  if (options.addAttention === false) {
    const session = await ort.InferenceSession.create(m.bytes, m.sessionOptions).catch(m.fail);
    return { ...m.base, session, attention: m.plan.attentionOutputs };
  }
  // Preferred: fetch the score inputs and recompute (bounded memory). Only for Softmax sources we
  // found: a model that exports its own attention outputs gets exactly those.
  let refusal = options.recompute === false ? 'disabled by the caller' : !m.plan.rewritten ? 'the model exports its own attention outputs' : undefined;
  if (!refusal) {
    const rp = planRecompute(m.proto, m.plan.attentionOutputs, m.plan.kernels);
    if ('refused' in rp) refusal = rp.refused;
    else {
      const loaded = await loadRecompute(m, rp);
      if (!('refusal' in loaded)) return loaded;
      refusal = loaded.refusal;
    }
  }
  return loadFetching(m, refusal);
}

/** What every way of loading shares: the decoded model and its plan, the session options, the outputs every session adds. */
interface Prepared {
  label: string;
  bytes: Buffer;
  proto: onnx.ModelProto;
  plan: GraphPlan;
  originalOutputs: string[];
  providers: string[];
  sessionOptions: ort.InferenceSession.SessionOptions;
  /** Throws the load failure for an error from creating the main session. */
  fail: (e: unknown) => never;
  /** The model but for its session and attention outputs. */
  base: Omit<LoadedModel, 'session' | 'attention'>;
  /** Value tensors (and the stream's outputs) every session fetches, with their element types. */
  valueNames: string[];
  valueTypes: (number | undefined)[];
  withNextToken: (b: Uint8Array) => Uint8Array;
}

async function prepare(abs: string, key: string, options: LoadOptions): Promise<Prepared> {
  const label = path.basename(abs);
  // Room after the model for the outputs Headlight appends (a few KB): no second copy of the model.
  const bytes = readModelBytes(abs, 1 << 20);
  const proto = decodeModel(bytes, label);
  const plan = planGraph(proto, path.dirname(abs), label);
  const originalOutputs = (proto.graph?.output ?? []).map((o) => o.name ?? '');
  const providers = [...(options.executionProviders ?? resolveProviders(undefined))];
  const fail = (e: unknown): never => {
    const why = (e as Error).message.split('\n')[0];
    if (providers.some((p) => p !== 'cpu')) throw providerFailure(providers, why);
    throw new EngineError(
      'session-failed',
      `ONNX Runtime could not load ${label}: ${why}. Check that the export finished and uses standard ONNX ops (opset 13–23).`,
    );
  };
  const values = await planValues(proto, plan.attentionOutputs, plan.kernels, path.dirname(abs));
  // Direct logit attribution (dla.ts), the cut ablations and routes: what they fetch rides along like the values.
  const stream = planStream(proto, plan, values, path.dirname(abs));
  // Next-token top-k and log-probabilities reduced in the graph (nextTokenGraph.ts): the logits never leave ORT.
  const next = plan.logitsOutput ? planNextToken(plan, elemTypes(proto, [plan.logitsOutput])[0]) : undefined;
  const base = {
    key,
    modelPath: abs,
    plan,
    originalOutputs,
    layers: 0,
    headsPerLayer: 0,
    causal: false,
    executionProviders: providers,
    values,
    ...stream,
    nextToken: next?.outputs,
  };
  // The value tensors become graph outputs too (fetched with an explain for value-weighted attention): n·d each.
  // (A fused kernel's values are read off its kept inputs instead: kernels/.)
  const valueNames = [...new Set([...values.values.filter((v) => v && !plan.kernels.has(v)), ...streamSessionOutputs(stream)])];
  return {
    label,
    bytes,
    proto,
    plan,
    originalOutputs,
    providers,
    sessionOptions: sessionOptionsFor(options, providers, plan.externalData, abs),
    fail,
    base,
    valueNames,
    valueTypes: elemTypes(proto, valueNames),
    withNextToken: (b) => (next ? appendMessage(b, next.addition) : b),
  };
}

function sessionOptionsFor(options: LoadOptions, providers: string[], externalData: boolean, abs: string): ort.InferenceSession.SessionOptions {
  const tuning = sessionTuning(providers);
  return {
    logSeverityLevel: 3,
    executionProviders: providers,
    graphOptimizationLevel: options.graphOptimizationLevel ?? tuning.graphOptimizationLevel,
    enableMemPattern: tuning.enableMemPattern,
    ...((options.intraOpNumThreads ?? tuning.intraOpNumThreads) ? { intraOpNumThreads: options.intraOpNumThreads ?? tuning.intraOpNumThreads } : {}),
    // Loaded from a buffer, ORT does not know where the model lives; external data is resolved here
    // (planGraph already proved every location stays inside this folder).
    ...(externalData ? { extra: { session: { model_external_initializers_file_folder_path: path.dirname(abs) } } } : {}),
  };
}

/**
 * The bounded-memory model: the main session fetches the score inputs, per-layer slice sessions recompute
 * the probabilities. A failure other than the model's own is returned as the refusal (the caller falls back).
 */
async function loadRecompute(m: Prepared, rp: RecomputePlan): Promise<LoadedModel | { refusal: string }> {
  const { plan, valueNames, valueTypes } = m;
  let session: ort.InferenceSession | undefined;
  const slices: RecomputeState['slices'] = [];
  const kernelSessions: RecomputeState['kernelSessions'] = new Map();
  try {
    // One appended message for the captures and the values (appendMessage writes into room after the model).
    const values = valueNames.filter((v, i) => valueTypes[i] !== undefined && !rp.captures.includes(v));
    const keep = [...rp.captures, ...values];
    const types = [...rp.captureTypes, ...values.map((v) => valueTypes[valueNames.indexOf(v)]!)];
    session = await ort.InferenceSession.create(m.withNextToken(addCaptureOutputs(m.bytes, keep, types, m.originalOutputs)), m.sessionOptions);
    // Slices are a handful of nodes: CPU, default threads (their MatMul and Softmax are ORT's own
    // kernels). Identical blocks (canonical names) share one session. A fused kernel's slices are made
    // on first use, per head count (recompute.ts).
    const byBytes = new Map<string, ort.InferenceSession>();
    let cut = 0;
    for (const source of plan.attentionOutputs) {
      const kernel = plan.kernels.get(source);
      if (kernel) {
        slices.push({ kind: 'kernel', source, kernel });
        continue;
      }
      const slice = rp.layers[cut++];
      const key = Buffer.from(slice.bytes).toString('base64');
      let s = byBytes.get(key);
      if (!s) byBytes.set(key, (s = await ort.InferenceSession.create(slice.bytes, SLICE_OPTIONS)));
      slices.push({ kind: 'cut', source, slice, session: s });
    }
    const model: LoadedModel = {
      ...m.base,
      session,
      attention: plan.attentionOutputs,
      recompute: { captures: rp.captures, slices, perHead: false, kernelSessions },
    };
    await probeAttention(model, m.label);
    return model;
  } catch (e) {
    if (e instanceof EngineError && e.code === 'no-attention') throw e;
    // The model's own run failed (a kernel layout this runtime cannot run, a cache it refuses): fetching
    // probabilities instead would fail the same way, so the runtime's reason is the message.
    if (e instanceof EngineError && e.code === 'inference-failed' && e.message.startsWith('ONNX Runtime failed while running')) {
      await releaseSessions([session, ...slices.map((s) => (s.kind === 'cut' ? s.session : undefined))], kernelSessions);
      throw new EngineError(
        'inference-failed',
        `${e.message}. The model itself does not run on this ONNX Runtime (${m.providers.join(', ')}), so there is no attention to read.`,
      );
    }
    const refusal = `recompute failed: ${(e as Error).message.split('\n')[0]}`;
    await releaseSessions([session, ...slices.map((s) => (s.kind === 'cut' ? s.session : undefined))], kernelSessions);
    return { refusal };
  }
}

/**
 * Fallback: the probabilities as graph outputs (float32, see addGraphOutputs): found Softmax
 * outputs, or the model's own attention outputs, which may be fp16. A fused kernel's probabilities become
 * a tensor of its attention name first (kernels/expose.ts).
 */
async function loadFetching(m: Prepared, refusal: string | undefined): Promise<LoadedModel> {
  const { plan, label, originalOutputs, valueNames, valueTypes } = m;
  const withValues = (b: Uint8Array, existing: string[]): Uint8Array => {
    const ok = valueNames.filter((_, i) => valueTypes[i] !== undefined);
    return m.withNextToken(
      addCaptureOutputs(
        b,
        ok,
        ok.map((nm) => valueTypes[valueNames.indexOf(nm)]!),
        existing,
      ),
    );
  };
  let fallback = m.bytes as Uint8Array;
  let typed = m.proto;
  if (plan.kernels.size) {
    const exposed = exposeKernelProbabilities(m.bytes, plan.kernels, label, refusal ?? '');
    fallback = exposed.bytes;
    typed = exposed.model;
  }
  const types = elemTypes(typed, plan.attentionOutputs);
  let added = addGraphOutputs(fallback, plan.attentionOutputs, types, originalOutputs);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(withValues(added.bytes, [...originalOutputs, ...added.outputs]), m.sessionOptions);
  } catch (e) {
    // A type the walk in elemTypes could not see (e.g. an op it does not model): cast everything.
    if (!/Type Error/i.test((e as Error).message)) m.fail(e);
    added = addGraphOutputs(fallback, plan.attentionOutputs, types, originalOutputs, true);
    session = await ort.InferenceSession.create(withValues(added.bytes, [...originalOutputs, ...added.outputs]), m.sessionOptions).catch(m.fail);
  }
  const model: LoadedModel = { ...m.base, session, attention: added.outputs, recomputeRefusal: refusal };
  try {
    await probeAttention(model, label);
  } catch (e) {
    // A fused kernel's own probabilities failing too usually fails for the reason recompute did: say both.
    if (plan.kernels.size && refusal && e instanceof EngineError && e.code === 'inference-failed') {
      await session.release().catch(() => undefined);
      throw new EngineError(
        'inference-failed',
        `${label}: reading its fused attention failed (${refusal}), and so did fetching the kernels' own probabilities: ${e.message}`,
      );
    }
    throw e;
  }
  return model;
}

export async function releaseModel(m: LoadedModel): Promise<void> {
  await releaseSessions([m.session, ...(m.recompute?.slices ?? []).map((s) => (s.kind === 'cut' ? s.session : undefined))], m.recompute?.kernelSessions);
}

async function releaseSessions(sessions: (ort.InferenceSession | undefined)[], kernelSessions?: Map<string, Promise<ort.InferenceSession>>): Promise<void> {
  const kernel = await Promise.all([...(kernelSessions?.values() ?? [])].map((p) => p.catch(() => undefined)));
  await Promise.all([...new Set([...sessions, ...kernel])].map((s) => s?.release().catch(() => undefined)));
}
