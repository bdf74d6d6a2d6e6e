import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  defaultPanelState,
  isPanelState,
  parseHostMessage,
  parseWebviewMessage,
  HOST_MESSAGE_TYPES,
  HOST_REQUEST_METHODS,
  HOST_REQUEST_PARAM_GUARDS,
  HOST_REQUEST_RESULT_GUARDS,
  REQUEST_METHODS,
  REQUEST_PARAM_GUARDS,
  WEBVIEW_MESSAGE_TYPES,
  type HostRequestMap,
  type HostToWebview,
  type RequestMap,
  type WebviewToHost,
} from '../../../src/protocol/panel';
import { PROTOCOL_VERSION } from '../../../src/protocol/wire';
import { ROLE_NAMES } from '../../../src/protocol/wire';
import { ROLE_COLOUR_VAR, ROLE_HINT } from '../../../webview/roleTable';

describe('protocol guards', () => {
  const state = defaultPanelState('file:///a.txt', [0, 0, 2, 5], 'planted');

  it('accepts every well-formed webview message and returns it unchanged', () => {
    const good = [
      { type: 'webview/ready', protocol: PROTOCOL_VERSION },
      { type: 'state/changed', state },
      { type: 'token/hover', index: 3, keys: [{ index: 1, weight: 0.5 }] },
      { type: 'token/hover', index: null, keys: [] },
      { type: 'token/reveal', index: 0 },
      { type: 'command/run', command: 'findHead' },
      { type: 'log', level: 'warn', message: 'x' },
      { type: 'request', id: 7, method: 'head/matrix', params: { sessionId: 1, layer: 0, head: 2 } },
      { type: 'request', id: 8, method: 'flow/rollout', params: { sessionId: 1, token: 4 } },
      { type: 'request', id: 9, method: 'routes/trace', params: { sessionId: 1, token: 4, threshold: 0.04 } },
      { type: 'request', id: 10, method: 'heads/valueThumbnails', params: { sessionId: 1 } },
    ];
    for (const m of good) assert.deepEqual(parseWebviewMessage(m), m, JSON.stringify(m));
  });

  it('drops malformed, unknown and hostile webview messages', () => {
    const bad: unknown[] = [
      null,
      42,
      'webview/ready',
      [],
      {},
      { type: 'eval', code: 'alert(1)' },
      { type: 'webview/ready' },
      { type: 'token/hover', index: -1, keys: [] },
      { type: 'token/hover', index: 1.5, keys: [] },
      { type: 'token/hover', index: 1, keys: [{ index: 'x', weight: 1 }] },
      { type: 'token/hover', index: 1, keys: Array.from({ length: 65 }, (_, i) => ({ index: i, weight: 0 })) },
      { type: 'command/run', command: 'workbench.action.terminal.new' },
      { type: 'log', level: 'debug', message: 'x' },
      { type: 'request', id: 1, method: 'head/matrix', params: { sessionId: 1, layer: '0', head: 0 } },
      { type: 'request', id: 1, method: 'fs/read', params: { path: '/etc/passwd' } },
      // Routes: a threshold below the floor (a graph of every edge) or not a share, and a negative token.
      { type: 'request', id: 1, method: 'routes/trace', params: { sessionId: 1, token: 4, threshold: 0 } },
      { type: 'request', id: 1, method: 'routes/trace', params: { sessionId: 1, token: 4, threshold: 2 } },
      { type: 'request', id: 1, method: 'routes/trace', params: { sessionId: 1, token: -1, threshold: 0.1 } },
      { type: 'request', id: 1, method: 'heads/valueThumbnails', params: { sessionId: 'all' } },
      { type: 'state/changed', state: { ...state, version: 99 } },
      { type: 'state/changed', state: { ...state, view: 'terminal' } },
      { type: 'state/changed', state: { ...state, source: { uri: 'file:///a', range: [0, 0, -1, 0] } } },
    ];
    for (const m of bad) assert.equal(parseWebviewMessage(m), undefined, JSON.stringify(m));
  });

  it('validates host messages the webview receives', () => {
    assert.ok(parseHostMessage({ type: 'editor/cursorToken', index: null }));
    assert.ok(parseHostMessage({ type: 'head/focus', layer: 1, head: 3, view: 'arcs' }));
    assert.equal(parseHostMessage({ type: 'head/focus', layer: 1, head: 3, view: 'nope' }), undefined);
    assert.equal(parseHostMessage({ type: 'session/data', session: {}, state }), undefined);
    // session/heads: the analysis of a first-painted session; thumbnails must be byte arrays.
    const heads = { type: 'session/heads', sessionId: 4, heads: [], thumbnails: [new Uint8Array(4)] };
    assert.deepEqual(parseHostMessage(heads), heads);
    assert.equal(parseHostMessage({ ...heads, sessionId: '4' }), undefined);
    assert.equal(parseHostMessage({ ...heads, thumbnails: [[1, 2, 3]] }), undefined);
    assert.equal(parseHostMessage({ ...heads, heads: 'x' }), undefined);
    // ... with the value norms measured after the first paint.
    const late = { ...heads, valueNorms: { data: new Float32Array(4), weighting: 'value·W_O' }, valueNormsNote: undefined };
    assert.ok(parseHostMessage(late));
    assert.equal(parseHostMessage({ ...heads, valueNorms: { data: [1, 2], weighting: 'value' } }), undefined);
    assert.equal(parseHostMessage({ ...heads, valueNormsNote: 3 }), undefined);
    assert.ok(parseHostMessage({ type: 'reply', id: 3, ok: false, error: 'x' }));
    assert.equal(parseHostMessage({ type: 'reply', id: '3', ok: true }), undefined);
  });

  it('recognises only complete panel states', () => {
    assert.equal(isPanelState(state), true);
    const { topK: _drop, ...partial } = state;
    assert.equal(isPanelState(partial), false);
    assert.equal(isPanelState({ ...state, mode: 'all' }), false);
  });
});

