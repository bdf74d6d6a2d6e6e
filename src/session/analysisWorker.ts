// Worker entry: the analysis (metrics, roles, repeat-probe scores) and the panel's thumbnails, off the
// extension host's main thread — 144 heads at 1,024 tokens is ~10⁸ weights, about a second of work.
import { parentPort } from 'node:worker_threads';
import { analyzeHeads, headAnalyzer, LayerSums, PathwayBuilder, scoreRepeatProbe, valueWeighted, type HeadAnalyzer, type HeadReport, type Pathway } from '../analysis';
import { buildSyntax } from '../analysis/syntax';
import { thumbnail, thumbnailOf } from './wire';
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
  valueThumbnails?: Uint8Array[];
  pathway?: PathwayBuilder;
  sums?: LayerSums[];
}
const streams = new Map<number, Stream>();

/** Flow caches of kept sessions (the panel's latest and one more), by the key the pipeline chose. */
const MAX_FLOW_CACHES = 2;
const flowCaches = new Map<number, { shape: StreamShape; sums: LayerSums[] }>();

function flowReply(id: number, p: Pathway): { msg: AnalysisResponse; transfer: ArrayBuffer[] } {
  const layers = p.perLayer.map((v) => Float32Array.from(v));
  return { msg: { id, type: 'stream-flow', token: p.token, layers }, transfer: layers.map((v) => v.buffer as ArrayBuffer) };
}

function feed(s: Stream, layer: number, head: number, A: Float32Array): void {
  const want = s.order[s.at];
  if (!want || want[0] !== layer || want[1] !== head) throw new RangeError(`stream expected ${want ? `L${want[0]}H${want[1]}` : 'no more heads'}, got L${layer}H${head}`);
  s.at++;
  if (s.job.kind === 'analyze') {
    s.reports.push(s.analyzer!.analyze(layer, head, A));
    s.thumbnails.push(thumbnailOf(A, s.shape.seq, s.job.thumbSize));
    if (s.valueThumbnails) s.valueThumbnails.push(thumbnailOf(A, s.shape.seq, s.job.thumbSize, normsOf(s.job.valueNorms!, s.shape, layer, head)));
    if (s.sums) {
      if (!s.sums[layer]) s.sums[layer] = new LayerSums(layer, s.shape.seq, s.shape.causal, s.shape.headsPerLayer);
      s.sums[layer].add(A);
    }
  } else {
    s.pathway!.feed(s.job.valueNorms ? valueWeighted(A, s.shape.seq, normsOf(s.job.valueNorms, s.shape, layer, head)) : A);
  }
}

/** One head's key norms out of the engine's [layers × heads × n]. */
function normsOf(all: Float32Array, shape: StreamShape, layer: number, head: number): Float32Array {
  const n = shape.seq, k = layer * shape.headsPerLayer + head;
  return all.subarray(k * n, (k + 1) * n);
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
      const valueThumbnails = req.valueNorms ? [] as Uint8Array[] : undefined;
      const shape = { layers: a.layers, headsPerLayer: a.headsPerLayer, seq: a.seq, causal: a.causal };
      if (valueThumbnails) for (let l = 0; l < a.layers; l++) for (let h = 0; h < a.headsPerLayer; h++) {
        const A = a.data[l].subarray(h * a.seq * a.seq, (h + 1) * a.seq * a.seq);
        valueThumbnails.push(thumbnailOf(A, a.seq, req.thumbSize, normsOf(req.valueNorms!, shape, l, h)));
      }
      reply({ id: req.id, type: 'analyzed', attention: a, reports, thumbnails, ...(valueThumbnails ? { valueThumbnails } : {}), ms: performance.now() - t0 },
        [...buffersOf(a), ...thumbnails.map((t) => t.buffer as ArrayBuffer), ...(valueThumbnails ?? []).map((t) => t.buffer as ArrayBuffer)]);
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
      const s: Stream = { order: streamOrder(shape, job.kind), at: 0, shape, job, t0: performance.now(), reports: [], thumbnails: [], ...(job.kind === 'analyze' && job.valueNorms ? { valueThumbnails: [] } : {}) };
      if (job.kind === 'analyze') {
        s.analyzer = headAnalyzer(shape, job.tokens, { probe: job.probe, syntax: job.syntax });
        if (job.flowCache !== undefined && flowCacheFits(shape)) s.sums = [];
      }
      else s.pathway = new PathwayBuilder(shape, job.token);
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
        if (s.sums && s.job.flowCache !== undefined && s.sums.every((x) => x.complete)) {
          flowCaches.delete(s.job.flowCache);
          flowCaches.set(s.job.flowCache, { shape: s.shape, sums: s.sums });
          while (flowCaches.size > MAX_FLOW_CACHES) flowCaches.delete(flowCaches.keys().next().value as number);
        }
        reply({ id: req.id, type: 'stream-analyzed', reports: s.reports, thumbnails: s.thumbnails, ...(s.valueThumbnails ? { valueThumbnails: s.valueThumbnails } : {}), ms: performance.now() - s.t0 },
          [...s.thumbnails, ...(s.valueThumbnails ?? [])].map((t) => t.buffer as ArrayBuffer));
      } else {
        const r = flowReply(req.id, s.pathway!.result());
        reply(r.msg, r.transfer);
      }
    } else if (req.type === 'flow-cached') {
      const c = flowCaches.get(req.key);
      if (!c) reply({ id: req.id, type: 'flow-miss' });
      else {
        const b = new PathwayBuilder(c.shape, req.token);
        for (let want = b.next(); want; want = b.next()) b.feedLayer(c.sums[want[0]]);
        const r = flowReply(req.id, b.result());
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
