import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FrameLocator, Locator, Page } from 'playwright-core';
import { startEditor, screenshot, runCommand, until, ARTIFACTS, type Editor } from './harness';
import { executeNotebook, helperVenv, SAMPLE_NOTEBOOK } from '../fixtures/notebook';
import { runCli } from '../fixtures/cli';

// A notebook executed by a real Jupyter kernel (the sample, samples/notebook/attention.ipynb: the helper installed
// with pip, the planted model in PyTorch) opened in VS Code's own notebook editor — no kernel runs there: the saved
// outputs are drawn by Headlight's renderer, with the roles the extension's analysis gives, which must equal
// `headlight explain --dump` on the dump the same notebook wrote. Then closed and reopened, and moved to the panel.

/** The notebook's output webview (VS Code's back-layer webview, two iframes deep). */
function outputs(page: Page): FrameLocator {
  return page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
}

interface CliHead {
  id: string;
  roles: { name: string; score: number }[];
}

async function catalog(out: Locator): Promise<Record<string, string[]>> {
  await out.locator('vscode-tab-header', { hasText: 'Heads' }).click();
  const cells = out.locator('.hl-view-heads button.hl-cell');
  await cells.first().waitFor({ timeout: 30_000 });
  const got: Record<string, string[]> = {};
  for (const cell of await cells.all()) got[await cell.locator('.hl-cell-id').innerText()] = await cell.locator('.hl-badge').allTextContents();
  return got;
}

