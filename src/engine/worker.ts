// The engine worker: all tokenisation and inference happen here, one request at a time, so the
// extension host's thread never blocks. Bundled to dist/engine-worker.js.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parentPort } from 'node:worker_threads';
import { EngineError } from '../core/errors';
import { transferList } from '../core/transfer';
import type { ModelRef, WorkerRequest, WorkerResponse, RunStats } from './workerProtocol';
import {
  captureRun,
  disposeCaptured,
  getModel,
  recomputeHeads,
  recomputeHeadsInto,
  runAttention,
  type Captured,
  type LoadedModel,
  type OnExtra,
} from './modelCache';
import { loadTokenizer, type LoadedTokenizer } from './tokenize';
import { explainInput, idsInput } from './runInput';
import { planProbe } from './probeIds';
import { measureHeadEffects } from './ablationCut';
import { predictionsFrom } from './predictions';
import { nextTokenFetches, predictionsFromOutputs } from './nextTokenGraph';
import { halfToFloat32 } from '../core/half';
import { allValueNorms, type ValueNorms } from './values';
import { attentionSourceIndex } from './loadedModel';
import { dlaFetches, runDla } from './dlaRun';
import { dropRoutes, keepRoutes, routeFetches, routesRefusal, traceRoutesFor } from './routesKept';
import type * as ort from 'onnxruntime-node';
import type { DlaResult, ModelInfo, Predictions } from './types';

process.env.ORT_DISABLE_TELEMETRY = '1';

const tokenizers = new Map<string, { key: string; tok: LoadedTokenizer }>();

function getTokenizer(file: string): LoadedTokenizer {
  const abs = path.resolve(file);
  let key = '';
  try {
    const st = fs.statSync(abs);
    key = `${st.mtimeMs}:${st.size}`;
  } catch {
    tokenizers.delete(abs);
  }
  const hit = tokenizers.get(abs);
  if (hit && hit.key === key) return hit.tok;
  const tok = loadTokenizer(abs);
  tokenizers.set(abs, { key, tok });
  return tok;
}

function info(ref: ModelRef, m: LoadedModel, tok: LoadedTokenizer): ModelInfo {
  return {
    name: ref.name ?? path.basename(path.dirname(path.resolve(ref.modelPath))),
    modelPath: m.modelPath,
    tokenizerPath: path.resolve(ref.tokenizerPath),
    kind: m.causal ? 'causal' : 'bidirectional',
    layers: m.layers,
    headsPerLayer: m.headsPerLayer,
    vocabSize: m.plan.vocabRows ?? tok.idLimit,
    executionProviders: [...m.executionProviders],
  };
}

async function prepare(ref: ModelRef): Promise<{ m: LoadedModel; tok: LoadedTokenizer; stats: RunStats }> {
  const t0 = performance.now();
  const { model: m, cached } = await getModel(ref.modelPath, { executionProviders: ref.executionProviders });
  const tok = getTokenizer(ref.tokenizerPath);
  if (m.plan.vocabRows !== undefined && tok.idLimit > m.plan.vocabRows) {
    throw new EngineError(
      'tokenizer-vocab-mismatch',
      `${path.basename(ref.tokenizerPath)} can produce ids up to ${tok.idLimit - 1}, but the model's embedding has only ${m.plan.vocabRows} rows: this tokenizer belongs to another model. Use the tokenizer.json exported with this model.`,
      { tokenizerVocab: tok.idLimit, modelVocab: m.plan.vocabRows },
    );
  }
  return { m, tok, stats: { sessionCached: cached, loadMs: performance.now() - t0, tokenizeMs: 0, runMs: 0 } };
}

/**
 * Kept runs (bounded-memory mode): captured score inputs by handle, newest last. A panel needs its
 * latest explain, a comparison two: older ones are dropped so a long session cannot pile them up.
 */
