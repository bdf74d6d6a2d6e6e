// The envelope every request/reply channel in Headlight speaks, and the one piece of bookkeeping behind it.
// After GitLens' IPC models: a request type names its params and its response (`IpcRequest<Params, Result>`);
// a request travels as `{ type: 'request', id, method, params }` and is answered by exactly one
// `{ type: 'reply', id, ok, result | error }` with the same id. The panel speaks it both ways (panel.ts); the
// engine and analysis workers use `PendingRequests` over their own message shapes.
// Imports nothing: compiled into the host, the workers and the webview alike.

/** One request method: what its request carries and what its reply resolves to. */
export interface IpcRequest<Params, Result> {
  params: Params;
  result: Result;
}

/** A direction's requests, by method. */
export type RequestTable = { [method: string]: IpcRequest<unknown, unknown> };

/** The request envelope for each method of a table (a union over its methods). */
export type RequestEnvelope<T extends RequestTable> = {
  [M in keyof T & string]: { type: 'request'; id: number; method: M; params: T[M]['params'] };
}[keyof T & string];

export type ReplyEnvelope = { type: 'reply'; id: number; ok: true; result: unknown } | { type: 'reply'; id: number; ok: false; error: string };

/** What a message carries besides `type`, once `type` has been checked. */
export type Fields = Record<string, unknown>;

/**
 * One guard per notification type, keyed by `type`. The mapped type holds the table to the union: a type
 * without a guard, or a guard for no type, does not compile.
 */
export type NotificationGuards<U extends { type: string }> = { [K in U['type']]: (v: Fields) => boolean };

/** One guard per request method for its params: a method without one does not compile. */
export type ParamGuards<T extends RequestTable> = { [M in keyof T]-?: (params: Fields) => boolean };

/** One guard per request method for its reply's result (given the params it answers): same completeness. */
export type ResultGuards<T extends RequestTable> = { [M in keyof T]-?: (result: unknown, params: T[M]['params']) => boolean };

/** What answers a table's requests: one handler per method, checked like the guards. */
export type RequestHandlers<T extends RequestTable> = { [M in keyof T]-?: (params: T[M]['params']) => Promise<T[M]['result']> };

export const isObj = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);
export const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const hasOwn = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/** The guard of a `request` envelope: a known method whose params pass that method's guard. */
export function requestGuard<T extends RequestTable>(params: ParamGuards<T>): (v: Fields) => boolean {
  const table = params as Record<string, (p: Fields) => boolean>;
  return (v) => isInt(v.id) && typeof v.method === 'string' && hasOwn(table, v.method) && isObj(v.params) && table[v.method](v.params);
}

/** The guard of a `reply` envelope (its result is checked by whoever asked: only it knows the method). */
export const isReply = (v: Fields): boolean => isInt(v.id) && (v.ok === true || (v.ok === false && typeof v.error === 'string'));

/** Validate `v` against a guard table keyed by `type`; prototype keys are not types. */
export function parseWith<T>(guards: Record<string, (v: Fields) => boolean>, v: unknown): T | undefined {
  if (!isObj(v) || typeof v.type !== 'string' || !hasOwn(guards, v.type)) return undefined;
  return guards[v.type](v) ? (v as T) : undefined;
}

/** Answer one request: run it and send exactly one reply with its id (a thrown error becomes `ok: false`). */
export function answer(id: number, run: () => Promise<unknown>, send: (reply: ReplyEnvelope) => void): void {
  let work: Promise<unknown>;
  try {
    work = run();
  } catch (e) {
    work = Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
  work.then(
    (result) => send({ type: 'reply', id, ok: true, result }),
    (err: unknown) => send({ type: 'reply', id, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
}

export interface OpenOptions {
  /** Use this id (already taken with `nextId`) instead of a fresh one. */
  id?: number;
  /** Aborting it calls `onAbort` (the channel decides what cancelling means: reject, tell the other side…). */
  signal?: AbortSignal;
  onAbort?: (id: number) => void;
  /** Reject with `timeoutError()` when no reply came within this long. */
  timeoutMs?: number;
  timeoutError?: () => Error;
  /** A reply's result must pass this, else the request rejects (the other side is untrusted). */
  check?: (result: unknown) => boolean;
}

interface Entry<T, M> {
  meta: M;
  resolve: (v: T) => void;
  reject: (e: Error) => void;
  check?: (result: unknown) => boolean;
  cleanup: () => void;
}

/**
 * Requests waiting for their replies, by id: every channel's bookkeeping (the webview's requests, the panel's
 * export render, the engine and analysis workers). An entry settles exactly once — by its reply, an error reply,
 * a cancel, a timeout or `rejectAll` — and is gone before its promise settles, so a late reply finds nothing.
 * `meta` is what a channel keeps per request (the engine: the message to replay, whether it started).
 */
export class PendingRequests<T = unknown, M = undefined> {
  private seq = 0;
  private readonly entries = new Map<number, Entry<T, M>>();

  /** `onSettled` runs once per entry after it left the table, before its promise settles (e.g. unref an idle worker). */
  constructor(private readonly onSettled?: (id: number, meta: M) => void) {}

  nextId(): number {
    return ++this.seq;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The channel's data for a waiting request, or undefined once it settled. */
  meta(id: number): M | undefined {
    return this.entries.get(id)?.meta;
  }

  /** Every waiting request's id and data, oldest first. */
  waiting(): [number, M][] {
    return [...this.entries].map(([id, e]) => [id, e.meta]);
  }

  /**
   * Register a request and `send` it with its id (after registering, so even a synchronous reply finds it).
   * Resolves with the reply's value; rejects on an error reply, cancel, timeout, `rejectAll`, or what `send` throws.
   */
  open(meta: M, send: (id: number) => void, opts: OpenOptions = {}): Promise<T> {
    const id = opts.id ?? this.nextId();
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => opts.onAbort?.(id);
      const timer =
        opts.timeoutMs !== undefined
          ? setTimeout(() => this.reject(id, opts.timeoutError?.() ?? new Error(`no reply within ${opts.timeoutMs} ms`)), opts.timeoutMs)
          : undefined;
      const cleanup = () => {
        if (timer !== undefined) clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        this.onSettled?.(id, meta);
      };
      this.entries.set(id, { meta, resolve, reject, check: opts.check, cleanup });
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        send(id);
      } catch (e) {
        this.reject(id, e instanceof Error ? e : new Error(String(e))); // nothing was sent: nothing may wait for it
      }
    });
  }

  /** Settle `id` with a value; false when nothing waits under it. */
  resolve(id: number, value: T): boolean {
    const e = this.take(id);
    if (!e) return false;
    if (e.check && !e.check(value)) e.reject(new Error('malformed reply'));
    else e.resolve(value);
    return true;
  }

  /** Reject `id`; false when nothing waits under it. */
  reject(id: number, error: Error): boolean {
    const e = this.take(id);
    if (!e) return false;
    e.reject(error);
    return true;
  }

  /** Settle the request a reply envelope answers; false when nothing waits under its id. */
  settle(reply: ReplyEnvelope): boolean {
    if (reply.ok) return this.resolve(reply.id, reply.result as T);
    return this.reject(reply.id, new Error(reply.error));
  }

  /** Reject everything still waiting (the other side is gone): a fresh error each, from `error`. */
  rejectAll(error: () => Error): void {
    for (const id of [...this.entries.keys()]) this.reject(id, error());
  }

  private take(id: number): Entry<T, M> | undefined {
    const e = this.entries.get(id);
    if (!e) return undefined;
    this.entries.delete(id);
    e.cleanup();
    return e;
  }
}
