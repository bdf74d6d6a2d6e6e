// The controller against a fake session source and a fake webview: what the panel is sent, which source answers
// its requests, and what the user is told. First import: support/vscode makes `require('vscode')` load the fake.
import { fake, window, CancellationError, EventEmitter, Position, Range, Uri, type FakeDocument, type FakeWebview } from './support/vscode';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type * as vscode from 'vscode';
import { Controller, type ExplainTarget } from '../../../src/host/controller';
import { compareModels } from '../../../src/commands/compareModels';
import { untilAnalysed } from '../../../src/host/untilAnalysed';
import { EngineSessionSource } from '../../../src/host/engineSource';
import { AUTO_EFFECTS_MS, type BuildRequest, type CompareRequest, type SessionSource } from '../../../src/host/sessionSource';
import type { ExternalSource } from '../../../src/host/panelContent';
import { EngineError } from '../../../src/core/errors';
import { compareSessions } from '../../../src/session/compare';
import type { EffectScope } from '../../../src/session/effectsOrder';
import { defaultPanelState, type RequestMap, type RequestMethod, type SessionData, type WireEffects } from '../../../src/protocol';

const ROOT = path.join(__dirname, '..', '..', '..');

interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void, reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
}

type EffectsCall = {
  sessionId: number;
  token: vscode.CancellationToken;
  opts?: { scope?: EffectScope; onPartial?: (sofar: WireEffects) => void };
} & Deferred<WireEffects>;
type Pair = { a: SessionData; b: SessionData };

/** A session source whose builds, comparisons and measurements wait until the test settles them. */
class FakeSource implements SessionSource {
  readonly builds: (BuildRequest & Deferred<SessionData>)[] = [];
  readonly compares: (CompareRequest & Deferred<Pair>)[] = [];
  readonly measured: EffectsCall[] = [];
  readonly requests: { method: string; sessionId: number }[] = [];
  /** What effectsEstimateMs answers for every session. */
  estimate: number | undefined;
  private readonly changed = new EventEmitter<void>();

  build(req: BuildRequest): Promise<SessionData> {
    return this.add(this.builds, { ...req, ...deferred<SessionData>() });
  }
  compare(req: CompareRequest): Promise<Pair> {
    return this.add(this.compares, { ...req, ...deferred<Pair>() });
  }
  measureEffects(sessionId: number, token: vscode.CancellationToken, _onProgress: unknown, opts?: EffectsCall['opts']): Promise<WireEffects> {
    return this.add(this.measured, { sessionId, token, opts, ...deferred<WireEffects>() });
  }
  request<M extends RequestMethod>(method: M, params: RequestMap[M]['params']): Promise<RequestMap[M]['result']> {
    this.requests.push({ method, sessionId: params.sessionId });
    return Promise.resolve('from the engine' as never);
  }
  effectsEstimateMs(): number | undefined {
    return this.estimate;
  }
  dispose(): void {
    /* nothing held */
  }

  /** The n-th (1-based) call of a kind, once it has been made. */
  nth<T>(list: T[], n: number): Promise<T> {
    if (list.length >= n) return Promise.resolve(list[n - 1]);
    return new Promise((resolve) => {
      const sub = this.changed.event(() => {
        if (list.length >= n) {
          sub.dispose();
          resolve(list[n - 1]);
        }
      });
    });
  }

  private add<T extends { promise: Promise<R> }, R>(list: T[], call: T): Promise<R> {
    list.push(call);
    this.changed.fire();
    return call.promise;
  }
}

/** A dump's own source: answers its session's requests, and says when it was let go of. */
class FakeDump implements ExternalSource {
  disposed = false;
  readonly requests: string[] = [];
  request<M extends RequestMethod>(method: M): Promise<RequestMap[M]['result']> {
    this.requests.push(method);
    return Promise.resolve('from the dump' as never);
  }
  dispose(): void {
    this.disposed = true;
  }
}

function session(id: number, text: string, model = 'fake-lm', extra: Partial<SessionData> = {}): SessionData {
  const tokens = [...text.matchAll(/\S+/g)].map((m) => ({ text: m[0], start: m.index, end: m.index + m[0].length, special: false }));
  return {
    id,
    title: `session ${id}`,
    text,
    model: { name: model, kind: 'causal', layers: 2, headsPerLayer: 2 },
    tokens,
    heads: [],
    metrics: [],
    thumbSize: 0,
    thumbnails: [],
    ...extra,
  };
}

