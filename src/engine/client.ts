// Host side of the engine: starts the worker lazily, matches replies to requests by id, cancels.
// Cancelling a request that is already running rejects it at once and moves every other request to
// a fresh worker. The old worker is NOT terminated: onnxruntime-node's run() is synchronous on the
// worker's thread and Worker.terminate() during it aborts the whole process ("terminate called
// after throwing an instance of 'Napi::Error'", measured with 1.30). It is told to drop its queue
// and exit as soon as the current run returns; until then that run keeps using CPU.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { EngineError } from '../core/errors';
import type { ModelRef, RunStats, WorkerRequest, WorkerResponse } from './workerProtocol';
import type { ExplainResult, ModelInfo } from './types';
import { PendingRequests } from '../protocol/ipc';
import type { RouteGraph } from '../protocol/wire';
import type { ProbePlan } from './probeIds';
import type { EffectRun } from './effects';

export interface EngineClientOptions {
  /** The worker script. Default: engine-worker.js beside this bundle, else worker.ts via tsx (tests, dev). */
  workerPath?: string;
  /** Extra Node flags for the worker (e.g. ['--require', 'tsx/cjs'] for a .ts worker). */
  execArgv?: string[];
}

export interface RunOptions {
  signal?: AbortSignal;
  /** A new request on the same channel supersedes (cancels) the running one. */
  channel?: string;
}
export interface KeepOptions {
  /**
   * Bounded memory: where the model allows it (recompute mode), the worker keeps the run's captured
   * score inputs and the result carries `kept` with an empty `attention.data`; read heads with
   * `heads()` and `release()` the run when done. Models without recompute mode ignore it.
   */
  keep?: boolean;
}
export interface ExplainOptions extends RunOptions, KeepOptions {
  /** Default 1024. */
  maxTokens?: number;
  /** Explain the first maxTokens tokens instead of refusing; the result says `truncatedFrom`. */
  truncate?: boolean;
}
export interface RunIdsOptions extends RunOptions, KeepOptions {
  /** 1 = key visible, 0 = padded; defaults to all ones. */
  attentionMask?: number[];
}

export type EngineResult = ExplainResult & {
  stats: RunStats;
  /** A kept explain's value norms come from `valueNorms(handle)`, after the first paint. */
  valueNormsPending?: boolean;
  /** A kept explain's direct logit attribution comes from `dla(handle)`, after the first paint. */
  dlaPending?: boolean;
  /** A kept run (see KeepOptions.keep): `attention.data` is empty, heads come from `heads(handle, …)`. */
  kept?: { handle: number; bytes: number };
};

type Body = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** What the client keeps per request besides its promise: the message, to replay it on a fresh worker. */
interface Sent {
  req: WorkerRequest;
  started: boolean;
  channel?: string;
  replayed: boolean;
}

export const DEFAULT_MAX_TOKENS = 1024;

export class EngineClient {
  private worker?: Worker;
  private readonly pending = new PendingRequests<WorkerResponse, Sent>((id, sent) => {
    if (sent.channel && this.channels.get(sent.channel) === id) this.channels.delete(sent.channel);
    if (this.pending.size === 0) this.worker?.unref(); // an idle worker must not keep the process alive
  });
  private readonly channels = new Map<string, number>();
  /** How many workers were started (tests read it to see a restart). */
  workersStarted = 0;

  /** Workers alive now: the current one plus any finishing a cancelled run before they exit. */
  get liveWorkers(): number {
    return (this.worker ? 1 : 0) + this.exiting.size;
  }

  constructor(private readonly options: EngineClientOptions = {}) {}

  explain(text: string, model: ModelRef, opts: ExplainOptions = {}): Promise<EngineResult> {
    if (typeof text !== 'string' || text.trim() === '') {
      return Promise.reject(new EngineError('empty-text', 'Nothing to explain: the selection is empty or only whitespace. Select some text first.'));
    }
    const maxTokens = opts.maxTokens ?? DEFAULT_MAX_TOKENS;
    if (!Number.isInteger(maxTokens) || maxTokens < 1)
      return Promise.reject(new EngineError('bad-request', `maxTokens must be a positive integer, got ${maxTokens}.`));
    return this.send({ type: 'explain', model, text, maxTokens, truncate: opts.truncate ?? false, keep: opts.keep }, opts).then((m) => this.toResult(m));
  }

  runIds(ids: number[], model: ModelRef, opts: RunIdsOptions = {}): Promise<EngineResult> {
    return this.send({ type: 'run-ids', model, ids: [...ids], attentionMask: opts.attentionMask, keep: opts.keep }, opts).then((m) => this.toResult(m));
  }

  /** Kept runs by the client's handle: the worker that holds the captures and its own handle there. */
  private readonly kept = new Map<number, { worker: Worker; handle: number }>();
  private nextKept = 1;

