// What removing a head does to the model's output (Michel et al. 2019): zero-ablate one head at a time on
// the head-gated graph (gates.ts) and measure, per token, the change in the loss of the actual next token
// (causal LMs with logits) or 1 − cosine of the output vectors (models without). Gate sets ride the batch
// axis, so one run ablates several heads; a graph that pins batch 1 runs them one by one.
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { EngineError } from '../core/errors';
import { feedTensor } from './feeds';
import { addGates, type GatedGraph } from './gates';
import { attentionSourceIndex, type LoadedModel } from './loadedModel';
import { readModelBytes } from './onnxGraph';

export interface GatedSession {
  session: ort.InferenceSession;
  graph: GatedGraph;
  /** false once a batched run failed: the graph pins batch 1. */
  batches: boolean;
  /** The last ungated run, by its ids: the pipeline asks for heads a group at a time over the same ids. */
  base?: { ids: string; out: Float32Array };
}

export type EffectMethod = 'zero-ablation: Δ loss of the next token (nats)' | 'zero-ablation: 1 − cosine of the output per token';

export interface EffectRun {
  method: EffectMethod;
  /** Which output a 1 − cosine effect reads (models without logits). */
  output?: string;
  /** Per position: the unablated log p(next token) (causal LMs; NaN at the last position). */
  base?: Float64Array;
  /** Per requested head, n values: Δ loss (or 1 − cosine) at each position. */
  deltas: Float32Array[];
  /** Gate sets per run actually used. */
  batch: number;
}

/** Memory one gate set's logits take in a run (logits, log-softmax and a copy), which sets the batch. */
const RUN_BYTES = 256 * 2 ** 20;

/**
 * Each model's head-gated session, made on first use. Kept here, not on LoadedModel, so loadedModel.ts need not
 * import this file (which imports it): a WeakMap entry lives exactly as long as the model object, as the field did.
 */
const gatedSessions = new WeakMap<LoadedModel, GatedSession>();

async function gatedSession(model: LoadedModel): Promise<GatedSession> {
  const made = gatedSessions.get(model);
  if (made) return made;
  if (!model.headAxes) {
    throw new EngineError(
      'effects-unavailable',
      `${path.basename(model.modelPath)} folds its heads into the batch axis, so a head cannot be gated on its own; head effects are not available for this export.`,
    );
  }
  const bytes = readModelBytes(model.modelPath);
  const plan = model.plan;
  // The tensors that hold each used layer's probabilities in the user's graph (a cast copy names its source).
  const sources = model.attention.map((_, l) => plan.attentionOutputs[attentionSourceIndex(model, l)]);
  const graph = addGates(bytes, plan, sources, model.headAxes.length + 3, model.causal, model.headsPerLayer); // [batch, ...head axes, q, k]
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(graph.bytes, {
      logSeverityLevel: 3,
      executionProviders: [...model.executionProviders],
      graphOptimizationLevel: 'all',
      ...(plan.externalData ? { extra: { session: { model_external_initializers_file_folder_path: path.dirname(model.modelPath) } } } : {}),
    });
  } catch (e) {
    throw new EngineError(
      'effects-unavailable',
      `Head effects need a gated copy of ${path.basename(model.modelPath)}, which ONNX Runtime refused: ${(e as Error).message.split('\n')[0]}`,
    );
  }
  const gated: GatedSession = { session, graph, batches: true };
  gatedSessions.set(model, gated);
  return gated;
}

/** Feeds for `sets` gate sets over the same ids: every input repeated along the batch axis. */
function feeds(model: LoadedModel, g: GatedSession, ids: number[], heads: [number, number][], sets: number): Record<string, ort.Tensor> {
  const n = ids.length;
  const out: Record<string, ort.Tensor> = {};
  for (const spec of model.plan.inputs) {
    const one = feedTensor(spec, n, ids);
    if (sets === 1 || spec.role === 'use-cache-branch') {
      out[spec.name] = one;
      continue;
    }
    const dims = [...one.dims];
    dims[0] = sets;
    const src = one.data as ArrayLike<number | bigint>;
    const len = src.length;
    const Ctor = (src as object).constructor as new (k: number) => { set(a: ArrayLike<number | bigint>, o: number): void };
    const data = new Ctor(len * sets);
    for (let b = 0; b < sets; b++) data.set(src, b * len);
    out[spec.name] = new ort.Tensor(one.type, data as never, dims);
  }
  const H = model.headsPerLayer;
  const axes = model.headAxes!;
  for (let l = 0; l < g.graph.gates.length; l++) {
    const gate = new Float32Array(sets * H).fill(1);
    heads.forEach(([hl, hh], b) => {
      if (hl !== l) return;
      if (hh === -1)
        gate.fill(0, b * H, (b + 1) * H); // the whole layer
      else gate[b * H + hh] = 0;
    });
    out[g.graph.gates[l]] = new ort.Tensor('float32', gate, [sets, ...axes, 1, 1]);
  }
  if (g.graph.logp) {
    // Position i is scored on token i + 1; the last position has none (0 is a valid index, its value is dropped).
    const t = new BigInt64Array(sets * n);
    for (let b = 0; b < sets; b++) for (let i = 0; i + 1 < n; i++) t[b * n + i] = BigInt(ids[i + 1]);
    out[g.graph.logp.targets] = new ort.Tensor('int64', t, [sets, n]);
  }
  return out;
}

