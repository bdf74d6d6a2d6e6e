import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FrameLocator, Page } from 'playwright-core';
import { startEditor, openFile, selectText, webview, screenshot, runCommand, waitForWorkbench, until, painted, ROOT, ARTIFACTS, type Editor } from './harness';

// Headlight as a VS Code citizen, in a real VS Code: its keybinding, palette when-clauses, the getting
// started walkthrough, Select Model's two settings scopes, Compare Models on two of the user's own ONNX
// files, and a panel restored by a window reload that runs no model until it is shown.
const TEXT = fs.readFileSync(path.join(ROOT, 'samples', 'repeats.txt'), 'utf8');
const SELECTED = 'Harriet Quill mended the lantern.';
const SMALL = path.join(ROOT, 'media', 'models', 'headlight-small');
const CODE_SERVER_VSCODE = path.join(ROOT, '.code-server', 'node_modules', 'code-server', 'lib', 'vscode');

/** Two of headlight-small's training checkpoints copied into the workspace: "the user's own" ONNX files. */
function userModels(workspace: string): { a: string; b: string } {
  const out: Record<string, string> = {};
  for (const [k, from] of [
    ['a', 'step-00000'],
    ['b', 'step-03100'],
  ] as const) {
    const dir = path.join(workspace, 'my-models', k === 'a' ? 'early' : 'late');
    fs.mkdirSync(dir, { recursive: true });
    const src = path.join(SMALL, 'checkpoints', from);
    fs.copyFileSync(path.join(src, 'model.onnx'), path.join(dir, 'model.onnx'));
    fs.copyFileSync(
      fs.existsSync(path.join(src, 'tokenizer.json')) ? path.join(src, 'tokenizer.json') : path.join(SMALL, 'tokenizer.json'),
      path.join(dir, 'tokenizer.json'),
    );
    out[k] = path.join(dir, 'model.onnx');
  }
  return out as { a: string; b: string };
}

/** The models of the explains Headlight's log records, in order (every window's extension host). */
function explainsLogged(runDir: string): string[] {
  const logs = path.join(runDir, 'user-data', 'logs');
  const lines: string[] = [];
  for (const session of fs.existsSync(logs) ? fs.readdirSync(logs).sort() : [])
    for (const host of fs.readdirSync(path.join(logs, session)).filter((d) => d.startsWith('exthost'))) {
      const file = path.join(logs, session, host, 'headlight.headlight', 'Headlight.log');
      if (fs.existsSync(file)) lines.push(...fs.readFileSync(file, 'utf8').split('\n'));
    }
  return lines.sort().flatMap((l) => /\[info\] ([\w-]+): \d+ tokens; engine/.exec(l)?.[1] ?? []);
}

function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8').replace(/^\s*\/\/.*$/gm, '')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/**
 * Wait until the panel is idle: its explain has finished and so has the head-effects measurement that
 * follows it on small models (its button is disabled once they are in), and no Headlight progress
 * notification is left — a quick pick opened while they finish can lose focus and close.
 */
async function explained(page: Page): Promise<void> {
  const frame = webview(page);
  await frame.locator('.hl-toolbar button[disabled]', { hasText: 'Measure head effects' }).waitFor({ timeout: 60_000 });
  await frame.locator('.hl-banner-loading').first().waitFor({ state: 'detached', timeout: 60_000 });
  await page
    .locator('.notifications-toasts .notification-toast', { hasText: /Headlight: (explaining|measuring)/ })
    .first()
    .waitFor({ state: 'detached', timeout: 60_000 });
}

/** Type a filter into the open QuickPick and accept the first row once it is the one wanted. */
async function pick(page: Page, filter: string, row: RegExp): Promise<void> {
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 15_000 });
  await input.fill(filter);
  await page.locator('.quick-input-widget .monaco-list-row.focused', { hasText: row }).first().waitFor({ timeout: 15_000 });
  await page.keyboard.press('Enter');
}

