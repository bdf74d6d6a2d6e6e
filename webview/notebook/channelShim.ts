// webview/channel.ts for the notebook renderer (scripts/build.mjs swaps it in): the panel's views ask for head
// matrices and rollouts through `request`, and here each output answers for its own sessions (from the attention
// in the output, or from the extension host over renderer messaging). There is no editor to link tokens to and
// no panel state to save, so notifications are dropped (logs go to the console).
import type * as Panel from '../channel';
import type { RequestHandlers } from '../../src/protocol/ipc';
import type { HostNotification, HostRequestMap, RequestMap, RequestMethod, WebviewNotification } from '../../src/protocol/panel';
import type { PanelState } from '../../src/protocol/wire';

export interface SessionAnswers {
  matrix(layer: number, head: number): Promise<RequestMap['head/matrix']['result']>;
  flow(token: number, weighting?: 'attention' | 'value'): Promise<RequestMap['flow/rollout']['result']>;
}

const sessions = new Map<number, SessionAnswers>();

/** Answer the views' requests for `sessionId`; returns the function that stops answering. */
export function answerFor(sessionId: number, answers: SessionAnswers): () => void {
  sessions.set(sessionId, answers);
  return () => {
    if (sessions.get(sessionId) === answers) sessions.delete(sessionId);
  };
}

export function notify(msg: WebviewNotification): void {
  if (msg.type === 'log') console[msg.level === 'info' ? 'log' : msg.level](`Headlight: ${msg.message}`);
}

/** Each request method against an output's answers (a method without an entry does not compile). */
const answering: { [M in RequestMethod]: (s: SessionAnswers, params: RequestMap[M]['params']) => Promise<RequestMap[M]['result']> } = {
  'head/matrix': (s, p) => s.matrix(p.layer, p.head),
  'flow/rollout': (s, p) => s.flow(p.token, p.weighting),
  // An output carries no residual stream to trace, nor value norms (so its Heads view never asks for those).
  'routes/trace': () => Promise.reject(new Error('a notebook output has no routes')),
  'heads/valueThumbnails': () => Promise.reject(new Error('a notebook output has no value-weighted thumbnails')),
};

export function request<M extends RequestMethod>(method: M, params: RequestMap[M]['params']): Promise<RequestMap[M]['result']> {
  const s = sessions.get(params.sessionId);
  if (!s) return Promise.reject(new Error('this output is no longer shown'));
  return (answering[method] as (s: SessionAnswers, p: RequestMap[M]['params']) => Promise<RequestMap[M]['result']>)(s, params);
}

export function saveState(_state: PanelState): void {
  /* a notebook output's view state lives with the output (renderer.ts) */
}
export function savedState(): unknown {
  return undefined;
}
export function listen(_on: (msg: HostNotification) => void, _answers: RequestHandlers<HostRequestMap>): void {
  /* no panel host: outputs talk to the extension themselves */
}

const _sameApi: typeof Panel = { notify, request, saveState, savedState, listen };
void _sameApi;
