// headlight-small in the panel's Layers view (the README's Models picture): four layers drawn, and the
// table alternative lists every head's numbers as the analysis computed them.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { summarizeLayers } from '../../src/analysis';
import { defaultPanelState } from '../../src/protocol';
import { Panel, panelFixture } from './harness';
import { joinedSamples } from '../fixtures/samples';

const ROOT = path.resolve(__dirname, '../..');
const model = (name: string) => ({
  modelPath: path.join(ROOT, 'media/models', name, 'model.onnx'),
  tokenizerPath: path.join(ROOT, 'media/models', name, 'tokenizer.json'),
  name,
});

describe('webview: headlight-small in the Layers view', function () {
  this.timeout(120_000);
  const fx = panelFixture();

  it('draws one point per layer and its table lists every head as analysed', async () => {
    const text = joinedSamples();
    const built = await fx.pipeline().build({ id: 1, title: 'samples', text, model: model('headlight-small'), maxTokens: 256, truncate: true });
    const panel = await Panel.open(fx.browser(), 'dark');
    try {
      await panel.load(built.session, built.result, { ...defaultPanelState('file:///samples.txt', [0, 0, 0, 0], 'headlight-small'), view: 'layers' });
      await panel.page.waitForFunction(() => document.querySelectorAll('.hl-chart .main-svg').length >= 3);
      const points = panel.page.locator('.hl-chart').first().locator('.scatterlayer .trace').first().locator('path.point');
      assert.equal(await points.count(), 4);
      await panel.screenshot('layers-small-dark');
      const table = (await panel.page.locator('.hl-layers-table').first().textContent()) ?? '';
      for (const r of built.reports) {
        assert.ok(table.includes(`${r.id}${r.layer}${r.metrics.entropy.toFixed(3)}${r.metrics.distance.toFixed(3)}`), `${r.id} in\n${table}`);
      }
      assert.equal(summarizeLayers(built.reports).length, 4);
      assert.deepEqual(panel.consoleErrors, []);
    } finally {
      await panel.close();
    }
  });
});