/** VS Code's simple open dialog (code-server): wait for its default path, type ours, accept. */
async function openDialog(page: Page, file: string): Promise<void> {
  const input = page.locator('.quick-input-widget input');
  // Settled: the dialog shows its default folder (the workspace) and has listed it; typing earlier races its own fill-in.
  await page.waitForFunction(() => (document.querySelector<HTMLInputElement>('.quick-input-widget input')?.value ?? '').endsWith('/workspace/'), undefined, {
    timeout: 20_000,
  });
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'my-models' }).first().waitFor({ timeout: 20_000 });
  await input.fill(file);
  await page.waitForFunction((f) => document.querySelector<HTMLInputElement>('.quick-input-widget input')?.value === f, file, { timeout: 10_000 });
  // The dialog lists the typed path's folder; once the file is there, OK accepts exactly what was typed.
  await page
    .locator('.quick-input-widget .monaco-list-row', { hasText: path.basename(file) })
    .first()
    .waitFor({ timeout: 15_000 });
  await page.locator('.quick-input-widget .monaco-button', { hasText: 'OK' }).first().click();
  await page.locator('.quick-input-widget .quick-input-title', { hasText: 'choose an ONNX model' }).waitFor({ state: 'hidden', timeout: 15_000 });
}

/** Select the sample's first sentence in repeats.txt and press Explain Attention's chord; resolves once Arcs has tokens. */
async function explainByKeybinding(page: Page): Promise<FrameLocator> {
  await openFile(page, 'repeats.txt');
  await selectText(page, SELECTED);
  await page.keyboard.press('Control+K');
  await page.keyboard.press('Control+G');
  const frame = webview(page);
  await frame.locator('.hl-view-arcs .hl-tok').first().waitFor({ timeout: 60_000 });
  await explained(page);
  return frame;
}

/** A screenshot of the editor area only (both groups, overlays included): the walkthrough's images. */
async function shotEditor(page: Page, name: string): Promise<void> {
  const b = await page.locator('.part.editor').first().boundingBox();
  if (!b) throw new Error('no editor part');
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), clip: { x: b.x, y: b.y - 36, width: b.width, height: b.height + 36 } });
}

/** The palette's Headlight rows right now (the list is filled synchronously when the filter is typed). */
async function paletteTitles(page: Page): Promise<string[]> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.fill('>Headlight:');
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Explain Attention' }).first().waitFor({ timeout: 15_000 });
  const titles = (await page.locator('.quick-input-widget .monaco-list-row').allInnerTexts()).map((t) => t.split('\n')[0]);
  await page.keyboard.press('Escape');
  return titles;
}