const MAX_KEPT = 3;
/** The value tensors a kept explain fetched, until its `value-norms` request turns them into norms (kept then). */
interface KeptValues {
  layerSources: number[];
  fetched: Record<string, { data: Float32Array; dims: readonly number[] }>;
  ready: Promise<void>;
  norms?: Promise<ValueNorms | undefined>;
}
/** A kept explain's DLA, computed on its `dla` request (once) from what the run fetched. */
type KeptDla = () => Promise<{ dla?: DlaResult; dlaNote?: string }>;
const kept = new Map<number, { model: LoadedModel; cap: Captured; values?: KeptValues; dla?: KeptDla }>();
let nextHandle = 1;
const expired = (): EngineError =>
  new EngineError('expired', 'That explanation is no longer loaded (a newer one replaced it, or the model changed). Explain the selection again.');
const NO_VALUES = "the value tensor each layer's probabilities multiply could not be read off this graph";

function keep(model: LoadedModel, cap: Captured, values?: KeptValues): number {
  const handle = nextHandle++;
  kept.set(handle, { model, cap, values });
  while (kept.size > MAX_KEPT) release(kept.keys().next().value as number);
  return handle;
}

const keptRun = (handle: number) => kept.get(handle);

/** Routes of a kept explain whose norms come after the first paint: they read them when first traced. */
const lateRouteNorms = (handle: number) => async (): Promise<Float32Array | undefined> => {
  const n = await keptNorms(handle);
  return n?.weighting === 'value·W_O' ? n.data : undefined;
};

/** A kept explain's value norms, measured on the first ask (its `value-norms` request, or routes) from the values it kept. */
function keptNorms(handle: number): Promise<ValueNorms | undefined> {
  const k = keptRun(handle);
  if (!k) throw expired();
  const v = k.values;
  if (v && !v.norms) {
    v.norms = v.ready.then(() => allValueNorms(k.model.values!, v.layerSources, k.model.headsPerLayer, k.cap.n, v.fetched)); // a fused kernel's values are read off the kept inputs
    v.norms.finally(() => (v.fetched = {})).catch(() => undefined); // measured once: the values are not needed again
  }
  return v?.norms ?? Promise.resolve(undefined);
}

function release(handle: number): void {
  const k = kept.get(handle);
  kept.delete(handle);
  dropRoutes(handle);
  if (k) disposeCaptured(k.cap);
}

async function heads(handle: number, list: [number, number][], into?: SharedArrayBuffer): Promise<Float32Array[]> {
  const k = kept.get(handle);
  // A replaced model file gets a new session: captures of the old one must not meet the new slices.
  const current = k && (await getModel(k.model.modelPath, { executionProviders: k.model.executionProviders }).catch(() => undefined));
  if (!k || current?.model !== k.model) {
    if (k) release(handle);
    throw expired();
  }
  for (const [layer, head] of list) {
    if (!Number.isInteger(layer) || layer < 0 || layer >= k.model.layers || !Number.isInteger(head) || head < 0 || head >= k.model.headsPerLayer) {
      throw new EngineError('bad-request', `No head L${layer}H${head} in a ${k.model.layers}×${k.model.headsPerLayer} model.`);
    }
  }
  return into ? recomputeHeadsInto(k.model, k.cap, list, new Float32Array(into)) : recomputeHeads(k.model, k.cap, list);
}

type Reply = { msg: WorkerResponse; transfer: ArrayBuffer[] };
/** The requests that wait in the queue (cancel-queued and shutdown act on arrival). */
type Queued = Exclude<WorkerRequest, { type: 'cancel-queued' | 'shutdown' }>;
type RunRequest = Extract<WorkerRequest, { type: 'explain' | 'run-ids' }>;

