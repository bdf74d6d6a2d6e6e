// The panel's webview, bundled as shipped, in headless Chromium with real sessions from the bundled models.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { EngineClient } from '../../src/engine';
import { SessionPipeline, type BuiltSession } from '../../src/session/pipeline';
import { flowData, headMatrix } from '../../src/session/wire';
import { defaultPanelState, type PanelState } from '../../src/protocol';
import { launch, Panel, type Posted } from './harness';
import { joinedSamples } from '../fixtures/samples';

const ROOT = path.resolve(__dirname, '../..');
const model = (name: string) => ({
  modelPath: path.join(ROOT, 'media/models', name, 'model.onnx'),
  tokenizerPath: path.join(ROOT, 'media/models', name, 'tokenizer.json'),
});
const HOSTILE = 'Keep <img src=x onerror="document.title=\'pwned\'"> and </script><script>window.pwned=1</script> as text.\n';

/** Independent of webview/arcmath.ts: sort each row and count, the slow obvious way. */
function expectedArcs(data: Uint8Array, n: number, causal: boolean, k: number, threshold: number) {
  let shown = 0,
    hiddenByTopK = 0;
  for (let i = 0; i < n; i++) {
    const row = Array.from({ length: causal ? i + 1 : n }, (_, j) => ({ j, b: data[i * n + j] })).filter((x) => x.b > 0);
    row.sort((a, b) => b.b - a.b || a.j - b.j);
    const top = row.slice(0, k);
    const kept = top.filter((x) => x.b / 255 >= threshold).length;
    shown += kept;
    hiddenByTopK += row.filter((x) => x.b / 255 >= threshold).length - kept;
  }
  return { shown, total: causal ? (n * (n + 1)) / 2 : n * n, hiddenByTopK };
}
function rowTop(data: Uint8Array, n: number, i: number, causal: boolean, count: number) {
  return Array.from({ length: causal ? i + 1 : n }, (_, j) => ({ index: j, b: data[i * n + j] }))
    .filter((x) => x.b > 0)
    .sort((a, b) => b.b - a.b || a.index - b.index)
    .slice(0, count)
    .map((x) => ({ index: x.index, weight: x.b / 255 }));
}
const num = (s: string) => Number(s.replace(/,/g, ''));

