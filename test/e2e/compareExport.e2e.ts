import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { startEditor, openFile, selectText, webview, screenshot, runCommand, chromiumPath, waitForToast, painted, ROOT, type Editor } from './harness';
import type { Page } from 'playwright-core';

// Compare two bundled checkpoints and export every format through the real UI (command, QuickPick,
// VS Code's simple save dialog in code-server), then check the files themselves.
const TEXT = fs.readFileSync(path.join(ROOT, 'samples', 'repeats.txt'), 'utf8');
const SELECTED = 'Harriet Quill mended the lantern. Everyone in the village knew that Harriet Quill';

/** Export view… → format → type the path into the simple save dialog → Enter; waits for Headlight's
 * "exported … to <file>" message, which it shows only after the write has finished. */
async function exportVia(page: Page, formatLabel: RegExp | null, file: string): Promise<Buffer> {
  await runCommand(page, 'Headlight: Export view…');
  const input = page.locator('.quick-input-widget input');
  if (formatLabel) {
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: formatLabel }).first().waitFor({ timeout: 10_000 });
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: formatLabel }).first().click();
  } else {
    await page.locator('.quick-input-widget .monaco-list-row').first().waitFor({ timeout: 10_000 });
    await page.keyboard.press('Enter');
  }
  // The save dialog reuses the quick input: wait until it shows its default path (the workspace folder
  // and a file name with this format's extension) before typing, or its own fill-in would overwrite ours.
  await input.waitFor({ timeout: 10_000 });
  await page.waitForFunction(
    (ext) => {
      const v = document.querySelector<HTMLInputElement>('.quick-input-widget input')?.value ?? '';
      return v.startsWith('/') && v.endsWith(ext);
    },
    path.extname(file),
    { timeout: 20_000 },
  );
  await input.fill(file);
  await page.waitForFunction((f) => document.querySelector<HTMLInputElement>('.quick-input-widget input')?.value === f, file, { timeout: 10_000 });
  await page.keyboard.press('Enter');
  const name = path.basename(file).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  await waitForToast(page, new RegExp(`exported .* to ${name}`), 60_000);
  assert.ok(fs.existsSync(file), `${file} was written`);
  return fs.readFileSync(file);
}

function pngSize(b: Buffer): { w: number; h: number } {
  assert.deepEqual([...b.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], 'PNG signature');
  assert.equal(b.subarray(12, 16).toString('latin1'), 'IHDR');
  return { w: b.readUInt32BE(16), h: b.readUInt32BE(20) };
}

