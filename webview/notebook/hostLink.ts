// The renderer's side of the messages with the extension host (src/notebook/messages.ts): one link per notebook
// webview, requests matched to replies by id (the host's replies reach every output of the notebook).
import { PendingRequests } from '../../src/protocol/ipc';
import { parseHostToRenderer, type HostToRenderer, type RendererToHost } from '../../src/notebook/messages';
import type { RendererContext } from './rendererApi';

type Reply = Exclude<HostToRenderer, { type: 'error' }>;
/** A request without its id (the link numbers them). */
type Ask = RendererToHost extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export class HostError extends Error {
  constructor(
    message: string,
    readonly expired: boolean,
  ) {
    super(message);
  }
}

export class HostLink {
  private readonly pending = new PendingRequests<Reply>();

  private constructor(private readonly ctx: Required<Pick<RendererContext, 'postMessage' | 'onDidReceiveMessage'>>) {
    ctx.onDidReceiveMessage((raw) => {
      const msg = parseHostToRenderer(raw);
      if (!msg) {
        console.warn('Headlight: dropped a malformed message from the extension host');
        return;
      }
      // An id nothing waits for is another notebook's, or an output's that is gone: the table ignores it.
      if (msg.type === 'error') this.pending.reject(msg.id, new HostError(msg.message, msg.expired === true));
      else this.pending.resolve(msg.id, msg);
    });
  }

  /** The link, or undefined where no extension host listens (then the renderer shows what it can alone). */
  static of(ctx: RendererContext): HostLink | undefined {
    if (typeof ctx.postMessage !== 'function' || typeof ctx.onDidReceiveMessage !== 'function') return undefined;
    return new HostLink({ postMessage: ctx.postMessage.bind(ctx), onDidReceiveMessage: ctx.onDidReceiveMessage.bind(ctx) });
  }

  ask<T extends Reply['type']>(msg: Ask, expect: T): Promise<Extract<Reply, { type: T }>> {
    return this.pending
      .open(undefined, (id) => this.ctx.postMessage({ ...msg, id }))
      .then((m) => {
        if (m.type !== expect) throw new Error(`the extension answered ${m.type} to ${msg.type}`);
        return m as Extract<Reply, { type: T }>;
      });
  }
}
