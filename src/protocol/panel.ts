// The panel's messages between the extension host and the Headlight webview: notifications either way, and
// requests either way (ipc.ts's envelope), each answered by one reply. Both sides treat what arrives as untrusted:
// every message type and every request method has a guard, in tables keyed by type or method whose completeness
// the compiler checks (a new notification or request method without a guard does not build; see
// test/unit/host/protocolGuards.typetest.ts), and each side drops and logs what does not parse.
// Imports only its own folder: compiled into both bundles, free of Node and DOM APIs.
import {
  isInt,
  isObj,
  isReply,
  parseWith,
  requestGuard,
  type Fields,
  type IpcRequest,
  type NotificationGuards,
  type ParamGuards,
  type ReplyEnvelope,
  type RequestEnvelope,
  type ResultGuards,
} from './ipc';
import {
  EXPORT_FORMATS,
  PROTOCOL_VERSION,
  ROUTES_MIN_THRESHOLD,
  VIEW_NAMES,
  type CompareDiff,
  type ExportFormat,
  type FlowData,
  type HeadMatrix,
  type PanelState,
  type RenderedFormat,
  type RouteGraph,
  type SessionData,
  type ViewName,
  type WireEffects,
  type WireHead,
} from './wire';

// ---- host → webview notifications ----
export type HostNotification =
  | { type: 'session/loading'; title: string; message: string }
  | { type: 'session/data'; session: SessionData; state: PanelState }
  /**
   * The analysis of an `analysing` session finished: its heads and thumbnails (same session id), and what was
   * measured after the first paint (the value norms, or why there are none).
   */
  | { type: 'session/heads'; sessionId: number; heads: WireHead[]; thumbnails: Uint8Array[]; valueNorms?: SessionData['valueNorms']; valueNormsNote?: string }
  | { type: 'session/error'; message: string; detail?: string }
  | { type: 'editor/cursorToken'; index: number | null }
  | { type: 'head/focus'; layer: number; head: number; view?: ViewName }
  /** Two sessions of the same text side by side (Compare models…); the panel shows its compare mode. */
  | { type: 'compare/data'; a: SessionData; b: SessionData; diff: CompareDiff; state: PanelState }
  /** Head effects of a session: measuring (with progress), measured, or why not. */
  | { type: 'session/effects'; sessionId: number; status: 'measuring' | 'done' | 'failed'; effects?: WireEffects; message?: string };

// ---- webview → host notifications ----
export type WebviewNotification =
  | { type: 'webview/ready'; protocol: number }
  | { type: 'state/changed'; state: PanelState }
  /** Hovered (or keyboard-focused) token and the keys it attends to most, for editor decorations. */
  | { type: 'token/hover'; index: number | null; keys: { index: number; weight: number }[] }
  | { type: 'token/reveal'; index: number }
  | { type: 'command/run'; command: 'selectModel' | 'exportView' | 'findHead' }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  /** The panel's Measure head effects button. */
  | { type: 'effects/measure'; sessionId: number }
  /** The panel's Export menu: the host runs Export view… for this format (it asks where to save). */
  | { type: 'export/start'; format: ExportFormat };

// ---- webview → host requests ----
export type RequestMap = {
  'head/matrix': IpcRequest<{ sessionId: number; layer: number; head: number }, HeadMatrix>;
  'flow/rollout': IpcRequest<{ sessionId: number; token: number; weighting?: 'attention' | 'value' }, FlowData>;
  /** The information-flow route behind token `token`'s prediction, every edge with a share ≥ threshold. */
  'routes/trace': IpcRequest<{ sessionId: number; token: number; threshold: number }, RouteGraph>;
  /** Every head's thumbnail over value-weighted attention, made when the Heads view first shows them (not with every explain). */
  'heads/valueThumbnails': IpcRequest<{ sessionId: number }, { thumbSize: number; thumbnails: Uint8Array[] }>;
};
export type RequestMethod = keyof RequestMap;