describe('Compare models and Export view in a real VS Code', function () {
  let ed: Editor;
  before(async () => {
    ed = await startEditor({ files: { 'repeats.txt': TEXT }, settings: { 'headlight.model': 'planted' } });
  });
  after(async () => {
    await ed?.stop();
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed')
      await screenshot(ed.page, `compare-failed-${this.currentTest.title.slice(0, 40).replace(/\W+/g, '-')}`).catch(() => undefined);
  });

  it('compares headlight-small step 0 with the final checkpoint and shows the induction heads appearing', async () => {
    const { page } = ed;
    await openFile(page, 'repeats.txt');
    await selectText(page, SELECTED);
    await runCommand(page, 'Headlight: Compare models…');
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'headlight-small @ step 0 vs final' }).first().click();
    const frame = webview(page);
    await frame.locator('.hl-change').first().waitFor({ timeout: 90_000 });
    const changes = await frame.locator('.hl-changes .hl-change').allInnerTexts();
    // The card's induction heads (PyTorch): L2H0–L2H3 in the final model, none at step 0.
    for (const h of ['L2H0', 'L2H1', 'L2H2', 'L2H3']) {
      assert.ok(
        changes.some((c) => new RegExp(`induction appears at ${h} between step 0 and step 4,000`).test(c)),
        changes.join('\n'),
      );
    }
    assert.match(await frame.locator('.hl-title').innerText(), /Compare: headlight-small@step-0 vs headlight-small@step-4000/);
    assert.equal(await frame.locator('.hl-compare-cols button.hl-cell').count(), 32, 'both catalogs: 2 × 16 heads');
    await painted(frame);
    await screenshot(page, 'compare-checkpoints');
  });

  it('offers headlight-mini vs headlight-small first, as a scale pair, and compares them head for head', async () => {
    const { page } = ed;
    await openFile(page, 'repeats.txt');
    await selectText(page, SELECTED);
    await runCommand(page, 'Headlight: Compare models…');
    const first = page.locator('.quick-input-widget .monaco-list-row').first();
    await first.waitFor({ timeout: 10_000 });
    assert.match(await first.innerText(), /headlight-mini vs headlight-small[\s\S]*scale: 2 × 4 heads → 4 × 4 heads, same tokenizer/);
    await first.click();
    const frame = webview(page);
    await frame.locator('.hl-title', { hasText: 'Compare: headlight-mini vs headlight-small' }).waitFor({ timeout: 90_000 });
    assert.equal(await frame.locator('.hl-compare-cols button.hl-cell').count(), 8 + 16, 'both catalogs: 2 × 4 and 4 × 4 heads');
    const changes = await frame.locator('.hl-changes .hl-change').allInnerTexts();
    assert.ok(
      changes.some((c) => /induction/.test(c)),
      changes.join('\n'),
    );
    await painted(frame);
    await screenshot(page, 'compare-scale');
  });

  it('exports the comparison as PNG through the save dialog', async () => {
    const png = await exportVia(ed.page, null, path.join(ed.workspace, 'compare.png'));
    const { w, h } = pngSize(png);
    assert.ok(w > 200 && h > 200, `${w}×${h}`);
  });

  it('exports PNG, SVG, CSV, JSON and an HTML report of an explained selection', async () => {
    const { page } = ed;
    await openFile(page, 'repeats.txt');
    await selectText(page, SELECTED);
    await runCommand(page, 'Headlight: Explain attention');
    const frame = webview(page);
    await frame.locator('.hl-view-arcs .hl-status', { hasText: /showing/ }).waitFor({ timeout: 60_000 });
    const dir = ed.workspace;
    const { w } = pngSize(await exportVia(page, /PNG image/, path.join(dir, 'arcs.png')));
    assert.ok(w > 200);
    const svg = (await exportVia(page, /SVG of Arcs/, path.join(dir, 'arcs.svg'))).toString('utf8');
    assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.equal((svg.match(/<text\b/g) ?? []).length, SELECTED.length + 1, 'one text per token');
    assert.ok((svg.match(/<path\b/g) ?? []).length > 0);
    const csv = (await exportVia(page, /CSV of heads/, path.join(dir, 'heads.csv'))).toString('utf8');
    assert.equal(csv.trim().split('\r\n').length, 17, 'header + 16 heads');
    assert.match(csv, /^layer,head,id,roles,evidence,/);
    const json = JSON.parse((await exportVia(page, /JSON of heads/, path.join(dir, 'heads.json'))).toString('utf8')) as {
      heads: { id: string; roles: { name: string }[] }[];
    };
    assert.deepEqual(
      json.heads.filter((x) => x.roles.some((r) => r.name === 'induction')).map((x) => x.id),
      ['L1H0'],
    );
    const report = path.join(dir, 'report.html');
    const html = (await exportVia(page, /HTML report/, report)).toString('utf8');
    assert.doesNotMatch(html, /https?:\/\//);
    await screenshot(page, 'exported');

    // The report in a fresh headless Chromium from file://: nothing fetched, no errors, tokens and catalog shown.
    const browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const p = await browser.newPage();
      const requests: string[] = [],
        errors: string[] = [];
      p.on('request', (r) => requests.push(r.url()));
      p.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      p.on('pageerror', (e) => errors.push(String(e)));
      await p.addInitScript({
        content: `document.addEventListener('securitypolicyviolation', (e) => { (window.__v = window.__v || []).push(e.violatedDirective); });`,
      });
      await p.goto(`file://${report}`);
      await p.locator('.hl-view-arcs .hl-status', { hasText: /showing/ }).waitFor({ timeout: 20_000 });
      assert.equal(await p.locator('.hl-view-arcs .hl-tok').count(), SELECTED.length + 1);
      await p.locator('vscode-tab-header', { hasText: 'Heads' }).click();
      await p.locator('.hl-view-heads button.hl-cell').first().waitFor();
      assert.equal(await p.locator('.hl-view-heads button.hl-cell').count(), 16);
      assert.deepEqual(await p.evaluate(() => (window as unknown as { __v?: string[] }).__v ?? []), []);
      assert.deepEqual(errors, []);
      assert.deepEqual(
        requests.filter((u) => !u.startsWith('data:') && !u.startsWith('blob:')),
        [`file://${report}`],
      );
    } finally {
      await browser.close();
    }
  });
});
