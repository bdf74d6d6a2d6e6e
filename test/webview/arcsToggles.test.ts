// Arcs in layer mode: unticking a head in layer mode redraws with one head fewer; ticking it brings it back.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineClient } from '../../src/engine';
import { SessionPipeline } from '../../src/session/pipeline';
import { defaultPanelState } from '../../src/protocol';
import { launch, Panel } from './harness';
const ROOT = path.resolve(__dirname, '..', '..');
describe('Arcs: the head tick boxes of layer mode', function () {
  this.timeout(120000);
  it('unticking H1 draws one head fewer (fewer arcs), ticking it brings every arc back, with no console error', async () => {
    const pipeline = new SessionPipeline(new EngineClient());
    const bert = await pipeline.build({
      id: 3,
      title: 'prose.txt',
      text: fs.readFileSync(path.join(ROOT, 'samples/prose.txt'), 'utf8'),
      model: { modelPath: path.join(ROOT, 'media/models/tiny-bert/model.onnx'), tokenizerPath: path.join(ROOT, 'media/models/tiny-bert/tokenizer.json') },
    });
    const browser = await launch();
    try {
      const panel = await Panel.open(browser, 'dark');
      const H = bert.session.model.headsPerLayer;
      await panel.load(bert.session, bert.result, {
        ...defaultPanelState('file:///s.txt', [0, 0, 3, 0], 'tiny-bert'),
        mode: 'layer',
        layer: 1,
        topK: 2,
        threshold: 0.05,
      });
      await panel.page.waitForFunction((H) => document.querySelector('.hl-view-arcs .hl-status')?.textContent?.includes(`${H} of ${H} heads`), H);
      const shownAll = await panel.page.locator('.hl-stage').getAttribute('data-shown');
      await panel.page.locator('.hl-view-arcs .hl-head-toggles vscode-checkbox', { hasText: 'H1' }).click();
      await panel.page.waitForFunction((H) => document.querySelector('.hl-view-arcs .hl-status')?.textContent?.includes(`${H - 1} of ${H} heads`), H);
      assert.ok(Number(await panel.page.locator('.hl-stage').getAttribute('data-shown')) < Number(shownAll));
      await panel.page.locator('.hl-view-arcs .hl-head-toggles vscode-checkbox', { hasText: 'H1' }).click();
      await panel.page.waitForFunction((H) => document.querySelector('.hl-view-arcs .hl-status')?.textContent?.includes(`${H} of ${H} heads`), H);
      assert.equal(await panel.page.locator('.hl-stage').getAttribute('data-shown'), shownAll);
      assert.deepEqual(panel.consoleErrors, []);
      await panel.close();
    } finally {
      await browser.close();
      await pipeline.engine.dispose();
    }
  });
});