// A minimal panel state, session and comparison, the samples both describe blocks below send through the guards.
const state = defaultPanelState('file:///a.txt', [0, 0, 2, 5], 'planted');
const session = {
  id: 1,
  title: 't',
  text: 'ab',
  model: { name: 'm', kind: 'causal', layers: 1, headsPerLayer: 1 },
  tokens: [],
  heads: [],
  metrics: [],
  thumbSize: 1,
  thumbnails: [],
};
const diff = {
  labels: { a: 'a', b: 'b' },
  changes: [],
  kept: [],
  sameShape: true,
  alignment: { identical: true, spans: [], specialA: [], specialB: [], note: '' },
  layers: [],
};

describe('protocol guards: compare and export', () => {
  it("accepts export messages and the webview's replies to export/render, and drops malformed ones", () => {
    const good = [
      { type: 'export/start', format: 'html' },
      { type: 'export/start', format: 'csv' },
      { type: 'reply', id: 1, ok: true, result: { data: new Uint8Array([137, 80]), width: 10, height: 5 } },
      { type: 'reply', id: 3, ok: false, error: 'hidden' },
    ];
    for (const m of good) assert.deepEqual(parseWebviewMessage(m), m);
    const bad: unknown[] = [
      { type: 'export/start', format: 'exe' },
      { type: 'reply', id: '1', ok: true, result: {} },
      { type: 'reply', id: 1, ok: false, error: 3 },
      { type: 'reply', id: 1, ok: 'yes' },
      // The old notification is no message any more: the answer is a reply.
      { type: 'export/rendered', id: 1, format: 'svg', ok: true, data: '<svg/>', width: 10, height: 5 },
    ];
    for (const m of bad) assert.equal(parseWebviewMessage(m), undefined, JSON.stringify(m));
  });

  it('checks what a rendered export carries against the format asked for', () => {
    const check = HOST_REQUEST_RESULT_GUARDS['export/render'];
    const png = { data: new Uint8Array([137, 80]), width: 10, height: 5 };
    const svg = { data: '<svg/>', width: 10, height: 5 };
    assert.equal(check(png, { format: 'png' }), true);
    assert.equal(check(svg, { format: 'svg' }), true);
    for (const [r, format] of [
      [{ ...png, data: 'iVBOR' }, 'png'],
      [{ ...svg, data: new Uint8Array(1) }, 'svg'],
      [{ ...png, width: 0 }, 'png'],
      [{ ...svg, height: 1.5 }, 'svg'],
      [png, 'svg'],
      [null, 'png'],
      ['<svg/>', 'svg'],
    ] as const) {
      assert.equal(check(r, { format: format }), false, JSON.stringify(r));
    }
  });

  it('validates compare/data and the export/render request from the host', () => {
    assert.ok(parseHostMessage({ type: 'compare/data', a: session, b: session, diff, state }));
    assert.equal(parseHostMessage({ type: 'compare/data', a: session, b: {}, diff, state }), undefined);
    assert.equal(parseHostMessage({ type: 'compare/data', a: session, b: session, diff: { changes: [] }, state }), undefined);
    assert.ok(parseHostMessage({ type: 'request', id: 4, method: 'export/render', params: { format: 'svg' } }));
    for (const bad of [
      { type: 'request', id: 4, method: 'export/render', params: { format: 'csv' } },
      { type: 'request', id: 4, method: 'export/render' },
      { type: 'request', id: '4', method: 'export/render', params: { format: 'png' } },
      // A webview request method is not one the host may send, and prototype keys are not methods.
      { type: 'request', id: 4, method: 'head/matrix', params: { sessionId: 1, layer: 0, head: 0 } },
      { type: 'request', id: 4, method: 'constructor', params: {} },
      { type: 'export/render', id: 4, format: 'svg' },
    ])
      assert.equal(parseHostMessage(bad), undefined, JSON.stringify(bad));
    assert.equal(parseWebviewMessage({ type: 'request', id: 4, method: 'export/render', params: { format: 'svg' } }), undefined);
  });
});

