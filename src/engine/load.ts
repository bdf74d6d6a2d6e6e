// Loading a model: decode, plan, add the capture (or attention) outputs, create the ORT sessions, probe.
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { EngineError } from '../core/errors';
import { addGraphOutputs, appendMessage, decodeModel, elemTypes, planGraph, readModelBytes } from './onnx-graph';
import { addCaptureOutputs, planRecompute } from './recompute-graph';
import { sessionTuning, resolveProviders, providerFailure } from './providers';
import type { LoadedModel, RecomputeState } from './loaded-model';
import { probeAttention } from './load-probe';
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
  /** Override the tuned defaults (bench/engine-ratio.ts compares them). */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'layout' | 'all';
  intraOpNumThreads?: number;
}

export async function loadModel(abs: string, key: string, options: LoadOptions = {}): Promise<LoadedModel> {
  const label = path.basename(abs);
  // Room after the model for the outputs Headlight appends (a few KB): no second copy of the model.
  const bytes = readModelBytes(abs, 1 << 20);
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
    enableMemPattern: tuning.enableMemPattern,
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
  const values = await planValues(proto, plan.attentionOutputs, plan.kernels, path.dirname(abs));
  // Direct logit attribution (dla.ts), the cut ablations and routes: what they fetch rides along like the values.
  const stream = planStream(proto, plan, values, path.dirname(abs));
  // Next-token top-k and log-probabilities reduced in the graph (nextTokenGraph.ts): the logits never leave ORT.
  const next = plan.logitsOutput ? planNextToken(plan, elemTypes(proto, [plan.logitsOutput])[0]) : undefined;
  const withNextToken = (b: Uint8Array): Uint8Array => (next ? appendMessage(b, next.addition) : b);
  const base = { key, modelPath: abs, plan, originalOutputs, layers: 0, headsPerLayer: 0, causal: false, executionProviders: providers, values, ...stream, nextToken: next?.outputs };
  // The value tensors become graph outputs too (fetched with an explain for value-weighted attention): n·d each.
  // (A fused kernel's values are read off its kept inputs instead: kernels/.)
  const valueNames = [...new Set([...values.values.filter((v) => v && !plan.kernels.has(v)), ...streamSessionOutputs(stream)])];
  const valueTypes = elemTypes(proto, valueNames);
  const withValues = (b: Uint8Array, existing: string[]): Uint8Array => {
    const ok = valueNames.filter((_, i) => valueTypes[i] !== undefined);
    return withNextToken(addCaptureOutputs(b, ok, ok.map((nm) => valueTypes[valueNames.indexOf(nm)]!), existing));
  };
  if (!wantAttention) {
    const session = await ort.InferenceSession.create(bytes, sessionOptions).catch(fail);
    return { ...base, session, attention: plan.attentionOutputs };
  }
  // Preferred: fetch the score inputs and recompute (bounded memory). Only for Softmax sources we
  // found: a model that exports its own attention outputs gets exactly those.
  let refusal = options.recompute === false ? 'disabled by the caller' : !plan.rewritten ? 'the model exports its own attention outputs' : undefined;
  if (!refusal) {
    const rp = planRecompute(proto, plan.attentionOutputs, plan.kernels);
    if ('refused' in rp) refusal = rp.refused;
    else {
      let session: ort.InferenceSession | undefined;
      const slices: RecomputeState['slices'] = [];
      const kernelSessions: RecomputeState['kernelSessions'] = new Map();
      try {
        // One appended message for the captures and the values (appendMessage writes into room after the model).
        const values = valueNames.filter((v, i) => valueTypes[i] !== undefined && !rp.captures.includes(v));
        const keep = [...rp.captures, ...values];
        const types = [...rp.captureTypes, ...values.map((v) => valueTypes[valueNames.indexOf(v)]!)];
        session = await ort.InferenceSession.create(withNextToken(addCaptureOutputs(bytes, keep, types, originalOutputs)), sessionOptions);
        // Slices are a handful of nodes: CPU, default threads (their MatMul and Softmax are ORT's own
        // kernels). Identical blocks (canonical names) share one session. A fused kernel's slices are made
        // on first use, per head count (recompute.ts).
        const byBytes = new Map<string, ort.InferenceSession>();
        let cut = 0;
        for (const source of plan.attentionOutputs) {
          const kernel = plan.kernels.get(source);
          if (kernel) { slices.push({ kind: 'kernel', source, kernel }); continue; }
          const slice = rp.layers[cut++];
          const key = Buffer.from(slice.bytes).toString('base64');
          let s = byBytes.get(key);
          if (!s) byBytes.set(key, (s = await ort.InferenceSession.create(slice.bytes, SLICE_OPTIONS)));
          slices.push({ kind: 'cut', source, slice, session: s });
        }
        const model: LoadedModel = { ...base, session, attention: plan.attentionOutputs, recompute: { captures: rp.captures, slices, perHead: false, kernelSessions } };
        await probeAttention(model, label);
        return model;
      } catch (e) {
        if (e instanceof EngineError && e.code === 'no-attention') throw e;
        // The model's own run failed (a kernel layout this runtime cannot run, a cache it refuses): fetching
        // probabilities instead would fail the same way, so the runtime's reason is the message.
        if (e instanceof EngineError && e.code === 'inference-failed' && e.message.startsWith('ONNX Runtime failed while running')) {
          await releaseSessions([session, ...slices.map((s) => (s.kind === 'cut' ? s.session : undefined))], kernelSessions);
          throw new EngineError('inference-failed', `${e.message}. The model itself does not run on this ONNX Runtime (${providers.join(', ')}), so there is no attention to read.`);
        }
        refusal = `recompute failed: ${(e as Error).message.split('\n')[0]}`;
        await releaseSessions([session, ...slices.map((s) => (s.kind === 'cut' ? s.session : undefined))], kernelSessions);
      }
    }
  }
  // Fallback: the probabilities as graph outputs (float32, see addGraphOutputs): found Softmax
  // outputs, or the model's own attention outputs, which may be fp16. A fused kernel's probabilities become
  // a tensor of its attention name first (kernels/expose.ts).
  let fallback = bytes as Uint8Array;
  let typed = proto;
  if (plan.kernels.size) {
    const exposed = exposeKernelProbabilities(bytes, plan.kernels, label, refusal ?? '');
    fallback = exposed.bytes;
    typed = exposed.model;
  }
  const types = elemTypes(typed, plan.attentionOutputs);
  let added = addGraphOutputs(fallback, plan.attentionOutputs, types, originalOutputs);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(withValues(added.bytes, [...originalOutputs, ...added.outputs]), sessionOptions);
  } catch (e) {
    // A type the walk in elemTypes could not see (e.g. an op it does not model): cast everything.
    if (!/Type Error/i.test((e as Error).message)) fail(e);
    added = addGraphOutputs(fallback, plan.attentionOutputs, types, originalOutputs, true);
    session = await ort.InferenceSession.create(withValues(added.bytes, [...originalOutputs, ...added.outputs]), sessionOptions).catch(fail);
  }
  const model: LoadedModel = { ...base, session, attention: added.outputs, recomputeRefusal: refusal };
  try {
    await probeAttention(model, label);
  } catch (e) {
    // A fused kernel's own probabilities failing too usually fails for the reason recompute did: say both.
    if (plan.kernels.size && refusal && e instanceof EngineError && e.code === 'inference-failed') {
      await session.release().catch(() => undefined);
      throw new EngineError('inference-failed', `${label}: reading its fused attention failed (${refusal}), and so did fetching the kernels' own probabilities: ${e.message}`);
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

