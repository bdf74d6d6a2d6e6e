// A fused-kernel export in the real panel: the onnxruntime-genai builder's layout (GroupQueryAttention with packed
// QKV, 4-bit MatMulNBits, an empty past with a symbolic head size) built from headlight-small's weights
// (test/fixtures/twins), explained through the pipeline and kept (heads recomputed on request through the
// kernel): the Heads catalog shows the trained induction heads with their evidence, and Arcs draws a head the
// panel asks the kept run for.
import * as assert from 'node:assert/strict';
import { defaultPanelState } from '../../src/protocol';
import { Panel, panelFixture } from './harness';
import { joinedSamples } from '../fixtures/samples';
import { buildTwin } from '../fixtures/twins';

describe('webview: a fused-kernel export (GroupQueryAttention, 4-bit) in the panel', function () {
  this.timeout(120_000);
  const fx = panelFixture();

  it('shows the induction heads in Heads and draws a recomputed head in Arcs', async () => {
    const twin = buildTwin({ base: 'headlight-small', kernel: 'gqa', packed: true, past: 'symbolic', weights: 'int4' });
    const text = joinedSamples();
    const built = await fx.pipeline().build({
      id: 1,
      title: 'samples',
      text,
      model: { modelPath: twin.modelPath, tokenizerPath: twin.tokenizerPath, name: 'small-gqa-int4' },
      maxTokens: 256,
      truncate: true,
      keep: true,
    });
    const panel = await Panel.open(fx.browser(), 'dark');
    try {
      assert.equal(built.result.attention.data.length, 0, 'kept: no head is materialised beyond a chunk');
      await panel.load(built.session, built.source, { ...defaultPanelState('file:///samples.txt', [0, 0, 0, 0], 'small-gqa-int4'), view: 'heads' });
      await panel.page.waitForSelector('.hl-cell');
      assert.equal(await panel.page.locator('.hl-cell').count(), 16);
      const induction = built.session.heads.filter((h) => h.roles.some((r) => r.name === 'induction'));
      assert.ok(induction.length >= 2, 'the trained induction heads are found through the kernel');
      const hd = induction[0];
      await panel.page.locator(`.hl-cell[data-layer="${hd.layer}"][data-head="${hd.head}"]`).hover();
      const ev = (await panel.page.locator('.hl-evidence').textContent()) ?? '';
      assert.ok(ev.startsWith(hd.id) && ev.includes('induction'), ev);
      await panel.screenshot('kernels-heads-dark');
      await panel.page.locator(`.hl-cell[data-layer="${hd.layer}"][data-head="${hd.head}"]`).click();
      await panel.page.waitForFunction((id) => document.querySelector('.hl-view-arcs .hl-status')?.textContent?.startsWith(id), hd.id);
      await panel.page.locator('.hl-view-arcs .hl-tok').nth(40).hover();
      await panel.screenshot('kernels-arcs-dark');
      assert.deepEqual(panel.consoleErrors, []);
    } finally {
      await panel.close();
      built.source.dispose();
    }
  });
});
