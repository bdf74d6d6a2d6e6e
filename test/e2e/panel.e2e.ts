import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  startEditor,
  openFile,
  selectText,
  textRect,
  webview,
  screenshot,
  runCommand,
  explainFromContextMenu,
  until,
  painted,
  ROOT,
  type Editor,
} from './harness';
import type { Page } from 'playwright-core';

// The panel in a real VS Code with the planted model (heads whose roles are known by construction):
// arcs drawn, hover ↔ editor linking, catalog → Arcs, Find head by role, every view in both themes.
const TEXT = fs.readFileSync(path.join(ROOT, 'samples', 'repeats.txt'), 'utf8');
const SELECTED = 'Harriet Quill mended the lantern. Everyone in the village knew that Harriet Quill';

// vscode-tabs gives its headers generated ids; find them by label.
const tab = (frame: ReturnType<typeof webview>, label: string) => frame.locator('vscode-tab-header', { hasText: label });
const VIEW_LABEL: Record<string, string> = { arcs: 'Arcs', heads: 'Heads', layers: 'Layers', flow: 'Flow', routes: 'Routes' };
// What each view shows once it has drawn (waited for before its screenshot).
const DRAWN: Record<string, string> = {
  arcs: '.hl-view-arcs .hl-status:has-text("showing")',
  heads: '.hl-view-heads button.hl-cell',
  layers: '.hl-view-layers .js-plotly-plot .scatterlayer .point',
  flow: '.hl-view-flow canvas.hl-flow-canvas[aria-label^="Pathway of token"]',
  routes: '.hl-view-routes button.hl-routes-edge',
};

const charRect = (page: Page, needle: string, start: number, end: number) => textRect(page, needle, start, end);

/** Rectangles of editor decorations (our highlight types render as overlay divs). */
async function decorationRects(page: Page) {
  return page
    .locator('.editor-instance .monaco-editor')
    .first()
    .evaluate((ed) =>
      [...ed.querySelectorAll('.view-overlays .cdr, .view-overlays [class*="ced-"]')].map((e) => {
        const b = e.getBoundingClientRect();
        return { x: b.x, y: b.y, w: b.width, h: b.height, cls: e.className };
      }),
    );
}

