// Runs the analysis in a worker thread. The attention is moved there and back (zero-copy), so the caller
// must not touch it while a request is in flight — every method resolves with the attention handed back.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { AttentionSet, Token } from '../engine/types';
import type { HeadReport, ProbeHeadScore } from '../analysis';
import type { SyntaxContext, SyntaxInfo } from '../analysis/syntax/types';
import { PendingRequests } from '../protocol/ipc';
import { buffersOf, type AnalysisRequest, type AnalysisResponse, type StreamJob, type StreamShape } from './analysisProtocol';
import { transferList } from '../core/transfer';

export class AnalysisClient {
  private worker?: Worker;
  private readonly pending = new PendingRequests<AnalysisResponse>(() => {
    if (this.pending.size === 0) this.worker?.unref(); // an idle worker must not keep the process alive
  });

  constructor(private readonly workerPath?: string) {}

  async analyze(
    attention: AttentionSet,
    tokens: Token[],
    probe: ProbeHeadScore[] | undefined,
    thumbSize: number,
    syntax?: SyntaxInfo,
  ): Promise<{ attention: AttentionSet; reports: HeadReport[]; thumbnails: Uint8Array[]; ms: number }> {
    const r = await this.send({ id: 0, type: 'analyze', attention, tokens, probe, thumbSize, ...(syntax ? { syntax } : {}) }, attention);
    if (r.type !== 'analyzed') throw new Error('analysis worker answered out of turn');
    return r;
  }

  /** Parse (code) or tag (prose) the tokens' text in the worker: the syntax roles' gold edges and targets. */
  async syntax(tokens: Token[], context: SyntaxContext): Promise<SyntaxInfo> {
    const r = await this.send({ id: 0, type: 'syntax', tokens, context }, []);
    if (r.type !== 'syntax-built') throw new Error('analysis worker answered out of turn');
    return r.syntax;
  }

  async scoreProbe(attention: AttentionSet, ids: number[], T: number): Promise<{ attention: AttentionSet; scores: ProbeHeadScore[] }> {
    const r = await this.send({ id: 0, type: 'score-probe', attention, ids, T }, attention);
    if (r.type !== 'probe-scored') throw new Error('analysis worker answered out of turn');
    return r;
  }

  private nextStream = 1;

  /** Start a streamed job (kept runs): heads then come through `streamHeads` in `streamOrder`. */
  async streamBegin(shape: StreamShape, job: StreamJob): Promise<number> {
    const stream = this.nextStream++;
    await this.send({ id: 0, type: 'stream-begin', stream, shape, job }, []);
    return stream;
  }

  /**
   * Move heads into the stream (their buffers are transferred: the caller must not use them again; views into a
   * SharedArrayBuffer are shared, and read only until this resolves).
   */
  async streamHeads(stream: number, heads: [number, number][], data: Float32Array[]): Promise<void> {
    await this.send({ id: 0, type: 'stream-heads', stream, heads, data }, transferList(data));
  }

  async streamAnalyzed(stream: number): Promise<{ reports: HeadReport[]; thumbnails: Uint8Array[]; ms: number }> {
    const r = await this.send({ id: 0, type: 'stream-end', stream }, []);
    if (r.type !== 'stream-analyzed') throw new Error('analysis worker answered out of turn');
    return r;
  }

  async streamThumbnails(stream: number): Promise<Uint8Array[]> {
    const r = await this.send({ id: 0, type: 'stream-end', stream }, []);
    if (r.type !== 'stream-thumbs') throw new Error('analysis worker answered out of turn');
    return r.thumbnails;
  }

  async streamFlow(stream: number): Promise<{ token: number; layers: Float32Array[] }> {
    const r = await this.send({ id: 0, type: 'stream-end', stream }, []);
    if (r.type !== 'stream-flow') throw new Error('analysis worker answered out of turn');
    return r;
  }

  /** A pathway from the flow cache a streamed analysis left under `key`, or undefined when there is none. */
  async cachedFlow(key: number, token: number): Promise<{ token: number; layers: Float32Array[] } | undefined> {
    const r = await this.send({ id: 0, type: 'flow-cached', key, token }, []);
    if (r.type === 'flow-miss') return undefined;
    if (r.type !== 'stream-flow') throw new Error('analysis worker answered out of turn');
    return r;
  }

  /** Free a flow cache (its session is gone); a worker that never started has nothing to free. */
  async dropFlowCache(key: number): Promise<void> {
    if (!this.worker) return;
    await this.send({ id: 0, type: 'flow-drop', key }, []).catch(() => undefined);
  }

  private send(req: AnalysisRequest, transfer: AttentionSet | ArrayBuffer[]): Promise<AnalysisResponse> {
    const w = this.ensure();
    return this.pending.open(undefined, (id) => {
      w.ref();
      w.postMessage({ ...req, id }, Array.isArray(transfer) ? transfer : buffersOf(transfer));
    });
  }

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const here = [path.join(__dirname, 'analysis-worker.js'), path.join(__dirname, 'analysisWorker.ts')];
    const file = this.workerPath ?? here.find((f) => fs.existsSync(f));
    if (!file) throw new Error(`The analysis worker script is missing (looked in ${__dirname}). Run npm run build.`);
    const w = new Worker(file, { execArgv: file.endsWith('.ts') ? ['--require', 'tsx/cjs'] : undefined });
    this.worker = w;
    w.on('message', (m: AnalysisResponse) => {
      if (m.type === 'error') this.pending.reject(m.id, new Error(`Analysis failed: ${m.message}`));
      else this.pending.resolve(m.id, m);
    });
    const fail = (why: string) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      this.pending.rejectAll(() => new Error(`The analysis worker stopped (${why}).`));
    };
    w.on('error', (e) => fail(e.message));
    w.on('exit', (c) => fail(`exit code ${c}`));
    return w;
  }

  async dispose(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.pending.rejectAll(() => new Error('The analysis worker was shut down.'));
    if (w) await w.terminate();
  }
}
