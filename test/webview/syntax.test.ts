// Syntax in the panel: a Python selection parsed with VS Code's grammar, hover naming each token's node,
// and a relation's gold edges drawn beside the head's arcs ("where the parse points, where the head looks").
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultPanelState } from '../../src/protocol';
import { Panel, panelFixture } from './harness';

const ROOT = path.resolve(__dirname, '../..');
const model = (name: string) => ({
  modelPath: path.join(ROOT, 'media/models', name, 'model.onnx'),
  tokenizerPath: path.join(ROOT, 'media/models', name, 'tokenizer.json'),
});

describe('webview: syntax of a code selection', function () {
  this.timeout(120000);
  const fx = panelFixture();

  it('Python: hover shows the node type; Parse edges draws ast-parent next to the head', async () => {
    const text = fs.readFileSync(path.join(ROOT, 'samples/code.py'), 'utf8').split('\n').slice(0, 12).join('\n');
    const b = await fx.pipeline().build({ id: 1, title: 'code.py', text, model: model('headlight-mini'), syntax: { language: 'python', text, offset: 0 } });
    assert.ok(
      b.session.relations?.some((r) => r.name === 'ast-parent'),
      "the session carries the parse's relations",
    );
    const panel = await Panel.open(fx.browser(), 'dark');
    try {
      await panel.load(b.session, b.source, { ...defaultPanelState('file:///code.py', [0, 0, 12, 0], 'headlight-mini'), layer: 0, head: 2 });
      await panel.page.waitForSelector('.hl-stage[data-shown]');
      await panel.page
        .locator('.hl-view-arcs vscode-single-select', { hasText: 'none' })
        .last()
        .evaluate((el) => {
          const s = el as HTMLElement & { value: string };
          s.value = 'ast-parent';
          s.dispatchEvent(new Event('change', { bubbles: true }));
        });
      const i = b.session.tokens.findIndex((t, k) => k > 8 && !t.special && /\w/.test(t.text));
      await panel.page.locator(`.hl-view-arcs [data-i="${i}"]`).hover();
      const detail = (await panel.page.locator('.hl-view-arcs .hl-detail').textContent()) ?? '';
      assert.match(detail, new RegExp(`Token ${i} `));
      assert.match(detail, /Syntax: \w+/, "the token's node type");
      assert.match(detail, /Parse, ast-parent \(dashed\): → /, "the parse's edge for the hovered token");
      await panel.screenshot('arcs-syntax-dark');
    } finally {
      await panel.close();
    }
  });
});
