// The notebook renderer ⇄ extension host messages (vscode.notebooks.createRendererMessaging on the host,
// ctx.postMessage in the renderer). Imports nothing but the panel protocol's types. These messages go through
// VS Code's JSON channel, not a structured clone: typed arrays cross as base64 strings and NaN as null, so the
// session has its own codec here (encodeSession / decodeSession).
import type { FlowData, HeadMatrix, SessionData } from '../protocol';

/** package.json `contributes.notebookRenderer[0].id`. */
export const RENDERER_ID = 'headlight.attention-renderer';

// ---- renderer → host ----
export type RendererToHost =
  /** Analyse an output: `payload` is its JSON text as the renderer received it. */
  | { type: 'analyse'; id: number; payload: string }
  /** One head of an analysed output whose attention the renderer does not hold (a dump file). */
  | { type: 'matrix'; id: number; key: string; layer: number; head: number }
  | { type: 'flow'; id: number; key: string; token: number }
  /** Open the output in the Headlight panel. */
  | { type: 'open-panel'; id: number; payload: string };

// ---- host → renderer ----
export type HostToRenderer =
  /** `key` names the analysed output in later requests. */
  | { type: 'analysed'; id: number; key: string; session: WireSession }
  | { type: 'matrix'; id: number; layer: number; head: number; seq: number; data: string }
  | { type: 'flow'; id: number; token: number; layers: string[] }
  | { type: 'opened'; id: number }
  /** `expired`: the host no longer holds that output (analyse it again). */
  | { type: 'error'; id: number; message: string; expired?: boolean };

/** SessionData as JSON: thumbnails as one base64 string, NaN metrics as null. */
export interface WireSession extends Omit<SessionData, 'thumbnails' | 'heads' | 'predictions' | 'valueNorms' | 'valueThumbnails' | 'effects'> {
  thumbnails: string;
  heads: (Omit<SessionData['heads'][number], 'metrics'> & { metrics: Record<string, number | null> })[];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isIndex = (v: unknown): v is number => isInt(v) && v >= 0;
const isStr = (v: unknown): v is string => typeof v === 'string';

type Fields = Record<string, unknown>;
type Guards<U extends { type: string }> = { [K in U['type']]: (v: Fields) => boolean };

const toHost: Guards<RendererToHost> = {
  analyse: (v) => isIndex(v.id) && isStr(v.payload),
  matrix: (v) => isIndex(v.id) && isStr(v.key) && isIndex(v.layer) && isIndex(v.head),
  flow: (v) => isIndex(v.id) && isStr(v.key) && isIndex(v.token),
  'open-panel': (v) => isIndex(v.id) && isStr(v.payload),
};

const toRenderer: Guards<HostToRenderer> = {
  analysed: (v) =>
    isIndex(v.id) &&
    isStr(v.key) &&
    isObj(v.session) &&
    Array.isArray(v.session.tokens) &&
    Array.isArray(v.session.heads) &&
    isObj(v.session.model) &&
    isStr(v.session.thumbnails),
  matrix: (v) => isIndex(v.id) && isIndex(v.layer) && isIndex(v.head) && isIndex(v.seq) && isStr(v.data),
  flow: (v) => isIndex(v.id) && isIndex(v.token) && Array.isArray(v.layers) && v.layers.every(isStr),
  opened: (v) => isIndex(v.id),
  error: (v) => isIndex(v.id) && isStr(v.message) && (v.expired === undefined || typeof v.expired === 'boolean'),
};

export const RENDERER_MESSAGE_TYPES = Object.keys(toHost) as RendererToHost['type'][];
export const HOST_MESSAGE_TYPES = Object.keys(toRenderer) as HostToRenderer['type'][];

function parseWith<T>(guards: Record<string, (v: Fields) => boolean>, v: unknown): T | undefined {
  if (!isObj(v) || !isStr(v.type) || !Object.prototype.hasOwnProperty.call(guards, v.type)) return undefined;
  return guards[v.type](v) ? (v as T) : undefined;
}

/** A message from a renderer, typed, or undefined (the host drops and logs it). */
export function parseRendererMessage(v: unknown): RendererToHost | undefined {
  return parseWith<RendererToHost>(toHost, v);
}

/** A message from the host, typed, or undefined. */
export function parseHostToRenderer(v: unknown): HostToRenderer | undefined {
  return parseWith<HostToRenderer>(toRenderer, v);
}

// ---- binary ⇄ base64 without Buffer (the renderer has none); chunked so no argument list gets too long ----
export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function fromBase64(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

const f32ToBase64 = (a: Float32Array) => toBase64(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
const f32FromBase64 = (s: string) => {
  const b = fromBase64(s);
  return new Float32Array(b.buffer, 0, b.length >> 2);
};

/** SessionData → JSON-safe. Notebook sessions carry no predictions, value norms or effects (no model ran). */
export function encodeSession(s: SessionData): WireSession {
  const { thumbnails, heads, predictions: _p, valueNorms: _v, valueThumbnails: _t, effects: _e, ...rest } = s;
  const all = new Uint8Array(thumbnails.reduce((n, t) => n + t.length, 0));
  let at = 0;
  for (const t of thumbnails) {
    all.set(t, at);
    at += t.length;
  }
  return {
    ...rest,
    thumbnails: toBase64(all),
    heads: heads.map((hd) => ({ ...hd, metrics: Object.fromEntries(Object.entries(hd.metrics).map(([k, x]) => [k, Number.isNaN(x) ? null : x])) })),
  };
}

export function decodeSession(w: WireSession): SessionData {
  const all = fromBase64(w.thumbnails);
  const size = w.thumbSize * w.thumbSize;
  const count = w.model.layers * w.model.headsPerLayer;
  if (all.length !== size * count) throw new Error(`thumbnails hold ${all.length} bytes, expected ${size * count}`);
  const thumbnails = Array.from({ length: count }, (_, k) => all.slice(k * size, (k + 1) * size));
  const heads = w.heads.map((hd) => ({ ...hd, metrics: Object.fromEntries(Object.entries(hd.metrics).map(([k, x]) => [k, x === null ? NaN : x])) }));
  return { ...w, thumbnails, heads };
}

export function encodeMatrix(id: number, m: HeadMatrix): HostToRenderer {
  return { type: 'matrix', id, layer: m.layer, head: m.head, seq: m.seq, data: toBase64(m.data) };
}

export function decodeMatrix(msg: Extract<HostToRenderer, { type: 'matrix' }>): HeadMatrix {
  const data = fromBase64(msg.data);
  if (data.length !== msg.seq * msg.seq) throw new Error(`head matrix of ${data.length} bytes for ${msg.seq} tokens`);
  return { layer: msg.layer, head: msg.head, seq: msg.seq, data };
}

export function encodeFlow(id: number, f: FlowData): HostToRenderer {
  return { type: 'flow', id, token: f.token, layers: f.layers.map(f32ToBase64) };
}

export function decodeFlow(msg: Extract<HostToRenderer, { type: 'flow' }>): FlowData {
  return { token: msg.token, layers: msg.layers.map(f32FromBase64) };
}