  /** A kept run's place in the current worker, or 'expired' (the worker restarted since, or the handle is unknown). */
  private keptHere(handle: number, forget = false): { worker: Worker; handle: number } {
    const k = this.kept.get(handle);
    if (k && k.worker === this.worker) return k;
    if (forget) this.kept.delete(handle);
    throw new EngineError('expired', 'That explanation is no longer loaded (the engine restarted or a newer run replaced it). Explain the selection again.');
  }

  /**
   * Heads of a kept run, recomputed in the worker: one n×n Float32Array per [layer, head], in order. `into`: a
   * shared buffer (≥ heads × n × n floats) the caller reuses once it is done with the views it got back in it.
   */
  async heads(handle: number, list: [number, number][], opts: RunOptions & { into?: SharedArrayBuffer } = {}): Promise<Float32Array[]> {
    const k = this.keptHere(handle, true);
    const m = await this.send({ type: 'heads', handle: k.handle, heads: list, ...(opts.into ? { into: opts.into } : {}) }, opts);
    return (m as Extract<WorkerResponse, { type: 'heads' }>).data;
  }

  /** The information-flow route behind `token`'s prediction in the explain whose result carried `routes`, every edge with a share ≥ threshold. */
  async routes(routes: number, token: number, threshold: number, opts: RunOptions = {}): Promise<RouteGraph> {
    const m = await this.send({ type: 'routes', routes, token, threshold }, opts);
    return (m as Extract<WorkerResponse, { type: 'routes' }>).graph;
  }

  /** A kept explain's value norms (when its result says `valueNormsPending`), or why there are none. */
  async valueNorms(handle: number, opts: RunOptions = {}): Promise<Pick<EngineResult, 'valueNorms' | 'valueNormsNote'>> {
    const m = (await this.send({ type: 'value-norms', handle: this.keptHere(handle).handle }, opts)) as Extract<WorkerResponse, { type: 'value-norms' }>;
    return { ...(m.valueNorms ? { valueNorms: m.valueNorms } : {}), ...(m.valueNormsNote ? { valueNormsNote: m.valueNormsNote } : {}) };
  }

  /** A kept explain's direct logit attribution (when its result says `dlaPending`), or why there is none. */
  async dla(handle: number, opts: RunOptions = {}): Promise<Pick<EngineResult, 'dla' | 'dlaNote'>> {
    const m = (await this.send({ type: 'dla', handle: this.keptHere(handle).handle }, opts)) as Extract<WorkerResponse, { type: 'dla' }>;
    return { ...(m.dla ? { dla: m.dla } : {}), ...(m.dlaNote ? { dlaNote: m.dlaNote } : {}) };
  }

  /** Free a kept run's captures in the worker (a no-op for unknown or expired handles). */
  async release(handle: number): Promise<void> {
    const k = this.kept.get(handle);
    this.kept.delete(handle);
    if (k && k.worker === this.worker) await this.send({ type: 'release', handle: k.handle }, {}).catch(() => undefined);
  }

  private toResult(m: WorkerResponse): EngineResult {
    const r = (m as Extract<WorkerResponse, { type: 'done' }>).result;
    const out: EngineResult = { model: r.model, tokens: r.tokens, attention: r.attention, truncatedFrom: r.truncatedFrom, stats: r.stats };
    if (r.predictions) out.predictions = r.predictions;
    if (r.predictionsNote) out.predictionsNote = r.predictionsNote;
    if (r.valueNorms) out.valueNorms = r.valueNorms;
    if (r.valueNormsNote) out.valueNormsNote = r.valueNormsNote;
    if (r.dla) out.dla = r.dla;
    if (r.dlaNote) out.dlaNote = r.dlaNote;
    if (r.routes !== undefined && this.worker) out.routes = r.routes;
    if (r.routesNote) out.routesNote = r.routesNote;
    if (r.valueNormsPending) out.valueNormsPending = true;
    if (r.dlaPending) out.dlaPending = true;
    if (r.kept && this.worker) {
      const handle = this.nextKept++;
      this.kept.set(handle, { worker: this.worker, handle: r.kept.handle });
      out.kept = { handle, bytes: r.kept.bytes };
    }
    return out;
  }

  info(model: ModelRef, opts: RunOptions = {}): Promise<{ model: ModelInfo; stats: RunStats }> {
    return this.send({ type: 'info', model }, opts).then((m) => {
      const r = m as Extract<WorkerResponse, { type: 'info' }>;
      return { model: r.model, stats: r.stats };
    });
  }

  /** Zero-ablate each of `heads` on its own over `ids` (one worker request; callers chunk for progress and cancel). */
  effects(model: ModelRef, ids: number[], heads: [number, number][], opts: RunOptions = {}): Promise<EffectRun & { cut?: string }> {
    return this.send({ type: 'effects', model, ids: [...ids], heads }, opts).then((m) => (m as Extract<WorkerResponse, { type: 'effects' }>).run);
  }

