// The renderer ⇄ host messages (src/notebook/messages.ts): every message type has a guard that accepts a
// well-formed sample and drops malformed ones, and the session crosses VS Code's JSON channel intact (typed arrays
// as base64, NaN metrics as null).
import * as assert from 'node:assert/strict';
import {
  decodeFlow,
  decodeMatrix,
  decodeSession,
  encodeFlow,
  encodeMatrix,
  encodeSession,
  HOST_MESSAGE_TYPES,
  parseHostToRenderer,
  parseRendererMessage,
  RENDERER_MESSAGE_TYPES,
  type HostToRenderer,
  type RendererToHost,
} from '../../../src/notebook/messages';
import type { SessionData } from '../../../src/protocol';

const session: SessionData = {
  id: 3,
  title: 't',
  text: 'ab',
  model: { name: 'm', kind: 'causal', layers: 1, headsPerLayer: 2 },
  tokens: [
    { text: 'a', start: 0, end: 1, special: false },
    { text: 'b', start: 1, end: 2, special: false, syntax: 'NOUN' },
  ],
  heads: [0, 1].map((h): SessionData['heads'][number] => ({
    layer: 0,
    head: h,
    id: `L0H${h}`,
    metrics: { entropy: h ? NaN : 0.25, sink: 1 },
    notes: h ? { entropy: 'why' } : {},
    roles: [],
  })),
  metrics: [{ key: 'entropy', label: 'Entropy', definition: 'd' }],
  thumbSize: 2,
  thumbnails: [Uint8Array.of(1, 2, 3, 4), Uint8Array.of(5, 6, 7, 255)],
};

describe('notebook renderer messages', () => {
  const toHost: Record<RendererToHost['type'], RendererToHost> = {
    analyse: { type: 'analyse', id: 1, payload: '{}' },
    matrix: { type: 'matrix', id: 2, key: 'k', layer: 0, head: 1 },
    flow: { type: 'flow', id: 3, key: 'k', token: 4 },
    'open-panel': { type: 'open-panel', id: 4, payload: '{}' },
  };
  const toRenderer: Record<HostToRenderer['type'], HostToRenderer> = {
    analysed: { type: 'analysed', id: 1, key: 'k', session: encodeSession(session) },
    matrix: encodeMatrix(2, { layer: 0, head: 1, seq: 2, data: Uint8Array.of(255, 0, 128, 127) }),
    flow: encodeFlow(3, { token: 1, layers: [Float32Array.of(0.25, 0.75)] }),
    opened: { type: 'opened', id: 4 },
    error: { type: 'error', id: 5, message: 'no', expired: true },
  };

  it('every message type has a guard that accepts a well-formed sample (after a JSON round trip)', () => {
    assert.deepEqual(Object.keys(toHost).sort(), [...RENDERER_MESSAGE_TYPES].sort());
    assert.deepEqual(Object.keys(toRenderer).sort(), [...HOST_MESSAGE_TYPES].sort());
    for (const m of Object.values(toHost)) assert.deepEqual(parseRendererMessage(JSON.parse(JSON.stringify(m))), m, m.type);
    for (const m of Object.values(toRenderer)) assert.deepEqual(parseHostToRenderer(JSON.parse(JSON.stringify(m))), m, m.type);
  });

  it('drops malformed messages', () => {
    for (const bad of [
      null,
      'analyse',
      [],
      { type: 'eval', id: 1 },
      { type: 'analyse', id: -1, payload: '' },
      { type: 'analyse', id: 1 },
      { type: 'matrix', id: 1, key: 'k', layer: 0.5, head: 0 },
      { type: 'flow', id: 1, key: 3, token: 0 },
      { type: '__proto__', id: 1 },
    ]) {
      assert.equal(parseRendererMessage(bad), undefined, JSON.stringify(bad));
    }
    for (const bad of [
      { type: 'analysed', id: 1, key: 'k', session: {} },
      { type: 'matrix', id: 1, layer: 0, head: 0, seq: 2, data: 5 },
      { type: 'flow', id: 1, token: 0, layers: [1] },
      { type: 'error', id: 1 },
      { type: 'constructor', id: 1 },
    ]) {
      assert.equal(parseHostToRenderer(bad), undefined, JSON.stringify(bad));
    }
  });

  it('a session, a head matrix and a rollout survive the JSON channel', () => {
    const back = decodeSession(JSON.parse(JSON.stringify(encodeSession(session))));
    assert.deepEqual(back, session);
    assert.ok(Number.isNaN(back.heads[1].metrics.entropy));
    const m = decodeMatrix(JSON.parse(JSON.stringify(toRenderer.matrix)) as Extract<HostToRenderer, { type: 'matrix' }>);
    assert.deepEqual(Array.from(m.data), [255, 0, 128, 127]);
    const f = decodeFlow(JSON.parse(JSON.stringify(toRenderer.flow)) as Extract<HostToRenderer, { type: 'flow' }>);
    assert.deepEqual(Array.from(f.layers[0]), [0.25, 0.75]);
    assert.throws(() => decodeSession({ ...encodeSession(session), thumbnails: 'AAAA' }), /thumbnails hold 3 bytes, expected 8/);
  });
});