describe('the Headlight panel in a real VS Code', function () {
  let ed: Editor;
  before(async () => {
    ed = await startEditor({ files: { 'repeats.txt': TEXT }, settings: { 'headlight.model': 'planted' } });
  });
  after(async () => {
    await ed?.stop();
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed')
      await screenshot(ed.page, `panel-failed-${this.currentTest.title.slice(0, 40).replace(/\W+/g, '-')}`).catch(() => undefined);
  });

  it('explains with the bundled planted model and draws arcs', async () => {
    const { page } = ed;
    await openFile(page, 'repeats.txt');
    await selectText(page, SELECTED);
    await explainFromContextMenu(page);
    const frame = webview(page);
    const status = frame.locator('.hl-view-arcs .hl-status');
    await status.filter({ hasText: /showing/ }).waitFor({ timeout: 60_000 });
    const m = /L(\d+)H(\d+): showing ([\d,]+) of ([\d,]+) arcs/.exec(await status.innerText());
    assert.ok(m, await status.innerText());
    const [shown, total] = [Number(m[3].replace(/,/g, '')), Number(m[4].replace(/,/g, ''))];
    const n = SELECTED.length + 1; // byte-level planted tokenizer: one token per character, plus BOS
    assert.equal(total, (n * (n + 1)) / 2, 'causal: every (query, key ≤ query) pair counted');
    assert.ok(shown > 0 && shown <= 3 * n);
    assert.match(await frame.locator('.hl-subtitle').innerText(), /planted · 2 layers × 8 heads · causal · 82 tokens/);
    await screenshot(page, 'light-arcs');
  });

  it('hovering a token decorates its exact source range in the editor', async () => {
    const { page } = ed;
    const frame = webview(page);
    const before = await decorationRects(page);
    // "Q" of the first "Quill": character 8 of the selection, token 9 after BOS.
    await frame.locator('.hl-view-arcs [data-i="9"]').hover();
    const want = await charRect(page, 'Harriet Quill mended', 8, 9);
    const match = await until(
      `a decoration covering the token's characters ${JSON.stringify(want)} (before: ${before.length} rects)`,
      async () => (await decorationRects(page)).find((r) => Math.abs(r.x - want.x) < 2 && Math.abs(r.w - want.w) < 2 && Math.abs(r.y - want.y) < 4),
      10_000,
    );
    assert.ok(match);
    await screenshot(page, 'light-hover-decoration');
  });

  it('moving the editor cursor into the explained range highlights that token in the panel', async () => {
    const { page } = ed;
    const r = await charRect(page, 'Harriet Quill mended', 14, 15); // "m" of "mended" → token 15
    await page.mouse.click(r.x + 1, r.y + r.h / 2); // just inside the left edge: the caret lands before "m"
    const tok = webview(page).locator('.hl-view-arcs [data-i="15"]');
    await tok.and(webview(page).locator('[aria-selected="true"]')).waitFor({ timeout: 10_000 });
    assert.equal(await tok.textContent(), 'm');
  });

  it('clicking a catalog cell switches Arcs to that head', async () => {
    const { page } = ed;
    const frame = webview(page);
    await tab(frame, 'Heads').click();
    await frame.locator('.hl-view-heads button.hl-cell').first().waitFor();
    assert.equal(await frame.locator('.hl-view-heads button.hl-cell').count(), 16);
    await screenshot(page, 'light-heads');
    await frame.locator('.hl-view-heads button.hl-cell[data-layer="1"][data-head="0"]').click();
    await frame.locator('.hl-view-arcs .hl-status', { hasText: /^L1H0: showing/ }).waitFor({ timeout: 20_000 });
  });

  it('Find head "induction" lists exactly the heads the analysis calls induction and focuses the chosen one', async () => {
    const { page } = ed;
    const frame = webview(page);
    await tab(frame, 'Heads').click();
    const induction = (
      await frame
        .locator('.hl-view-heads button.hl-cell', { has: frame.locator('.hl-badge', { hasText: /^induction/ }) })
        .evaluateAll((els) => els.map((e) => `L${e.getAttribute('data-layer')}H${e.getAttribute('data-head')}`))
    ).sort();
    assert.deepEqual(induction, ['L1H0'], 'the planted induction head, and only it');
    await runCommand(page, 'Headlight: Find head…');
    await page.locator('.quick-input-widget input').fill('induction');
    const rows = page.locator('.quick-input-widget .monaco-list-row');
    await rows.first().waitFor();
    // The list filters as it is typed into: wait until it holds only rows that name a head by role.
    await until(`Find head rows to be exactly ${induction.length}`, async () => (await rows.count()) === induction.length, 10_000);
    const labels = (await rows.allInnerTexts()).map((t) => /^L\d+H\d+/.exec(t)?.[0] ?? t).sort();
    assert.deepEqual(labels, induction);
    await screenshot(page, 'light-find-head');
    await page.keyboard.press('Enter');
    await frame.locator('.hl-view-arcs .hl-status', { hasText: /^L1H0: showing/ }).waitFor({ timeout: 20_000 });
  });

  it('Routes: the route behind the repeated "Q" runs through the induction head L1H0 and L0H0 below it; its edge opens L1H0 in Arcs', async () => {
    const { page } = ed;
    const frame = webview(page);
    await tab(frame, 'Routes').click();
    // The second "Q": it predicts "u" by copying what followed the first "Q" (one earlier copy, so one strong edge).
    const q = SELECTED.lastIndexOf('Q') + 1; // byte-level tokens: character index + 1 (BOS)
    await frame.locator(`.hl-view-routes [data-i="${q}"]`).click();
    const edges = frame.locator('.hl-view-routes button.hl-routes-edge');
    await frame.locator('.hl-view-routes .hl-status', { hasText: new RegExp(`^Token ${q} `) }).waitFor({ timeout: 30_000 });
    await edges.first().waitFor({ timeout: 30_000 });
    const labels = await edges.allInnerTexts();
    assert.ok(
      labels.some((l) => l.startsWith('L1H0:')),
      labels.join(' | '),
    );
    assert.ok(
      labels.some((l) => l.startsWith('L0H0:')),
      'the previous-token head below it',
    );
    await screenshot(page, 'light-routes');
    await edges
      .filter({ hasText: /^L1H0:/ })
      .first()
      .click();
    await frame.locator('.hl-view-arcs .hl-status', { hasText: /^L1H0: showing/ }).waitFor({ timeout: 20_000 });
  });

  it('shows every view in the light and the dark theme', async () => {
    const { page } = ed;
    const frame = webview(page);
    for (const theme of ['light', 'dark']) {
      if (theme === 'dark') {
        await page.keyboard.press('F1');
        await page.locator('.quick-input-widget input').fill('>Preferences: Color Theme');
        await page.locator('.quick-input-widget .monaco-list-row[aria-label^="Preferences: Color Theme"]').first().click();
        await page.locator('.quick-input-widget input').fill('Dark Modern');
        await page.locator('.quick-input-widget .monaco-list-row[aria-label^="Dark Modern"]').first().click();
        await page.locator('.monaco-workbench.vs-dark').waitFor({ timeout: 20_000 });
        // The webview gets the new --vscode-* colours a moment after the workbench: wait for its body to turn dark.
        await until('the dark theme to reach the panel', async () => {
          const [r, g, b] = (await frame.locator('body').evaluate((el) => getComputedStyle(el).backgroundColor)).match(/\d+/g)!.map(Number);
          return r + g + b < 200;
        });
      }
      for (const view of ['arcs', 'heads', 'layers', 'flow', 'routes']) {
        await tab(frame, VIEW_LABEL[view]).click();
        await frame.locator(`.hl-view-${view}`).waitFor({ state: 'visible' });
        await frame.locator(DRAWN[view]).first().waitFor({ timeout: 20_000 });
        await painted(frame);
        const shot = await screenshot(page, `${theme}-${view}`);
        assert.ok(fs.statSync(shot).size > 20_000);
      }
    }
    const bg = await frame.locator('body').evaluate((b) => getComputedStyle(b).backgroundColor);
    const [r, g, b] = bg.match(/\d+/g)!.map(Number);
    assert.ok(r + g + b < 200, `dark theme reached the panel (${bg})`);
  });
});
