import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startEditor, webview, screenshot, runCommand, ROOT, type Editor } from './harness';

// Attention computed elsewhere: a dump written by scripts/fixtures/make-dump.py (PyTorch), opened through
// the command and its file dialog, shown in the same panel with the same analysis, no model run.
const DUMP = path.join(ROOT, 'test', 'fixtures', 'dumps', 'small');

describe('opening an attention dump in a real VS Code', function () {
  let ed: Editor;
  before(async () => {
    const files: Record<string, string> = { 'notes.txt': 'dumps live in ./dump\n' };
    ed = await startEditor({ files });
    fs.mkdirSync(path.join(ed.workspace, 'dump'));
    for (const f of ['attention.safetensors', 'tokens.json']) fs.copyFileSync(path.join(DUMP, f), path.join(ed.workspace, 'dump', f));
  });
  after(async () => {
    await ed?.stop();
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await screenshot(ed.page, 'dump-failed').catch(() => undefined);
  });

  it('opens attention.safetensors + tokens.json from the file dialog and shows tokens, heads and roles', async () => {
    const { page } = ed;
    const ref = JSON.parse(fs.readFileSync(path.join(DUMP, 'reference.json'), 'utf8')) as { text: string; layers: number; heads: number; seq: number };
    await runCommand(page, 'Headlight: Open attention dump…');
    // code-server's file dialog is VS Code's simple dialog: a path in a quick input.
    const input = page.locator('.quick-input-widget input');
    await input.waitFor();
    // The dialog fills in its starting folder asynchronously; typing before that gets overwritten.
    await page.waitForFunction(() => /\/workspace\/?$/.test(document.querySelector<HTMLInputElement>('.quick-input-widget input')?.value ?? ''), undefined, {
      timeout: 20_000,
    });
    const file = path.join(ed.workspace, 'dump', 'attention.safetensors');
    await input.fill(file);
    await page.waitForFunction((f) => document.querySelector<HTMLInputElement>('.quick-input-widget input')?.value === f, file, { timeout: 10_000 });
    // Typing a path in another folder makes the dialog list that folder; an Enter before the listing is
    // in only updates the list. Wait for the file's own row, then accept.
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'attention.safetensors' }).first().waitFor({ timeout: 20_000 });
    await page.keyboard.press('Enter');
    const frame = webview(page);
    await frame.locator('.hl-view-arcs .hl-tok').first().waitFor({ timeout: 60_000 });
    assert.match(await frame.locator('.hl-title').innerText(), /Attention dump: attention\.safetensors/);
    const sub = await frame.locator('.hl-subtitle').innerText();
    assert.match(sub, new RegExp(`${ref.layers} layers × ${ref.heads} heads`));
    assert.match(sub, new RegExp(`${ref.seq} tokens`));
    const shown = (await frame.locator('.hl-view-arcs .hl-tok:not(.hl-tok-special)').allTextContents()).join('');
    assert.equal(shown, ref.text);
    await frame.locator('.hl-view-arcs .hl-status', { hasText: /showing/ }).waitFor({ timeout: 30_000 });
    await frame.locator('vscode-tab-header', { hasText: 'Heads' }).click();
    assert.equal(await frame.locator('.hl-view-heads button.hl-cell').count(), ref.layers * ref.heads);
    // make-dump.py gives layer 0 head 0 a strong previous-token bias
    const l0h0 = frame.locator('.hl-view-heads button.hl-cell[data-layer="0"][data-head="0"] .hl-badge');
    assert.match((await l0h0.allTextContents()).join(' '), /previous-token/);
    await screenshot(page, 'dump-heads');
  });
});