/** One handler per queued request type: a request type without one does not compile. */
const handlers: { [T in Queued['type']]: (req: Extract<Queued, { type: T }>) => Promise<Reply> } = {
  heads: async (req) => {
    const data = await heads(req.handle, req.heads, req.into);
    return { msg: { id: req.id, type: 'heads', data }, transfer: transferList(data) };
  },
  routes: async (req) => ({ msg: { id: req.id, type: 'routes', graph: await traceRoutesFor(req.routes, req.token, req.threshold, keptRun) }, transfer: [] }),
  release: async (req) => {
    release(req.handle);
    return { msg: { id: req.id, type: 'released' }, transfer: [] };
  },
  dla: async (req) => {
    const k = keptRun(req.handle);
    if (!k?.dla) throw expired();
    return { msg: { id: req.id, type: 'dla', ...(await k.dla()) }, transfer: [] };
  },
  'value-norms': async (req) => {
    const norms = await keptNorms(req.handle);
    return { msg: { id: req.id, type: 'value-norms', ...(norms ? { valueNorms: norms } : { valueNormsNote: NO_VALUES }) }, transfer: [] };
  },
  info: async (req) => {
    const { m, tok, stats } = await prepare(req.model);
    return { msg: { id: req.id, type: 'info', model: info(req.model, m, tok), stats }, transfer: [] };
  },
  'probe-plan': async (req) => {
    const { m, tok } = await prepare(req.model);
    return { msg: { id: req.id, type: 'probe-plan', plan: await planProbe(tok, m.plan.vocabRows, m.plan.positionRows, req.seed) }, transfer: [] };
  },
  effects: async (req) => {
    const { m } = await prepare(req.model);
    const run = await measureHeadEffects(m, req.ids, req.heads); // the cut copy where the graph allows it
    return { msg: { id: req.id, type: 'effects', run }, transfer: run.deltas.map((d) => d.buffer as ArrayBuffer) };
  },
  explain: (req) => runModel(req),
  'run-ids': (req) => runModel(req),
};

async function handle(req: WorkerRequest): Promise<Reply> {
  if (req.type === 'cancel-queued' || req.type === 'shutdown') throw new EngineError('bad-request', `${req.type} is handled before the queue`);
  return (handlers[req.type] as (r: Queued) => Promise<Reply>)(req);
}

/**
 * What a run fetches besides attention, and where it lands: an explain's predictions, value tensors, DLA inputs and
 * the streams routes keep. `onExtra` fills the records as the run hands its outputs over.
 */
function extraFetches(req: RunRequest, m: LoadedModel) {
  // Predictions ride along with the explain's own run: reduced in the graph where the engine could append the
  // reduction (only [n, k] and [n] leave ORT), else from the logits read here; only summaries leave the worker.
  const why =
    req.type !== 'explain'
      ? undefined
      : !m.causal
        ? 'a bidirectional model sees every token at once, so it makes no next-token predictions'
        : !m.plan.logitsOutput
          ? 'the model has no language-model head output (logits)'
          : undefined;
  // Value-weighted attention rides along too: each layer's value tensor (values.ts).
  const layerSources = m.attention.map((_, l) => attentionSourceIndex(m, l));
  const valueNames =
    req.type === 'explain' && m.values && layerSources.every((k) => k >= 0 && m.values!.values[k])
      ? [...new Set(layerSources.map((k) => m.values!.values[k]))]
      : [];
  const next = req.type === 'explain' && !why ? predictionOutputs(m) : [];
  // A fused kernel's values are not a tensor of the run: its plan reads them off the kept inputs.
  const kernelValues = valueNames.filter((v) => m.plan.kernels.has(v));
  // Direct logit attribution too (dlaRun.ts): each layer's merged heads and the final norm's input, n·d each;
  // and what an explain keeps for routes (routesKept.ts): every layer's stream before and after attention.
  const dlaNames = req.type === 'explain' && !why ? dlaFetches(m) : [];
  const routeNames = req.type === 'explain' ? routeFetches(m) : [];
  const extra = [...new Set([...next, ...valueNames.filter((v) => !m.plan.kernels.has(v)), ...dlaNames, ...routeNames])];
  const got = {
    predicted: undefined as Record<string, ort.Tensor> | undefined,
    values: {} as Record<string, { data: Float32Array; dims: readonly number[] }>,
    dla: {} as Record<string, ort.Tensor>,
    pendingValues: [] as Promise<void>[],
  };
  const onExtra: OnExtra = (t, cap) => {
    if (next.length) got.predicted = Object.fromEntries(next.map((nm) => [nm, t[nm]]));
    for (const v of valueNames) if (t[v] && t[v].type === 'float32') got.values[v] = { data: t[v].data as Float32Array, dims: t[v].dims };
    for (const v of [...dlaNames, ...routeNames]) if (t[v]) got.dla[v] = t[v];
    for (const v of kernelValues) {
      if (!cap) continue;
      const get = (name: string) => cap.tensors[name] ?? cap.inputs[name];
      got.pendingValues.push(
        m.plan.kernels
          .get(v)!
          .values(get)
          .then((r) => {
            if (r) got.values[v] = r;
          }),
      );
    }
  };
  return { why, layerSources, valueNames, routeNames, extra, got, onExtra };
}