describe('protocol: one description, no drift', () => {
  // One well-formed message per type. `satisfies` makes a new message type fail to build until it has a
  // sample here, and the guard tables in src/protocol/panel.ts fail to build until it has a guard.
  const webviewSamples = {
    'webview/ready': { type: 'webview/ready', protocol: PROTOCOL_VERSION },
    'state/changed': { type: 'state/changed', state },
    'token/hover': { type: 'token/hover', index: 1, keys: [] },
    'token/reveal': { type: 'token/reveal', index: 1 },
    'command/run': { type: 'command/run', command: 'selectModel' },
    log: { type: 'log', level: 'info', message: 'm' },
    'export/start': { type: 'export/start', format: 'png' },
    'effects/measure': { type: 'effects/measure', sessionId: 1 },
    request: { type: 'request', id: 1, method: 'head/matrix', params: { sessionId: 1, layer: 0, head: 0 } },
    reply: { type: 'reply', id: 1, ok: true, result: { data: '<svg/>', width: 1, height: 1 } },
  } satisfies { [K in WebviewToHost['type']]: Extract<WebviewToHost, { type: K }> };
  const hostSamples = {
    'session/loading': { type: 'session/loading', title: 't', message: 'm' },
    'session/data': { type: 'session/data', session: session as never, state },
    'session/heads': { type: 'session/heads', sessionId: 1, heads: [], thumbnails: [] },
    'session/error': { type: 'session/error', message: 'm' },
    'editor/cursorToken': { type: 'editor/cursorToken', index: null },
    'head/focus': { type: 'head/focus', layer: 0, head: 0 },
    reply: { type: 'reply', id: 1, ok: true, result: null },
    'compare/data': { type: 'compare/data', a: session as never, b: session as never, diff, state },
    request: { type: 'request', id: 1, method: 'export/render', params: { format: 'png' } },
    'session/effects': {
      type: 'session/effects',
      sessionId: 1,
      status: 'done',
      effects: { method: 'm', meanDelta: new Float32Array(1), perToken: [new Float32Array(2)], sentences: ['s'], ms: 1 },
    },
  } satisfies { [K in HostToWebview['type']]: Extract<HostToWebview, { type: K }> };

  it('has a guard for every message type and a message type for every guard, each accepting its sample', () => {
    assert.deepEqual([...WEBVIEW_MESSAGE_TYPES].sort(), Object.keys(webviewSamples).sort());
    assert.deepEqual([...HOST_MESSAGE_TYPES].sort(), Object.keys(hostSamples).sort());
    for (const m of Object.values(webviewSamples)) assert.deepEqual(parseWebviewMessage(m), m, m.type);
    for (const m of Object.values(hostSamples)) assert.deepEqual(parseHostMessage(m), m, m.type);
    // A type that exists on one side only is refused on the other, and prototype keys are not types.
    assert.equal(parseWebviewMessage({ type: 'session/error', message: 'x' }), undefined);
    assert.equal(parseHostMessage({ type: 'log', level: 'info', message: 'x' }), undefined);
    for (const type of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      assert.equal(parseWebviewMessage({ type }), undefined, type);
      assert.equal(parseHostMessage({ type }), undefined, type);
    }
  });

  // One sample of params per request method, each direction; `satisfies` makes a new method fail to build here too.
  const webviewParams = {
    'head/matrix': { sessionId: 1, layer: 0, head: 2 },
    'flow/rollout': { sessionId: 1, token: 4, weighting: 'value' },
    'routes/trace': { sessionId: 1, token: 4, threshold: 0.04 },
    'heads/valueThumbnails': { sessionId: 1 },
  } satisfies { [M in keyof RequestMap]: RequestMap[M]['params'] };
  const hostParams = { 'export/render': { format: 'svg' } } satisfies { [M in keyof HostRequestMap]: HostRequestMap[M]['params'] };

  it('has a params guard for every request method in each direction, each accepting its sample inside the envelope', () => {
    assert.deepEqual([...REQUEST_METHODS].sort(), Object.keys(webviewParams).sort());
    assert.deepEqual([...HOST_REQUEST_METHODS].sort(), Object.keys(hostParams).sort());
    for (const [method, params] of Object.entries(webviewParams)) {
      assert.equal(REQUEST_PARAM_GUARDS[method as keyof RequestMap](params), true, method);
      const m = { type: 'request', id: 2, method, params };
      assert.deepEqual(parseWebviewMessage(m), m, method);
      assert.equal(parseWebviewMessage({ ...m, params: undefined }), undefined, `${method} without params`);
    }
    for (const [method, params] of Object.entries(hostParams)) {
      assert.equal(HOST_REQUEST_PARAM_GUARDS[method as keyof HostRequestMap](params), true, method);
      const m = { type: 'request', id: 2, method, params };
      assert.deepEqual(parseHostMessage(m), m, method);
      assert.equal(parseHostMessage({ ...m, params: {} }), undefined, `${method} with empty params`);
    }
  });

  it('depends on nothing outside itself: src/protocol/ imports only its own files, and no Node or DOM module', () => {
    const dir = path.resolve(__dirname, '../../../src/protocol');
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.ts'));
    assert.deepEqual(files.sort(), ['index.ts', 'ipc.ts', 'panel.ts', 'strings.ts', 'wire.ts']);
    for (const f of files) {
      const src = fs.readFileSync(path.join(dir, f), 'utf8');
      for (const m of src.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+['"]([^'"]+)['"]/gm)) assert.match(m[1], /^\.\/[a-z]+$/i, `${f} imports ${m[1]}`);
      assert.doesNotMatch(src, /\brequire\(/, f);
    }
  });

  it('owns the role names the webview colours and explains, and no two coloured roles share a colour', () => {
    assert.equal(new Set(ROLE_NAMES).size, ROLE_NAMES.length);
    assert.deepEqual(Object.keys(ROLE_HINT).sort(), [...ROLE_NAMES].sort());
    const coloured = ROLE_NAMES.map((r) => ROLE_COLOUR_VAR[r]).filter((c) => c !== 'muted');
    assert.equal(coloured.length, ROLE_NAMES.length - 1, 'only broad is drawn muted');
    assert.equal(new Set(coloured.map((c) => c.variable)).size, coloured.length, 'one theme variable per role');
    for (let i = 0; i < coloured.length; i++)
      for (let j = i + 1; j < coloured.length; j++) {
        const [a, b] = [coloured[i].fallback, coloured[j].fallback];
        assert.ok(Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]) > 35, `${coloured[i].variable} vs ${coloured[j].variable}`);
      }
  });
});
