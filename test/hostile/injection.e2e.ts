import * as assert from 'node:assert/strict';
import { startEditor, openFile, webview, screenshot, explainFromContextMenu, waitForToast, painted, type Editor } from '../e2e/harness';

// Document text is untrusted: HTML, script, URLs and template strings in a selection must reach the
// panel as literal text only — no element, no attribute, no script run — and the host stays responsive.
const PAYLOAD = [
  '<img src=x onerror="document.title=\'PWNED-img\'">',
  '</script><script>document.title="PWNED-script"</script>',
  '<svg onload="document.title=\'PWNED-svg\'"><a href="javascript:document.title=\'PWNED-js\'">go</a>',
  '{{constructor.constructor("document.title=\'PWNED-tpl\'")()}} ${document.title="PWNED-lit"}',
].join(' ');

describe('hostile: untrusted document text in a real VS Code', function () {
  let ed: Editor;
  before(async function () {
    const big = 'The quick brown fox jumps over the lazy dog; {x: [1, 2, 3]} — ünïcödé 😀\n'.repeat(1400).slice(0, 100_000);
    ed = await startEditor({ files: { 'payload.html': PAYLOAD + '\n', 'big.txt': big, 'blank.txt': '\n    \n\t\n' } });
  });
  after(async () => {
    await ed?.stop();
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed')
      await screenshot(ed.page, `hostile-failed-${this.currentTest.title.slice(0, 40).replace(/\W+/g, '-')}`).catch(() => undefined);
  });

  it('renders HTML/script from the selection as literal text: no new elements or attributes, no script runs', async () => {
    const { page } = ed;
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await openFile(page, 'payload.html');
    await page.locator('.monaco-editor .view-lines').first().click();
    await page.keyboard.press('Control+A');
    await explainFromContextMenu(page);
    const frame = webview(page);
    await frame.locator('.hl-view-arcs [data-i]').first().waitFor({ timeout: 60_000 });
    // Everything the panel renders from the text is in once Arcs says what it shows and two frames have
    // painted; an injected script or handler would have run by then.
    await frame.locator('.hl-view-arcs .hl-status', { hasText: /showing/ }).waitFor({ timeout: 60_000 });
    await painted(frame);
    const report = await frame.locator('body').evaluate((body) => {
      // (no named helpers in here: tsx would wrap them in a __name() the page does not have)
      const all = [...body.querySelectorAll('*')].filter((e) => !(e.id === 'headlight-bootstrap' || /\/dist\/webview\.js$/.test(e.getAttribute('src') ?? '')));
      return {
        title: document.title,
        injected: all
          .filter(
            (e) =>
              ['IMG', 'SCRIPT', 'IFRAME', 'OBJECT', 'EMBED'].includes(e.tagName) || (e.tagName === 'A' && /javascript:/i.test(e.getAttribute('href') ?? '')),
          )
          .map((e) => e.outerHTML.slice(0, 80)),
        svgWithOnload: all.filter((e) => e.tagName.toLowerCase() === 'svg' && e.hasAttribute('onload')).length,
        handlerAttrs: all.flatMap((e) => [...e.attributes].filter((a) => /^on/i.test(a.name)).map((a) => `${e.tagName}[${a.name}]`)),
        text: (body as HTMLElement).innerText,
        scripts: [...document.scripts].map((e) => e.id || e.getAttribute('src')?.split('/').pop() || e.textContent?.slice(0, 40) || '?'),
      };
    });
    assert.deepEqual(report.injected, []);
    assert.equal(report.svgWithOnload, 0);
    assert.deepEqual(report.handlerAttrs, []);
    assert.doesNotMatch(report.title, /PWNED/);
    assert.deepEqual(dialogs, []);
    assert.deepEqual(
      report.scripts.sort(),
      ['_vscodeApiScript', 'headlight-bootstrap', 'webview.js'],
      "only VS Code's API shim, the bootstrap JSON and the bundle",
    );
    // The tokens show the payload as text (the token layout keeps the characters).
    const shown = (await frame.locator('.hl-view-arcs [data-i]').allTextContents()).join('');
    for (const piece of ['<img src=x onerror=', '</script><script>', 'javascript:', '{{constructor.constructor'])
      assert.ok(shown.includes(piece), `shows ${piece}`);
    assert.doesNotMatch(await page.title(), /PWNED/);
    await screenshot(page, 'hostile-payload');
  });

  it('an empty or whitespace-only selection gets a clear message', async () => {
    const { page } = ed;
    await openFile(page, 'blank.txt');
    await page.locator('.monaco-editor .view-lines').first().click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Control+K');
    await page.keyboard.press('Control+G'); // Explain Attention's chord
    const msg = await waitForToast(page, /select some text/i);
    assert.match(msg, /empty or only whitespace/);
  });

  it('a 100,000-character selection gets the cap message with an offer, and the host answers another command meanwhile', async () => {
    const { page } = ed;
    await openFile(page, 'big.txt');
    await page.locator('.monaco-editor .view-lines').first().click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Control+K');
    await page.keyboard.press('Control+G'); // Explain Attention's chord
    // Meanwhile, another extension command that needs the host: Select model builds its QuickPick there. That
    // it answers at all is the check (how fast is the bench's business); a blocked host would run the wait
    // below into Playwright's timeout.
    await page.keyboard.press('F1');
    await page.locator('.quick-input-widget input').fill('>Headlight: Select model');
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Select model' }).first().waitFor();
    await page.keyboard.press('Enter');
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'headlight-mini' }).first().waitFor();
    await page.keyboard.press('Escape');
    const msg = await waitForToast(page, /tokens; the limit \(headlight\.maxTokens\) is 1024/, 60_000);
    assert.match(msg, /the selection is [\d,]+ tokens/);
    assert.match(msg, /Explain the first 1024 tokens/);
    await screenshot(page, 'hostile-cap');
    // Taking the offer explains the first 1,024 tokens and the panel says so (never a silent cut).
    await page
      .locator('.notifications-toasts .notification-toast', { hasText: /tokens; the limit/ })
      .getByRole('button', { name: 'Explain the first 1024 tokens' })
      .click();
    const banner = webview(page).locator('.hl-banner', {
      hasText: /Showing 1,024 of [\d,]+ tokens\. The selection.s text from character [\d,]+ of [\d,]+ on was cut/,
    });
    await banner.waitFor({ timeout: 60_000 });
    assert.equal(await webview(page).locator('.hl-view-arcs .hl-tok').count(), 1024);
  });
});