describe('webview panel in headless Chromium', function () {
  this.timeout(120000);
  let browser: Browser;
  let pipeline: SessionPipeline;
  let short: BuiltSession;
  let long: BuiltSession;
  let bert: BuiltSession;

  before(async () => {
    pipeline = new SessionPipeline(new EngineClient());
    const repeats = fs.readFileSync(path.join(ROOT, 'samples/repeats.txt'), 'utf8');
    short = await pipeline.build({ id: 1, title: 'repeats.txt', text: HOSTILE + repeats, model: model('headlight-mini') });
    let big = '';
    const corpus = joinedSamples('\n');
    while (big.length < 6000) big += corpus + '\n';
    long = await pipeline.build({ id: 2, title: 'long.txt', text: big, model: model('headlight-mini'), maxTokens: 1024, truncate: true });
    bert = await pipeline.build({ id: 3, title: 'prose.txt', text: fs.readFileSync(path.join(ROOT, 'samples/prose.txt'), 'utf8'), model: model('tiny-bert') });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await pipeline?.engine.dispose();
  });

  const stateFor = (patch: Partial<PanelState> = {}): PanelState => ({ ...defaultPanelState('file:///sample.txt', [0, 0, 3, 0], 'headlight-mini'), ...patch });

  describe('dark theme, a short session with hostile text', () => {
    let panel: Panel;
    before(async () => {
      panel = await Panel.open(browser, 'dark');
      await panel.load(short.session, short.result, stateFor({ layer: 1, head: 1, topK: 3, threshold: 0.1 }));
      await panel.page.waitForSelector('.hl-stage[data-shown]');
    });
    after(() => panel.close());

    it('draws the arcs the matrix implies and says what is hidden', async () => {
      const n = short.session.tokens.length;
      const m = headMatrix(short.result.attention, 1, 1);
      const exp = expectedArcs(m.data, n, true, 3, 0.1);
      const status = await panel.page.locator('.hl-view-arcs .hl-status').textContent();
      const match = /showing ([\d,]+) of ([\d,]+) arcs(?:; ([\d,]+) above 0.1 hidden by top-3)?/.exec(status ?? '');
      assert.ok(match, status ?? '');
      assert.equal(num(match[1]), exp.shown);
      assert.equal(num(match[2]), exp.total);
      assert.equal(match[3] ? num(match[3]) : 0, exp.hiddenByTopK);
      assert.equal(Number(await panel.page.locator('.hl-stage').getAttribute('data-shown')), exp.shown);
      // Something was really drawn: the base canvas has non-transparent pixels.
      const inked = await panel.page.evaluate(() => {
        const c = document.querySelector<HTMLCanvasElement>('.hl-arcs-canvas')!;
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let k = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) k++;
        return k;
      });
      assert.ok(inked > 500, `inked pixels ${inked}`);
      await panel.screenshot('arcs-dark');
    });

    it('hovering token i posts token/hover with i and the row’s largest weights', async () => {
      await panel.clearPosted();
      const i = 20;
      await panel.page.locator(`.hl-view-arcs [data-i="${i}"]`).hover();
      const hover = (await panel.posted()).filter((p) => p.type === 'token/hover').at(-1) as Posted & {
        index: number;
        keys: { index: number; weight: number }[];
      };
      assert.equal(hover.index, i);
      const m = headMatrix(short.result.attention, 1, 1);
      const want = rowTop(m.data, short.session.tokens.length, i, true, 16);
      assert.deepEqual(
        hover.keys.map((k) => k.index),
        want.map((k) => k.index),
      );
      hover.keys.forEach((k, t) => assert.ok(Math.abs(k.weight - want[t].weight) < 1e-9));
      assert.match((await panel.page.locator('.hl-view-arcs .hl-detail').textContent()) ?? '', new RegExp(`^Token ${i} `));
      await panel.screenshot('arcs-hover-dark');
    });

    it('editor/cursorToken highlights that token without echoing a hover', async () => {
      await panel.page.mouse.move(0, 0);
      await panel.clearPosted();
      await panel.send({ type: 'editor/cursorToken', index: 7 });
      const active = await panel.page.locator('.hl-view-arcs .hl-tok-active').getAttribute('data-i');
      assert.equal(active, '7');
      assert.equal(await panel.page.locator('.hl-view-arcs [data-i="7"]').getAttribute('aria-selected'), 'true');
      assert.equal((await panel.posted()).filter((p) => p.type === 'token/hover').length, 0);
    });

    it('arrow keys, Home and End move the focused token and act like hover; click locks, Escape unlocks', async () => {
      const strip = panel.page.locator('.hl-view-arcs .hl-tokens');
      await strip.focus();
      await panel.clearPosted();
      await panel.page.keyboard.press('Home');
      await panel.page.keyboard.press('ArrowRight');
      await panel.page.keyboard.press('ArrowRight');
      assert.match((await strip.getAttribute('aria-activedescendant')) ?? '', /-2$/);
      const hovers = (await panel.posted()).filter((p) => p.type === 'token/hover').map((p) => p.index);
      assert.deepEqual(hovers, [0, 1, 2]);
      await panel.page.keyboard.press('End');
      assert.match((await strip.getAttribute('aria-activedescendant')) ?? '', new RegExp(`-${short.session.tokens.length - 1}$`));
      // Lock token 5 by clicking, then hover elsewhere: the lock holds.
      await panel.page.locator('.hl-view-arcs [data-i="5"]').click();
      await panel.clearPosted();
      await panel.page.locator('.hl-view-arcs [data-i="9"]').hover();
      assert.equal((await panel.posted()).filter((p) => p.type === 'token/hover').length, 0);
      assert.equal(await panel.page.locator('.hl-view-arcs .hl-tok-active').getAttribute('data-i'), '5');
      await panel.page.keyboard.press('Escape');
      const last = (await panel.posted()).filter((p) => p.type === 'token/hover').at(-1);
      assert.equal(last?.index, null);
      // Every token has an accessible name carrying its text.
      const labels = await panel.page.locator('.hl-view-arcs .hl-tok').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
      assert.equal(labels.length, short.session.tokens.length);
      assert.ok(labels.every((l, i) => l.startsWith(`token ${i + 1} of ${short.session.tokens.length}: `)));
    });

    it('hostile token text stays literal text and adds no element', async () => {
      const counts = await panel.page.evaluate(() => ({
        img: document.querySelectorAll('img').length,
        scripts: document.querySelectorAll('script').length,
        pwned: (window as unknown as { pwned?: number }).pwned ?? 0,
        title: document.title,
      }));
      assert.deepEqual(counts, { img: 0, scripts: 2, pwned: 0, title: 'Headlight' });
      const text = await panel.page.locator('.hl-view-arcs .hl-tokens').textContent();
      assert.ok(text?.includes('<img src=x onerror="document.title=\'pwned\'">'));
      assert.ok(text?.includes('</script><script>window.pwned=1</script>'));
    });

    it('clicking a Heads cell opens that head in Arcs and posts the state', async () => {
      await panel.page.locator('[data-view=heads]').click();
      await panel.page.waitForSelector('.hl-cell');
      const cells = await panel.page.locator('.hl-cell').count();
      assert.equal(cells, short.session.heads.length);
      // The evidence shown on hover is the head's own sentences (a head with roles when there is one).
      const hd = short.session.heads.find((x) => x.roles.length > 0) ?? short.session.heads[1];
      await panel.page.locator(`.hl-cell[data-layer="${hd.layer}"][data-head="${hd.head}"]`).hover();
      const ev = await panel.page.locator('.hl-evidence').textContent();
      assert.ok(ev?.startsWith(hd.id), ev ?? '');
      if (hd.roles.length) for (const r of hd.roles) assert.ok(ev?.includes(r.evidence), r.evidence);
      else assert.ok(ev?.includes('no role passed its threshold'));
      const aria = await panel.page.locator(`.hl-cell[data-layer="${hd.layer}"][data-head="${hd.head}"]`).getAttribute('aria-label');
      assert.ok(aria?.startsWith(`${hd.id}: `) && hd.roles.every((r) => aria.includes(`${r.name} ${r.score.toFixed(2)}`)), aria ?? '');
      await panel.screenshot('heads-dark');
      await panel.clearPosted();
      await panel.page.locator('.hl-cell[data-layer="1"][data-head="2"]').click();
      const st = (await panel.posted()).filter((p) => p.type === 'state/changed').at(-1)?.state as PanelState;
      assert.equal(st.layer, 1);
      assert.equal(st.head, 2);
      assert.equal(st.mode, 'head');
      assert.equal(st.view, 'arcs');
      await panel.page.waitForFunction(() => document.querySelector('.hl-view-arcs .hl-status')?.textContent?.startsWith('L1H2'));
    });

    it('Layers renders plotly charts under the CSP with no violation or console error; a point opens its head', async () => {
      await panel.page.locator('[data-view=layers]').click();
      await panel.page.waitForFunction(() => document.querySelectorAll('.hl-chart .main-svg').length >= 3);
      const points = panel.page.locator('.hl-chart').first().locator('.scatterlayer .trace').first().locator('path.point');
      assert.equal(await points.count(), short.session.model.layers);
      await panel.screenshot('layers-dark');
      await panel.clearPosted();
      const box = (await points.nth(1).boundingBox())!;
      await panel.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await panel.page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
      await panel.page.waitForFunction(() =>
        (window as unknown as { __hl: { posted: { type: string }[] } }).__hl.posted.some((p) => p.type === 'state/changed'),
      );
      const st = (await panel.posted()).filter((p) => p.type === 'state/changed').at(-1)?.state as PanelState;
      assert.deepEqual([st.layer, st.head, st.view], [1, 0, 'arcs']);
      assert.deepEqual(await panel.violations(), []);
      assert.deepEqual(panel.consoleErrors, []);
    });

    it('Flow asks the host for the rollout and shows the token’s largest sources', async () => {
      await panel.clearPosted();
      await panel.page.locator('[data-view=flow]').click();
      await panel.page.waitForFunction(() => document.querySelector('.hl-view-flow .hl-status')?.textContent?.includes('draws most on'));
      const req = (await panel.posted()).find((p) => p.type === 'request' && p.method === 'flow/rollout') as Posted & { params: { token: number } };
      assert.ok(req);
      const f = flowData(short.result.attention, req.params.token);
      const best = f.layers[0].indexOf(Math.max(...f.layers[0]));
      const readout = await panel.page.locator('.hl-view-flow .hl-status').textContent();
      assert.match(readout ?? '', new RegExp(`draws most on: .*? ${(f.layers[0][best] * 100).toFixed(1)}%`));
      await panel.screenshot('flow-dark');
      assert.deepEqual(await panel.violations(), []);
      assert.deepEqual(panel.consoleErrors, []);
    });
  });

  describe('light theme and a bidirectional model', () => {
    it('draws every view with no CSP violation', async () => {
      const panel = await Panel.open(browser, 'light');
      try {
        await panel.load(bert.session, bert.result, stateFor({ mode: 'layer', layer: 1, topK: 2, threshold: 0.05 }));
        await panel.page.waitForSelector('.hl-stage[data-shown]');
        const n = bert.session.tokens.length;
        let shown = 0,
          total = 0;
        for (let hh = 0; hh < bert.session.model.headsPerLayer; hh++) {
          const e = expectedArcs(headMatrix(bert.result.attention, 1, hh).data, n, false, 2, 0.05);
          shown += e.shown;
          total += e.total;
        }
        const status = (await panel.page.locator('.hl-view-arcs .hl-status').textContent()) ?? '';
        assert.match(status, new RegExp(`showing ${shown.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} arcs`));
        await panel.page.locator('.hl-view-arcs [data-i="6"]').hover();
        await panel.screenshot('arcs-light');
        for (const v of ['heads', 'layers', 'flow'] as const) {
          await panel.page.locator(`[data-view=${v}]`).click();
          if (v === 'heads') await panel.page.waitForSelector('.hl-cell');
          if (v === 'layers') await panel.page.waitForFunction(() => document.querySelectorAll('.hl-chart .main-svg').length >= 3);
          if (v === 'flow') await panel.page.waitForFunction(() => document.querySelector('.hl-view-flow .hl-status')?.textContent?.includes('draws most on'));
          await panel.screenshot(`${v}-light`);
        }
        assert.deepEqual(await panel.violations(), []);
        assert.deepEqual(panel.consoleErrors, []);
      } finally {
        await panel.close();
      }
    });
  });

  describe('a long selection painted before its analysis (analysing → session/heads)', () => {
    it('draws Arcs at once, says the heads are being analysed, then fills the catalog without resetting the view', async () => {
      const panel = await Panel.open(browser, 'dark');
      try {
        // The first paint has no value norms either: they are measured after it and come with the heads.
        const { valueNorms, ...withoutNorms } = long.session;
        assert.ok(valueNorms, long.session.valueNormsNote);
        const first = { ...withoutNorms, heads: [], thumbnails: [], analysing: true };
        await panel.load(first, long.result, stateFor({ layer: 1, head: 2 }));
        await panel.page.waitForSelector('.hl-stage[data-shown]');
        const weighting = panel.page.locator('.hl-view-arcs vscode-radio-group[aria-label=Weights]');
        assert.equal(await weighting.getAttribute('data-disabled'), '', 'no value weighting before the norms arrive');
        assert.match((await panel.page.locator('.hl-banner').textContent()) ?? '', /Analysing heads/);
        assert.ok(
          await panel.page.locator('.hl-toolbar vscode-button, .hl-toolbar button').evaluateAll((bs) => bs.every((b) => (b as HTMLButtonElement).disabled)),
          'exports wait for the analysis',
        );
        await panel.page.locator('[data-view=heads]').click();
        await panel.page.waitForFunction(() => document.querySelector('.hl-view-heads .hl-count')?.textContent?.startsWith('analysing'));
        assert.equal(await panel.page.locator('.hl-cell').count(), 0);
        await panel.screenshot('heads-analysing');
        await panel.send({ type: 'session/heads', sessionId: long.session.id, heads: long.session.heads, thumbnails: long.session.thumbnails, valueNorms });
        await panel.page.waitForSelector('.hl-cell');
        await panel.page.waitForFunction(() => !document.querySelector('.hl-view-arcs vscode-radio-group[aria-label=Weights]')?.hasAttribute('data-disabled'));
        assert.equal(await panel.page.locator('.hl-cell').count(), long.session.heads.length);
        assert.equal(
          (await panel.page.locator('.hl-banner').isHidden()) || !/Analysing/.test((await panel.page.locator('.hl-banner').textContent()) ?? ''),
          true,
        );
        assert.match(
          (await panel.page.locator('.hl-banner').textContent()) ?? '',
          /Showing 1,024 of [\d,]+ tokens\. The selection.s text from character [\d,]+ of [\d,]+ on was cut/,
        );
        // The user's place survived: still the Heads view, Arcs still on L1H2.
        const st = await panel.page.evaluate(
          () =>
            (window as unknown as { __hl: { posted: { type: string; state?: { view: string; layer: number; head: number } }[] } }).__hl.posted
              .filter((m) => m.type === 'state/changed')
              .at(-1)?.state,
        );
        assert.deepEqual([st?.view, st?.layer, st?.head], ['heads', 1, 2]);
        // A late session/heads for another session changes nothing.
        await panel.send({ type: 'session/heads', sessionId: 999, heads: [], thumbnails: [] });
        assert.equal(await panel.page.locator('.hl-cell').count(), long.session.heads.length);
        assert.deepEqual(panel.consoleErrors, []);
      } finally {
        await panel.close();
      }
    });
  });

  describe('1,024 tokens', () => {
    it('paints Arcs for 1,024 tokens (every selected arc) and redraws on hover', async () => {
      const panel = await Panel.open(browser, 'dark');
      try {
        assert.equal(long.session.tokens.length, 1024);
        await panel.load(long.session, long.result, stateFor({ layer: 0, head: 0, topK: 3, threshold: 0.1 }));
        await panel.page.waitForSelector('.hl-stage[data-shown]');
        const t = await panel.page.evaluate(() =>
          (window as unknown as { headlightTimings(): { arcsFirstPaintMs: number; arcsFetchMs: number } }).headlightTimings(),
        );
        const hover = await panel.page.evaluate(() => {
          const els = document.querySelectorAll<HTMLElement>('.hl-view-arcs .hl-tok');
          const times: number[] = [];
          for (let k = 0; k < 60; k++) {
            const el = els[(k * 37) % els.length];
            const t0 = performance.now();
            el.dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
            times.push(performance.now() - t0);
          }
          times.sort((a, b) => a - b);
          return { median: times[30], p95: times[57] };
        });
        const parts = await panel.page.evaluate(() =>
          ['hl:tokens-render', 'hl:tokens-layout', 'hl:arcs-select', 'hl:arcs-paint']
            .map(
              (n) =>
                `${n.slice(3)} ${performance
                  .getEntriesByName(n)
                  .map((e) => e.duration.toFixed(1))
                  .join('/')}`,
            )
            .join(', '),
        );
        console.log(`      page work: ${parts}`);
        const m = headMatrix(long.result.attention, 0, 0);
        const exp = expectedArcs(m.data, 1024, true, 3, 0.1);
        assert.equal(Number(await panel.page.locator('.hl-stage').getAttribute('data-shown')), exp.shown);
        assert.match((await panel.page.locator('.hl-view-arcs .hl-status').textContent()) ?? '', /of 524,800 arcs/);
        console.log(
          `      1,024 tokens: first paint ${t.arcsFirstPaintMs.toFixed(1)} ms (host reply ${t.arcsFetchMs.toFixed(1)} ms), hover redraw median ${hover.median.toFixed(2)} ms, p95 ${hover.p95.toFixed(2)} ms`,
        );
        await panel.screenshot('arcs-1024-dark');
        // Timings are printed, never asserted: speed lives in `npm run bench` (a loaded machine failed a
        // 200 ms bound here while the same code met it alone).
        assert.ok(Number.isFinite(t.arcsFirstPaintMs) && hover.p95 >= 0);
      } finally {
        await panel.close();
      }
    });
  });
});