// ---- host → webview requests ----
/** What a rendered export carries: PNG bytes or SVG text, and the drawing's size in pixels. */
export interface RenderedView {
  data: Uint8Array | string;
  width: number;
  height: number;
}
export type HostRequestMap = {
  /** Render the current view for Export view…: PNG bytes or SVG text. */
  'export/render': IpcRequest<{ format: RenderedFormat }, RenderedView>;
};
export type HostRequestMethod = keyof HostRequestMap;

export type WebviewRequest = RequestEnvelope<RequestMap>;
export type HostRequest = RequestEnvelope<HostRequestMap>;
export type HostReply = ReplyEnvelope;
export type WebviewReply = ReplyEnvelope;

export type HostToWebview = HostNotification | HostRequest | HostReply;
export type WebviewToHost = WebviewNotification | WebviewRequest | WebviewReply;

// ---- guards ----
const isIndexOrNull = (v: unknown) => v === null || (isInt(v) && v >= 0);
const isSessionLike = (v: unknown) => isObj(v) && Array.isArray(v.tokens) && Array.isArray(v.heads) && isObj(v.model);
const isRendered = (f: unknown): f is RenderedFormat => f === 'png' || f === 'svg';
/** A rendered view is capped: a panel view is far below 64 MB. */
export const MAX_RENDER_BYTES = 64 * 1024 * 1024;

export function isPanelState(v: unknown): v is PanelState {
  if (!isObj(v) || v.version !== PROTOCOL_VERSION || !isObj(v.source)) return false;
  const r = v.source.range;
  return (
    typeof v.source.uri === 'string' &&
    Array.isArray(r) &&
    r.length === 4 &&
    r.every((x) => isInt(x) && x >= 0) &&
    (v.model === undefined || typeof v.model === 'string') &&
    VIEW_NAMES.includes(v.view as ViewName) &&
    isInt(v.layer) &&
    isInt(v.head) &&
    (v.mode === 'head' || v.mode === 'layer') &&
    isInt(v.topK) &&
    typeof v.threshold === 'number' &&
    typeof v.showIncoming === 'boolean' &&
    (v.weighting === undefined || v.weighting === 'attention' || v.weighting === 'value')
  );
}

/** The params of each webview request, as the host checks them. */
export const REQUEST_PARAM_GUARDS: ParamGuards<RequestMap> = {
  'head/matrix': (p) => isInt(p.sessionId) && isInt(p.layer) && isInt(p.head),
  'flow/rollout': (p) => isInt(p.sessionId) && isInt(p.token) && (p.weighting === undefined || p.weighting === 'attention' || p.weighting === 'value'),
  'routes/trace': (p) =>
    isInt(p.sessionId) && isInt(p.token) && p.token >= 0 && typeof p.threshold === 'number' && p.threshold >= ROUTES_MIN_THRESHOLD && p.threshold <= 1,
  'heads/valueThumbnails': (p) => isInt(p.sessionId),
};

/** The params of each host request, as the webview checks them. */
export const HOST_REQUEST_PARAM_GUARDS: ParamGuards<HostRequestMap> = {
  'export/render': (p) => isRendered(p.format),
};

/** The result of each host request, as the host checks the webview's reply. */
export const HOST_REQUEST_RESULT_GUARDS: ResultGuards<HostRequestMap> = {
  // PNG arrives as bytes, SVG as text; both capped.
  'export/render': (r, p) =>
    isObj(r) &&
    (p.format === 'png'
      ? r.data instanceof Uint8Array && r.data.length <= MAX_RENDER_BYTES
      : typeof r.data === 'string' && r.data.length <= MAX_RENDER_BYTES) &&
    isInt(r.width) &&
    isInt(r.height) &&
    r.width > 0 &&
    r.height > 0,
};