describe('Headlight as a VS Code citizen', function () {
  let ed: Editor;
  let models: { a: string; b: string };
  // "All workspaces": User settings, and for machine-overridable keys in a remote window (code-server) the
  // remote machine's settings, which VS Code writes for ConfigurationTarget.Global there.
  const userSettings = () => ({
    ...readJson(path.join(ed.runDir, 'user-data', 'User', 'settings.json')),
    ...readJson(path.join(ed.runDir, 'user-data', 'Machine', 'settings.json')),
  });
  const workspaceSettings = () => readJson(path.join(ed.workspace, '.vscode', 'settings.json'));

  before(async () => {
    ed = await startEditor({
      files: { 'repeats.txt': TEXT, 'other.txt': 'Another file, to hide the panel behind.\n' },
      settings: { 'headlight.model': 'planted' },
    });
    models = userModels(ed.workspace);
  });
  after(async () => {
    await ed?.stop();
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed')
      await screenshot(ed.page, `citizen-failed-${this.currentTest.title.slice(0, 40).replace(/\W+/g, '-')}`).catch(() => undefined);
  });

  it('binds Ctrl+K Ctrl+G, a chord no default VS Code binding uses, and shows Find Head only with a panel', async () => {
    // VS Code's own defaults (the workbench bundle encodes KeyChord(Ctrl+K, Ctrl+G) as (2089,2085)) and the
    // built-in extensions' keybindings.
    const bundle = path.join(CODE_SERVER_VSCODE, 'out', 'vs', 'code', 'browser', 'workbench', 'workbench.js');
    const js = fs.readFileSync(bundle, 'utf8');
    assert.ok(/\(2089,2083\)/.test(js), 'the bundle encodes chords as expected (Ctrl+K Ctrl+E is a default)');
    assert.ok(!/\(2089,2085\)/.test(js), 'Ctrl+K Ctrl+G is free in VS Code');
    for (const ext of fs.readdirSync(path.join(CODE_SERVER_VSCODE, 'extensions'))) {
      const pj = path.join(CODE_SERVER_VSCODE, 'extensions', ext, 'package.json');
      if (fs.existsSync(pj)) assert.doesNotMatch(fs.readFileSync(pj, 'utf8'), /"(ctrl|cmd)\+k (ctrl|cmd)\+g"/i, ext);
    }
    const { page } = ed;
    const before = await paletteTitles(page);
    assert.ok(
      before.some((t) => /Headlight: Explain Attention/.test(t)),
      before.join(' | '),
    );
    assert.ok(!before.some((t) => /Find Head|Export View/.test(t)), `no panel yet: ${before.join(' | ')}`);
    const frame = await explainByKeybinding(page);
    assert.equal((await frame.locator('.hl-view-arcs .hl-tok:not(.hl-tok-special)').allTextContents()).join(''), SELECTED);
    const after = await paletteTitles(page);
    assert.ok(after.some((t) => /Headlight: Find Head…/.test(t)) && after.some((t) => /Headlight: Export View…/.test(t)), after.join(' | '));
    // The panel's title bar carries Find Head, Compare and Export (while the panel is the active editor).
    await page
      .locator('.tabs-container .tab', { hasText: /^Attention:/ })
      .first()
      .click();
    await page.locator('.editor-actions .action-item a[aria-label*="Find Head"]').first().waitFor({ timeout: 10_000 });
    await painted(frame);
    await screenshot(page, 'citizen-keybinding-panel');
    await shotEditor(page, 'walkthrough-explain');
    await runCommand(page, 'Headlight: Find Head…');
    await pick(page, 'induction', /induction/);
    await frame.locator('.hl-view-arcs .hl-status', { hasText: /^L1H\d: showing/ }).waitFor({ timeout: 20_000 });
    await explained(page);
    await runCommand(page, 'Headlight: Find Head…');
    await page.locator('.quick-input-widget input').fill('induction');
    await page
      .locator('.quick-input-widget .monaco-list-row', { hasText: /induction/ })
      .first()
      .waitFor({ timeout: 15_000 });
    await screenshot(page, 'citizen-find-head');
    await shotEditor(page, 'walkthrough-find-head');
    await page.keyboard.press('Escape');
  });

  it('saves Select Model in this workspace or in all workspaces, and each pick takes effect', async () => {
    const { page } = ed;
    const explainedBefore = explainsLogged(ed.runDir).length;
    // A user-level model path (what Browse… used to write) must not beat a bundled pick for this workspace.
    await runCommand(page, 'Headlight: Select Model…');
    await pick(page, 'Browse', /Browse…/);
    await openDialog(page, models.a);
    await pick(page, 'All workspaces', /All workspaces/);
    await until('the user settings to name the early model', () => userSettings()['headlight.modelPath'] === models.a);
    assert.equal(workspaceSettings()['headlight.modelPath'], undefined, 'nothing written into .vscode/settings.json');
    const frame = webview(page);
    await frame.locator('.hl-header', { hasText: 'early' }).waitFor({ timeout: 60_000 }); // the panel re-explains with it
    await explained(page);

    await runCommand(page, 'Headlight: Select Model…');
    await pick(page, 'tiny-bert', /^tiny-bert/);
    await pick(page, 'This workspace', /This workspace/);
    await until('the workspace settings to pick tiny-bert', () => {
      const w = workspaceSettings();
      return w['headlight.model'] === 'tiny-bert' && w['headlight.modelPath'] === '';
    });
    assert.equal(userSettings()['headlight.modelPath'], models.a, "other workspaces keep the user's path");
    await frame.locator('.hl-header', { hasText: 'tiny-bert' }).waitFor({ timeout: 60_000 });
    await explained(page);

    await runCommand(page, 'Headlight: Select Model…');
    await pick(page, 'planted', /^planted/);
    const scope = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'All workspaces' }).first();
    await scope.waitFor({ timeout: 15_000 });
    assert.match(await scope.innerText(), /removes this workspace's headlight\.(model|modelPath)/);
    await pick(page, 'All workspaces', /All workspaces/);
    await until('planted in user settings, no model path left anywhere', () => {
      const u = userSettings(),
        w = workspaceSettings();
      return (
        u['headlight.model'] === 'planted' &&
        u['headlight.modelPath'] === undefined &&
        w['headlight.model'] === undefined &&
        w['headlight.modelPath'] === undefined
      );
    });
    await frame.locator('.hl-header', { hasText: 'planted' }).waitFor({ timeout: 60_000 });
    await explained(page);
    // One explain per pick: none for the intermediate states of a pick's writes (explaining one of those
    // revealed the panel over the next picker and closed it).
    await until('the planted explain in the log', () => explainsLogged(ed.runDir).at(-1) === 'planted');
    assert.deepEqual(explainsLogged(ed.runDir).slice(explainedBefore), ['early', 'tiny-bert', 'planted']);
    await screenshot(page, 'citizen-select-model');
  });

  it("compares two of the user's own ONNX files through the same picker as Select Model", async () => {
    const { page } = ed;
    await runCommand(page, 'View: Close All Editor Groups');
    await openFile(page, 'repeats.txt');
    await selectText(page, 'Harriet Quill mended the lantern. Everyone in the village knew that Harriet Quill');
    await runCommand(page, 'Headlight: Compare Models…');
    await pick(page, 'Choose two', /Choose two models/);
    await pick(page, 'Browse', /Browse…/);
    await openDialog(page, models.a);
    await pick(page, 'Browse', /Browse…/);
    await openDialog(page, models.b);
    const frame = webview(page);
    await frame.locator('.hl-title', { hasText: 'Compare: early vs late' }).waitFor({ timeout: 120_000 });
    const changes = await frame.locator('.hl-changes .hl-change').allInnerTexts();
    assert.ok(
      changes.some((c) => /appears at L\dH\d in late \(absent in early\)/.test(c)),
      changes.join('\n'),
    );
    assert.match(await frame.locator('.hl-compare-host').innerText(), /A: early · 4 × 4 heads[\s\S]*B: late · 4 × 4 heads/);
    assert.equal(await frame.locator('.hl-view-compare .hl-layers-table tbody tr').count(), 4, 'a table row per layer beside the charts');
    await painted(frame);
    await screenshot(page, 'citizen-compare-user-models');
    await shotEditor(page, 'walkthrough-compare');
  });

  it('restores a hidden panel after a window reload without running the model until it is shown', async () => {
    const { page } = ed;
    await runCommand(page, 'View: Close All Editor Groups');
    await explainByKeybinding(page);
    // Hide the panel behind another file opened in its group, then reload.
    await page
      .locator('.tabs-container .tab', { hasText: /^Attention:/ })
      .first()
      .click(); // its group is now the active one
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'other.txt' }).first().click();
    await page.locator('.tabs-container .tab.active', { hasText: 'other.txt' }).first().waitFor({ timeout: 15_000 });
    await page.locator('.tabs-container .tab.active', { hasText: /^Attention:/ }).waitFor({ state: 'detached', timeout: 15_000 });
    await page.evaluate(() => {
      (window as unknown as { __beforeReload?: boolean }).__beforeReload = true;
    });
    await runCommand(page, 'Developer: Reload Window');
    await page.waitForFunction(() => !(window as unknown as { __beforeReload?: boolean }).__beforeReload, undefined, { timeout: 60_000 });
    await waitForWorkbench(page);
    const log = (): string => {
      const found: { file: string; mtime: number }[] = [];
      const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
          const p = path.join(d, e.name);
          if (e.isDirectory()) walk(p);
          else if (/Headlight\.log$/.test(e.name)) found.push({ file: p, mtime: fs.statSync(p).mtimeMs });
        }
      };
      walk(path.join(ed.runDir, 'user-data', 'logs'));
      return found.map((f) => fs.readFileSync(f.file, 'utf8')).join('\n');
    };
    const explains = () =>
      log()
        .split('\n')
        .filter((x) => /Restored panel .*: explaining again/.test(x)).length;
    // The panel is back as a tab, not shown, and no restore has run the model.
    await page
      .locator('.tabs-container .tab', { hasText: /^Attention:/ })
      .first()
      .waitFor({ timeout: 60_000 });
    assert.equal(await page.locator('.tabs-container .tab.active', { hasText: /^Attention:/ }).count(), 0, 'the panel stays in the background');
    const before = explains();
    assert.equal(before, 0, log());
    await page
      .locator('.tabs-container .tab', { hasText: /^Attention:/ })
      .first()
      .click();
    await webview(page).locator('.hl-view-arcs .hl-tok').first().waitFor({ timeout: 60_000 });
    await until('the restore to explain once the panel is shown', () => explains() === 1);
    await screenshot(page, 'citizen-restored-visible');
  });

  it('opens the getting-started walkthrough, whose first step opens a sample', async () => {
    const { page } = ed;
    await runCommand(page, 'Open Walkthrough');
    await pick(page, 'Headlight', /Get Started with Headlight/);
    const steps = page.locator('.gettingStartedContainer .getting-started-step');
    await steps.first().waitFor({ timeout: 20_000 });
    const titles = await page.locator('.gettingStartedContainer .getting-started-step .step-title').allInnerTexts();
    for (const t of ['Open a sample text', 'Select text and explain it', 'Find a head by its role', 'Compare two models']) {
      assert.ok(
        titles.some((x) => x.includes(t)),
        `${t} in ${titles.join(' | ')}`,
      );
    }
    await page.locator('.gettingStartedContainer img[alt^="An editor holding the sample text"]').first().waitFor({ timeout: 20_000 });
    await screenshot(page, 'citizen-walkthrough');
    await page.locator('.gettingStartedContainer a.monaco-button', { hasText: 'Open Sample Text' }).first().click();
    // An untitled editor's tab is labelled with its first line.
    await page.locator('.tabs-container .tab.active', { hasText: 'Harriet Quill mended' }).first().waitFor({ timeout: 20_000 });
    await page.locator('.editor-instance .monaco-editor .selected-text').first().waitFor({ timeout: 20_000 }); // its first line is selected
    await screenshot(page, 'citizen-walkthrough-sample');
    await shotEditor(page, 'walkthrough-open-sample');
  });
});

