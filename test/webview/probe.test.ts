// A 64-position trained model in the panel: it explains a 30-token selection, and the evidence of its
// induction head names the probe that fit it (31 ordinary tokens twice after <|bos|>).
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { defaultPanelState } from '../../src/protocol';
import { Panel, panelFixture } from './harness';

const ROOT = path.resolve(__dirname, '../..');

describe('webview: a short-context model in the panel', function () {
  this.timeout(120000);
  const fx = panelFixture();

  it('bytes-l3h4-p64: 31 tokens, its induction head L1H3 with the probe in the evidence', async () => {
    const dir = path.join(ROOT, 'test/fixtures/answer-key/bytes-l3h4-p64');
    const b = await fx.pipeline().build({
      id: 1,
      title: 'river.txt',
      text: 'The river had risen overnight,',
      model: { modelPath: path.join(dir, 'model.onnx'), tokenizerPath: path.join(dir, 'tokenizer.json'), name: 'bytes-l3h4-p64' },
    });
    const panel = await Panel.open(fx.browser(), 'light');
    try {
      await panel.load(b.session, b.source, defaultPanelState('file:///river.txt', [0, 0, 0, 30], 'bytes-l3h4-p64'));
      await panel.page.waitForSelector('.hl-stage[data-shown]');
      assert.match((await panel.page.locator('.hl-subtitle').textContent()) ?? '', /bytes-l3h4-p64 · 3 layers × 4 heads · causal · 31 tokens/);
      await panel.page.locator('vscode-tab-header[data-view=heads]').click();
      await panel.page.locator('.hl-cell[data-layer="1"][data-head="3"]').hover();
      const ev = (await panel.page.locator('.hl-evidence').textContent()) ?? '';
      assert.match(
        ev,
        /induction [\d.]+ \(threshold 0\.30, repeat probe\): on 8 random 31-token sequences of ordinary tokens \(the first: ids \d+, \d+, \d+, \d+, \d+, \d+, …\), each repeated twice after `<\|bos\|>`, averaged/,
      );
      await panel.screenshot('heads-p64-light');
    } finally {
      await panel.close();
    }
  });
});