describe('Headlight in a notebook, in a real VS Code', function () {
  let ed: Editor;
  let expected: Record<string, string[]>;

  before(async function () {
    this.timeout(400_000);
    ed = await startEditor({ files: { 'notes.txt': 'The notebook runs here before VS Code opens it.\n' } });
    // Execute the sample with a real kernel into the workspace, as a user would have before opening it here.
    const venv = helperVenv(path.join(ed.runDir, 'python'));
    executeNotebook(venv, SAMPLE_NOTEBOOK, ed.workspace);
    const cliJson = path.join(ed.runDir, 'cli.json');
    const r = runCli(['explain', '--dump', path.join(ed.workspace, 'planted-dump'), '--json', cliJson]);
    assert.equal(r.status, 0, r.stderr);
    const cli = JSON.parse(fs.readFileSync(cliJson, 'utf8')) as { heads: CliHead[] };
    // The catalog's badges, as the CLI's roles would be written (strongest first, score to two decimals).
    expected = Object.fromEntries(
      cli.heads.map((h) => [
        h.id,
        h.roles
          .slice()
          .sort((a, b) => b.score - a.score)
          .map((x) => `${x.name} ${x.score.toFixed(2)}`),
      ]),
    );
  });
  after(async () => {
    await ed?.stop();
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed')
      await screenshot(ed.page, `notebook-failed-${this.currentTest.title.slice(0, 30).replace(/\W+/g, '-')}`).catch(() => undefined);
  });

  async function openNotebook(): Promise<FrameLocator> {
    const { page } = ed;
    const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'attention.ipynb' }).first();
    await until(
      'the executed notebook in the explorer',
      async () => {
        if (await row.isVisible()) return true;
        await runCommand(page, 'File: Refresh Explorer');
        return false;
      },
      30_000,
    );
    await row.click();
    await page.locator('.notebook-editor .cell-list-container > .monaco-list').first().waitFor({ timeout: 60_000 });
    return outputs(page);
  }

  /**
   * Scroll the notebook (the mouse wheel over its cells, as a user does) from its top until output `i` of Headlight's
   * starts in the upper `within` of the view.
   */
  async function reveal(frame: FrameLocator, i: number, within = 0.6): Promise<Locator> {
    const { page } = ed;
    const list = (await page.locator('.notebook-editor .cell-list-container > .monaco-list').first().boundingBox())!;
    await page.mouse.move(list.x + list.width / 2, list.y + list.height / 2);
    // A reopened notebook comes back where it was scrolled to: start from the top.
    await until(
      'the notebook scrolled to its top',
      async () => {
        if (await page.locator('.notebook-editor .monaco-list-row', { hasText: 'import pathlib' }).first().isVisible()) return true;
        await page.mouse.wheel(0, -3000);
        return false;
      },
      30_000,
    );
    const out = frame.locator('.hl-nb').nth(i);
    await until(
      `Headlight output ${i} on screen`,
      async () => {
        const b = (await out.isVisible()) ? await out.boundingBox() : null;
        if (b && b.y > list.y - 10 && b.y < list.y + list.height * within) return true;
        await page.mouse.wheel(0, b && b.y < list.y ? -60 : within < 0.3 && b ? 100 : 200);
        return false;
      },
      60_000,
    );
    return out;
  }

  it('draws the saved outputs: tokens, and the catalog with the roles `explain --dump` gives on the same attention', async function () {
    this.timeout(240_000);
    const frame = await openNotebook();
    const first = await reveal(frame, 0);
    await first.locator('.hl-nb-status', { hasText: '16 heads analysed, 14 with a role.' }).waitFor({ timeout: 120_000 });
    const toks = first.locator('.hl-view-arcs .hl-tok:not(.hl-tok-special)');
    assert.equal((await toks.allTextContents()).join(''), 'The cat sat on the mat. The cat sat on the mat.');
    await first.locator('.hl-view-arcs .hl-status', { hasText: /showing/ }).waitFor();
    assert.deepEqual(await catalog(first), expected);
    // The README's picture: the output at the top of the view, the catalog with the induction head's evidence.
    await reveal(frame, 0, 0.12);
    await first.locator('.hl-view-heads button.hl-cell[data-layer="1"][data-head="0"]').hover();
    await first.locator('.hl-evidence', { hasText: 'induction 1.00' }).waitFor();
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await ed.page.screenshot({ path: path.join(ARTIFACTS, 'notebook-readme.png') });
    // The second output points to the dump file the notebook wrote: the extension reads it.
    const second = await reveal(frame, 1);
    await second.locator('.hl-nb-status', { hasText: '16 heads analysed, 14 with a role.' }).waitFor({ timeout: 120_000 });
    assert.deepEqual(await catalog(second), expected);
  });

  it('draws them again after the notebook is closed and reopened (no kernel anywhere)', async function () {
    this.timeout(240_000);
    await runCommand(ed.page, 'View: Close All Editors');
    await ed.page.locator('.notebook-editor').first().waitFor({ state: 'detached', timeout: 30_000 });
    const frame = await openNotebook();
    const first = await reveal(frame, 0);
    await first.locator('.hl-nb-status', { hasText: '16 heads analysed, 14 with a role.' }).waitFor({ timeout: 120_000 });
    assert.deepEqual(await catalog(first), expected);
  });

  it('Open in panel moves the output to the Headlight panel', async function () {
    this.timeout(120_000);
    const first = await reveal(outputs(ed.page), 0);
    await first.locator('.hl-nb-open').click();
    await first.locator('.hl-nb-status', { hasText: 'Opened in the Headlight panel.' }).waitFor({ timeout: 60_000 });
    // The panel is a second webview: the one whose page has the panel's header.
    const panel = ed.page.locator('iframe.webview.ready');
    let found: FrameLocator | undefined;
    await until(
      'the Headlight panel with the notebook output',
      async () => {
        for (let i = 0; i < (await panel.count()); i++) {
          const f = panel.nth(i).contentFrame().frameLocator('#active-frame');
          if (await f.locator('.hl-title', { hasText: 'attention.ipynb: attention' }).count()) {
            found = f;
            return true;
          }
        }
        return false;
      },
      60_000,
    );
    await found!.locator('.hl-view-arcs .hl-status', { hasText: /showing/ }).waitFor({ timeout: 30_000 });
    assert.deepEqual(await catalog(found!.locator('body')), expected);
  });
});