  /** The repeat probe's ids for this model (see probeIds.ts); run them with runIds. */
  probePlan(model: ModelRef, seed: number, opts: RunOptions = {}): Promise<ProbePlan> {
    return this.send({ type: 'probe-plan', model, seed }, opts).then((m) => (m as Extract<WorkerResponse, { type: 'probe-plan' }>).plan);
  }

  /**
   * Stop the worker; pending requests reject with `cancelled`. Resolves when every worker this
   * client started has exited (after a running inference returns). The client restarts lazily.
   */
  async dispose(): Promise<void> {
    this.pending.rejectAll(() => new EngineError('cancelled', 'The engine was shut down.'));
    if (this.worker) this.retire(this.worker, true);
    this.worker = undefined;
    await Promise.all([...this.exiting]);
  }

  private readonly exiting = new Set<Promise<void>>();

  /** Ask a worker to finish its current run and exit; never Worker.terminate() (see top of file). */
  private retire(w: Worker, keepAlive = false): void {
    const gone = new Promise<void>((resolve) => w.once('exit', () => resolve()));
    this.exiting.add(gone);
    void gone.then(() => this.exiting.delete(gone));
    w.postMessage({ id: 0, type: 'shutdown' } satisfies WorkerRequest);
    // A worker finishing a cancelled run must not hold the process open; one being disposed is awaited.
    if (keepAlive) w.ref();
    else w.unref();
  }

  private send(body: Body, opts: RunOptions): Promise<WorkerResponse> {
    const id = this.pending.nextId();
    const req = { ...body, id };
    if (opts.signal?.aborted) return Promise.reject(new EngineError('cancelled', 'The request was cancelled before it started.'));
    // Supersede before registering: cancelling a running request replays everything waiting, and this one must
    // not be posted twice.
    if (opts.channel) {
      const prev = this.channels.get(opts.channel);
      if (prev !== undefined) this.cancel(prev, `Superseded by a newer request on channel "${opts.channel}".`);
      this.channels.set(opts.channel, id);
    }
    const sent: Sent = { req, started: false, channel: opts.channel, replayed: false };
    return this.pending.open(sent, () => this.post(req), { id, signal: opts.signal, onAbort: () => this.cancel(id, 'The request was cancelled.') });
  }

  private cancel(id: number, message: string): void {
    const p = this.pending.meta(id);
    if (!p) return;
    this.pending.reject(id, new EngineError('cancelled', message));
    if (!p.started) {
      this.worker?.postMessage({ id: this.pending.nextId(), type: 'cancel-queued', target: id } satisfies WorkerRequest);
      return;
    }
    // Mid-inference. With a worker already draining a cancelled run, starting yet another would let a
    // burst of superseded requests (20 explains in 2 s) pile up one worker and one session each: keep
    // this worker instead; its cancelled run finishes, its reply is dropped, and the queue goes on.
    if (this.exiting.size > 0) return;
    // Otherwise retire the worker and replay whatever else was waiting on a fresh one.
    const old = this.worker;
    this.worker = undefined;
    if (old) this.retire(old);
    for (const [, other] of this.pending.waiting()) {
      other.started = false;
      other.replayed = true;
      this.post(other.req);
    }
  }

  private post(req: WorkerRequest): void {
    const w = this.ensureWorker();
    w.ref();
    w.postMessage(req);
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const { file, execArgv } = this.resolveWorker();
    const w = new Worker(file, { execArgv, env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' } });
    this.workersStarted++;
    this.worker = w;
    w.on('message', (msg: WorkerResponse) => {
      if (w !== this.worker) return;
      const p = this.pending.meta(msg.id);
      if (!p) return;
      if (msg.type === 'started') p.started = true;
      else if (msg.type === 'error') this.pending.reject(msg.id, EngineError.from(msg.error));
      else this.pending.resolve(msg.id, msg);
    });
    const crashed = (why: string) => {
      if (w !== this.worker) return; // a worker we terminated on purpose
      this.worker = undefined;
      this.pending.rejectAll(
        () =>
          new EngineError(
            'worker-crashed',
            `The engine worker stopped (${why}). The model may be too large for memory; try fewer tokens. The next request starts a new worker.`,
          ),
      );
    };
    w.on('error', (e) => crashed(e.message));
    w.on('exit', (code) => crashed(`exit code ${code}`));
    return w;
  }

  private resolveWorker(): { file: string; execArgv?: string[] } {
    const explicit = this.options.workerPath;
    const file = explicit ?? [path.join(__dirname, 'engine-worker.js'), path.join(__dirname, 'worker.ts')].find((f) => fs.existsSync(f));
    if (!file) throw new EngineError('worker-crashed', `The engine worker script is missing (looked for engine-worker.js in ${__dirname}). Run npm run build.`);
    const execArgv = this.options.execArgv ?? (file.endsWith('.ts') ? ['--require', 'tsx/cjs'] : undefined);
    return { file, execArgv };
  }
}
