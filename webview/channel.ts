// The webview's side of the panel's channel: typed notifications, requests to the host (promises settled by
// the one reply each: ipc.ts's PendingRequests), answers to the host's requests (export renders), and a
// drop-and-log guard for anything malformed coming in.
import { answer, PendingRequests, type RequestHandlers } from '../src/protocol/ipc';
import {
  parseHostMessage,
  type HostNotification,
  type HostRequestMap,
  type RequestMap,
  type RequestMethod,
  type WebviewNotification,
} from '../src/protocol/panel';
import { PROTOCOL_VERSION, type PanelState } from '../src/protocol/wire';

interface VsCodeApi {
  postMessage(msg: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const api: VsCodeApi = acquireVsCodeApi();
const pending = new PendingRequests<unknown>();

export function notify(msg: WebviewNotification): void {
  api.postMessage(msg);
}

export function request<M extends RequestMethod>(method: M, params: RequestMap[M]['params']): Promise<RequestMap[M]['result']> {
  return pending.open(undefined, (id) => api.postMessage({ type: 'request', id, method, params })) as Promise<RequestMap[M]['result']>;
}

export function saveState(state: PanelState): void {
  api.setState(state);
  notify({ type: 'state/changed', state });
}

export function savedState(): unknown {
  return api.getState();
}

/** Hand the host's notifications to `onNotification` and its requests to `answers`; then say `webview/ready`. */
export function listen(onNotification: (msg: HostNotification) => void, answers: RequestHandlers<HostRequestMap>): void {
  window.addEventListener('message', (ev: MessageEvent) => {
    const msg = parseHostMessage(ev.data);
    if (!msg) {
      notify({ type: 'log', level: 'warn', message: `dropped malformed host message: ${String((ev.data as { type?: unknown })?.type)}` });
      return;
    }
    if (msg.type === 'reply') pending.settle(msg);
    else if (msg.type === 'request') {
      // The guard matched params to method; the cast keeps this line right when HostRequestMap grows.
      const { id, method, params } = msg;
      const handle = answers[method] as (p: typeof params) => Promise<unknown>;
      answer(
        id,
        () => handle(params),
        (reply) => api.postMessage(reply),
      );
    } else onNotification(msg);
  });
  notify({ type: 'webview/ready', protocol: PROTOCOL_VERSION });
}
