// A standalone HTML report: ONE file that is the real, interactive panel. It inlines dist/webview.js and
// dist/webview.css under the panel's CSP (fresh nonce on every script and style, no external loads), the
// session (typed arrays as base64), the matrices of the chosen heads and, for short texts, every token's
// rollout, plus a small stand-in for acquireVsCodeApi that answers the panel's head/matrix and
// flow/rollout requests from that embedded data. No vscode import: the extension and the CLI both use it.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ROUTES_THRESHOLD,
  type FlowData,
  type HeadMatrix,
  type PanelState,
  type RequestMap,
  type RequestMethod,
  type RouteGraph,
  type SessionData,
} from '../protocol';
import { escapeJsonForScript, inlineJson } from '../core/inlineJson';
import { REPORT_THEME } from './theme';

/** Texts up to this many tokens embed every head's matrix and every token's rollout. */
export const SHORT_TEXT_TOKENS = 256;

export interface ReportData {
  session: SessionData;
  state: PanelState;
  matrices: HeadMatrix[];
  /** Rollout per token, when the text is short enough to embed them all. */
  flows: FlowData[];
  /** Routes at the default threshold: every token's for short texts, else the last tokens' (reportRouteTokens). */
  routes?: RouteGraph[];
}

/** Texts up to this many tokens embed every token's route; longer ones the last ROUTE_TAIL tokens'. */
export const SHORT_ROUTES_TOKENS = 64;
export const ROUTE_TAIL = 8;

export function reportRouteTokens(n: number): number[] {
  const from = n <= SHORT_ROUTES_TOKENS ? 0 : Math.max(0, n - ROUTE_TAIL);
  return Array.from({ length: n - from }, (_, k) => from + k);
}

/** dist/webview.js and dist/webview.css; charts = dist/charts.js (plotly), read from beside the bundle when not given. */
export interface ReportAssets {
  js: string;
  css: string;
  charts?: string;
}

function chartsBeside(): string {
  for (const f of [path.join(__dirname, 'charts.js'), path.join(__dirname, '..', '..', 'dist', 'charts.js')]) {
    if (fs.existsSync(f)) return fs.readFileSync(f, 'utf8');
  }
  throw new Error('dist/charts.js is missing: run npm run build.');
}

export type Requester = <M extends RequestMethod>(method: M, params: RequestMap[M]['params']) => Promise<RequestMap[M]['result']>;

/** Heads whose matrices go in: every head for a short text; otherwise the current head and every head with a role. */
export function reportHeads(s: SessionData, state: PanelState): { layer: number; head: number }[] {
  if (s.tokens.length <= SHORT_TEXT_TOKENS) return s.heads.map((hd) => ({ layer: hd.layer, head: hd.head }));
  const keep = s.heads.filter((hd) => hd.roles.length > 0 || (hd.layer === state.layer && hd.head === state.head));
  // In "all heads of the layer" mode the Arcs view needs the whole layer.
  const layer = state.mode === 'layer' ? s.heads.filter((hd) => hd.layer === state.layer) : [];
  const seen = new Set<string>();
  return [...keep, ...layer].filter((hd) => !seen.has(hd.id) && seen.add(hd.id)).map((hd) => ({ layer: hd.layer, head: hd.head }));
}

/** Fetches what the report embeds through the same requests the panel makes. */
export async function collectReportData(session: SessionData, state: PanelState, request: Requester): Promise<ReportData> {
  const matrices: HeadMatrix[] = [];
  for (const hd of reportHeads(session, state)) matrices.push(await request('head/matrix', { sessionId: session.id, layer: hd.layer, head: hd.head }));
  const flows: FlowData[] = [];
  if (session.tokens.length <= SHORT_TEXT_TOKENS && session.model.layers > 0) {
    for (let t = 0; t < session.tokens.length; t++) flows.push(await request('flow/rollout', { sessionId: session.id, token: t }));
  }
  // Routes, where the session has them (a dump or a model without a residual path says why instead).
  const routes: RouteGraph[] = [];
  if (!session.routesNote && session.model.layers > 0) {
    for (const token of reportRouteTokens(session.tokens.length)) {
      try {
        routes.push(await request('routes/trace', { sessionId: session.id, token, threshold: ROUTES_THRESHOLD }));
      } catch {
        break; // no routes for this source: the Routes view asks and shows the reason
      }
    }
  }
  return { session, state, matrices, flows, ...(routes.length ? { routes } : {}) };
}

/** JSON with typed arrays as { __ta: 'u8' | 'f32', b64 } (the stub turns them back). */
export function encodeTyped(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (x instanceof Uint8Array) return { __ta: 'u8', b64: Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('base64') };
    if (x instanceof Float32Array) return { __ta: 'f32', b64: Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('base64') };
    if (typeof x === 'number' && !Number.isFinite(x)) return { __num: String(x) }; // NaN metrics survive the round trip
    return x;
  });
}

/** The inverse of encodeTyped (Node side, for tests; the page has its own copy in STUB). */
export function decodeTyped(s: string): unknown {
  return JSON.parse(s, (_k, x: { __ta?: string; b64?: string; __num?: string }) => {
    if (x && typeof x === 'object' && typeof x.b64 === 'string' && x.__ta) {
      const b = Buffer.from(x.b64, 'base64');
      const copy = new Uint8Array(b.length);
      copy.set(b);
      return x.__ta === 'u8' ? copy : new Float32Array(copy.buffer);
    }
    if (x && typeof x === 'object' && typeof x.__num === 'string') return Number(x.__num);
    return x;
  });
}

