import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startEditor, openFile, webview, screenshot, ROOT, type Editor } from './harness';

// A long selection in bounded-memory mode, end to end in a real VS Code: tiny-bert (Softmax found in
// the graph, so the engine keeps Q/Kᵀ and recomputes heads) on 810 tokens (≥ 512: painted first).
// The panel is painted before the analysis (session data marked analysing), the analysis streams in
// (session/heads), and every view that reads attention — Arcs, Heads, Flow — is answered from the kept run.
const PROSE = fs.readFileSync(path.join(ROOT, 'samples', 'prose.txt'), 'utf8');
const tab = (frame: ReturnType<typeof webview>, label: string) => frame.locator('vscode-tab-header', { hasText: label });

describe('a long selection in bounded memory (real VS Code)', function () {
  let ed: Editor;
  before(async () => {
    ed = await startEditor({ files: { 'long.txt': (PROSE + '\n').repeat(8) }, settings: { 'headlight.model': 'tiny-bert' } });
  });
  after(async () => {
    await ed?.stop();
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed')
      await screenshot(ed.page, `long-failed-${this.currentTest.title.slice(0, 40).replace(/\W+/g, '-')}`).catch(() => undefined);
  });

  it('explains 810 tokens: arcs first, then the streamed catalog, then a rollout from the kept run', async () => {
    const { page } = ed;
    await openFile(page, 'long.txt');
    await page.locator('.monaco-editor .view-lines').first().click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Control+K');
    await page.keyboard.press('Control+G'); // Explain Attention's chord
    const frame = webview(page);
    await frame
      .locator('.hl-view-arcs .hl-status')
      .filter({ hasText: /showing/ })
      .waitFor({ timeout: 60_000 });
    // tiny-bert computes its sinusoidal positions in the graph, so no position table limits the length.
    assert.match(await frame.locator('.hl-subtitle').innerText(), /tiny-bert · 2 layers × 4 heads · bidirectional · 810 tokens/);
    assert.equal(await frame.locator('.hl-view-arcs .hl-tok').count(), 810);
    // When the stream ends the "Analysing heads" banner goes and the catalog has every head.
    await tab(frame, 'Heads').click();
    await frame.locator('.hl-view-heads button.hl-cell').first().waitFor({ timeout: 60_000 });
    assert.equal(await frame.locator('.hl-view-heads button.hl-cell').count(), 8);
    assert.match(await frame.locator('.hl-view-heads .hl-count').innerText(), /8 of 8 heads/);
    // The banner goes once the analysis is in (and the head effects, measured on their own when cheap, are too).
    await frame.locator('.hl-banner').waitFor({ state: 'hidden', timeout: 60_000 });
    await screenshot(page, 'long-heads');
    // Flow streams every head through the analysis worker again (a pathway from the kept run).
    await tab(frame, 'Flow').click();
    await frame.locator('.hl-view-flow .hl-status', { hasText: /draws most on/ }).waitFor({ timeout: 60_000 });
    await screenshot(page, 'long-flow');
    assert.ok(
      await frame.locator('.hl-toolbar [data-format="csv"], .hl-toolbar button', { hasText: 'CSV' }).first().isEnabled(),
      'exports are enabled once the heads are in',
    );
  });
});