/** An explain or a run of ids: attention (or a kept run's handle) with whatever rides along. */
async function runModel(req: RunRequest): Promise<Reply> {
  const { m, tok, stats } = await prepare(req.model);
  const { ids, tokens, truncatedFrom } =
    req.type === 'explain' ? await explainInput(req, m, tok, stats) : { ...idsInput(req, m, tok), truncatedFrom: undefined };
  const t2 = performance.now();
  const mask = req.type === 'run-ids' ? req.attentionMask : undefined;
  const { why, layerSources, valueNames, routeNames, extra, got, onExtra } = extraFetches(req, m);
  let kept: { handle: number; bytes: number } | undefined;
  let attention;
  // A kept explain paints before its analysis: its value norms are measured after that, on request.
  const lateNorms = Boolean(req.keep && m.recompute && valueNames.length);
  if (req.keep && m.recompute) {
    const cap = await captureRun(m, ids, mask, extra, onExtra);
    const ready = Promise.all(got.pendingValues).then(() => undefined);
    ready.catch(() => undefined); // awaited by the value-norms request, which may never come
    kept = { handle: keep(m, cap, lateNorms ? { layerSources, fetched: got.values, ready } : undefined), bytes: cap.bytes };
    attention = { layers: m.layers, headsPerLayer: m.headsPerLayer, seq: ids.length, causal: m.causal, data: [] };
  } else {
    attention = await runAttention(m, ids, mask, extra, onExtra);
  }
  stats.runMs = performance.now() - t2;
  const predictions = got.predicted ? await predict(tok, m, got.predicted, ids) : undefined;
  if (!lateNorms) await Promise.all(got.pendingValues);
  const norms = valueNames.length && !lateNorms ? await allValueNorms(m.values!, layerSources, m.headsPerLayer, ids.length, got.values) : undefined;
  // A kept explain paints before its DLA (0.3 s at 512 tokens on the GPT-2-small shape): the pipeline asks for it once the heads are streamed.
  const lateDla = Boolean(kept && req.type === 'explain');
  if (kept && lateDla) {
    let once: ReturnType<KeptDla> | undefined;
    keptRun(kept.handle)!.dla = () => (once ??= runDla(m, got.dla, ids, predictions, why));
  }
  const dla = req.type === 'explain' && !lateDla ? await runDla(m, got.dla, ids, predictions, why) : undefined;
  const routes =
    req.type !== 'explain'
      ? {}
      : !routeNames.length
        ? { routesNote: routesRefusal(m) }
        : keepRoutes(
            m,
            got.dla,
            ids,
            lateNorms && kept ? lateRouteNorms(kept.handle) : norms?.weighting === 'value·W_O' ? norms.data : undefined,
            kept ? { handle: kept.handle } : { attention: attention.data },
            got.values,
          );
  const result = {
    model: info(req.model, m, tok),
    tokens,
    attention,
    truncatedFrom,
    stats,
    ...(kept ? { kept } : {}),
    ...(predictions ? { predictions } : why ? { predictionsNote: why } : {}),
    ...(norms ? { valueNorms: norms } : lateNorms ? { valueNormsPending: true } : req.type === 'explain' ? { valueNormsNote: NO_VALUES } : {}),
    ...dla,
    ...(lateDla ? { dlaPending: true } : {}),
    ...routes,
  };
  if (kept) return { msg: { id: req.id, type: 'done', result }, transfer: [] };
  return { msg: { id: req.id, type: 'done', result }, transfer: attention.data.map((d) => d.buffer as ArrayBuffer) };
}

