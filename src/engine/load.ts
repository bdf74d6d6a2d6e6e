// Loading a model: decode, plan, add the capture (or attention) outputs, create the ORT sessions, probe.
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { EngineError } from './errors';
import { addGraphOutputs, decodeModel, elemTypes, planGraph, readModelBytes } from './onnx-graph';
import { addCaptureOutputs, planRecompute } from './recompute-graph';
import { sessionTuning, resolveProviders, providerFailure } from './providers';
import type { LoadedModel, RecomputeState } from './loaded-model';
import { probeAttention } from './load-probe';
import { planValues } from './values';
import { planNextToken } from './nextTokenGraph';
import { ADDITION_ROOM, additionOf, appendToModel } from './modelBytes';

/**
 * Slice sessions keep ORT's memory arena: without it every run maps fresh pages for its n×n buffers
 * (1.7× slower per head at 4,096 tokens). Identical layers share one session, and recomputeHeads caps
 * what one run allocates, so the arena holds a few hundred MB at most. One core is left to the analysis
 * worker, which measures each chunk of heads while the slices recompute the next: on two cores, two ORT
 * threads beside it cost 1.4–1.7 CPU-s per 1,024-token explain (spinning, stragglers) against 1.0–1.2 for one.
 */
const SLICE_OPTIONS: ort.InferenceSession.SessionOptions = { logSeverityLevel: 3, graphOptimizationLevel: 'all', enableCpuMemArena: true, intraOpNumThreads: Math.max(1, os.availableParallelism() - 1) };

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
  const bytes = readModelBytes(abs, options.addAttention === false ? 0 : ADDITION_ROOM);
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
  const values = planValues(proto, plan.attentionOutputs);
  // Next-token top-k and log-probabilities reduced in the graph (nextTokenGraph.ts): the logits never leave ORT.
  const next = plan.logitsOutput ? planNextToken(plan, elemTypes(proto, [plan.logitsOutput])[0]) : undefined;
  const base = { key, modelPath: abs, plan, originalOutputs, layers: 0, headsPerLayer: 0, causal: false, executionProviders: providers, values, nextToken: next?.outputs };
  // The value tensors become graph outputs too (fetched with an explain for value-weighted attention): n·d each.
  const valueNames = [...new Set(values.values.filter(Boolean))];
  const valueTypes = elemTypes(proto, valueNames);
  // The model plus `addition` (captures or attention outputs), the value outputs and the next-token nodes,
  // written after the file's bytes in one go (modelBytes.ts: no copy of the model per addition).
  const withValues = (addition: Uint8Array, existing: string[]): Buffer => {
    const ok = valueNames.filter((_, i) => valueTypes[i] !== undefined);
    return appendToModel(bytes, addition, additionOf((e) => addCaptureOutputs(e, ok, ok.map((nm) => valueTypes[valueNames.indexOf(nm)]!), existing)), ...(next ? [next.addition] : []));
  };
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
        session = await ort.InferenceSession.create(withValues(additionOf((e) => addCaptureOutputs(e, rp.captures, rp.captureTypes, originalOutputs)), [...originalOutputs, ...rp.captures]), sessionOptions);
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
  let added = addGraphOutputs(new Uint8Array(0), plan.attentionOutputs, types, originalOutputs); // the addition alone
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(withValues(added.bytes, [...originalOutputs, ...added.outputs]), sessionOptions);
  } catch (e) {
    // A type the walk in elemTypes could not see (e.g. an op it does not model): cast everything.
    if (!/Type Error/i.test((e as Error).message)) fail(e);
    added = addGraphOutputs(new Uint8Array(0), plan.attentionOutputs, types, originalOutputs, true);
    session = await ort.InferenceSession.create(withValues(added.bytes, [...originalOutputs, ...added.outputs]), sessionOptions).catch(fail);
  }
  const model: LoadedModel = { ...base, session, attention: added.outputs, recomputeRefusal: refusal };
  await probeAttention(model, label);
  return model;
}

export async function releaseModel(m: LoadedModel): Promise<void> {
  await Promise.all([...new Set([m.session, ...(m.recompute?.slices ?? []).map((s) => s.session)])].map((s) => s.release().catch(() => undefined)));
}

