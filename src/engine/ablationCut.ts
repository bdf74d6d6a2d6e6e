// Exact head ablation that reruns only what the head can change. Zero-ablating head h of layer l (its
// probabilities × 0) sets its merged output z_h to 0, so the residual stream right after layer l's attention
// becomes c_l − z_h W_O^h — exactly, since the output projection is linear. So each ablation feeds that
// stream, built from the clean run, to a cut copy of the graph that starts there: layer l's MLP and every
// layer above, the final norm and the logits. Layer l's attention and everything below are skipped.
//
// One session holds the cut copy for every layer, with the weights once (cutGraph.ts builds it: each layer's
// segment in an If node run only from the chosen start layer up). A graph where something other than the
// residual stream crosses from one layer to the next (a parallel attention + MLP block reading the layer's
// input twice) is refused, and head effects fall back to the gated whole graph.
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { EngineError } from '../core/errors';
import { feedTensor } from './feeds';
import { cosineGap, effectBatch, measureEffects, type EffectMethod, type EffectRun } from './effects';
import { decodeModel, readModelBytes } from './onnxGraph';
import { CUT_START, CUT_X, FLOAT, planCut, type CutGraph } from './cutGraph';
import { valueInfo, ownModel } from './valueInfo';
import { attentionSourceIndex, type LoadedModel } from './loadedModel';

export interface CutState {
  session: ort.InferenceSession;
  graph: CutGraph;
  /** Per model layer: the merged heads feeding W_O, W_O ([rows = H·dh, d]). */
  merged: string[];
  wo: Float32Array[];
  rows: number[];
  d: number;
  batches: boolean;
  /** The last clean run, by its ids: every cut stream, every layer's merged heads, and the clean log p (or output). */
  clean?: { ids: string; cuts: Float32Array[]; merged: Float32Array[]; base: Float32Array };
}

const states = new WeakMap<LoadedModel, Promise<CutState | { refused: string }>>();

/** The cut session for `model` (made on first use, cached with the model), or why the graph cannot be cut. */
export function cutState(model: LoadedModel): Promise<CutState | { refused: string }> {
  let s = states.get(model);
  if (!s) states.set(model, (s = makeCutState(model)));
  return s;
}

async function makeCutState(model: LoadedModel): Promise<CutState | { refused: string }> {
  const dla = model.dla;
  if (!dla || 'refused' in dla) return { refused: dla && 'refused' in dla ? dla.refused : 'no residual plan' };
  const order = model.attention.map((_, l) => attentionSourceIndex(model, l));
  const layers = order.map((k) => ({ res: dla.residual.layers[k], dl: dla.layers[k] }));
  if (layers.some((x) => !x.res?.mid || !x.dl)) return { refused: "a layer's attention output was not found joining the residual stream" };
  const bytes = readModelBytes(model.modelPath);
  const proto = decodeModel(bytes, path.basename(model.modelPath));
  const cut = planCut(
    proto,
    model.plan,
    layers.map((x) => x.res.mid!),
    model.causal,
  );
  if ('refused' in cut) return cut;
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(cut.bytes, {
      logSeverityLevel: 3,
      executionProviders: [...model.executionProviders],
      graphOptimizationLevel: 'all',
      ...(model.plan.externalData ? { extra: { session: { model_external_initializers_file_folder_path: path.dirname(model.modelPath) } } } : {}),
    });
  } catch (e) {
    return { refused: `ONNX Runtime refused the cut copy: ${(e as Error).message.split('\n')[0]}` };
  }
  return {
    session,
    graph: cut,
    merged: layers.map((x) => x.dl.merged),
    wo: layers.map((x) => x.dl.wo),
    rows: layers.map((x) => x.dl.rows),
    d: dla.residual.d,
    batches: true,
  };
}

