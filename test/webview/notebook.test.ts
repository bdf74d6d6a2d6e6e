// The notebook renderer, bundled as shipped, in headless Chromium: outputs written by the Python helper (the
// planted model: every head's role set by construction) drawn with the host's analysis (the real OutputService)
// and without it; hostile token texts; malformed outputs and a 100 MB one next to a good one.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { AnalysisClient } from '../../src/session/analysisClient';
import { OutputService } from '../../src/notebook/outputService';
import { plantedOutputs, scratch } from '../fixtures/notebook';
import { launch } from './harness';
import { NotebookPage } from './notebookPage';

const TEXT = 'The cat sat on the mat. The cat sat on the mat.';
// The hostile suite's texts (test/hostile/text.test.ts, injection.e2e.ts) as the output's text and tokens.
const HOSTILE: Record<string, string> = {
  html: '<img src=x onerror="document.title=\'PWNED-img\'"></script><script>document.title="PWNED-script"</script><svg onload="document.title=\'PWNED-svg\'"><a href="javascript:document.title=\'PWNED-js\'">go</a>',
  template: '{{constructor.constructor("document.title=\'PWNED-tpl\'")()}} ${document.title="PWNED-lit"}',
  rtl: 'שלום עולם — مرحبا بالعالم (mixed) עברית123',
  emoji: 'family 👨‍👩‍👧‍👦 flag 🇫🇷 skin 👍🏽 done',
  combining: 'e\u0301cole cafe\u0301 n\u0303 Z\u0351\u0368\u0306a\u0308lgo',
  zeroWidth: 'zero\u200bwidth\u200cjoin\u200dmark\ufeffbom\u2060wj',
  crlfTabs: 'line one\r\n\tindented\r\n\r\n\t\tdeeper\tcol\r\nend',
};

