// Loads the REAL dist/webview.js + dist/webview.css in headless Chromium (Debian's, via playwright-core)
// under the panel's CSP, with acquireVsCodeApi stubbed: posted messages are recorded, and head/matrix and
// flow/rollout requests are answered from a session built in Node by the real pipeline.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { EngineClient, type EngineResult } from '../../src/engine';
import { SessionPipeline } from '../../src/session/pipeline';
import { answerPanelRequest } from '../../src/session/wire';
import type { AttentionSource } from '../../src/session/attentionSource';
import { defaultPanelState, type PanelState, type RequestMethod, type SessionData } from '../../src/protocol';
import { panelPage } from '../../src/panel/page';
import { REPORT_THEME } from '../../src/export/theme';

const ROOT = path.resolve(__dirname, '../..');
const ORIGIN = 'http://headlight.test';
const NONCE = 'dGVzdC1ub25jZS0xMjM0NTY';
export const ARTIFACTS = path.join(__dirname, 'artifacts');

export type ThemeName = 'dark' | 'light';
// A subset of the variables VS Code's Dark Modern / Light Modern themes put on the page (light: the
// same values the standalone report sets).
export const THEMES: Record<ThemeName, Record<string, string>> = {
  dark: {
    'font-family': 'system-ui, "Segoe UI", Ubuntu, sans-serif',
    'font-size': '13px',
    'editor-font-family': '"DejaVu Sans Mono", monospace',
    'editor-font-size': '14px',
    foreground: '#cccccc',
    descriptionForeground: '#9d9d9d',
    disabledForeground: '#cccccc80',
    'editor-background': '#1f1f1f',
    'editor-foreground': '#cccccc',
    focusBorder: '#0078d4',
    'panel-border': '#2b2b2b',
    'widget-border': '#313131',
    'editorWidget-background': '#202020',
    'list-hoverBackground': '#2a2d2e',
    'textLink-foreground': '#4daafc',
    'textBlockQuote-background': '#2b2b2b',
    'textBlockQuote-border': '#616161',
    errorForeground: '#f85149',
    'editor-findMatchHighlightBackground': '#ea5c0055',
    'editor-findMatchBorder': '#ea5c00',
    'editorWhitespace-foreground': '#e3e4e229',
    'badge-background': '#616161',
    'badge-foreground': '#f8f8f8',
    'charts-foreground': '#cccccc',
    'charts-lines': '#cccccc80',
    'charts-red': '#f14c4c',
    'charts-blue': '#3794ff',
    'charts-yellow': '#cca700',
    'charts-orange': '#d18616',
    'charts-green': '#89d185',
    'charts-purple': '#b180d7',
    'dropdown-background': '#313131',
    'dropdown-border': '#3c3c3c',
    'dropdown-foreground': '#cccccc',
    'input-background': '#313131',
    'input-foreground': '#cccccc',
    'checkbox-background': '#313131',
    'checkbox-border': '#3c3c3c',
    'panelTitle-activeForeground': '#cccccc',
    'panelTitle-activeBorder': '#0078d4',
    'panelTitle-inactiveForeground': '#9d9d9d',
    'list-activeSelectionBackground': '#04395e',
    'list-focusOutline': '#0078d4',
    'settings-headerForeground': '#ffffff',
    'progressBar-background': '#0078d4',
    'settings-dropdownBackground': '#313131',
    'settings-dropdownBorder': '#3c3c3c',
    'settings-dropdownForeground': '#cccccc',
    'settings-dropdownListBorder': '#454545',
    'settings-checkboxBackground': '#313131',
    'settings-checkboxBorder': '#3c3c3c',
    'settings-checkboxForeground': '#cccccc',
    'checkbox-foreground': '#cccccc',
    'list-activeSelectionForeground': '#ffffff',
    'list-hoverForeground': '#cccccc',
    'list-highlightForeground': '#2aaaff',
    'widget-shadow': '#0000005c',
  },
  light: REPORT_THEME,
};