/** A tensor repeated `sets` times along its first (batch) axis. */
function repeatBatch(t: ort.Tensor, sets: number): ort.Tensor {
  if (sets === 1) return t;
  const dims = [...t.dims];
  dims[0] = sets;
  const src = t.data as ArrayLike<number | bigint>;
  const Ctor = (src as object).constructor as new (k: number) => { set(a: ArrayLike<number | bigint>, o: number): void };
  const data = new Ctor(src.length * sets);
  for (let b = 0; b < sets; b++) data.set(src, b * src.length);
  return new ort.Tensor(t.type, data as never, dims);
}

function graphFeeds(model: LoadedModel, ids: number[], sets: number): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  for (const spec of model.plan.inputs) {
    const one = feedTensor(spec, ids.length, ids);
    out[spec.name] = spec.role === 'use-cache-branch' ? one : repeatBatch(one, sets);
  }
  return out;
}

/** Head h's output through its rows of W_O, z_h W_O^h ([n × d]), on ONNX Runtime. */
let matmul: Promise<ort.InferenceSession> | undefined;
async function headOutput(z: Float32Array, rows: number, wo: Float32Array, d: number, n: number, h: number, dh: number): Promise<Float32Array> {
  matmul ??= ort.InferenceSession.create(
    ownModel({
      name: 'head-output',
      node: [onnx.NodeProto.create({ opType: 'MatMul', name: 'mm', input: ['z', 'w'], output: ['o'] })],
      input: [valueInfo('z', FLOAT, ['n', 'k']), valueInfo('w', FLOAT, ['k', 'd'])],
      output: [valueInfo('o', FLOAT, ['n', 'd'])],
    }),
    { logSeverityLevel: 3 },
  );
  const zh = new Float32Array(n * dh);
  for (let i = 0; i < n; i++) zh.set(z.subarray(i * rows + h * dh, i * rows + (h + 1) * dh), i * dh);
  const r = await (
    await matmul
  ).run({ z: new ort.Tensor('float32', zh, [n, dh]), w: new ort.Tensor('float32', wo.subarray(h * dh * d, (h + 1) * dh * d), [dh, d]) });
  return r.o.data as Float32Array;
}

async function runCut(model: LoadedModel, st: CutState, ids: number[], start: number, x: Float32Array, sets: number): Promise<Float32Array> {
  const n = ids.length;
  const feeds = graphFeeds(model, ids, sets);
  feeds[CUT_X] = new ort.Tensor('float32', x, [sets, n, st.d]);
  feeds[CUT_START] = new ort.Tensor('int64', BigInt64Array.from([BigInt(start)]), []);
  if (st.graph.logp) {
    const t = new BigInt64Array(sets * n);
    for (let b = 0; b < sets; b++) for (let i = 0; i + 1 < n; i++) t[b * n + i] = BigInt(ids[i + 1]);
    feeds[st.graph.logp.targets] = new ort.Tensor('int64', t, [sets, n]);
  }
  const fetch = st.graph.logp?.output ?? st.graph.output!;
  try {
    const out = await st.session.run(feeds, [fetch]);
    const t = out[fetch];
    return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);
  } catch (e) {
    throw new EngineError(
      'inference-failed',
      `ONNX Runtime failed while ablating heads of ${path.basename(model.modelPath)} from layer ${start} on ${n} tokens: ${(e as Error).message.split('\n')[0]}`,
    );
  }
}

