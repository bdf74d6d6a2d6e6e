import * as assert from 'node:assert/strict';
import { startEditor, openFile, selectText, webview, screenshot, explainFromContextMenu, waitForToast, type Editor } from '../e2e/harness';

// A cloned repository's .vscode/settings.json must not make Headlight load a file from it until the user
// trusts the workspace: headlight.modelPath / tokenizerPath are restricted settings.
const FILES = {
  '.vscode/settings.json': JSON.stringify({ 'headlight.modelPath': 'evil/model.onnx', 'headlight.tokenizerPath': 'evil/tokenizer.json' }),
  'evil/model.onnx': '',
  'evil/tokenizer.json': '{}',
  'notes.txt': 'The lantern failed again, so they sent for Harriet Quill.\n',
};

async function explainNotes(ed: Editor): Promise<void> {
  await openFile(ed.page, 'notes.txt');
  await selectText(ed.page, 'The lantern failed again,');
  await explainFromContextMenu(ed.page);
}

describe('hostile: untrusted workspaces', function () {
  it('in restricted mode the workspace model path is ignored and the bundled model explains', async () => {
    const ed = await startEditor({ files: FILES, untrusted: true });
    try {
      await ed.page
        .locator('.statusbar-item', { hasText: /Restricted Mode/ })
        .first()
        .waitFor({ timeout: 30_000 });
      await explainNotes(ed);
      const frame = webview(ed.page);
      await frame.locator('.hl-view-arcs [data-i]').first().waitFor({ timeout: 60_000 });
      const body = await frame.locator('body').innerText();
      assert.match(body, /headlight-small/, 'the bundled default model ran');
      assert.doesNotMatch(body, /0 bytes|evil/);
      await screenshot(ed.page, 'untrusted-bundled-model');
    } finally {
      await ed.stop();
    }
  });

  it('once the workspace is trusted the same setting is honoured (and its bad file refused clearly)', async () => {
    const ed = await startEditor({ files: FILES });
    try {
      await explainNotes(ed);
      const msg = await waitForToast(ed.page, /empty \(0 bytes\)/, 60_000).catch(async (e) => {
        await screenshot(ed.page, 'trusted-no-toast');
        throw e;
      });
      assert.match(msg, /empty \(0 bytes\)/);
      assert.match(msg, /Select another model/);
      await screenshot(ed.page, 'trusted-workspace-model');
    } finally {
      await ed.stop();
    }
  });
});
