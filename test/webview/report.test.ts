// The standalone HTML report (headlight explain --report) opened from a file in headless Chromium:
// no network request, no console error, no CSP violation, and it shows the tokens and the head catalog.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { launch, ARTIFACTS } from './harness';

const ROOT = path.resolve(__dirname, '../..');
const TEXT = 'Harriet Quill mended the lantern. Everyone knew that Harriet Quill mended it, see https://example.com/x.';

describe('standalone HTML report in headless Chromium', function () {
  this.timeout(120_000);
  let browser: Browser;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'headlight-report-'));
  const report = path.join(tmp, 'report.html');
  before(async () => {
    fs.writeFileSync(path.join(tmp, 'in.txt'), TEXT);
    const r = spawnSync(
      process.execPath,
      [path.join(ROOT, 'bin', 'headlight.js'), 'explain', path.join(tmp, 'in.txt'), '--model', path.join(ROOT, 'media/models/planted'), '--report', report],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('opens offline with no requests, errors or CSP violations and is the interactive panel', async () => {
    const html = fs.readFileSync(report, 'utf8');
    assert.doesNotMatch(html, /https?:\/\//);
    const ctx = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page = await ctx.newPage();
    const requests: string[] = [],
      errors: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.addInitScript({
      content: `document.addEventListener('securitypolicyviolation', (e) => { (window.__v = window.__v || []).push(e.violatedDirective + ' ' + e.blockedURI); });`,
    });
    await page.goto(`file://${report}`);
    const status = page.locator('.hl-view-arcs .hl-status', { hasText: /showing/ });
    await status.waitFor({ timeout: 20_000 });
    assert.match(await status.innerText(), /^L0H0: showing \d+ of [\d,]+ arcs/);
    assert.equal(await page.locator('.hl-view-arcs .hl-tok').count(), TEXT.length + 1); // BOS + one byte-level token per character
    assert.equal(await page.locator('.hl-toolbar').isHidden(), true, 'no export toolbar in a report');
    // The catalog: every head with its roles, and clicking one loads its embedded matrix into Arcs.
    await page.locator('vscode-tab-header', { hasText: 'Heads' }).click();
    await page.locator('.hl-view-heads button.hl-cell').first().waitFor();
    assert.equal(await page.locator('.hl-view-heads button.hl-cell').count(), 16);
    const induction = await page
      .locator('.hl-view-heads button.hl-cell', { has: page.locator('.hl-badge', { hasText: /^induction/ }) })
      .evaluateAll((els) => els.map((e) => `L${e.getAttribute('data-layer')}H${e.getAttribute('data-head')}`));
    assert.deepEqual(induction, ['L1H0']);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'report-heads.png') });
    await page.locator('.hl-view-heads button.hl-cell[data-layer="1"][data-head="0"]').click();
    await page.locator('.hl-view-arcs .hl-status', { hasText: /^L1H0: showing/ }).waitFor({ timeout: 10_000 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'report-arcs.png') });
    // Each view is waited for by what it draws, never by a fixed time.
    const drawn: Record<string, string> = {
      Layers: '.hl-view-layers .js-plotly-plot .scatterlayer .point',
      Flow: '.hl-view-flow canvas.hl-flow-canvas[aria-label^="Pathway of token"]',
    };
    for (const v of ['Layers', 'Flow']) {
      await page.locator('vscode-tab-header', { hasText: v }).click();
      await page.locator(drawn[v]).first().waitFor({ timeout: 20_000 });
    }
    await page.locator('.hl-view-flow .hl-tok[data-i="5"]').hover();
    await page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
    await page.screenshot({ path: path.join(ARTIFACTS, 'report-flow.png') });
    // Routes: the report holds the last tokens' routes at the default share, and says so below it.
    await page.locator('vscode-tab-header', { hasText: 'Routes' }).click();
    await page.locator('.hl-view-routes canvas.hl-routes-canvas[aria-label^="Route behind the prediction at token"]').waitFor({ timeout: 20_000 });
    await page.locator('.hl-routes-slider').evaluate((el: HTMLInputElement) => {
      el.value = '0.02';
      el.dispatchEvent(new Event('input'));
    });
    await page.locator('.hl-view-routes .hl-status', { hasText: 'This report holds routes down to a share of 0.04' }).waitFor({ timeout: 10_000 });
    const v = await page.evaluate(() => (window as unknown as { __v?: string[] }).__v ?? []);
    assert.deepEqual(v, [], 'CSP violations');
    assert.deepEqual(errors, [], 'console errors');
    const foreign = requests.filter((u) => !u.startsWith('file://') && !u.startsWith('data:') && !u.startsWith('blob:'));
    assert.deepEqual(foreign, [], 'network requests');
    assert.deepEqual(
      requests.filter((u) => u.startsWith('file://')),
      [`file://${report}`],
    );
    await ctx.close();
  });
});