const webviewGuards: NotificationGuards<WebviewToHost> = {
  'webview/ready': (v) => isInt(v.protocol),
  'state/changed': (v) => isPanelState(v.state),
  'token/hover': (v) =>
    isIndexOrNull(v.index) &&
    Array.isArray(v.keys) &&
    v.keys.length <= 64 &&
    v.keys.every((k) => isObj(k) && isInt(k.index) && k.index >= 0 && typeof k.weight === 'number'),
  'token/reveal': (v) => isInt(v.index) && v.index >= 0,
  'command/run': (v) => v.command === 'selectModel' || v.command === 'exportView' || v.command === 'findHead',
  log: (v) => (v.level === 'info' || v.level === 'warn' || v.level === 'error') && typeof v.message === 'string',
  'export/start': (v) => EXPORT_FORMATS.includes(v.format as ExportFormat),
  'effects/measure': (v) => isInt(v.sessionId),
  request: requestGuard(REQUEST_PARAM_GUARDS),
  reply: isReply,
};

const isEffects = (e: Fields) =>
  e.meanDelta instanceof Float32Array &&
  Array.isArray(e.perToken) &&
  e.perToken.every((t) => t instanceof Float32Array) &&
  Array.isArray(e.sentences) &&
  typeof e.method === 'string';

const hostGuards: NotificationGuards<HostToWebview> = {
  'session/loading': (v) => typeof v.title === 'string' && typeof v.message === 'string',
  'session/data': (v) => isObj(v.session) && Array.isArray(v.session.tokens) && isPanelState(v.state),
  'session/heads': (v) =>
    isInt(v.sessionId) &&
    Array.isArray(v.heads) &&
    Array.isArray(v.thumbnails) &&
    v.thumbnails.every((t) => t instanceof Uint8Array) &&
    (v.valueNorms === undefined || (isObj(v.valueNorms) && v.valueNorms.data instanceof Float32Array && typeof v.valueNorms.weighting === 'string')) &&
    (v.valueNormsNote === undefined || typeof v.valueNormsNote === 'string'),
  'session/error': (v) => typeof v.message === 'string',
  'editor/cursorToken': (v) => isIndexOrNull(v.index),
  'head/focus': (v) => isInt(v.layer) && isInt(v.head) && (v.view === undefined || VIEW_NAMES.includes(v.view as ViewName)),
  'compare/data': (v) =>
    isSessionLike(v.a) && isSessionLike(v.b) && isObj(v.diff) && Array.isArray(v.diff.changes) && isObj(v.diff.alignment) && isPanelState(v.state),
  'session/effects': (v) =>
    isInt(v.sessionId) &&
    (v.status === 'measuring' || v.status === 'done' || v.status === 'failed') &&
    (v.message === undefined || typeof v.message === 'string') &&
    (v.effects === undefined || (isObj(v.effects) && isEffects(v.effects))),
  request: requestGuard(HOST_REQUEST_PARAM_GUARDS),
  reply: isReply,
};

/** The message types each side accepts, and the request methods, for tests and logs. */
export const WEBVIEW_MESSAGE_TYPES = Object.keys(webviewGuards) as WebviewToHost['type'][];
export const HOST_MESSAGE_TYPES = Object.keys(hostGuards) as HostToWebview['type'][];
export const REQUEST_METHODS = Object.keys(REQUEST_PARAM_GUARDS) as RequestMethod[];
export const HOST_REQUEST_METHODS = Object.keys(HOST_REQUEST_PARAM_GUARDS) as HostRequestMethod[];

/** Validates a message from the webview. Returns it typed, or undefined (caller logs and drops it). */
export function parseWebviewMessage(v: unknown): WebviewToHost | undefined {
  return parseWith<WebviewToHost>(webviewGuards, v);
}

/** Validates a message from the host (the webview trusts the host less than blindly: it is a boundary). */
export function parseHostMessage(v: unknown): HostToWebview | undefined {
  return parseWith<HostToWebview>(hostGuards, v);
}

export function defaultPanelState(uri: string, range: PanelState['source']['range'], model?: string): PanelState {
  return {
    version: PROTOCOL_VERSION,
    source: { uri, range },
    model,
    view: 'arcs',
    layer: 0,
    head: 0,
    mode: 'head',
    topK: 3,
    threshold: 0.1,
    showIncoming: false,
  };
}
