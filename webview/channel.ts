// The webview's side of the protocol: typed posting, request/reply promises, and a drop-and-log guard
// for anything malformed coming in.
import {
  parseHostMessage, PROTOCOL_VERSION,
  type HostNotification, type PanelState, type RequestMap, type RequestMethod, type WebviewNotification,
} from '../src/protocol';

interface VsCodeApi {
  postMessage(msg: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const api: VsCodeApi = acquireVsCodeApi();
let nextId = 1;
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

export function notify(msg: WebviewNotification): void {
  api.postMessage(msg);
}

export function request<M extends RequestMethod>(method: M, params: RequestMap[M]['params']): Promise<RequestMap[M]['result']> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    api.postMessage({ type: 'request', id, method, params });
  });
}

export function saveState(state: PanelState): void {
  api.setState(state);
  notify({ type: 'state/changed', state });
}

export function savedState(): unknown {
  return api.getState();
}

export function listen(onNotification: (msg: HostNotification) => void): void {
  window.addEventListener('message', (ev: MessageEvent) => {
    const msg = parseHostMessage(ev.data);
    if (!msg) {
      notify({ type: 'log', level: 'warn', message: `dropped malformed host message: ${String((ev.data as { type?: unknown })?.type)}` });
      return;
    }
    if (msg.type === 'reply') {
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.result); else p.reject(new Error(msg.error));
      return;
    }
    onNotification(msg);
  });
  notify({ type: 'webview/ready', protocol: PROTOCOL_VERSION });
}