const effects = (measured: number): WireEffects => ({ method: 'zero-ablation', meanDelta: new Float32Array(4), perToken: [], sentences: [], ms: 1, measured });

const target = (doc: FakeDocument, l0: number, c0: number, l1: number, c1: number): ExplainTarget => ({
  document: doc as unknown as vscode.TextDocument,
  range: new Range(l0, c0, l1, c1) as unknown as vscode.Range,
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- posted messages are read field by field, each checked by the assertion
type Msg = Record<string, any>;

describe('host: the controller', () => {
  let source: FakeSource;
  let controller: Controller;
  let doc: FakeDocument;
  /** The page of the one panel (every test expects the panel to be reused, never a second one). */
  const page = (): FakeWebview => {
    assert.equal(fake.panels.length, 1, 'one panel');
    return fake.panels[0].webview;
  };
  const next = (type: string, match: (m: Msg) => boolean = () => true): Promise<Msg> => page().next<Msg>((m) => m.type === type && match(m));

  beforeEach(() => {
    fake.reset();
    source = new FakeSource();
    controller = new Controller({ extensionUri: Uri.file('/ext') } as unknown as vscode.ExtensionContext, source);
    doc = fake.document('file:///work/notes.txt', 'alpha beta gamma\ndelta epsilon\n');
  });
  afterEach(() => controller.dispose());

  it('explain: shows the session the source built, and links the editor cursor to its tokens', async () => {
    const done = controller.explain(target(doc, 1, 0, 1, 13));
    const b = await source.nth(source.builds, 1);
    assert.equal(b.text, 'delta epsilon');
    assert.equal(b.title, 'Attention: notes.txt:2');
    assert.deepEqual(b.syntax, { language: 'plaintext', text: doc.getText(), offset: 17 });
    b.resolve(session(b.id, b.text));
    await done;
    const data = await next('session/data');
    assert.equal(page().posted[0] && (page().posted[0] as Msg).type, 'session/loading', 'the loading message comes first');
    assert.equal(data.session.id, b.id);
    assert.equal(data.state.model, 'fake-lm');
    assert.deepEqual(data.state.source, { uri: 'file:///work/notes.txt', range: [1, 0, 1, 13] });
    assert.equal(controller.session?.id, b.id);
    assert.equal(controller.comparing, false);
    assert.deepEqual(fake.commands[0], ['setContext', 'headlight.panelOpen', true]);
    // The cursor on "epsilon" (line 1, column 8) is token 1 of the explained range.
    fake.selection.fire({ textEditor: { document: doc }, selections: [{ active: new Position(1, 8) }] });
    assert.equal((await next('editor/cursorToken')).index, 1);
  });

  it('an empty selection is refused with a warning and runs nothing', async () => {
    await controller.explain(target(doc, 0, 0, 0, 0));
    assert.equal(source.builds.length, 0);
    assert.equal(fake.panels.length, 0);
    assert.match(fake.messages[0]?.message ?? '', /select some text/);
  });

  it("a second explain while one runs cancels it; the first one's late session is never shown", async () => {
    const first = controller.explain(target(doc, 0, 0, 0, 16));
    const a = await source.nth(source.builds, 1);
    const second = controller.explain(target(doc, 1, 0, 1, 13));
    const b = await source.nth(source.builds, 2);
    assert.equal(a.token.isCancellationRequested, true);
    assert.equal(b.token.isCancellationRequested, false);
    b.resolve(session(b.id, b.text));
    await second;
    a.resolve(session(a.id, a.text));
    await first;
    assert.equal(fake.panels[0].title, 'Attention: notes.txt:2', 'the one panel, retitled');
    assert.deepEqual(
      page()
        .of('session/data')
        .map((m: Msg) => m.session.id),
      [b.id],
    );
    assert.equal(controller.session?.id, b.id);
    assert.deepEqual(fake.messages, []);
  });

  it('a superseded explain that fails says nothing', async () => {
    const first = controller.explain(target(doc, 0, 0, 0, 16));
    const a = await source.nth(source.builds, 1);
    const second = controller.explain(target(doc, 1, 0, 1, 13));
    const b = await source.nth(source.builds, 2);
    a.reject(new EngineError('cancelled', 'aborted'));
    await first;
    b.resolve(session(b.id, b.text));
    await second;
    await next('session/data');
    assert.deepEqual(page().of('session/error'), []);
    assert.deepEqual(fake.messages, []);
  });

  it('a first paint, then only the analysis: the panel keeps the preview and is sent the heads', async () => {
    const done = controller.explain(target(doc, 0, 0, 0, 16));
    const b = await source.nth(source.builds, 1);
    b.onPreview!(session(b.id, b.text, 'fake-lm', { analysing: true }));
    await next('session/data');
    b.resolve(session(b.id, b.text, 'fake-lm', { thumbnails: [new Uint8Array(1)] }));
    await done;
    const heads = await next('session/heads');
    assert.equal(heads.sessionId, b.id);
    assert.equal(page().of('session/data').length, 1);
    assert.equal(controller.session?.analysing, undefined, "the panel's copy has the analysis");
  });

  it('Export or Find Head asked between first paint and analysis waits for it, and a cancel gives up waiting', async () => {
    const done = controller.explain(target(doc, 0, 0, 0, 16));
    const b = await source.nth(source.builds, 1);
    b.onPreview!(session(b.id, b.text, 'fake-lm', { analysing: true }));
    await next('session/data');
    let answered = false;
    const waiting = untilAnalysed(controller, 'exporting once analysed').finally(() => {
      answered = true;
    });
    assert.deepEqual(
      fake.progress.map((p) => p.options.cancellable),
      [true],
    );
    await new Promise<void>((resolve) => setImmediate(resolve)); // every pending callback has run: still waiting
    assert.equal(answered, false, 'waits for the analysis');
    b.resolve(session(b.id, b.text));
    assert.equal(await waiting, true);
    assert.equal(controller.session?.analysing, undefined);
    await done;
    assert.equal(await untilAnalysed(controller, 'no wait'), true, 'nothing to wait for: no second notification');
    assert.equal(fake.progress.length, 1);
    const again = controller.explain(target(doc, 1, 0, 1, 13));
    const c = await source.nth(source.builds, 2);
    c.onPreview!(session(c.id, c.text, 'fake-lm', { analysing: true }));
    await next('session/data', (m) => m.session.id === c.id);
    const gaveUp = untilAnalysed(controller, 'searching once analysed');
    fake.progress[1].cts.cancel();
    assert.equal(await gaveUp, false);
    c.resolve(session(c.id, c.text));
    await again;
  });

  it('a failed explain is reported in the panel and a message, and the next explain still works', async () => {
    const done = controller.explain(target(doc, 0, 0, 0, 16));
    (await source.nth(source.builds, 1)).reject(new Error('the model file is unreadable'));
    await done;
    assert.equal((await next('session/error')).message, 'the model file is unreadable');
    assert.deepEqual(fake.messages, [{ level: 'error', message: 'Headlight: the model file is unreadable' }]);
    assert.ok(fake.logged.some((l) => l.level === 'error' && l.text.includes('Explain failed:')));
    const again = controller.explain(target(doc, 1, 0, 1, 13));
    const b = await source.nth(source.builds, 2);
    b.resolve(session(b.id, b.text));
    await again;
    assert.equal(controller.session?.id, b.id);
  });

  it('an explain the user cancels says so in the panel, with no error message', async () => {
    const done = controller.explain(target(doc, 0, 0, 0, 16));
    (await source.nth(source.builds, 1)).reject(new CancellationError());
    await done;
    assert.match((await next('session/error')).message, /^Cancelled\./);
    assert.deepEqual(fake.messages, []);
  });

  it('measures head effects at once when the source says they are cheap, in the status bar; a failure is reported', async () => {
    source.estimate = AUTO_EFFECTS_MS;
    const done = controller.explain(target(doc, 0, 0, 0, 16));
    const b = await source.nth(source.builds, 1);
    b.resolve(session(b.id, b.text));
    await done;
    const m = await source.nth(source.measured, 1);
    assert.equal(m.sessionId, b.id);
    assert.equal(fake.progress[0].options.cancellable, false, 'no toast for a cheap measurement');
    m.opts?.onPartial?.(effects(2));
    assert.equal((await next('session/effects', (x) => x.effects !== undefined)).status, 'measuring');
    m.resolve(effects(4));
    await next('session/effects', (x) => x.status === 'done');
    assert.equal(controller.session?.effects?.measured, 4);

    // Dear (over the bound): nothing measured until asked; asked, a failure reaches the panel, nothing crashes.
    source.estimate = AUTO_EFFECTS_MS + 1;
    const again = controller.explain(target(doc, 1, 0, 1, 13));
    const c = await source.nth(source.builds, 2);
    c.resolve(session(c.id, c.text));
    await again;
    assert.equal(source.measured.length, 1);
    const asked = controller.measureEffects(false, { kind: 'all' });
    (await source.nth(source.measured, 2)).reject(new Error('ablation failed'));
    await asked;
    assert.equal((await next('session/effects', (x) => x.sessionId === c.id && x.status === 'failed')).message, 'ablation failed');
    assert.ok(fake.logged.some((l) => l.level === 'error' && l.text.includes('Head effects failed:')));
    assert.equal(controller.session?.id, c.id);
  });

  it('shows a dump: its own source answers its requests until an explain replaces it and lets go of it', async () => {
    const dump = new FakeDump();
    controller.showExternalSession('dump.json', session(0, 'one two'), dump, 'headlight-dump:/d/dump.json');
    const data = await next('session/data');
    const id = data.session.id as number;
    assert.equal(data.session.title, 'dump.json');
    assert.equal(data.state.source.uri, 'headlight-dump:/d/dump.json');
    assert.equal(controller.explained, undefined, 'no editor range to link');
    assert.equal(await controller.onRequest(controller.panel!, 'head/matrix', { sessionId: id, layer: 0, head: 0 }), 'from the dump');
    assert.equal(await controller.onRequest(controller.panel!, 'head/matrix', { sessionId: id + 1, layer: 0, head: 0 }), 'from the engine');
    await controller.measureEffects();
    assert.equal(source.measured.length, 0, 'no effects on a dump');
    assert.match(fake.messages[0]?.message ?? '', /explain a selection first/);

    const done = controller.explain(target(doc, 0, 0, 0, 16));
    assert.equal(dump.disposed, true, 'let go of when the explain starts');
    const b = await source.nth(source.builds, 1);
    b.resolve(session(b.id, b.text));
    await done;
    assert.equal(await controller.onRequest(controller.panel!, 'head/matrix', { sessionId: id, layer: 0, head: 0 }), 'from the engine');
    assert.deepEqual(dump.requests, ['head/matrix']);
  });

  it('a dump replaced by another, or closed with the panel, is let go of', async () => {
    const [d1, d2] = [new FakeDump(), new FakeDump()];
    controller.showExternalSession('one.json', session(0, 'one'), d1, 'headlight-dump:/one.json');
    controller.showExternalSession('two.json', session(0, 'two'), d2, 'headlight-dump:/two.json');
    assert.deepEqual([d1.disposed, d2.disposed], [true, false]);
    fake.panels[0].dispose();
    assert.equal(d2.disposed, true);
    assert.equal(controller.panel, undefined);
    assert.deepEqual(fake.commands.at(-1), ['setContext', 'headlight.panelOpen', false]);
  });

  it('shows a comparison: no session for Find Head or effects, until an explain replaces it', async () => {
    const running = controller.explain(target(doc, 0, 0, 0, 16));
    const early = await source.nth(source.builds, 1);
    const [a, b] = [session(0, 'alpha beta gamma', 'small'), session(0, 'alpha beta gamma', 'large')];
    controller.showCompare('Compare: notes.txt:1', a, b, compareSessions(a, b), target(doc, 0, 0, 0, 16));
    assert.equal(early.token.isCancellationRequested, true, 'the comparison cancels the explain');
    early.resolve(session(early.id, early.text));
    await running;
    const data = await next('compare/data');
    assert.notEqual(data.a.id, data.b.id);
    assert.deepEqual(page().of('session/data'), [], 'the cancelled explain shows nothing');
    assert.equal(controller.comparing, true);
    assert.equal(controller.session, undefined);
    assert.equal(controller.explained, undefined);
    await controller.measureEffects();
    assert.equal(source.measured.length, 0);

    const done = controller.explain(target(doc, 1, 0, 1, 13));
    const c = await source.nth(source.builds, 2);
    assert.equal(controller.comparing, true, 'the comparison stays until the new session arrives');
    c.resolve(session(c.id, c.text));
    await done;
    assert.equal(controller.comparing, false);
    const shown = (): SessionData | undefined => controller.session; // (the assertions above narrowed controller.session to undefined)
    assert.equal(shown()?.id, c.id);
    assert.ok(controller.explained);
  });

  it('Compare Models asks the session source for both models and shows the pair; a failure is reported, a cancel is not', async () => {
    const compare = compareModels(controller, ROOT);
    const arg = {
      a: '/nowhere/alpha/model.onnx',
      b: '/nowhere/beta/model.onnx',
      uri: doc.uri.toString(),
      range: [0, 0, 0, 16] as [number, number, number, number],
    };
    const run = compare(arg);
    const c = await source.nth(source.compares, 1);
    assert.deepEqual([c.text, c.title, c.a.name, c.b.name], ['alpha beta gamma', 'Compare: notes.txt:1', 'alpha', 'beta']);
    c.resolve({ a: session(0, c.text, 'alpha'), b: session(0, c.text, 'beta') });
    await run;
    const data = await next('compare/data');
    assert.deepEqual(data.diff.labels, { a: 'alpha', b: 'beta' });
    assert.deepEqual([data.a.model.name, data.b.model.name], ['alpha', 'beta']);
    assert.equal(controller.comparing, true);

    const failing = compare(arg);
    (await source.nth(source.compares, 2)).reject(new Error('out of memory'));
    await failing;
    assert.deepEqual(fake.messages, [{ level: 'error', message: 'Headlight: compare failed — out of memory' }]);
    const cancelled = compare(arg);
    (await source.nth(source.compares, 3)).reject(new EngineError('cancelled', 'aborted'));
    await cancelled;
    assert.equal(fake.messages.length, 1);
    assert.equal(page().of('compare/data').length, 1, 'the shown comparison stays');
  });

  it('export: the host asks the page for the drawing and the page replies; a malformed or failed draw or a closed panel rejects', async () => {
    await assert.rejects(controller.renderInPanel('png'), /not open/);
    controller.showExternalSession('dump.json', session(0, 'one two'), new FakeDump(), 'headlight-dump:/d/dump.json');
    const asked = (match: (m: Msg) => boolean = () => true) => next('request', (m) => m.method === 'export/render' && match(m));
    const svg = controller.renderInPanel('svg');
    const ask = await asked();
    assert.deepEqual(ask.params, { format: 'svg' });
    page().send({ type: 'reply', id: ask.id, ok: true, result: { data: '<svg/>', width: 10, height: 10 } });
    assert.equal(await svg, '<svg/>');

    const png = controller.renderInPanel('png');
    const ask2 = await asked((m) => m.id !== ask.id);
    page().send({ type: 'reply', id: ask2.id, ok: true, result: { data: 'not bytes', width: 10, height: 10 } });
    await assert.rejects(png, /malformed reply/, 'a PNG arrives as bytes');

    const lost = controller.renderInPanel('png');
    const ask3 = await asked((m) => m.id > ask2.id);
    page().send({ type: 'reply', id: String(ask3.id), ok: false, error: 'the canvas was lost' });
    assert.ok(
      fake.logged.some((l) => l.level === 'warn' && l.text.includes('Dropped a malformed message')),
      'the panel logs what it drops',
    );
    page().send({ type: 'reply', id: ask3.id, ok: false, error: 'the canvas was lost' });
    await assert.rejects(lost, /the canvas was lost/);

    const closing = controller.renderInPanel('png');
    await asked((m) => m.id > ask3.id);
    fake.panels[0].dispose();
    await assert.rejects(closing, /closed/);
  });

  it("Select Model's writes explain once, after the last; the same values announced again (a reloaded settings file) do not", async () => {
    const changed = (...keys: string[]) => fake.configuration.fire({ affectsConfiguration: (k: string) => keys.includes(k) });
    const first = controller.explain(target(doc, 0, 0, 0, 16));
    const b1 = await source.nth(source.builds, 1);
    b1.resolve(session(b1.id, b1.text));
    await first;
    // Two writes, each announced, the first settling before the second is written (a remote round trip).
    await controller.writeSettings(async () => {
      fake.settings['headlight.model'] = 'tiny-bert';
      changed('headlight.model');
      await fake.logLine(/being written/);
      fake.settings['headlight.modelPath'] = '';
      changed('headlight.modelPath');
    });
    const b2 = await source.nth(source.builds, 2);
    assert.equal(b2.text, 'alpha beta gamma', "the panel's range again");
    b2.resolve(session(b2.id, b2.text, 'tiny-bert'));
    await next('session/data', (m) => m.session.id === b2.id);
    // The settings file read back: the same values, announced again.
    const from = fake.logged.length;
    changed('headlight.model', 'headlight.modelPath');
    await fake.logLine(/not explaining again/, from);
    assert.equal(source.builds.length, 2, 'no explain in between and none after');
    // A value that did change still explains.
    fake.settings['headlight.maxTokens'] = 256;
    changed('headlight.maxTokens');
    const b3 = await source.nth(source.builds, 3);
    b3.resolve(session(b3.id, b3.text));
  });

  it('a restored panel in a background tab explains its range again once shown', async () => {
    const state = defaultPanelState(doc.uri.toString(), [0, 0, 0, 16]);
    const hidden = window.createWebviewPanel('headlight.attention', 'Attention: notes.txt:1');
    hidden.visible = false;
    const restoring = controller.restore(hidden as unknown as vscode.WebviewPanel, state);
    assert.match((await next('session/loading')).message, /explains again when shown/);
    assert.equal(source.builds.length, 0, 'nothing runs while hidden');
    hidden.visible = true;
    hidden.show();
    const b = await source.nth(source.builds, 1);
    assert.equal(b.text, 'alpha beta gamma');
    b.resolve(session(b.id, b.text));
    await restoring;
    assert.equal(controller.session?.id, b.id);
  });
});

// The sequencing Compare Models hands to the source, on two small bundled models through the real engine.
describe('host: the engine source compares two models', function () {
  this.timeout(120_000);
  const model = (name: string) => ({
    name,
    modelPath: path.join(ROOT, 'media/models', name, 'model.onnx'),
    tokenizerPath: path.join(ROOT, 'media/models', name, 'tokenizer.json'),
  });
  const text = 'The cat sat on the mat. The cat sat on the mat.';
  let engine: EngineSessionSource;
  beforeEach(() => {
    fake.reset();
    engine = new EngineSessionSource(ROOT);
  });
  afterEach(() => engine.dispose());

  it("returns A's and B's sessions from one cancellable notification, each with its head effects (cheap here)", async () => {
    const { a, b } = await engine.compare({ text, title: 'Compare: t', a: model('headlight-mini'), b: model('planted') });
    assert.deepEqual([a.model.headsPerLayer, b.model.headsPerLayer], [4, 8], 'A is headlight-mini, B planted');
    assert.equal(a.text, text);
    assert.ok(a.tokens.length > 5 && b.tokens.length > 5);
    assert.equal(a.effects?.measured ?? a.effects?.meanDelta.length, 2 * 4);
    assert.equal(b.effects?.measured ?? b.effects?.meanDelta.length, 2 * 8);
    assert.equal(fake.progress.length, 1);
    assert.deepEqual(fake.progress[0].options, { location: 15, cancellable: true, title: 'Headlight: comparing headlight-mini with planted' });
  });

  it('a cancel from the notification stops it with a cancelled engine error', async () => {
    const run = engine.compare({ text, title: 'Compare: t', a: model('headlight-mini'), b: model('planted') });
    fake.progress[0].cts.cancel();
    await assert.rejects(run, (e: unknown) => e instanceof EngineError && e.code === 'cancelled');
  });
});
