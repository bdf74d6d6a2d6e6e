// The renderer's side of the messages with the extension host (src/notebook/messages.ts): one link per notebook
// webview, requests matched to replies by id (the host's replies reach every output of the notebook).
import { parseHostToRenderer, type HostToRenderer, type RendererToHost } from '../../src/notebook/messages';
import type { RendererContext } from './rendererApi';

type Reply = Exclude<HostToRenderer, { type: 'error' }>;
/** A request without its id (the link numbers them). */
type Ask = RendererToHost extends infer R ? R extends { id: number } ? Omit<R, 'id'> : never : never;

export class HostError extends Error {
  constructor(message: string, readonly expired: boolean) { super(message); }
}

export class HostLink {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (m: Reply) => void; reject: (e: Error) => void }>();

  private constructor(private readonly ctx: Required<Pick<RendererContext, 'postMessage' | 'onDidReceiveMessage'>>) {
    ctx.onDidReceiveMessage((raw) => {
      const msg = parseHostToRenderer(raw);
      if (!msg) { console.warn('Headlight: dropped a malformed message from the extension host'); return; }
      const p = this.pending.get(msg.id);
      if (!p) return; // another notebook's, or an output that is gone
      this.pending.delete(msg.id);
      if (msg.type === 'error') p.reject(new HostError(msg.message, msg.expired === true));
      else p.resolve(msg);
    });
  }

  /** The link, or undefined where no extension host listens (then the renderer shows what it can alone). */
  static of(ctx: RendererContext): HostLink | undefined {
    if (typeof ctx.postMessage !== 'function' || typeof ctx.onDidReceiveMessage !== 'function') return undefined;
    return new HostLink({ postMessage: ctx.postMessage.bind(ctx), onDidReceiveMessage: ctx.onDidReceiveMessage.bind(ctx) });
  }

  ask<T extends Reply['type']>(msg: Ask, expect: T): Promise<Extract<Reply, { type: T }>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, {
        resolve: (m) => (m.type === expect ? resolve(m as Extract<Reply, { type: T }>) : reject(new Error(`the extension answered ${m.type} to ${msg.type}`))),
        reject,
      });
      this.ctx.postMessage({ ...msg, id });
    });
  }
}
