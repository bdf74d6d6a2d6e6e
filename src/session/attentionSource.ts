// Where a shown session's attention comes from when the panel asks for a head or a pathway: memory
// (a materialised AttentionSet, a dump reader) or a kept engine run whose heads are recomputed on
// demand (bounded-memory mode: nothing n²-sized stays anywhere between requests).
import type { EngineClient, RunOptions } from '../engine';
import { EngineError } from '../core/errors';
import type { AttentionSet } from '../engine/types';
import { SHARED_HEADS_FROM_BYTES } from '../engine/workerProtocol';
import { checkHead, type HeadReader } from '../analysis';
import type { RequestMap, RequestMethod } from '../protocol';
import type { AnalysisClient } from './analysisClient';
import { streamOrder, type StreamJob, type StreamShape } from './analysisProtocol';
import { answerPanelRequest, headMatrix, noValueNorms, THUMB_SIZE } from './wire';

export interface AttentionSource {
  request<M extends RequestMethod>(method: M, params: RequestMap[M]['params']): Promise<RequestMap[M]['result']>;
  dispose(): void;
}

export function memorySource(att: AttentionSet | HeadReader, valueNorms?: Float32Array): AttentionSource {
  return { request: async (method, params) => answerPanelRequest(att, method, params, valueNorms), dispose: () => undefined };
}

/**
 * Heads per engine → analysis message: a layer at a time (small chunks keep the engine and the analysis
 * busy together instead of one waiting for the other's first and last chunk), fewer when a layer would
 * exceed STREAM_CHUNK_BYTES — one head at a time at 4,096 tokens. Three chunks are alive at the peak (the one
 * being measured, the one in flight, the one being recomputed): 64 MB rather than 128 MB took the long-context
 * model's 4,096-token explain from 3.82–3.85 to 3.66–3.70 GB peak RSS (interleaved, 2 runs each).
 */
export const STREAM_CHUNK_BYTES = 64 * 2 ** 20;
export function chunkHeads(order: [number, number][], seq: number, headsPerLayer = Infinity): [number, number][][] {
  const per = Math.max(1, Math.min(headsPerLayer, Math.floor(STREAM_CHUNK_BYTES / (seq * seq * 4))));
  const out: [number, number][][] = [];
  for (let i = 0; i < order.length; i += per) out.push(order.slice(i, i + per));
  return out;
}

/**
 * Heads over SHARED_HEADS_FROM_BYTES come back in one of two SharedArrayBuffer slots that pumpHeads reuses, chunk
 * after chunk, where a fresh buffer per head cost 16,400 page faults at 4,096 tokens (engine/rowBlocks.ts). These
 * are the last finished pump's slots, for the next one of the same size (fresh ones are faulted in once more).
 */
let spareSlots: SharedArrayBuffer[] | undefined;
function takeSlots(bytes: number): SharedArrayBuffer[] {
  const s = spareSlots?.[0].byteLength === bytes ? spareSlots : undefined;
  spareSlots = undefined; // a pump running beside this one gets slots of its own
  return s ?? [new SharedArrayBuffer(bytes), new SharedArrayBuffer(bytes)];
}

/**
 * Move a kept run's heads from the engine into an analysis stream, in the order the job reads them.
 * The engine recomputes chunk k+1 while the analysis worker measures chunk k; at most two chunks are
 * alive at once, so memory stays at ~2 × STREAM_CHUNK_BYTES (plus the engine's arena) whatever the length.
 */
export async function pumpHeads(
  engine: EngineClient,
  analysis: AnalysisClient,
  handle: number,
  shape: StreamShape,
  kind: StreamJob['kind'],
  stream: number,
  /** onEngineDone: the engine has recomputed the last chunk (the analysis has it still to measure) — free for other work. */
  opts: RunOptions & { onProgress?: (done: number, total: number) => void; onEngineDone?: () => void } = {},
): Promise<void> {
  let feeding: Promise<void> = Promise.resolve();
  let slots: SharedArrayBuffer[] | undefined;
  const total = shape.layers * shape.headsPerLayer;
  let done = 0;
  try {
    const chunks = chunkHeads(streamOrder(shape, kind), shape.seq, shape.headsPerLayer);
    // Chunk c is written into slot c % 2 while the analysis reads chunk c - 1 from the other; chunk c - 2's
    // analysis, the slot's last reader, has finished (awaited below) before chunk c is asked for.
    const headBytes = shape.seq * shape.seq * 4;
    slots = headBytes > SHARED_HEADS_FROM_BYTES && chunks.length > 1 ? takeSlots(Math.max(...chunks.map((ch) => ch.length)) * headBytes) : undefined;
    for (const [c, chunk] of chunks.entries()) {
      if (opts.signal?.aborted) throw new EngineError('cancelled', 'The request was cancelled.');
      const data = await engine.heads(handle, chunk, { signal: opts.signal, ...(slots ? { into: slots[c % 2] } : {}) });
      if (c === chunks.length - 1) opts.onEngineDone?.();
      await feeding;
      opts.onProgress?.(done, total);
      done += chunk.length;
      feeding = analysis.streamHeads(stream, chunk, data);
    }
    await feeding;
    if (slots) spareSlots = slots; // nothing reads them any more
  } catch (e) {
    await feeding.catch(() => undefined);
    throw e; // the slots are dropped: a cancelled engine request may still be writing into one
  }
}

