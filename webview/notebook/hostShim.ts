// webview/host.ts for the notebook renderer (scripts/build.mjs swaps it in): the panel's views ask for head
// matrices and rollouts through `request`, and here each output answers for its own sessions (from the attention
// in the output, or from the extension host over renderer messaging). There is no editor to link tokens to and
// no panel state to save, so notifications are dropped (logs go to the console).
import type * as Panel from '../host';
import type { HostNotification, RequestMap, RequestMethod, WebviewNotification, PanelState } from '../../src/protocol';

export interface SessionAnswers {
  matrix(layer: number, head: number): Promise<RequestMap['head/matrix']['result']>;
  flow(token: number, weighting?: 'attention' | 'value'): Promise<RequestMap['flow/rollout']['result']>;
}

const sessions = new Map<number, SessionAnswers>();

/** Answer the views' requests for `sessionId`; returns the function that stops answering. */
export function answerFor(sessionId: number, answers: SessionAnswers): () => void {
  sessions.set(sessionId, answers);
  return () => { if (sessions.get(sessionId) === answers) sessions.delete(sessionId); };
}

export function notify(msg: WebviewNotification): void {
  if (msg.type === 'log') console[msg.level === 'info' ? 'log' : msg.level](`Headlight: ${msg.message}`);
}

export function request<M extends RequestMethod>(method: M, params: RequestMap[M]['params']): Promise<RequestMap[M]['result']> {
  const s = sessions.get(params.sessionId);
  if (!s) return Promise.reject(new Error('this output is no longer shown'));
  if (method === 'head/matrix') {
    const p = params as RequestMap['head/matrix']['params'];
    return s.matrix(p.layer, p.head);
  }
  // An output carries no value norms, so its Heads view never asks for value-weighted thumbnails.
  if (method === 'heads/valueThumbnails') return Promise.reject(new Error('a notebook output has no value-weighted thumbnails'));
  const p = params as RequestMap['flow/rollout']['params'];
  return s.flow(p.token, p.weighting);
}

export function saveState(_state: PanelState): void { /* a notebook output's view state lives with the output (renderer.ts) */ }
export function savedState(): unknown { return undefined; }
export function listen(_on: (msg: HostNotification) => void): void { /* no panel host: outputs talk to the extension themselves */ }

const _sameApi: typeof Panel = { notify, request, saveState, savedState, listen };
void _sameApi;
