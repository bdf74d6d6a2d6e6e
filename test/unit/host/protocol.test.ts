import * as assert from 'node:assert/strict';
import { defaultPanelState, isPanelState, parseHostMessage, parseWebviewMessage, PROTOCOL_VERSION } from '../../../src/protocol';

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
    ];
    for (const m of good) assert.deepEqual(parseWebviewMessage(m), m, JSON.stringify(m));
  });

  it('drops malformed, unknown and hostile webview messages', () => {
    const bad: unknown[] = [
      null, 42, 'webview/ready', [], {}, { type: 'eval', code: 'alert(1)' },
      { type: 'webview/ready' },
      { type: 'token/hover', index: -1, keys: [] },
      { type: 'token/hover', index: 1.5, keys: [] },
      { type: 'token/hover', index: 1, keys: [{ index: 'x', weight: 1 }] },
      { type: 'token/hover', index: 1, keys: Array.from({ length: 65 }, (_, i) => ({ index: i, weight: 0 })) },
      { type: 'command/run', command: 'workbench.action.terminal.new' },
      { type: 'log', level: 'debug', message: 'x' },
      { type: 'request', id: 1, method: 'head/matrix', params: { sessionId: 1, layer: '0', head: 0 } },
      { type: 'request', id: 1, method: 'fs/read', params: { path: '/etc/passwd' } },
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

describe('protocol guards: compare and export', () => {
  const state = defaultPanelState('file:///a.txt', [0, 0, 2, 5], 'planted');
  const session = { id: 1, title: 't', text: 'ab', model: { name: 'm', kind: 'causal', layers: 1, headsPerLayer: 1 }, tokens: [], heads: [], metrics: [], thumbSize: 1, thumbnails: [] };
  const diff = { labels: { a: 'a', b: 'b' }, changes: [], kept: [], sameShape: true, alignment: { identical: true, spans: [], specialA: [], specialB: [], note: '' }, layers: [] };

  it('accepts export messages from the webview and drops malformed ones', () => {
    const png = { type: 'export/rendered', id: 1, format: 'png', ok: true, data: new Uint8Array([137, 80]), width: 10, height: 5 };
    const svg = { type: 'export/rendered', id: 2, format: 'svg', ok: true, data: '<svg/>', width: 10, height: 5 };
    const err = { type: 'export/rendered', id: 3, format: 'png', ok: false, error: 'hidden' };
    for (const m of [png, svg, err, { type: 'export/start', format: 'html' }, { type: 'export/start', format: 'csv' }]) assert.deepEqual(parseWebviewMessage(m), m);
    const bad: unknown[] = [
      { type: 'export/start', format: 'exe' },
      { ...png, data: 'iVBOR' }, { ...svg, data: new Uint8Array(1) }, { ...png, width: 0 }, { ...png, id: '1' },
      { ...png, format: 'html' }, { ...err, error: 3 },
    ];
    for (const m of bad) assert.equal(parseWebviewMessage(m), undefined, JSON.stringify(m));
  });

  it('validates compare/data and export/render from the host', () => {
    assert.ok(parseHostMessage({ type: 'compare/data', a: session, b: session, diff, state }));
    assert.equal(parseHostMessage({ type: 'compare/data', a: session, b: {}, diff, state }), undefined);
    assert.equal(parseHostMessage({ type: 'compare/data', a: session, b: session, diff: { changes: [] }, state }), undefined);
    assert.ok(parseHostMessage({ type: 'export/render', id: 4, format: 'svg' }));
    assert.equal(parseHostMessage({ type: 'export/render', id: 4, format: 'csv' }), undefined);
  });
});
