import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startEditor, openFile, selectText, webview, screenshot, runCommand, waitForWorkbench, ROOT, type Editor } from './harness';

// The foundation flow a user follows, in a real VS Code: select, right-click, Explain attention, read the
// panel, reload the window and find the panel restored, search heads from the palette.
const SELECTED = 'The river had risen overnight,';

describe('Headlight in a real VS Code (code-server)', function () {
  let ed: Editor;
  const prose = fs.readFileSync(path.join(ROOT, 'samples', 'prose.txt'), 'utf8');

  before(async function () {
    ed = await startEditor({ files: { 'prose.txt': prose, 'code.py': fs.readFileSync(path.join(ROOT, 'samples', 'code.py'), 'utf8') } });
  });
  after(async function () {
    if (this.currentTest?.state === 'failed' && ed) await screenshot(ed.page, 'failure').catch(() => undefined);
    await ed?.stop();
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await screenshot(ed.page, `failed-${this.currentTest.title.replace(/\W+/g, '-')}`).catch(() => undefined);
  });

  it('shows Explain attention in the editor context menu for a selection and opens the panel', async () => {
    const { page } = ed;
    await openFile(page, 'prose.txt');
    await screenshot(page, 'file-open');
    await selectText(page, SELECTED);
    await screenshot(page, 'selected');
    const sel = await page.locator('.monaco-editor .selected-text').count();
    assert.ok(sel > 0, 'the editor shows a selection');
    await page
      .locator('.monaco-editor .view-lines')
      .first()
      .click({ button: 'right', position: await centreOfSelection(ed) });
    const item = page.getByRole('menuitem', { name: 'Explain attention' });
    await item.waitFor({ timeout: 10_000 });
    await screenshot(page, 'context-menu');
    await item.click();
    const tab = page.locator('.tabs-container .tab', { hasText: 'Attention: prose.txt:1' });
    await tab.waitFor({ timeout: 20_000 });
    const frame = webview(page);
    await frame.locator('.hl-view-arcs .hl-tok').first().waitFor({ timeout: 30_000 });
    const tokens = await frame.locator('.hl-view-arcs .hl-tok:not(.hl-tok-special)').allTextContents();
    assert.ok(tokens.length > 0);
    assert.equal(tokens.join('').replace(/\s+/g, ''), SELECTED.replace(/\s+/g, ''));
    assert.match(await frame.locator('.hl-title').innerText(), /Attention: prose\.txt:1/);
    // No headlight.model setting here: the default model, as the demo opens it.
    assert.match(await frame.locator('.hl-subtitle').innerText(), /^headlight-small · 4 layers × 4 heads · causal/);
    await screenshot(page, 'panel');
  });

  it('restores the panel after a window reload', async () => {
    const { page } = ed;
    // Mark this window; after the reload the new document lacks the mark (the old workbench lingers for
    // a moment, so waiting for the workbench alone could find the old one).
    await page.evaluate(() => {
      (window as unknown as { __beforeReload?: boolean }).__beforeReload = true;
    });
    await runCommand(page, 'Developer: Reload Window');
    await page.waitForFunction(() => !(window as unknown as { __beforeReload?: boolean }).__beforeReload, undefined, { timeout: 60_000 });
    await waitForWorkbench(page);
    const frame = webview(page);
    await frame.locator('.hl-view-arcs .hl-tok').first().waitFor({ timeout: 60_000 });
    const text = (await frame.locator('.hl-view-arcs .hl-tok:not(.hl-tok-special)').allTextContents()).join('');
    assert.equal(text, SELECTED);
    await screenshot(page, 'restored');
  });

  it('registers every Headlight command in the palette', async () => {
    const { page } = ed;
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.fill('>Headlight:');
    const rows = page.locator('.quick-input-widget .monaco-list-row');
    await rows.first().waitFor();
    const labels = (await rows.allInnerTexts()).map((t) => t.split('\n')[0]);
    for (const title of ['Headlight: Explain attention', 'Headlight: Find head…', 'Headlight: Select model…', 'Headlight: Export view…']) {
      // Titles are Title Case in the palette (package.nls.json); compare without case.
      assert.ok(
        labels.some((l) => l.toLowerCase().includes(title.toLowerCase())),
        `${title} in ${JSON.stringify(labels)}`,
      );
    }
    await screenshot(page, 'palette');
    await page.keyboard.press('Escape');
  });

  it('runs Find head from the command palette', async () => {
    const { page } = ed;
    await runCommand(page, 'Headlight: Find head…');
    // With a model, the QuickPick lists heads; without one it tells the user why there is nothing to search.
    const heads = page.locator('.quick-input-widget .monaco-list-row', { hasText: /^L\d+H\d+/ });
    const toast = page.locator('.notifications-toasts', { hasText: /Headlight/ });
    await Promise.race([heads.first().waitFor({ timeout: 20_000 }), toast.first().waitFor({ timeout: 20_000 })]);
    await screenshot(page, 'find-head');
    assert.ok((await heads.count()) > 0 || (await toast.count()) > 0);
    await page.keyboard.press('Escape');
  });
});

async function centreOfSelection(ed: Editor): Promise<{ x: number; y: number }> {
  const root = ed.page.locator('.monaco-editor .view-lines').first();
  const rb = (await root.boundingBox())!;
  const sb = (await ed.page.locator('.monaco-editor .selected-text').first().boundingBox())!;
  return { x: sb.x + sb.width / 2 - rb.x, y: sb.y + sb.height / 2 - rb.y };
}