/** What an explain fetches for its predictions: the graph's reduction (nextTokenGraph.ts), else the logits. */
function predictionOutputs(m: LoadedModel): string[] {
  const r = m.nextToken;
  return r ? nextTokenFetches(r) : [m.plan.logitsOutput!];
}

/** Top-k, actual-next-token probability and loss, with the top tokens decoded: from the reduced outputs, or from [1, n, V] logits. */
async function predict(tok: LoadedTokenizer, m: LoadedModel, t: Record<string, ort.Tensor>, ids: number[]): Promise<Predictions> {
  const n = ids.length;
  const r = m.nextToken;
  let p;
  if (r) {
    p = predictionsFromOutputs(t, r, ids);
  } else {
    const logits = t[m.plan.logitsOutput!];
    const V = Number(logits.dims[logits.dims.length - 1]);
    const raw = logits.data as ArrayLike<number>;
    p = predictionsFrom(logits.type === 'float16' ? halfToFloat32(raw) : raw, n, V, ids);
  }
  for (const x of Object.values(t)) x.dispose?.();
  const uniq = [...new Set(p.topIds)];
  const texts = await tok.tokenizer.decodeBatch(
    uniq.map((id) => [id]),
    false,
  );
  const text = new Map(uniq.map((id, k) => [id, texts[k]]));
  return { k: p.k, topIds: p.topIds, topP: p.topP, topText: Array.from(p.topIds, (id) => text.get(id) ?? String(id)), actualP: p.actualP, loss: p.loss };
}

// Serial queue: one inference at a time (ORT already uses both cores); queued requests can be dropped.
const queue: WorkerRequest[] = [];
let busy = false;
let closing = false;
async function pump(): Promise<void> {
  if (busy) return;
  busy = true;
  while (queue.length && !closing) {
    const req = queue.shift()!;
    parentPort!.postMessage({ id: req.id, type: 'started' } satisfies WorkerResponse);
    try {
      const { msg, transfer } = await handle(req);
      parentPort!.postMessage(msg, transfer);
    } catch (e) {
      const error =
        e instanceof EngineError ? e.toJSON() : { code: 'inference-failed' as const, message: `Engine failure: ${(e as Error)?.message ?? String(e)}` };
      parentPort!.postMessage({ id: req.id, type: 'error', error } satisfies WorkerResponse);
    }
    // Let pending control messages (cancel-queued, shutdown) in before the next request starts.
    await new Promise((r) => setImmediate(r));
  }
  busy = false;
  if (closing) parentPort!.close();
}

parentPort?.on('message', (req: WorkerRequest) => {
  if (req.type === 'shutdown') {
    closing = true;
    queue.length = 0;
    if (!busy) parentPort!.close(); // nothing left to keep the thread alive: it exits normally
    return;
  }
  if (req.type === 'cancel-queued') {
    const i = queue.findIndex((q) => q.id === req.target);
    if (i >= 0) queue.splice(i, 1);
    return;
  }
  queue.push(req);
  void pump();
});
