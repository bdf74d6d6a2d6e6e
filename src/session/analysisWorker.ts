// Worker entry: the analysis (metrics, roles, repeat-probe scores) and the panel's thumbnails, off the
// extension host's main thread — 144 heads at 1,024 tokens is ~10⁸ weights, about a second of work.
import { parentPort } from 'node:worker_threads';
import {
  analyzeHeads,
  headAnalyzer,
  LayerSums,
  PathwayBuilder,
  scoreRepeatProbe,
  valueWeighted,
  type HeadAnalyzer,
  type HeadReport,
  type Pathway,
} from '../analysis';
import { buildSyntax } from '../analysis/syntax';
import { headNorms, thumbnail, thumbnailOf } from './wire';
import { buffersOf, flowCacheFits, streamOrder, type AnalysisRequest, type AnalysisResponse, type StreamJob, type StreamShape } from './analysisProtocol';

const port = parentPort;
if (!port) throw new Error('analysisWorker must run in a worker thread');

/** A stream in progress: what it expects next and what it has built so far. */
interface Stream {
  order: [number, number][];
  at: number;
  shape: StreamShape;
  job: StreamJob;
  t0: number;
  analyzer?: HeadAnalyzer;
  reports: HeadReport[];
  thumbnails: Uint8Array[];
  pathway?: PathwayBuilder;
  /** A flow job that fills the Flow cache: each layer's head sums (the pathway is read off them at the end). */
  sums?: LayerSums[];
}
const streams = new Map<number, Stream>();

/** Flow caches of kept sessions (the panel's latest and one more), by the key the pipeline chose. */
const MAX_FLOW_CACHES = 2;
const flowCaches = new Map<number, { shape: StreamShape; sums: LayerSums[] }>();

function flowReply(id: number, p: Pathway): { msg: AnalysisResponse; transfer: ArrayBuffer[] } {
  const layers = p.perLayer.map((v) => Float32Array.from(v));
  return { msg: { id, type: 'stream-flow', token: p.token, layers }, transfer: layers.map((v) => v.buffer) };
}

function feed(s: Stream, layer: number, head: number, A: Float32Array): void {
  const want = s.order[s.at];
  if (!want || want[0] !== layer || want[1] !== head)
    throw new RangeError(`stream expected ${want ? `L${want[0]}H${want[1]}` : 'no more heads'}, got L${layer}H${head}`);
  s.at++;
  const job = s.job;
  if (job.kind === 'analyze') {
    s.reports.push(s.analyzer!.analyze(layer, head, A));
    s.thumbnails.push(thumbnailOf(A, s.shape.seq, job.thumbSize, undefined, s.shape.causal));
  } else if (job.kind === 'value-thumbs') {
    s.thumbnails.push(thumbnailOf(A, s.shape.seq, job.thumbSize, headNorms(job.valueNorms, s.shape, layer, head), s.shape.causal));
  } else if (s.sums) {
    (s.sums[layer] ??= new LayerSums(layer, s.shape.seq, s.shape.causal, s.shape.headsPerLayer)).add(A);
  } else {
    s.pathway!.feed(job.valueNorms ? valueWeighted(A, s.shape.seq, headNorms(job.valueNorms, s.shape, layer, head)) : A);
  }
}

/** A pathway read off a Flow cache's layer sums (bit-identical to one fed the heads: rollout.ts). */
function cachedPathway(c: { shape: StreamShape; sums: LayerSums[] }, token: number): Pathway {
  const b = new PathwayBuilder(c.shape, token);
  for (let want = b.next(); want; want = b.next()) b.feedLayer(c.sums[want[0]]);
  return b.result();
}

type Reply = { msg: AnalysisResponse; transfer?: ArrayBuffer[] };

/** A stream's end: the analysis, the thumbnails or the pathway (kept as a Flow cache when it was built as one). */
function endStream(id: number, stream: number): Reply {
  const s = streams.get(stream);
  streams.delete(stream);
  if (!s) throw new RangeError(`no stream ${stream}`);
  if (s.at !== s.order.length) throw new RangeError(`stream ended after ${s.at} of ${s.order.length} heads`);
  if (s.job.kind === 'analyze') {
    return {
      msg: { id, type: 'stream-analyzed', reports: s.reports, thumbnails: s.thumbnails, ms: performance.now() - s.t0 },
      transfer: s.thumbnails.map((t) => t.buffer as ArrayBuffer),
    };
  }
  if (s.job.kind === 'value-thumbs')
    return { msg: { id, type: 'stream-thumbs', thumbnails: s.thumbnails }, transfer: s.thumbnails.map((t) => t.buffer as ArrayBuffer) };
  if (!s.sums) return flowReply(id, s.pathway!.result());
  const cache = { shape: s.shape, sums: s.sums };
  flowCaches.delete(s.job.flowCache!);
  flowCaches.set(s.job.flowCache!, cache);
  while (flowCaches.size > MAX_FLOW_CACHES) flowCaches.delete(flowCaches.keys().next().value as number);
  return flowReply(id, cachedPathway(cache, s.job.token));
}