describe('notebook renderer in headless Chromium', function () {
  this.timeout(120_000);
  let browser: Browser;
  let good: Record<string, unknown>;
  let hostile: Record<string, unknown>[];
  const analysis = new AnalysisClient();
  const service = new OutputService(analysis);

  before(async function () {
    if (process.platform !== 'linux') {
      console.log("      skipped: the outputs are written by Debian's python3 with torch (Linux)");
      this.skip();
    }
    [good, ...hostile] = plantedOutputs([TEXT, ...Object.values(HOSTILE)]);
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    service.dispose();
    await analysis.dispose();
  });

  /** A fresh page for one test; after it, the page must have had no CSP violation and no error. */
  async function inPage(opts: Parameters<typeof NotebookPage.open>[1], run: (nb: NotebookPage) => Promise<void>): Promise<void> {
    const nb = await NotebookPage.open(browser, opts);
    try {
      await run(nb);
      assert.deepEqual(await nb.violations(), []);
      assert.deepEqual(nb.errors, []);
    } finally {
      await nb.close();
    }
  }

  it('with the extension host: tokens as text, the catalog with the roles the host analysed, Layers charts, Flow, Open in panel', async () => {
    await inPage({ service }, async (nb) => {
      const out = await nb.render('good', good);
      const expected = (await service.analysed(JSON.stringify(good), { name: 'x', resolveDump: () => '', openInPanel: async () => undefined })).session;
      // Arcs: every token, its text exactly the output's (BOS + one per character).
      const toks = out.locator('.hl-view-arcs [data-i]');
      assert.equal(await toks.count(), 48);
      assert.equal((await toks.allTextContents()).slice(1).join(''), TEXT);
      assert.match(await out.locator('.hl-nb-status').innerText(), /^16 heads analysed, 14 with a role\.$/);
      // Heads: the catalog shows each head's roles as the host's analysis gave them.
      await out.locator('vscode-tab-header', { hasText: 'Heads' }).click();
      const cells = out.locator('.hl-view-heads .hl-cell');
      await cells.first().waitFor();
      assert.equal(await cells.count(), 16);
      for (const hd of expected.heads) {
        const cell = out.locator(`.hl-view-heads .hl-cell[data-layer="${hd.layer}"][data-head="${hd.head}"]`);
        assert.deepEqual(
          await cell.locator('.hl-badge').allTextContents(),
          hd.roles
            .slice()
            .sort((a, b) => b.score - a.score)
            .map((r) => `${r.name} ${r.score.toFixed(2)}`),
          hd.id,
        );
      }
      // The planted answer key, by construction: L1H0 is the induction head, L0H0 the previous-token head.
      assert.deepEqual(await out.locator('.hl-cell[data-layer="1"][data-head="0"] .hl-badge').allTextContents(), ['induction 1.00']);
      await cells.nth(0).hover();
      assert.match(await out.locator('.hl-evidence').innerText(), /^L0H0\s*previous-token 1\.00 \(threshold/);
      await nb.screenshot('notebook-heads-dark', out);
      // Layers: plotly (dist/charts.js, found beside the renderer) draws the charts; the table lists every head.
      await out.locator('vscode-tab-header', { hasText: 'Layers' }).click();
      await out.locator('.hl-view-layers .hl-chart .main-svg').first().waitFor({ timeout: 30_000 });
      assert.equal(await out.locator('.hl-layers-table tbody tr').count(), 16);
      // Flow: the rollout comes from the host.
      await out.locator('vscode-tab-header', { hasText: 'Flow' }).click();
      await out.locator('.hl-view-flow', { hasText: /draws most on/ }).waitFor({ timeout: 30_000 });
      // Open in panel, from the keyboard.
      await out.locator('.hl-nb-open').focus();
      await nb.page.keyboard.press('Enter');
      await out.locator('.hl-nb-status', { hasText: 'Opened in the Headlight panel.' }).waitFor();
      assert.equal(nb.opened.length, 1);
      assert.deepEqual(
        (await nb.posted()).filter((t) => t !== 'flow'),
        ['analyse', 'open-panel'],
      );
    });
  });

  it('without the extension host: arcs from the saved attention, and it says roles need the extension', async () => {
    await inPage({}, async (nb) => {
      const out = await nb.render('alone', good);
      assert.equal(await out.locator('.hl-view-arcs [data-i]').count(), 48);
      await out.locator('.hl-view-arcs .hl-status', { hasText: /showing/ }).waitFor();
      assert.match(
        await out.locator('.hl-banner').innerText(),
        /The roles, the head catalog and the Layers charts come from Headlight's analysis, which runs in the Headlight extension; it is not reachable from this view\. Arcs is drawn from the attention saved in this output\./,
      );
      assert.equal(await out.locator('.hl-nb-open').isVisible(), false);
      await nb.screenshot('notebook-alone-dark', out);
    });
  });

  it('hostile texts as tokens: shown literally, no element, attribute or script comes from them', async () => {
    await inPage({ service }, async (nb) => {
      const names = Object.keys(HOSTILE);
      for (let k = 0; k < names.length; k++) {
        const out = await nb.render(`hostile-${names[k]}`, hostile[k]);
        await out.locator('.hl-nb-status', { hasText: /heads analysed/ }).waitFor();
        // Each character's first byte is a token covering it; the strip lays out the text exactly.
        const shown = (await out.locator('.hl-view-arcs .hl-tokens').innerText()).replace(/^<\|bos\|>/, '');
        for (const piece of HOSTILE[names[k]].split(/[\r\n\t]+/).filter((p) => p.length > 3))
          assert.ok(shown.replace(/\s+/g, ' ').includes(piece.replace(/\s+/g, ' ').trim()), `${names[k]}: shows ${JSON.stringify(piece)}`);
      }
      const report = await nb.page.evaluate(() => {
        const all = [...document.querySelectorAll('#cells *')];
        return {
          title: document.title,
          injected: all
            .filter((e) => ['IMG', 'SCRIPT', 'IFRAME', 'OBJECT', 'EMBED', 'A'].includes(e.tagName) || e.tagName.toLowerCase() === 'svg')
            .map((e) => e.outerHTML.slice(0, 60)),
          handlers: all.flatMap((e) =>
            [...e.attributes].filter((a) => /^on/i.test(a.name) || /javascript:/i.test(a.value)).map((a) => `${e.tagName}[${a.name}]`),
          ),
          scripts: [...document.scripts].map((s) => s.src.split('/').pop()),
        };
      });
      assert.deepEqual(report.injected, []);
      assert.deepEqual(report.handlers, []);
      assert.doesNotMatch(report.title, /PWNED/);
      assert.deepEqual(report.scripts, ['boot.js']);
    });
  });

  it('malformed outputs and a 100 MB one each get a message; the notebook and the next output are unharmed', async () => {
    await inPage({ service }, async (nb) => {
      const att = good.attention as Record<string, unknown>;
      const cases: [string, unknown, RegExp][] = [
        ['not-json', '{"text": "a", "tokens": [', /not valid JSON/],
        ['shape', { ...good, shape: [2, 8, 47] }, /covers 47 tokens but the output lists 48/],
        ['base64', { ...good, attention: { ...att, data: '%%%%' } }, /not base64/],
        ['truncated', { ...good, attention: { ...att, data: (att.data as string).slice(0, 400) } }, /not zlib data|holds \d+ bytes/],
        ['newer', { ...good, version: 9 }, /format 9 by a newer headlight helper/],
        ['dtype', { ...good, attention: { ...att, dtype: 'float64' } }, /"attention.dtype" must be "float16" or "log8"/],
        // Rows that sum to ~0.5 and NaN: built by the helper's encoder from broken attention is refused there, so
        // these are written here as raw float16 (0x3800 = 0.5, 0x7e00 = NaN) over a 2-token text.
        ['half-rows', tinyOutput([0x3800, 0x3400, 0x3400]), /row 0 \(token "a"\): the weights sum to 0\.5000/],
        ['nan', tinyOutput([0x3c00, 0x7e00, 0x3800]), /row 1 \(token "b"\): weight 0 is NaN/],
      ];
      for (const [id, payload, re] of cases) {
        const out = await nb.render(id, payload);
        const alert = out.locator('.hl-nb-error[role="alert"]');
        assert.match(await alert.innerText(), re, id);
        assert.match(await alert.innerText(), /^Headlight cannot show this output\./, id);
      }
      const huge = await nb.renderHuge('huge', 100);
      assert.match(
        await huge.locator('.hl-nb-error').innerText(),
        /This Headlight output is 100\.0 MB; outputs up to 64\.0 MB are read inline\. Write larger attention to a dump file instead/,
      );
      await nb.screenshot('notebook-malformed-dark');
      const after = await nb.render('after', good);
      await after.locator('.hl-nb-status', { hasText: '16 heads analysed, 14 with a role.' }).waitFor();
    });
  });

  it('an output pointing to a dump file: the host reads the dump, Arcs draws its heads, the catalog has its roles', async () => {
    const dir = scratch('notebook-dump-');
    try {
      const [pointer] = plantedOutputs([TEXT], { dump: 'planted-dump' }, dir);
      assert.equal((pointer.dump as { path: string }).path, 'planted-dump');
      await inPage({ service, resolveDump: (d) => path.resolve(dir, d.path) }, async (nb) => {
        const out = await nb.render('dump', pointer);
        await out.locator('.hl-nb-status', { hasText: '16 heads analysed, 14 with a role.' }).waitFor();
        await out.locator('.hl-view-arcs .hl-status', { hasText: /showing/ }).waitFor();
        await out.locator('vscode-tab-header', { hasText: 'Heads' }).click();
        assert.deepEqual(await out.locator('.hl-cell[data-layer="1"][data-head="0"] .hl-badge').allTextContents(), ['induction 1.00']);
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A 1-layer, 1-head output over "ab" whose lower triangle (w00, w10, w11) is these float16 bit patterns. */
function tinyOutput(bits: number[]): unknown {
  const raw = Buffer.alloc(bits.length * 2);
  bits.forEach((b, i) => raw.writeUInt16LE(b, 2 * i));
  return {
    version: 1,
    text: 'ab',
    tokens: [
      { start: 0, end: 1 },
      { start: 1, end: 2 },
    ],
    shape: [1, 1, 2],
    causal: true,
    attention: { dtype: 'float16', layout: 'lower', compression: 'none', data: raw.toString('base64') },
  };
}
