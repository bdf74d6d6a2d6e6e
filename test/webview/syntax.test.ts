// The syntax roles in the panel: a Python session carries each token's node type, and hovering a token in
// Arcs shows it on its own detail line, and a relation's gold edges can be overlaid; a language without a grammar says, in the banner, that it was read as prose.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { EngineClient } from '../../src/engine';
import { SessionPipeline } from '../../src/session/pipeline';
import { defaultPanelState } from '../../src/protocol';
import { launch, Panel } from './harness';

const ROOT = path.resolve(__dirname, '../..');
const model = (name: string) => ({ modelPath: path.join(ROOT, 'media/models', name, 'model.onnx'), tokenizerPath: path.join(ROOT, 'media/models', name, 'tokenizer.json') });

describe('webview: syntax on hover', function () {
  this.timeout(120000);
  let browser: Browser;
  let pipeline: SessionPipeline;
  let panel: Panel;

  before(async () => {
    pipeline = new SessionPipeline(new EngineClient());
    browser = await launch();
  });
  after(async () => {
    await panel?.close();
    await browser?.close();
    await pipeline?.engine.dispose();
  });

  it('hovering a token of a Python selection shows its syntax node; an unknown language is noted in the banner', async () => {
    const doc = fs.readFileSync(path.join(ROOT, 'samples/code.py'), 'utf8');
    const start = doc.indexOf('    total = ');
    const text = doc.slice(start);
    const built = await pipeline.build({ id: 1, title: 'code.py', text, model: model('headlight-mini'), syntax: { language: 'python', text: doc, offset: start } });
    const parents = new Map(built.session.relations!.find((r) => r.name === 'ast-parent')!.edges);
    const i = built.session.tokens.findIndex((t, k) => t.syntax === 'identifier' && parents.has(k));
    assert.ok(i > 0, JSON.stringify(built.session.tokens.map((t) => t.syntax)));
    assert.equal(built.session.syntaxNote, undefined);
    panel = await Panel.open(browser, 'dark');
    await panel.load(built.session, built.result, { ...defaultPanelState('file:///code.py', [3, 0, 9, 17], 'headlight-mini'), layer: 0, head: 0 });
    await panel.page.waitForSelector('.hl-stage[data-shown]');
    await panel.page.locator(`.hl-view-arcs [data-i="${i}"]`).hover();
    const lines = await panel.page.locator('.hl-view-arcs .hl-detail .hl-detail-line').allTextContents();
    assert.ok(lines.includes('Syntax: identifier'), JSON.stringify(lines));
    // Parse edges: the relation's gold edge at the hovered token, beside the head's arcs.
    const parentOf = [i, parents.get(i)!];
    await panel.page.locator('.hl-view-arcs vscode-single-select[aria-label="Parse edges"]').evaluate((el) => {
      (el as HTMLElement & { value: string }).value = 'ast-parent';
      el.dispatchEvent(new Event('change'));
    });
    await panel.page.locator(`.hl-view-arcs [data-i="${i + 1}"]`).hover();
    await panel.page.locator(`.hl-view-arcs [data-i="${i}"]`).hover();
    const t = built.session.tokens[parentOf[1]];
    const want = `Parse, ast-parent (dashed): → ${JSON.stringify(text.slice(t.start, t.end))}`;
    await panel.page.locator('.hl-view-arcs .hl-detail .hl-detail-line', { hasText: 'Parse, ast-parent' }).waitFor();
    assert.ok((await panel.page.locator('.hl-view-arcs .hl-detail .hl-detail-line').allTextContents()).includes(want), want);

    const other = await pipeline.build({ id: 2, title: 'x.cob', text: 'DISPLAY "HELLO".', model: model('headlight-mini'), syntax: { language: 'cobol', text: 'DISPLAY "HELLO".', offset: 0 } });
    await panel.load(other.session, other.result, { ...defaultPanelState('file:///x.cob', [0, 0, 0, 16], 'headlight-mini'), layer: 0, head: 0 });
    await panel.page.waitForSelector('.hl-banner:not([hidden])');
    assert.match(await panel.page.locator('.hl-banner').textContent() ?? '', /no grammar for cobol: read as English prose/);
  });
});