describe('Headlight in a high-contrast theme', function () {
  let ed: Editor;
  before(async () => {
    ed = await startEditor({ files: { 'repeats.txt': TEXT }, settings: { 'headlight.model': 'planted', 'workbench.colorTheme': 'Default High Contrast' } });
  });
  after(async () => {
    await ed?.stop();
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed')
      await screenshot(ed.page, `hc-failed-${this.currentTest.title.slice(0, 40).replace(/\W+/g, '-')}`).catch(() => undefined);
  });

  it('draws the panel, with a keyboard path from the Layers table to a head and only status messages live', async () => {
    const { page } = ed;
    await page.locator('.monaco-workbench.hc-black').waitFor({ timeout: 30_000 });
    const frame = await explainByKeybinding(page);
    await frame.locator('body.vscode-high-contrast').waitFor({ timeout: 30_000 });
    await frame.locator('vscode-tab-header', { hasText: 'Heads' }).click();
    await frame.locator('.hl-view-heads button.hl-cell').first().waitFor({ timeout: 30_000 });
    await painted(frame);
    await screenshot(page, 'citizen-hc-heads');
    // Layers: the charts' values as a table whose head buttons open Arcs, by keyboard.
    await frame.locator('vscode-tab-header', { hasText: 'Layers' }).click();
    await frame.locator('.hl-layers-table summary').click();
    const open = frame.locator('.hl-layers-table tbody button', { hasText: 'L1H0' });
    await open.waitFor({ timeout: 30_000 });
    assert.equal(await frame.locator('.hl-layers-table tbody tr').count(), await frame.locator('.hl-layers-table tbody th button').count());
    await painted(frame);
    await screenshot(page, 'citizen-hc-layers-table');
    await open.focus();
    await page.keyboard.press('Enter');
    await frame.locator('.hl-view-arcs .hl-status', { hasText: /^L1H0: showing/ }).waitFor({ timeout: 20_000 });
    // Only status messages are live: the app root is not a live region.
    assert.equal(await frame.locator('#app[aria-live]').count(), 0);
    assert.equal(await frame.locator('.hl-sr-only[role="status"]').count(), 1);
  });
});
