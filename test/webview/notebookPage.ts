// The REAL dist/notebook-renderer.js in headless Chromium, loaded as VS Code loads it (an ES module whose
// `activate` gets a renderer context) under a CSP stricter than the notebook webview's (no 'unsafe-eval', no
// inline script). With messaging, the context's messages go to the real OutputService in Node (the host's answers,
// src/notebook/outputService.ts); without, the renderer is on its own.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { parseRendererMessage } from '../../src/notebook/messages';
import type { NotebookContext, OutputService } from '../../src/notebook/outputService';
import { ARTIFACTS, THEMES, type ThemeName } from './harness';

const ROOT = path.resolve(__dirname, '../..');
const ORIGIN = 'http://headlight-notebook.test';
export const MIME = 'application/vnd.headlight.attention+json';

const CSP = `default-src 'none'; script-src ${ORIGIN}; style-src ${ORIGIN} 'unsafe-inline'; img-src ${ORIGIN} data:; font-src ${ORIGIN}; connect-src 'none'`;

function pageHtml(theme: ThemeName): string {
  const vars = Object.entries(THEMES[theme])
    .map(([k, v]) => `--vscode-${k}: ${v};`)
    .join(' ')
    .replace(/"/g, '&quot;');
  return `<!doctype html><html style="${vars}"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${CSP}"></head>
<body class="vscode-${theme}" style="background: var(--vscode-editor-background); margin: 0 20px"><main id="cells"></main><script type="module" src="${ORIGIN}/boot.js"></script></body></html>`;
}

// The page's side: the renderer context VS Code would pass, and a way to render an output item.
const BOOT = `
import { activate } from './dist/notebook-renderer.js';
const messaging = new URLSearchParams(location.search).get('messaging') === '1';
const listeners = [];
const posted = [];
const violations = [];
document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective + ': ' + e.blockedURI));
const ctx = { workspace: { isTrusted: true } };
if (messaging) {
  ctx.postMessage = (m) => { posted.push(m.type); window.__toHost(JSON.stringify(m)); };
  ctx.onDidReceiveMessage = (l) => { listeners.push(l); return { dispose() {} }; };
}
const api = activate(ctx);
window.__nb = {
  posted, violations,
  deliver: (s) => { const m = JSON.parse(s); for (const l of listeners) l(m); },
  render(id, text, bytes) {
    const el = document.createElement('div');
    el.className = 'cell-output';
    el.dataset.output = id;
    document.getElementById('cells').append(el);
    const data = bytes ?? new TextEncoder().encode(text);
    return api.renderOutputItem({ id, mime: '${MIME}', metadata: {}, data: () => data, text: () => text, json: () => JSON.parse(text) }, el, new AbortController().signal);
  },
};
`;

export class NotebookPage {
  readonly errors: string[] = [];
  readonly opened: string[] = [];
  private constructor(readonly page: Page) {}

  static async open(
    browser: Browser,
    opts: { theme?: ThemeName; service?: OutputService; resolveDump?: NotebookContext['resolveDump'] },
  ): Promise<NotebookPage> {
    const theme = opts.theme ?? 'dark';
    const ctx = await browser.newContext({ viewport: { width: 1100, height: 900 }, deviceScaleFactor: 1, colorScheme: theme });
    const page = await ctx.newPage();
    const nb = new NotebookPage(page);
    page.on('console', (m) => {
      if (m.type() === 'error') nb.errors.push(m.text());
    });
    page.on('pageerror', (e) => nb.errors.push(`${String(e)} ${e.stack ?? ''}`));
    const service = opts.service;
    if (service) {
      const notebook: NotebookContext = {
        name: 'test.ipynb',
        resolveDump:
          opts.resolveDump ??
          (() => {
            throw new Error('no dumps in this page');
          }),
        openInPanel: async (a) => {
          nb.opened.push(a.key);
        },
      };
      await page.exposeFunction('__toHost', async (raw: string) => {
        const msg = parseRendererMessage(JSON.parse(raw));
        if (!msg) return;
        const reply = await service.answer(msg, notebook);
        await page.evaluate((s) => (window as unknown as { __nb: { deliver(s: string): void } }).__nb.deliver(s), JSON.stringify(reply));
      });
    }
    await page.route(`${ORIGIN}/**`, async (route) => {
      const url = new URL(route.request().url());
      if (url.pathname === '/') return route.fulfill({ contentType: 'text/html', body: pageHtml(theme) });
      if (url.pathname === '/boot.js') return route.fulfill({ contentType: 'text/javascript', body: BOOT });
      const file = path.join(ROOT, url.pathname);
      if (url.pathname.startsWith('/dist/') && fs.existsSync(file)) return route.fulfill({ contentType: 'text/javascript', body: fs.readFileSync(file) });
      return route.fulfill({ status: 404, body: '' });
    });
    await page.goto(`${ORIGIN}/${service ? '?messaging=1' : ''}`);
    await page.waitForFunction(() => Boolean((window as unknown as { __nb?: unknown }).__nb));
    return nb;
  }

  /** Render one output item (its JSON text); resolves when the renderer's renderOutputItem does. */
  async render(id: string, payload: unknown): Promise<Locator> {
    const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
    await this.page.evaluate(([i, t]) => (window as unknown as { __nb: { render(i: string, t: string): Promise<void> } }).__nb.render(i, t), [
      id,
      text,
    ] as const);
    return this.output(id);
  }

  /** An output of `mb` megabytes of '{' (made in the page: nothing that size crosses the wire). */
  async renderHuge(id: string, mb: number): Promise<Locator> {
    await this.page.evaluate(
      ([i, n]) =>
        (window as unknown as { __nb: { render(i: string, t: string, b: Uint8Array): Promise<void> } }).__nb.render(i, '', new Uint8Array(n).fill(123)),
      [id, mb * 1e6] as const,
    );
    return this.output(id);
  }

  output(id: string): Locator {
    return this.page.locator(`[data-output="${id}"]`);
  }

  violations(): Promise<string[]> {
    return this.page.evaluate(() => (window as unknown as { __nb: { violations: string[] } }).__nb.violations);
  }

  posted(): Promise<string[]> {
    return this.page.evaluate(() => (window as unknown as { __nb: { posted: string[] } }).__nb.posted);
  }

  async screenshot(name: string, target?: Locator): Promise<string> {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const file = path.join(ARTIFACTS, `${name}.png`);
    await (target ?? this.page).screenshot({ path: file });
    return file;
  }

  async close(): Promise<void> {
    await this.page.context().close();
  }
}