async function run(model: LoadedModel, g: GatedSession, ids: number[], heads: [number, number][], sets: number): Promise<Float32Array> {
  const fetch = g.graph.logp ? g.graph.logp.output : g.graph.output!;
  try {
    const outs = await g.session.run(feeds(model, g, ids, heads, sets), [fetch]);
    const t = outs[fetch];
    return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);
  } catch (e) {
    throw new EngineError(
      'inference-failed',
      `ONNX Runtime failed while ablating heads of ${path.basename(model.modelPath)} on ${ids.length} tokens: ${(e as Error).message.split('\n')[0]}`,
    );
  }
}

/** 1 − cosine per position between two [n × d] outputs. */
export function cosineGap(a: Float32Array, b: Float32Array, n: number): Float32Array {
  const d = a.length / n;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let ab = 0,
      aa = 0,
      bb = 0;
    for (let c = i * d; c < (i + 1) * d; c++) {
      ab += a[c] * b[c];
      aa += a[c] * a[c];
      bb += b[c] * b[c];
    }
    out[i] = aa > 0 && bb > 0 ? 1 - ab / Math.sqrt(aa * bb) : 0;
  }
  return out;
}

/** Gate sets per run for this model and length (logits dominate: vocab × n floats per set, thrice). */
export function effectBatch(model: LoadedModel, n: number, maxSets = 16): number {
  const width = model.plan.logitsOutput ? (model.plan.vocabRows ?? 50_000) : 1024;
  return Math.max(1, Math.min(maxSets, Math.floor(RUN_BYTES / (n * width * 4 * 3))));
}

/** Ablate each of `heads` on its own over `ids` ([l, -1]: every head of layer l at once), against the run with every gate open. */
export async function measureEffects(model: LoadedModel, ids: number[], heads: [number, number][]): Promise<EffectRun> {
  for (const [l, h] of heads) {
    if (!Number.isInteger(l) || l < 0 || l >= model.layers || !Number.isInteger(h) || h < -1 || h >= model.headsPerLayer) {
      throw new EngineError('bad-request', `No head L${l}H${h} in a ${model.layers}×${model.headsPerLayer} model.`);
    }
  }
  const g = await gatedSession(model);
  const n = ids.length;
  const idsKey = ids.join(',');
  if (g.base?.ids !== idsKey) g.base = { ids: idsKey, out: await run(model, g, ids, [], 1) };
  const base = g.base.out;
  const method: EffectMethod = g.graph.logp ? 'zero-ablation: Δ loss of the next token (nats)' : 'zero-ablation: 1 − cosine of the output per token';
  let batch = g.batches ? effectBatch(model, n) : 1;
  const deltas: Float32Array[] = [];
  for (let k = 0; k < heads.length;) {
    const group = heads.slice(k, k + batch);
    let out: Float32Array;
    try {
      out = await run(model, g, ids, group, group.length);
    } catch (e) {
      if (group.length === 1) throw e;
      g.batches = false; // an export that pins batch 1 (a Reshape to [1, …]): one set per run from now on
      batch = 1;
      continue;
    }
    const per = out.length / group.length;
    group.forEach((_, b) => {
      const row = out.subarray(b * per, (b + 1) * per);
      if (g.graph.logp) {
        const d = new Float32Array(n);
        for (let i = 0; i < n; i++) d[i] = i + 1 < n ? base[i] - row[i] : NaN; // Δ loss = −log p(ablated) + log p(base)
        deltas.push(d);
      } else deltas.push(cosineGap(base, row, n));
    });
    k += group.length;
  }
  const result: EffectRun = { method, deltas, batch };
  if (g.graph.logp) result.base = Float64Array.from(base, (v, i) => (i + 1 < n ? v : NaN));
  else result.output = g.graph.output;
  return result;
}