/** One handler per request type (a type without one does not compile); only `syntax` answers later. */
const handlers: { [T in AnalysisRequest['type']]: (req: Extract<AnalysisRequest, { type: T }>) => Reply | Promise<Reply> } = {
  analyze: (req) => {
    const t0 = performance.now();
    const reports = analyzeHeads(req.attention, req.tokens, { probe: req.probe, syntax: req.syntax });
    const thumbnails: Uint8Array[] = [];
    const a = req.attention;
    for (let l = 0; l < a.layers; l++) for (let h = 0; h < a.headsPerLayer; h++) thumbnails.push(thumbnail(a, l, h, req.thumbSize));
    return {
      msg: { id: req.id, type: 'analyzed', attention: a, reports, thumbnails, ms: performance.now() - t0 },
      transfer: [...buffersOf(a), ...thumbnails.map((t) => t.buffer as ArrayBuffer)],
    };
  },
  // Async (a grammar loads on first use): answered when the parse is done; errors answer like the rest.
  syntax: async (req) => ({ msg: { id: req.id, type: 'syntax-built', syntax: await buildSyntax(req.tokens, req.context) } }),
  'score-probe': (req) => ({
    msg: { id: req.id, type: 'probe-scored', attention: req.attention, scores: scoreRepeatProbe(req.attention, req.ids, req.T) },
    transfer: buffersOf(req.attention),
  }),
  'stream-begin': (req) => {
    const { shape, job } = req;
    const s: Stream = { order: streamOrder(shape, job.kind), at: 0, shape, job, t0: performance.now(), reports: [], thumbnails: [] };
    if (job.kind === 'analyze') s.analyzer = headAnalyzer(shape, job.tokens, { probe: job.probe, syntax: job.syntax });
    else if (job.kind === 'flow') {
      if (!Number.isInteger(job.token) || job.token < 0 || job.token >= shape.seq) throw new RangeError(`token ${job.token} outside 0..${shape.seq - 1}`);
      if (job.flowCache !== undefined && !job.valueNorms && flowCacheFits(shape)) s.sums = [];
      else s.pathway = new PathwayBuilder(shape, job.token);
    }
    streams.set(req.stream, s);
    return { msg: { id: req.id, type: 'stream-ok' } };
  },
  'stream-heads': (req) => {
    const s = streams.get(req.stream);
    if (!s) throw new RangeError(`no stream ${req.stream}`);
    try {
      req.heads.forEach(([l, h], i) => feed(s, l, h, req.data[i]));
    } catch (e) {
      streams.delete(req.stream);
      throw e;
    }
    return { msg: { id: req.id, type: 'stream-ok' } };
  },
  'stream-end': (req) => endStream(req.id, req.stream),
  'flow-cached': (req) => {
    const c = flowCaches.get(req.key);
    return c ? flowReply(req.id, cachedPathway(c, req.token)) : { msg: { id: req.id, type: 'flow-miss' } };
  },
  'flow-drop': (req) => {
    flowCaches.delete(req.key);
    return { msg: { id: req.id, type: 'stream-ok' } };
  },
};

port.on('message', (req: AnalysisRequest) => {
  const reply = (r: Reply) => port.postMessage(r.msg, r.transfer ?? []);
  const fail = (e: unknown) => {
    const attention = req.type === 'analyze' || req.type === 'score-probe' ? req.attention : undefined;
    reply({
      msg: { id: req.id, type: 'error', message: e instanceof Error ? e.message : String(e), attention },
      transfer: attention ? buffersOf(attention) : [],
    });
  };
  let out: Reply | Promise<Reply>;
  try {
    out = (handlers[req.type] as (r: AnalysisRequest) => Reply | Promise<Reply>)(req);
  } catch (e) {
    fail(e);
    return;
  }
  // Synchronous answers go at once, as before: only the syntax parse answers later.
  if (out instanceof Promise) out.then(reply, fail);
  else reply(out);
});