/** The clean run: every cut stream and merged heads from the model's own session, and the clean output through the cut copy. */
async function cleanRun(model: LoadedModel, st: CutState, ids: number[]): Promise<NonNullable<CutState['clean']>> {
  const key = ids.join(',');
  if (st.clean?.ids === key) return st.clean;
  const n = ids.length;
  const feeds: Record<string, ort.Tensor> = {};
  for (const spec of model.plan.inputs) feeds[spec.name] = feedTensor(spec, n, ids);
  let outs: ort.InferenceSession.OnnxValueMapType;
  try {
    outs = await model.session.run(feeds, [...new Set([...st.graph.cuts, ...st.merged])]);
  } catch (e) {
    throw new EngineError(
      'inference-failed',
      `ONNX Runtime failed on the clean run of ${path.basename(model.modelPath)} (${n} tokens): ${(e as Error).message.split('\n')[0]}`,
    );
  }
  const f32 = (name: string) => {
    const t = outs[name];
    return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);
  };
  const cuts = st.graph.cuts.map(f32),
    merged = st.merged.map(f32);
  // The clean output through the same last segment the ablations end in: their differences carry no graph-to-graph rounding.
  const L = cuts.length;
  const base = await runCut(model, st, ids, L - 1, cuts[L - 1], 1);
  st.clean = { ids: key, cuts, merged, base };
  return st.clean;
}

/**
 * Head effects through the cut copy: each head (never a whole layer: [l, −1] goes to the gated graph) ablated on
 * its own, consecutive heads of one layer batched along the batch axis. Same result shape as measureEffects.
 */
export async function measureEffectsCut(model: LoadedModel, st: CutState, ids: number[], heads: [number, number][]): Promise<EffectRun> {
  const n = ids.length,
    d = st.d,
    H = model.headsPerLayer;
  const clean = await cleanRun(model, st, ids);
  const method: EffectMethod = st.graph.logp ? 'zero-ablation: Δ loss of the next token (nats)' : 'zero-ablation: 1 − cosine of the output per token';
  let batch = st.batches ? effectBatch(model, n) : 1;
  const deltas: Float32Array[] = [];
  for (let k = 0; k < heads.length;) {
    const layer = heads[k][0];
    let count = 1;
    while (k + count < heads.length && count < batch && heads[k + count][0] === layer) count++;
    const group = heads.slice(k, k + count);
    const dh = st.rows[layer] / H;
    const x = new Float32Array(count * n * d);
    for (let b = 0; b < count; b++) {
      const o = await headOutput(clean.merged[layer], st.rows[layer], st.wo[layer], d, n, group[b][1], dh);
      const c = clean.cuts[layer];
      for (let q = 0; q < n * d; q++) x[b * n * d + q] = c[q] - o[q];
    }
    let out: Float32Array;
    try {
      out = await runCut(model, st, ids, layer, x, count);
    } catch (e) {
      if (count === 1) throw e;
      st.batches = false; // an export that pins batch 1: one set per run from now on
      batch = 1;
      continue;
    }
    const per = out.length / count;
    for (let b = 0; b < count; b++) {
      const row = out.subarray(b * per, (b + 1) * per);
      if (st.graph.logp) deltas.push(Float32Array.from({ length: n }, (_, i) => (i + 1 < n ? clean.base[i] - row[i] : NaN)));
      else deltas.push(cosineGap(clean.base, row, n));
    }
    k += count;
  }
  const result: EffectRun = { method, deltas, batch };
  if (st.graph.logp) result.base = Float64Array.from(clean.base, (v, i) => (i + 1 < n ? v : NaN));
  else result.output = st.graph.output;
  return result;
}

/** Every ablation request: the cut copy where the graph allows it and every request is a single head, else the gated whole graph. */
export async function measureHeadEffects(model: LoadedModel, ids: number[], heads: [number, number][]): Promise<EffectRun & { cut?: string }> {
  for (const [l, h] of heads) {
    if (!Number.isInteger(l) || l < 0 || l >= model.layers || !Number.isInteger(h) || h < -1 || h >= model.headsPerLayer) {
      throw new EngineError('bad-request', `No head L${l}H${h} in a ${model.layers}×${model.headsPerLayer} model.`);
    }
  }
  const st = heads.every(([, h]) => h >= 0) ? await cutState(model) : { refused: 'whole layers are ablated on the gated graph' };
  if ('refused' in st) return { ...(await measureEffects(model, ids, heads)), cut: st.refused };
  return measureEffectsCut(model, st, ids, heads);
}