/** A kept engine run: head matrices recomputed one at a time, pathways streamed through the analysis worker. */
export class KeptSource implements AttentionSource {
  private released = false;
  private static nextFlowKey = 1;
  private readonly flowKey = KeptSource.nextFlowKey++;

  constructor(
    private readonly engine: EngineClient,
    private readonly analysis: AnalysisClient,
    readonly handle: number,
    readonly shape: StreamShape,
    private valueNorms?: Float32Array,
  ) {}

  /** The run's value norms, when they are measured after the first paint (the pipeline's late request). */
  setValueNorms(norms: Float32Array | undefined): void {
    this.valueNorms = norms;
  }

  async request<M extends RequestMethod>(method: M, params: RequestMap[M]['params']): Promise<RequestMap[M]['result']> {
    if (this.released) throw new EngineError('expired', 'That explanation is no longer loaded; explain the selection again.');
    const { layers, headsPerLayer, seq, causal } = this.shape;
    if (method === 'head/matrix') {
      const p = params as RequestMap['head/matrix']['params'];
      checkHead({ ...this.shape, head: () => new Float32Array(0) }, p.layer, p.head); // same RangeError as a session in memory
      const [A] = await this.engine.heads(this.handle, [[p.layer, p.head]]);
      const reader: HeadReader = { layers, headsPerLayer, seq, causal, head: () => A };
      return headMatrix(reader, p.layer, p.head);
    }
    if (method === 'heads/valueThumbnails') {
      if (!this.valueNorms) throw new Error(noValueNorms('there are no value-weighted thumbnails'));
      // Made once per run, on first use: every head streamed through the analysis worker again.
      this.valueThumbs ??= this.stream({ kind: 'value-thumbs', thumbSize: THUMB_SIZE, valueNorms: this.valueNorms }, (s) =>
        this.analysis.streamThumbnails(s),
      ).then((thumbnails) => ({ thumbSize: THUMB_SIZE, thumbnails }));
      this.valueThumbs.catch(() => (this.valueThumbs = undefined)); // failed or cancelled: made again when asked again
      return this.valueThumbs;
    }
    const p = params as RequestMap['flow/rollout']['params'];
    if (!Number.isInteger(p.token) || p.token < 0 || p.token >= seq) throw new RangeError(`No token ${p.token} in this explanation.`);
    const value = p.weighting === 'value';
    if (value && !this.valueNorms) throw new Error(noValueNorms('Flow can only follow the attention weights'));
    // The first attention pathway of a run leaves each layer's head sums behind (when they fit): later tokens
    // recompute no head.
    const cached = value ? undefined : await this.analysis.cachedFlow(this.flowCacheKey, p.token);
    if (cached) return { token: cached.token, layers: cached.layers } as RequestMap[M]['result'];
    const f = await this.stream({ kind: 'flow', token: p.token, ...(value ? { valueNorms: this.valueNorms } : { flowCache: this.flowCacheKey }) }, (s) =>
      this.analysis.streamFlow(s),
    );
    return { token: f.token, layers: f.layers } as RequestMap[M]['result'];
  }

  private valueThumbs: Promise<RequestMap['heads/valueThumbnails']['result']> | undefined;

  /** Every head of the run through one analysis stream job; `end` reads its answer (and frees a half-fed stream on failure). */
  private async stream<T>(job: StreamJob, end: (stream: number) => Promise<T>): Promise<T> {
    const stream = await this.analysis.streamBegin(this.shape, job);
    try {
      await pumpHeads(this.engine, this.analysis, this.handle, this.shape, job.kind, stream);
    } catch (e) {
      await end(stream).catch(() => undefined); // ends (and frees) the half-fed stream
      throw e;
    }
    return end(stream);
  }

  /** The analysis worker's flow-cache key for this run (the pipeline passes it to the streamed analysis). */
  get flowCacheKey(): number {
    return this.flowKey;
  }

  dispose(): void {
    if (this.released) return;
    this.released = true;
    void this.engine.release(this.handle);
    void this.analysis.dropFlowCache(this.flowKey);
  }
}