/** The real page shell and CSP (src/panel/page.ts), with the extension's resource origin played by ORIGIN. */
function pageHtml(state: PanelState, strings?: Record<string, string>): string {
  return panelPage({
    cspSource: ORIGIN,
    nonce: NONCE,
    scriptUri: `${ORIGIN}/dist/webview.js`,
    chartsUri: `${ORIGIN}/dist/charts.js`,
    styleUri: `${ORIGIN}/dist/webview.css`,
    boot: { state, ...(strings ? { strings } : {}) },
  });
}

/** Typed arrays cross into the page as base64 inside JSON. */
export function encode(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (x instanceof Uint8Array) return { __ta: 'u8', b64: Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('base64') };
    if (x instanceof Float32Array) return { __ta: 'f32', b64: Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('base64') };
    return x;
  });
}

/** Runs in the page before the bundle: the VS Code API stub, the theme, and violation/console capture. */
function initScript(arg: { theme: Record<string, string>; dark: boolean }): void {
  const w = window as unknown as Record<string, unknown>;
  const posted: unknown[] = [];
  const violations: string[] = [];
  let state: unknown;
  const decode = (s: string): unknown =>
    JSON.parse(s, (_k, x: { __ta?: string; b64?: string }) => {
      if (x && typeof x === 'object' && x.__ta && typeof x.b64 === 'string') {
        const bin = atob(x.b64);
        const u8 = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) u8[i] = bin.charCodeAt(i);
        return x.__ta === 'u8' ? u8 : new Float32Array(u8.buffer);
      }
      return x;
    });
  w.__hl = { posted, violations, decode, deliver: (s: string) => window.postMessage(decode(s), '*'), state: () => state };
  w.acquireVsCodeApi = () => ({
    postMessage(msg: { type?: string }) {
      posted.push(JSON.parse(JSON.stringify(msg)));
      if (msg.type === 'request') {
        void (w.__hostRequest as (m: string) => Promise<string>)(JSON.stringify(msg)).then((r) => window.postMessage(decode(r), '*'));
      }
    },
    getState: () => state,
    setState: (s: unknown) => {
      state = s;
    },
  });
  document.addEventListener('securitypolicyviolation', (e) => violations.push(`${e.violatedDirective}: ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
  const apply = () => {
    const root = document.documentElement;
    if (!root) return; // the initial about:blank document
    for (const [k, v] of Object.entries(arg.theme)) root.style.setProperty(`--vscode-${k}`, v);
    if (document.body) document.body.className = arg.dark ? 'vscode-dark' : 'vscode-light';
  };
  apply();
  document.addEventListener('DOMContentLoaded', apply);
}

export interface Posted {
  type: string;
  [k: string]: unknown;
}

export class Panel {
  readonly consoleErrors: string[] = [];
  private constructor(
    readonly page: Page,
    private sessions: Map<number, EngineResult | AttentionSource>,
  ) {}

  /** `strings`: the webview string table the host would pass (translated); absent = English. */
  static async open(
    browser: Browser,
    theme: ThemeName,
    state: PanelState = defaultPanelState('file:///sample.txt', [0, 0, 0, 0], 'headlight-mini'),
    strings?: Record<string, string>,
  ): Promise<Panel> {
    const ctx = await browser.newContext({ viewport: { width: 1100, height: 820 }, deviceScaleFactor: 1, colorScheme: theme });
    const page = await ctx.newPage();
    const panel = new Panel(page, new Map());
    page.on('console', (m) => {
      if (m.type() === 'error') panel.consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => panel.consoleErrors.push(`${String(e)} ${e.stack ?? ''}`));
    await page.exposeFunction('__hostRequest', (raw: string) => panel.answer(raw));
    // tsx (esbuild keepNames) wraps functions in __name(); functions shipped into the page need it defined.
    await page.addInitScript({
      content: `var __name = (f) => f;\n(${initScript.toString()})(${JSON.stringify({ theme: THEMES[theme], dark: theme === 'dark' })});`,
    });
    await page.route(`${ORIGIN}/**`, async (route) => {
      const url = new URL(route.request().url());
      if (url.pathname === '/' || url.pathname === '/index.html') return route.fulfill({ contentType: 'text/html', body: pageHtml(state, strings) });
      const file = path.join(ROOT, url.pathname);
      if (url.pathname.startsWith('/dist/') && fs.existsSync(file)) {
        return route.fulfill({ contentType: file.endsWith('.css') ? 'text/css' : 'text/javascript', body: fs.readFileSync(file) });
      }
      return route.fulfill({ status: 404, body: '' });
    });
    await page.goto(`${ORIGIN}/`);
    await page.waitForFunction(() => (window as unknown as { __hl: { posted: { type: string }[] } }).__hl.posted.some((m) => m.type === 'webview/ready'));
    return panel;
  }

  private async answer(raw: string): Promise<string> {
    const msg = JSON.parse(raw) as { id: number; method: string; params: { sessionId: number; layer: number; head: number; token: number } };
    try {
      const r = this.sessions.get(msg.params.sessionId);
      if (!r) throw new Error(`no session ${msg.params.sessionId}`);
      // A kept (bounded-memory) session answers through its source, as the extension's does.
      const method = msg.method as RequestMethod;
      const result = 'request' in r ? await r.request(method, msg.params) : answerPanelRequest(r.attention, method, msg.params, r.valueNorms?.data);
      if (!result) throw new Error(`unknown method ${msg.method}`);
      return encode({ type: 'reply', id: msg.id, ok: true, result });
    } catch (e) {
      return encode({ type: 'reply', id: msg.id, ok: false, error: (e as Error).message });
    }
  }

  async load(session: SessionData, result: EngineResult | AttentionSource, state: PanelState): Promise<void> {
    this.sessions.set(session.id, result);
    await this.page.evaluate(
      (s) => (window as unknown as { __hl: { deliver(s: string): void } }).__hl.deliver(s),
      encode({ type: 'session/data', session, state }),
    );
  }

  async send(msg: unknown): Promise<void> {
    await this.page.evaluate((s) => (window as unknown as { __hl: { deliver(s: string): void } }).__hl.deliver(s), encode(msg));
  }

  posted(): Promise<Posted[]> {
    return this.page.evaluate(() => (window as unknown as { __hl: { posted: Posted[] } }).__hl.posted);
  }

  async clearPosted(): Promise<void> {
    await this.page.evaluate(() => {
      (window as unknown as { __hl: { posted: unknown[] } }).__hl.posted.length = 0;
    });
  }

  violations(): Promise<string[]> {
    return this.page.evaluate(() => (window as unknown as { __hl: { violations: string[] } }).__hl.violations);
  }

  async screenshot(name: string): Promise<string> {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const file = path.join(ARTIFACTS, `${name}.png`);
    await this.page.screenshot({ path: file, fullPage: false });
    return file;
  }

  async close(): Promise<void> {
    await this.page.context().close();
  }
}

/**
 * Playwright gives every launch a fresh temporary profile (and removes it on close). The browser:
 * CHROMIUM_PATH, else Debian's Chromium (scripts/install-system-deps.sh), else an installed Chrome or Edge
 * (macOS, Windows) found by playwright-core's channels.
 */
export async function launch(): Promise<Browser> {
  const args = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
  const exe = process.env.CHROMIUM_PATH || (fs.existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined);
  if (exe) return chromium.launch({ executablePath: exe, headless: true, args });
  let last: unknown;
  for (const channel of ['chrome', 'msedge']) {
    try {
      return await chromium.launch({ channel, headless: true, args });
    } catch (e) {
      last = e;
    }
  }
  throw new Error(`no browser for the webview tests: set CHROMIUM_PATH, or install Chromium (Debian), Chrome or Edge (${String(last)})`);
}

/** For one describe block: a session pipeline and a browser, started before its tests and closed after. */
export function panelFixture(): { browser: () => Browser; pipeline: () => SessionPipeline } {
  let browser: Browser | undefined;
  let pipeline: SessionPipeline | undefined;
  before(async () => {
    pipeline = new SessionPipeline(new EngineClient());
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await pipeline?.engine.dispose();
  });
  return { browser: () => browser!, pipeline: () => pipeline! };
}
