// Direct logit attribution and Routes in the panel: the Arcs hover names what the shown head writes onto the
// next token, the catalog's evidence says it and where direct is not total, the Routes view draws the route
// behind a token with a threshold slider and opens an edge's head in Arcs — a real headlight-mini session on
// samples/repeats.txt, the bundled webview in headless Chromium.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import type { BuiltSession, SessionPipeline } from '../../src/session/pipeline';
import { toWireEffects } from '../../src/session/effectsWire';
import { defaultPanelState, type PanelState, type WireEffects } from '../../src/protocol';
import { Panel, panelFixture, type Posted } from './harness';

const ROOT = path.resolve(__dirname, '../..');
const model = (name: string) => ({
  modelPath: path.join(ROOT, 'media/models', name, 'model.onnx'),
  tokenizerPath: path.join(ROOT, 'media/models', name, 'tokenizer.json'),
});

describe('webview: direct logit attribution and routes', function () {
  this.timeout(120000);
  const fx = panelFixture();
  let browser: Browser;
  let pipeline: SessionPipeline;
  let mini: BuiltSession;
  let effects: WireEffects;
  let panel: Panel;
  const text = fs.readFileSync(path.join(ROOT, 'samples/repeats.txt'), 'utf8');

  before(async () => {
    pipeline = fx.pipeline();
    browser = fx.browser();
    mini = await pipeline.build({ id: 1, title: 'repeats.txt', text, model: model('headlight-mini') });
    effects = toWireEffects(await pipeline.measureEffects(model('headlight-mini'), mini.result), mini.reports, mini.result.tokens, text, 4);
    panel = await Panel.open(browser, 'dark');
    await panel.load(mini.session, mini.source, { ...defaultPanelState('file:///repeats.txt', [0, 0, 3, 0], 'headlight-mini'), layer: 1, head: 3 });
    await panel.page.waitForSelector('.hl-stage[data-shown]');
  });
  after(async () => {
    await panel?.close();
  });

  it('the Arcs hover says what the shown head writes onto the next token, and against the best other token', async () => {
    const dla = mini.session.dla!;
    const n = mini.session.tokens.length,
      k = 1 * 4 + 3;
    // The token where L1H3 writes most.
    let i = 0;
    for (let j = 0; j + 1 < n; j++) if (Math.abs(dla.actual[k * n + j]) > Math.abs(dla.actual[k * n + i])) i = j;
    await panel.page.locator(`.hl-view-arcs [data-i="${i}"]`).hover();
    const lines = (await panel.page.locator('.hl-view-arcs .hl-detail .hl-detail-line').allTextContents()).join(' ');
    const v = dla.actual[k * n + i];
    const next = mini.session.tokens[i + 1];
    const want = `L1H3 ${v >= 0 ? 'adds' : 'takes'} ${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(2)} ${v >= 0 ? 'to' : 'from'} \`${text.slice(next.start, next.end).replace(/\n/g, '\\n')}\``;
    assert.ok(lines.includes(want), `${want} in ${lines}`);
    assert.match(lines, /against `[^`]*`, the model's best other token/);
    await panel.screenshot('arcs-dla-hover-dark');
  });

  it('the catalog sorts by DLA; the evidence says what a head writes, and where direct is not total', async () => {
    await panel.page.locator('vscode-tab-header[data-view=heads]').click();
    await panel.page.waitForSelector('.hl-cell');
    const sortOptions = await panel.page
      .locator('.hl-view-heads vscode-single-select')
      .first()
      .evaluate((el) => Array.from(el.querySelectorAll('vscode-option')).map((o) => o.getAttribute('value')));
    assert.ok(sortOptions.includes('dla') && sortOptions.includes('dlaAbs'), JSON.stringify(sortOptions));
    await panel.page.locator('.hl-cell[data-layer="1"][data-head="3"]').hover();
    assert.match(
      (await panel.page.locator('.hl-evidence').textContent()) ?? '',
      /direct logit attribution: L1H3 writes \+\d\.\d\d per token on average directly onto the next token's logit/,
    );
    // Streamed effects: the first group lands, then the rest.
    const partial: WireEffects = {
      ...effects,
      measured: 2,
      meanDelta: effects.meanDelta.map((v, k) => (k === 1 || k === 7 ? v : NaN)),
      perToken: effects.perToken.map((p, k) => (k === 1 || k === 7 ? p : new Float32Array(0))),
      sentences: effects.sentences.map((s, k) => (k === 1 || k === 7 ? s : '')),
    };
    await panel.send({
      type: 'session/effects',
      sessionId: 1,
      status: 'measuring',
      effects: partial,
      message: 'Measuring what removing each head does: 2 of 8 heads so far…',
    });
    await panel.page.waitForFunction(() => document.querySelector('.hl-banner')?.textContent?.includes('2 of 8 heads so far'));
    await panel.page.locator('.hl-cell[data-layer="0"][data-head="1"]').hover();
    assert.match(
      (await panel.page.locator('.hl-evidence').textContent()) ?? '',
      /Direct is not total: removing L0H1 changes the loss by \+\d\.\d\d nats, but it writes only/,
    );
    assert.equal(await panel.page.locator('.hl-cell[data-layer="0"][data-head="1"] .hl-badge-note').count(), 1);
    assert.equal(await panel.page.locator('.hl-cell[data-layer="0"][data-head="2"] .hl-badge-note').count(), 0, 'not measured yet: nothing to compare');
    await panel.send({ type: 'session/effects', sessionId: 1, status: 'done', effects });
    await panel.page.waitForFunction(() => !document.querySelector('.hl-banner-loading'));
    assert.ok((await panel.page.locator('.hl-cell .hl-badge-note').count()) >= 2);
    await panel.page.evaluate(() => window.scrollTo(0, 0));
    await panel.screenshot('heads-direct-total-dark');
  });

  it('Routes: the route behind a repeated token, a threshold slider, and an edge that opens its head in Arcs', async () => {
    await panel.page.locator('vscode-tab-header[data-view=routes]').click();
    await panel.page.waitForSelector('.hl-routes-edge', { timeout: 20000 }).catch(async (e) => {
      throw new Error(`${(e as Error).message}: ${await panel.page.locator('.hl-view-routes .hl-status').textContent()}`);
    });
    const all = await panel.page.locator('.hl-routes-edge').count();
    assert.ok(all > 0);
    assert.match((await panel.page.locator('.hl-view-routes .hl-status').textContent()) ?? '', /attention edges carry at least 0\.04 of an update/);
    assert.match((await panel.page.locator('.hl-routes-canvas').getAttribute('aria-label')) ?? '', /Route behind the prediction at token \d+/);
    await panel.screenshot('routes-dark');
    // A higher threshold keeps fewer edges (filtered in the page, no new request): just below the strongest one's share.
    const strongest = Number(/(\d+)%$/.exec((await panel.page.locator('.hl-routes-edge').first().textContent()) ?? '')![1]) / 100;
    await panel.clearPosted();
    await panel.page.locator('.hl-routes-slider').evaluate(
      (el: HTMLInputElement, v) => {
        el.value = String(v);
        el.dispatchEvent(new Event('input'));
      },
      Math.floor(strongest * 100 - 1) / 100,
    );
    await panel.page.waitForFunction((n) => {
      const k = document.querySelectorAll('.hl-routes-edge').length;
      return k > 0 && k < n;
    }, all);
    assert.equal((await panel.posted()).filter((m) => m.type === 'request').length, 0);
    // The strongest edge opens its head in Arcs.
    const first = panel.page.locator('.hl-routes-edge').first();
    const [layer, head] = [Number(await first.getAttribute('data-layer')), Number(await first.getAttribute('data-head'))];
    await panel.clearPosted();
    await first.click();
    await panel.page.waitForFunction(
      () =>
        document.querySelector('vscode-tab-header[data-view=arcs]')?.getAttribute('aria-selected') === 'true' ||
        (document.querySelector('vscode-tabs') as unknown as { selectedIndex: number })?.selectedIndex === 0,
    );
    const states = (await panel.posted()).filter((m) => m.type === 'state/changed') as (Posted & { state: PanelState })[];
    const last = states[states.length - 1].state;
    assert.deepEqual([last.view, last.layer, last.head, last.mode], ['arcs', layer, head, 'head']);
    assert.deepEqual(panel.consoleErrors, []);
    // For the README: the route behind the prediction of the last "Quill"'s first piece, which the induction heads copy.
    await panel.page.locator('vscode-tab-header[data-view=routes]').click();
    const toks = mini.session.tokens;
    const harriet = toks
      .map((_, i) => i)
      .filter(
        (i) =>
          i + 1 < toks.length &&
          text
            .slice(toks[i + 1].start, toks[i + 1].end)
            .trimStart()
            .startsWith('Q'),
      )
      .pop()!;
    await panel.page.locator(`.hl-view-routes [data-i="${harriet}"]`).click();
    await panel.page.waitForFunction((i) => document.querySelector('.hl-view-routes .hl-status')?.textContent?.startsWith(`Token ${i} `), harriet);
    await panel.screenshot('routes-induction-dark');
  });

  it('a session without routes says why in the view', async () => {
    const dumpLike = { ...mini.session, id: 9, routesNote: 'Routes are not available: the test says so.' };
    await panel.load(dumpLike, mini.source, { ...defaultPanelState('file:///repeats.txt', [0, 0, 3, 0], 'headlight-mini'), view: 'routes' });
    await panel.page.waitForFunction(() => document.querySelector('.hl-view-routes .hl-status')?.textContent?.includes('the test says so'));
  });
});