// Runs before the bundle: the panel's VS Code API, answered from the embedded data. Plain ES2020, no
// imports; kept as source text so it ships verbatim.
const STUB = `(function () {
  'use strict';
  var el = document.getElementById('headlight-report-data');
  var data = JSON.parse(el.textContent, function (_k, x) {
    if (x && typeof x === 'object' && typeof x.b64 === 'string' && x.__ta) {
      var bin = atob(x.b64), u8 = new Uint8Array(bin.length);
      for (var i = 0; i < bin.length; i++) u8[i] = bin.charCodeAt(i);
      return x.__ta === 'u8' ? u8 : new Float32Array(u8.buffer);
    }
    if (x && typeof x === 'object' && typeof x.__num === 'string') return Number(x.__num);
    return x;
  });
  var mats = new Map();
  data.matrices.forEach(function (m) { mats.set(m.layer + ':' + m.head, m); });
  var state = data.state;
  function send(msg) { setTimeout(function () { window.postMessage(msg, '*'); }, 0); }
  window.headlightReport = { heads: data.matrices.length, flows: data.flows.length, tokens: data.session.tokens.length };
  window.acquireVsCodeApi = function () {
    return {
      getState: function () { return state; },
      setState: function (s) { state = s; },
      postMessage: function (msg) {
        if (!msg || typeof msg !== 'object') return;
        if (msg.type === 'webview/ready') send({ type: 'session/data', session: data.session, state: state });
        else if (msg.type === 'request') {
          var p = msg.params || {}, result, error;
          if (msg.method === 'head/matrix') {
            result = mats.get(p.layer + ':' + p.head);
            if (!result) error = 'This report holds the attention of ' + data.matrices.length + ' heads (the chosen head and every head with a role); L' + p.layer + 'H' + p.head + ' is not among them.';
          } else if (msg.method === 'flow/rollout') {
            result = data.flows[p.token];
            if (!result) error = 'This report holds no rollout for token ' + p.token + ' (only texts up to ${SHORT_TEXT_TOKENS} tokens carry them).';
          } else if (msg.method === 'routes/trace') {
            result = (data.routes || []).find(function (r) { return r.token === p.token; });
            if (!result) error = data.session.routesNote || ('This report holds routes for ' + (data.routes || []).length + ' tokens (every token of texts up to ${SHORT_ROUTES_TOKENS} tokens, else the last ${ROUTE_TAIL}); token ' + p.token + ' is not among them.');
            else if (p.threshold < result.threshold) { error = 'This report holds routes down to a share of ' + result.threshold + '.'; result = undefined; }
          } else error = 'Not available in a report.';
          send(error ? { type: 'reply', id: msg.id, ok: false, error: error } : { type: 'reply', id: msg.id, ok: true, result: result });
        }
      }
    };
  };
})();`;

/** Script text that cannot end its <script> element early, with no literal "scheme://" left in it. */
export function inlineScript(js: string): string {
  // "://" occurs only inside strings, templates and comments (in a regex literal it is written ":\/\/"),
  // where ":\/\/" means the same characters: XML namespace URIs still work, and the file names no URL.
  return js
    .replace(/\/\/# sourceMappingURL=.*$/gm, '')
    .replace(/<\/(script)/gi, '<\\/$1')
    .replace(/<!--/g, '<\\!--')
    .replace(/:\/\//g, ':\\/\\/');
}

export function inlineStyle(css: string): string {
  return css.replace(/\/\*# sourceMappingURL=.*?\*\//g, '').replace(/<\/(style)/gi, '<\\/$1');
}

export function makeReportNonce(): string {
  return randomBytes(18).toString('base64url');
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function buildReport(data: ReportData, assets: ReportAssets, nonce = makeReportNonce()): string {
  const csp = ["default-src 'none'", `script-src 'nonce-${nonce}'`, `style-src 'nonce-${nonce}'`, 'img-src data: blob:'].join('; ');
  const vars = Object.entries(REPORT_THEME)
    .map(([k, v]) => `--vscode-${k}: ${v};`)
    .join(' ');
  const payload = escapeJsonForScript(
    encodeTyped({ session: data.session, state: data.state, matrices: data.matrices, flows: data.flows, routes: data.routes ?? [] }),
  ).replace(/:\/\//g, ':\\/\\/'); // "\/" is "/" in JSON: URLs in the user's text stay text, the file names none
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta name="generator" content="Headlight">
<title>${escapeHtml(`Headlight report: ${data.session.title} (${data.session.model.name})`)}</title>
<style nonce="${nonce}">:root { ${vars} }
body { background: var(--vscode-editor-background); color: var(--vscode-foreground); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); margin: 0; padding: 0 20px; }</style>
<style nonce="${nonce}">${inlineStyle(assets.css)}</style>
</head>
<body class="vscode-light">
<div id="app"></div>
<script type="application/json" id="headlight-bootstrap" nonce="${nonce}">${inlineJson({ state: data.state, report: true })}</script>
<script type="application/json" id="headlight-report-data" nonce="${nonce}">${payload}</script>
<script nonce="${nonce}">${STUB}</script>
<script nonce="${nonce}">${inlineScript(assets.js)}</script>
<script nonce="${nonce}">${inlineScript(assets.charts ?? chartsBeside())}</script>
</body>
</html>
`;
}
