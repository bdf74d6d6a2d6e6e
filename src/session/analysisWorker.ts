// Worker entry: the analysis (metrics, roles, repeat-probe scores) and the panel's thumbnails, off the
// extension host's main thread — 144 heads at 1,024 tokens is ~10⁸ weights, about a second of work.
import { parentPort } from 'node:worker_threads';
import { analyzeHeads, headAnalyzer, LayerSums, PathwayBuilder, scoreRepeatProbe, valueWeighted, type HeadAnalyzer, type HeadReport, type Pathway } from '../analysis';
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
  if (!want || want[0] !== layer || want[1] !== head) throw new RangeError(`stream expected ${want ? `L${want[0]}H${want[1]}` : 'no more heads'}, got L${layer}H${head}`);
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

port.on('message', (req: AnalysisRequest) => {
  const reply = (msg: AnalysisResponse, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);
  try {
    if (req.type === 'analyze') {
      const t0 = performance.now();
      const reports = analyzeHeads(req.attention, req.tokens, { probe: req.probe, syntax: req.syntax });
      const thumbnails: Uint8Array[] = [];
      const a = req.attention;
      for (let l = 0; l < a.layers; l++) for (let h = 0; h < a.headsPerLayer; h++) thumbnails.push(thumbnail(a, l, h, req.thumbSize));
      reply({ id: req.id, type: 'analyzed', attention: a, reports, thumbnails, ms: performance.now() - t0 },
        [...buffersOf(a), ...thumbnails.map((t) => t.buffer as ArrayBuffer)]);
    } else if (req.type === 'syntax') {
      // Async (a grammar loads on first use): answered when the parse is done; errors answer like the rest.
      buildSyntax(req.tokens, req.context).then(
        (syntax) => reply({ id: req.id, type: 'syntax-built', syntax }),
        (e: unknown) => reply({ id: req.id, type: 'error', message: e instanceof Error ? e.message : String(e) }),
      );
    } else if (req.type === 'score-probe') {
      const scores = scoreRepeatProbe(req.attention, req.ids, req.T);
      reply({ id: req.id, type: 'probe-scored', attention: req.attention, scores }, buffersOf(req.attention));
    } else if (req.type === 'stream-begin') {
      const { shape, job } = req;
      const s: Stream = { order: streamOrder(shape, job.kind), at: 0, shape, job, t0: performance.now(), reports: [], thumbnails: [] };
      if (job.kind === 'analyze') s.analyzer = headAnalyzer(shape, job.tokens, { probe: job.probe, syntax: job.syntax });
      else if (job.kind === 'flow') {
        if (!Number.isInteger(job.token) || job.token < 0 || job.token >= shape.seq) throw new RangeError(`token ${job.token} outside 0..${shape.seq - 1}`);
        if (job.flowCache !== undefined && !job.valueNorms && flowCacheFits(shape)) s.sums = [];
        else s.pathway = new PathwayBuilder(shape, job.token);
      }
      streams.set(req.stream, s);
      reply({ id: req.id, type: 'stream-ok' });
    } else if (req.type === 'stream-heads') {
      const s = streams.get(req.stream);
      if (!s) throw new RangeError(`no stream ${req.stream}`);
      try {
        req.heads.forEach(([l, h], i) => feed(s, l, h, req.data[i]));
      } catch (e) {
        streams.delete(req.stream);
        throw e;
      }
      reply({ id: req.id, type: 'stream-ok' });
    } else if (req.type === 'stream-end') {
      const s = streams.get(req.stream);
      streams.delete(req.stream);
      if (!s) throw new RangeError(`no stream ${req.stream}`);
      if (s.at !== s.order.length) throw new RangeError(`stream ended after ${s.at} of ${s.order.length} heads`);
      if (s.job.kind === 'analyze') {
        reply({ id: req.id, type: 'stream-analyzed', reports: s.reports, thumbnails: s.thumbnails, ms: performance.now() - s.t0 }, s.thumbnails.map((t) => t.buffer as ArrayBuffer));
      } else if (s.job.kind === 'value-thumbs') {
        reply({ id: req.id, type: 'stream-thumbs', thumbnails: s.thumbnails }, s.thumbnails.map((t) => t.buffer as ArrayBuffer));
      } else if (s.sums) {
        const cache = { shape: s.shape, sums: s.sums };
        flowCaches.delete(s.job.flowCache!);
        flowCaches.set(s.job.flowCache!, cache);
        while (flowCaches.size > MAX_FLOW_CACHES) flowCaches.delete(flowCaches.keys().next().value as number);
        const r = flowReply(req.id, cachedPathway(cache, s.job.token));
        reply(r.msg, r.transfer);
      } else {
        const r = flowReply(req.id, s.pathway!.result());
        reply(r.msg, r.transfer);
      }
    } else if (req.type === 'flow-cached') {
      const c = flowCaches.get(req.key);
      if (!c) reply({ id: req.id, type: 'flow-miss' });
      else {
        const r = flowReply(req.id, cachedPathway(c, req.token));
        reply(r.msg, r.transfer);
      }
    } else if (req.type === 'flow-drop') {
      flowCaches.delete(req.key);
      reply({ id: req.id, type: 'stream-ok' });
    }
  } catch (e) {
    const attention = req.type === 'analyze' || req.type === 'score-probe' ? req.attention : undefined;
    reply({ id: req.id, type: 'error', message: e instanceof Error ? e.message : String(e), attention }, attention ? buffersOf(attention) : []);
  }
});
