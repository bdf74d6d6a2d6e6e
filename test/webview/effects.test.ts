// What a head does to the prediction, in the panel: next-token predictions on hover, tokens shaded by
// surprisal with a legend, and head effects (the Measure button, the catalog's sort, filter and evidence)
// — real sessions and real effects from headlight-mini, the bundled webview in headless Chromium.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import type { BuiltSession, SessionPipeline } from '../../src/session/pipeline';
import { toWireEffects } from '../../src/session/effectsWire';
import { defaultPanelState, WEBVIEW_STRINGS, type WireEffects } from '../../src/protocol';
import { compareSessions } from '../../src/session/compare';
import { Panel, panelFixture, type Posted } from './harness';
import { valueWeighted } from '../../src/analysis';

const ROOT = path.resolve(__dirname, '../..');
const model = (name: string) => ({
  modelPath: path.join(ROOT, 'media/models', name, 'model.onnx'),
  tokenizerPath: path.join(ROOT, 'media/models', name, 'tokenizer.json'),
});

describe('webview: predictions and head effects', function () {
  this.timeout(120000);
  const fx = panelFixture(); // its browser closes this block's panels with it
  let browser: Browser;
  let pipeline: SessionPipeline;
  let mini: BuiltSession;
  let bert: BuiltSession;
  let effects: WireEffects;
  let panel: Panel;

  before(async () => {
    pipeline = fx.pipeline();
    browser = fx.browser();
    const text = fs.readFileSync(path.join(ROOT, 'samples/repeats.txt'), 'utf8');
    mini = await pipeline.build({ id: 1, title: 'repeats.txt', text, model: model('headlight-mini') });
    const e = await pipeline.measureEffects(model('headlight-mini'), mini.result);
    effects = toWireEffects(e, mini.reports, mini.result.tokens, text);
    bert = await pipeline.build({ id: 2, title: 'prose.txt', text: 'The cat sat on the mat. The dog sat on the rug.', model: model('tiny-bert') });
    panel = await Panel.open(browser, 'dark');
    await panel.load(mini.session, mini.result, { ...defaultPanelState('file:///repeats.txt', [0, 0, 3, 0], 'headlight-mini'), layer: 1, head: 3 });
    await panel.page.waitForSelector('.hl-stage[data-shown]');
  });

  it("hovering a token shows the model's top-5 next tokens and the actual next token's probability and loss", async () => {
    const i = 12;
    await panel.page.locator(`.hl-view-arcs [data-i="${i}"]`).hover();
    const line = (await panel.page.locator('.hl-view-arcs .hl-detail .hl-detail-line').first().textContent()) ?? '';
    const p = mini.session.predictions!;
    const top = p.topText.slice(i * 5, i * 5 + 5);
    assert.ok(line.startsWith(`Next-token prediction: ${JSON.stringify(top[0])} ${(p.topP[i * 5] * 100).toFixed(1)}%`), line);
    for (const t of top) assert.ok(line.includes(JSON.stringify(t)), `${t} in ${line}`);
    assert.ok(line.includes(`loss ${p.loss[i].toFixed(2)} nats`), line);
  });

  it('shades tokens by surprisal, with a legend; the first token has no shade', async () => {
    await panel.page.locator('.hl-view-arcs vscode-checkbox', { hasText: 'Shade by surprisal' }).click();
    await panel.page.waitForSelector('.hl-shade-legend:not([hidden])');
    assert.match(
      (await panel.page.locator('.hl-shade-legend').textContent()) ?? '',
      /how surprising each token was to the model, −ln p\(token \| the tokens before it\), from 0 \(no shade\) to [\d.]+ nats/,
    );
    const bg = await panel.page.evaluate(() => Array.from(document.querySelectorAll<HTMLElement>('.hl-view-arcs .hl-tok')).map((e) => e.style.backgroundColor));
    assert.equal(bg[0], '');
    assert.ok(bg.filter((b) => b.includes('color-mix')).length > bg.length / 2, 'most tokens are shaded');
    await panel.screenshot('arcs-surprisal-dark');
  });

  it('Measure head effects asks the host; the effects arrive as a sortable, filterable metric with evidence', async () => {
    await panel.clearPosted();
    await panel.page.locator('.hl-toolbar button', { hasText: 'Measure head effects' }).click();
    const asked = (await panel.posted()).find((m) => m.type === 'effects/measure') as Posted & { sessionId: number };
    assert.equal(asked.sessionId, 1);
    await panel.send({ type: 'session/effects', sessionId: 1, status: 'measuring', message: 'Measuring what removing each head does…' });
    await panel.page.waitForSelector('.hl-banner-loading');
    await panel.send({ type: 'session/effects', sessionId: 1, status: 'done', effects });
    await panel.page.waitForFunction(() => document.querySelector<HTMLButtonElement>('.hl-toolbar button')?.disabled === true);
    await panel.page.locator('vscode-tab-header[data-view=heads]').click();
    await panel.page.waitForSelector('.hl-cell');
    const sortOptions = await panel.page
      .locator('.hl-view-heads vscode-single-select')
      .first()
      .evaluate((el) => Array.from(el.querySelectorAll('vscode-option')).map((o) => o.getAttribute('value')));
    assert.ok(sortOptions.includes('effect'), JSON.stringify(sortOptions));
    // The head with the largest effect, by the numbers the engine measured.
    let best = 0;
    effects.meanDelta.forEach((v, k) => {
      if (v > effects.meanDelta[best]) best = k;
    });
    const H = mini.session.model.headsPerLayer;
    await panel.page.locator(`.hl-cell[data-layer="${Math.floor(best / H)}"][data-head="${best % H}"]`).hover();
    const ev = (await panel.page.locator('.hl-evidence').textContent()) ?? '';
    assert.ok(ev.includes(effects.sentences[best]), ev);
    assert.match(ev, /removing L\dH\d (raises|lowers) the loss/);
    await panel.screenshot('heads-effects-dark');
  });

  it('Compare lists the heads whose effect changed most between two checkpoints, with both numbers', async () => {
    const text = fs.readFileSync(path.join(ROOT, 'samples/repeats.txt'), 'utf8');
    // headlight-small's first and last checkpoints (the last is the model itself), each with its measured effects.
    const step0 = {
      modelPath: path.join(ROOT, 'media/models/headlight-small/checkpoints/step-00000/model.onnx'),
      tokenizerPath: path.join(ROOT, 'media/models/headlight-small/tokenizer.json'),
    };
    const sideOf = async (id: number, ref: typeof step0) => {
      const built = await pipeline.build({ id, title: 'repeats.txt', text, model: ref });
      return { ...built.session, effects: toWireEffects(await pipeline.measureEffects(ref, built.result), built.reports, built.result.tokens, text) };
    };
    const sa = await sideOf(5, step0),
      sb = await sideOf(6, model('headlight-small'));
    const [ea, eb] = [sa.effects, sb.effects];
    const diff = compareSessions(sa, sb, { a: 'step 0', b: 'final' });
    const p3 = await Panel.open(browser, 'dark');
    try {
      await p3.send({ type: 'compare/data', a: sa, b: sb, diff, state: defaultPanelState('file:///repeats.txt', [0, 0, 3, 0], 'headlight-small') });
      await p3.page.waitForSelector('.hl-compare-effects li');
      const items = await p3.page.locator('.hl-compare-effects li').allTextContents();
      assert.equal(items.length, 8);
      // The first line is the head whose effect changed most, by the engine's own numbers.
      let best = 0;
      eb.meanDelta.forEach((v, k) => {
        if (Math.abs(v - ea.meanDelta[k]) > Math.abs(eb.meanDelta[best] - ea.meanDelta[best])) best = k;
      });
      assert.match(items[0], new RegExp(`^L${Math.floor(best / 4)}H${best % 4}: [+−][\\d.]+ nats in A → [+−][\\d.]+ nats in B`));
      await p3.screenshot('compare-effects-dark');
    } finally {
      await p3.close();
    }
  });

  it('Value-weighted: arcs follow α·‖v W_O‖ (rows renormalised), and Flow asks for the value-weighted pathway', async () => {
    const p4 = await Panel.open(browser, 'dark');
    try {
      await p4.load(mini.session, mini.source, {
        ...defaultPanelState('file:///repeats.txt', [0, 0, 3, 0], 'headlight-mini'),
        layer: 1,
        head: 1,
        topK: 1,
        threshold: 0,
      });
      await p4.page.waitForSelector('.hl-stage[data-shown]');
      const arcsShown = () => p4.page.locator('.hl-view-arcs .hl-status').textContent();
      await p4.page.locator('.hl-view-arcs vscode-radio', { hasText: 'Value-weighted' }).click();
      await p4.page.waitForFunction(() => document.querySelector('.hl-view-arcs .hl-status')?.textContent?.includes('value-weighted'));
      assert.match((await arcsShown()) ?? '', /L1H1 \(value-weighted: α·‖v W_O‖\)/);
      // The hovered token's strongest key now is the argmax of α_ij·‖v_j W_O‖ — computed here from the engine's numbers.
      const n = mini.session.tokens.length,
        i = 40;
      const A = mini.result.attention.data[1].subarray(n * n, 2 * n * n);
      const norms = mini.session.valueNorms!.data.subarray((1 * 4 + 1) * n, (1 * 4 + 2) * n);
      const row = valueWeighted(A, n, norms).subarray(i * n, (i + 1) * n);
      let best = 0;
      row.forEach((v, j) => {
        if (v > row[best]) best = j;
      });
      await p4.clearPosted();
      await p4.page.locator(`.hl-view-arcs [data-i="${i}"]`).hover();
      const hover = (await p4.posted()).filter((m) => m.type === 'token/hover').at(-1) as Posted & { keys: { index: number }[] };
      assert.equal(hover.keys[0].index, best);
      await p4.screenshot('arcs-value-weighted-dark');
      await p4.clearPosted();
      await p4.page.locator('vscode-tab-header[data-view=flow]').click();
      await p4.page.waitForFunction(() =>
        (window as unknown as { __hl: { posted: { type: string; method?: string }[] } }).__hl.posted.some(
          (m) => m.type === 'request' && m.method === 'flow/rollout',
        ),
      );
      const req = (await p4.posted()).find((m) => m.type === 'request') as Posted & { params: { weighting?: string } };
      assert.equal(req.params.weighting, 'value');
      // Heads: value-weighted thumbnails are no part of the explain; the grid asks for them once and redraws.
      await p4.clearPosted();
      await p4.page.locator('vscode-tab-header[data-view=heads]').click();
      await p4.page.waitForFunction(() =>
        (window as unknown as { __hl: { posted: { type: string; method?: string }[] } }).__hl.posted.some(
          (m) => m.type === 'request' && m.method === 'heads/valueThumbnails',
        ),
      );
      const asked = (await p4.posted()).filter((m) => m.type === 'request' && (m as { method?: string }).method === 'heads/valueThumbnails') as (Posted & {
        params: { sessionId: number };
      })[];
      assert.deepEqual(
        asked.map((m) => m.params.sessionId),
        [mini.session.id],
      );
      const { thumbnails } = await mini.source.request('heads/valueThumbnails', { sessionId: mini.session.id });
      // A head whose brightest block moves under value weighting: its canvas (catalog order) peaks where the value-weighted one does.
      const k = thumbnails.findIndex((t, q) => t.indexOf(255) !== mini.session.thumbnails[q].indexOf(255));
      assert.ok(k >= 0, 'some head looks different value-weighted');
      const peak = thumbnails[k].indexOf(255);
      await p4.page.waitForFunction(
        ([sel, idx, p]) => {
          const c = document.querySelectorAll<HTMLCanvasElement>(sel)[idx];
          const d = c?.getContext('2d')?.getImageData(0, 0, c.width, c.height).data;
          if (!d) return false;
          let best = 0,
            at = -1;
          for (let q = 0; q < d.length / 4; q++) {
            const v = d[q * 4] + d[q * 4 + 1] + d[q * 4 + 2];
            if (v > best) {
              best = v;
              at = q;
            }
          }
          return at === p;
        },
        ['.hl-view-heads canvas.hl-thumb', k, peak] as const,
      );
    } finally {
      await p4.close();
    }
  });

  it("every label comes from the host's string table: a pseudo-translation shows through", async () => {
    // «…» around every value, placeholders kept, as a translation would.
    const pseudo = Object.fromEntries(Object.entries(WEBVIEW_STRINGS).map(([k, v]) => [k, `«${v}»`]));
    const p5 = await Panel.open(browser, 'dark', undefined, pseudo);
    try {
      await p5.load(mini.session, mini.result, { ...defaultPanelState('file:///repeats.txt', [0, 0, 3, 0], 'headlight-mini'), layer: 1, head: 3 });
      await p5.page.waitForSelector('.hl-stage[data-shown]');
      assert.equal(await p5.page.locator('vscode-tab-header[data-view=heads]').textContent(), '«Heads»');
      assert.equal((await p5.page.locator('.hl-toolbar button').first().textContent())?.trim(), '«Measure head effects»');
      assert.ok((await p5.page.locator('.hl-view-arcs vscode-checkbox', { hasText: '«Shade by surprisal»' }).count()) === 1);
      await p5.page.locator('.hl-view-arcs [data-i="12"]').hover();
      assert.match((await p5.page.locator('.hl-view-arcs .hl-detail').textContent()) ?? '', /^«Token 12 ".*" attends to».*«Next-token prediction: .*»/s);
      await p5.page.locator('vscode-tab-header[data-view=heads]').click();
      await p5.page.waitForSelector('.hl-cell');
      assert.match((await p5.page.locator('.hl-legend').textContent()) ?? '', /«attends to the token after an earlier copy of the current one»/);
    } finally {
      await p5.close();
    }
  });

  it('a bidirectional model says why it has no predictions, and the shade is off', async () => {
    const p2 = await Panel.open(browser, 'light');
    try {
      await p2.load(bert.session, bert.result, defaultPanelState('file:///prose.txt', [0, 0, 1, 0], 'tiny-bert'));
      await p2.page.waitForSelector('.hl-stage[data-shown]');
      await p2.page.locator('.hl-view-arcs [data-i="3"]').hover();
      assert.match((await p2.page.locator('.hl-view-arcs .hl-detail').textContent()) ?? '', /No predictions: a bidirectional model sees every token at once/);
      assert.equal(
        await p2.page
          .locator('.hl-view-arcs vscode-checkbox', { hasText: 'Shade by surprisal' })
          .evaluate((e) => (e as HTMLElement & { disabled: boolean }).disabled),
        true,
      );
    } finally {
      await p2.close();
    }
  });
});
