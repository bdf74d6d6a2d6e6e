// Starts a real VS Code (code-server 4.100.3 = VS Code 1.100.3) with Headlight loaded, and drives it with
// Playwright through Debian's Chromium. Each run gets its own HOME, user data, extensions and browser
// profile under .e2e/, so nothing leaks between runs or onto the machine.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as net from 'node:net';
import { chromium, type BrowserContext, type Page, type FrameLocator } from 'playwright-core';

export const ROOT = path.resolve(__dirname, '..', '..');
export const ARTIFACTS = path.join(ROOT, 'test', 'e2e', 'artifacts');
const CODE_SERVER = path.join(ROOT, '.code-server', 'node_modules', '.bin', 'code-server');
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { publisher: string; name: string; version: string };

export interface EditorOptions {
  /** Extra user settings. */
  settings?: Record<string, unknown>;
  /** Files to put in the workspace: name → content. */
  files?: Record<string, string>;
  port?: number;
  /** Start with workspace trust on and the workspace untrusted (restricted mode). */
  untrusted?: boolean;
}

export interface Editor {
  url: string;
  workspace: string;
  runDir: string;
  page: Page;
  context: BrowserContext;
  consoleErrors: string[];
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export function chromiumPath(): string {
  for (const p of [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser']) if (p && fs.existsSync(p)) return p;
  throw new Error('Chromium not found: run scripts/install-system-deps.sh (Debian package "chromium").');
}

/** Isolated dirs and the environment code-server, Chromium and onnxruntime write under. */
export function makeRun(prefix: string): { runDir: string; env: NodeJS.ProcessEnv; userData: string; extensions: string } {
  const base = path.join(ROOT, '.e2e');
  fs.mkdirSync(base, { recursive: true });
  const runDir = fs.mkdtempSync(path.join(base, `${prefix}-`));
  const home = path.join(runDir, 'home');
  const userData = path.join(runDir, 'user-data');
  const extensions = path.join(runDir, 'extensions');
  for (const d of [home, path.join(userData, 'User'), extensions]) fs.mkdirSync(d, { recursive: true });
  const env = {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_DATA_HOME: path.join(home, '.local/share'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    ORT_DISABLE_TELEMETRY: '1',
  };
  return { runDir, env, userData, extensions };
}

export const BASE_SETTINGS = {
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'update.mode': 'none',
  'telemetry.telemetryLevel': 'off',
  'workbench.startupEditor': 'none',
  'workbench.enableExperiments': false,
  'extensions.ignoreRecommendations': true,
  'security.workspace.trust.enabled': false,
  'workbench.tips.enabled': false,
  'chat.commandCenter.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'window.commandCenter': false,
  'git.enabled': false,
  'git.openRepositoryInParentFolders': 'never',
  'editor.minimap.enabled': false,
  'files.hotExit': 'off',
};

/** Headlight in a fresh extensions dir: the repository, symlinked; or, with HEADLIGHT_E2E_VSIX=<file.vsix>, that
 * package installed by code-server's own installer, as a user's VS Code installs it (then every test runs on
 * what ships: the bundles and the files the .vsix holds, no node_modules JavaScript). */
function installHeadlight(extensions: string, userData: string, env: NodeJS.ProcessEnv): void {
  const vsix = process.env.HEADLIGHT_E2E_VSIX;
  if (!vsix) {
    fs.symlinkSync(ROOT, path.join(extensions, `${PKG.publisher}.${PKG.name}-${PKG.version}`));
    return;
  }
  const r = spawnSync(CODE_SERVER, ['--extensions-dir', extensions, '--user-data-dir', userData, '--install-extension', path.resolve(vsix)], {
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  const installed = fs.readdirSync(extensions).filter((d) => d.startsWith(`${PKG.publisher}.${PKG.name}-${PKG.version}`));
  if (r.status !== 0 || installed.length !== 1) throw new Error(`code-server did not install ${vsix} (exit ${r.status}): ${r.stdout}${r.stderr}`);
}

/** Start code-server with Headlight in a fresh extensions dir (installHeadlight), and a browser on it. */
export async function startEditor(opts: EditorOptions = {}): Promise<Editor> {
  if (!fs.existsSync(CODE_SERVER)) throw new Error('code-server is not installed: run `bash scripts/install-code-server.sh`.');
  const { runDir, env, userData, extensions } = makeRun('run');
  installHeadlight(extensions, userData, env);
  const trust = opts.untrusted
    ? { 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never', 'security.workspace.trust.banner': 'always' }
    : {};
  fs.writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify({ ...BASE_SETTINGS, ...opts.settings, ...trust }, null, 1));
  const workspace = path.join(runDir, 'workspace');
  fs.mkdirSync(workspace);
  for (const [name, content] of Object.entries(opts.files ?? {})) {
    fs.mkdirSync(path.dirname(path.join(workspace, name)), { recursive: true });
    fs.writeFileSync(path.join(workspace, name), content);
  }
  const port = opts.port ?? (await freePort());
  const cs = await startCodeServer(port, userData, extensions, workspace, env, runDir, !opts.untrusted);
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(path.join(runDir, 'chromium-profile'), {
      executablePath: chromiumPath(),
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-dev-shm-usage',
      ],
      viewport: { width: 1500, height: 950 },
      env,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const consoleErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`;
    await page.goto(url);
    await waitForWorkbench(page);
    await waitForHeadlight(page);
    const ctx = context;
    return {
      url,
      workspace,
      runDir,
      page,
      context: ctx,
      consoleErrors,
      async stop() {
        await ctx.close().catch(() => undefined);
        await stopProcessGroup(cs);
      },
    };
  } catch (e) {
    await context?.close().catch(() => undefined);
    await stopProcessGroup(cs);
    throw e;
  }
}

export async function startCodeServer(
  port: number,
  userData: string,
  extensions: string,
  workspace: string,
  env: NodeJS.ProcessEnv,
  runDir: string,
  disableTrust = true,
): Promise<ChildProcess> {
  // detached: code-server forks a file watcher and the extension host, which outlive it unless the group is killed
  const cs = spawn(
    CODE_SERVER,
    [
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--auth',
      'none',
      '--user-data-dir',
      userData,
      '--extensions-dir',
      extensions,
      '--disable-telemetry',
      '--disable-update-check',
      ...(disableTrust ? ['--disable-workspace-trust'] : []),
      '--disable-getting-started-override',
      '--ignore-last-opened',
      workspace,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env },
  );
  const logFile = fs.createWriteStream(path.join(runDir, 'code-server.log'));
  cs.stdout.pipe(logFile);
  cs.stderr.pipe(logFile);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('code-server did not start within 60 s')), 60_000);
    const onData = (d: Buffer) => {
      if (/HTTP server listening/.test(String(d))) {
        clearTimeout(timer);
        resolve();
      }
    };
    cs.stdout.on('data', onData);
    cs.stderr.on('data', onData);
    cs.once('exit', (c) => {
      clearTimeout(timer);
      reject(new Error(`code-server exited with ${c}`));
    });
  });
  return cs;
}

export async function stopProcessGroup(cs: ChildProcess): Promise<void> {
  if (cs.exitCode !== null || cs.signalCode !== null || !cs.pid) return;
  const exited = new Promise((r) => cs.once('exit', r));
  try {
    process.kill(-cs.pid, 'SIGTERM');
  } catch {
    /* already gone */
  }
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  if (cs.exitCode === null && cs.signalCode === null) {
    try {
      process.kill(-cs.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

export async function waitForWorkbench(page: Page): Promise<void> {
  await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
  await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 90_000 });
}

/** Extension contributions (menus, commands) appear only once the extension host has scanned extensions. */
export async function waitForHeadlight(page: Page): Promise<void> {
  // The palette lists commands known when it opens, so reopen it until ours is there.
  const input = page.locator('.quick-input-widget input');
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Headlight: Explain attention' }).first();
  for (let i = 0; i < 30; i++) {
    await page.keyboard.press('F1');
    await input.waitFor({ timeout: 20_000 });
    await input.fill('>Headlight: Explain attention');
    const found = await row.waitFor({ timeout: 2000 }).then(
      () => true,
      () => false,
    );
    await page.keyboard.press('Escape');
    if (found) return;
  }
  await screenshot(page, 'no-headlight-in-palette');
  throw new Error('Headlight never appeared in the command palette (see code-server.log in the run dir)');
}

let shot = 0;
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${String(++shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** Run a command from the command palette by its title. */
export async function runCommand(page: Page, title: string): Promise<void> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 10_000 });
  await input.fill(`>${title}`);
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first();
  await row.waitFor({ timeout: 15_000 });
  await page.keyboard.press('Enter');
}

/** Open a workspace file through Quick Open and wait for its editor. */
export async function openFile(page: Page, name: string): Promise<void> {
  await page.locator('.explorer-folders-view .monaco-list-row', { hasText: name }).first().click();
  await page.locator(`.tabs-container .tab[aria-label^="${name}"]`).first().waitFor({ timeout: 20_000 });
  await page.locator('.monaco-editor .view-lines').first().waitFor();
}

/**
 * Screen rectangle of characters [start, end) of `needle` in the first visible editor line holding it
 * (Monaco splits a line's text over several spans, so offsets are walked across text nodes).
 */
export async function textRect(page: Page, needle: string, start = 0, end = needle.length): Promise<{ x: number; y: number; w: number; h: number }> {
  const r = await page
    .locator('.editor-instance .monaco-editor .view-lines')
    .first()
    .evaluate(
      (root, a) => {
        for (const line of root.querySelectorAll('.view-line')) {
          const text = (line.textContent ?? '').replace(/\u00a0/g, ' ');
          const base = text.indexOf(a.needle);
          if (base < 0) continue;
          const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
          const range = document.createRange();
          let seen = 0,
            startSet = false;
          for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            const len = n.textContent?.length ?? 0;
            if (!startSet && base + a.start < seen + len) {
              range.setStart(n, base + a.start - seen);
              startSet = true;
            }
            if (startSet && base + a.end <= seen + len) {
              range.setEnd(n, base + a.end - seen);
              const b = range.getBoundingClientRect();
              return { x: b.x, y: b.y, w: b.width, h: b.height };
            }
            seen += len;
          }
        }
        return null;
      },
      { needle, start, end },
    );
  if (!r) throw new Error(`text not visible in the editor: ${needle}`);
  return r;
}

/** Select `text` (first occurrence on screen) in the active editor with a mouse drag, like a user. */
export async function selectText(page: Page, text: string): Promise<void> {
  const b = await textRect(page, text);
  const y = b.y + b.h / 2;
  await page.mouse.move(b.x + 1, y);
  await page.mouse.down();
  await page.mouse.move(b.x + b.w, y, { steps: 5 });
  await page.mouse.up();
}

/**
 * Wait until `check` returns a value that is not undefined/false (re-checked on every animation frame's
 * worth of time, ~50 ms), or fail after `timeout` ms saying what was awaited. A condition wait: it returns
 * as soon as the condition holds and never sleeps a fixed time.
 */
export async function until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeout = 20_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - t0 > timeout) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves once the webview has painted twice more (layout and canvases of the last change are on screen). */
export async function painted(frame: FrameLocator): Promise<void> {
  await frame.locator('body').evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
}

/** The Headlight webview's document (two iframes deep in VS Code's web workbench). */
export function webview(page: Page): FrameLocator {
  return page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
}

export function tail(file: string, lines = 40): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Right-click the current selection and choose Explain attention from the editor context menu. */
export async function explainFromContextMenu(page: Page): Promise<void> {
  // Inside the selection's first visible piece, near its start (a long selection runs past the viewport).
  const pieces = await page.locator('.monaco-editor .selected-text').evaluateAll((els) =>
    els
      .map((e) => e.getBoundingClientRect())
      .filter((b) => b.width > 4)
      .map((b) => ({ x: b.x, y: b.y, w: b.width, h: b.height })),
  );
  const sel = pieces.sort((a, b) => a.y - b.y || a.x - b.x)[0];
  if (!sel) throw new Error('no visible selection to right-click');
  await page.mouse.click(sel.x + Math.min(20, sel.w / 2), sel.y + sel.h / 2, { button: 'right' });
  const item = page.getByRole('menuitem', { name: 'Explain attention' });
  try {
    await item.waitFor({ timeout: 10_000 });
  } catch (e) {
    await screenshot(page, 'context-menu-missing');
    await page.keyboard.press('Escape');
    throw e;
  }
  await item.click();
  // A click that lands while the menu is still settling is sometimes dropped; the item is focused, so Enter does it.
  if (
    !(await item.waitFor({ state: 'hidden', timeout: 3000 }).then(
      () => true,
      () => false,
    ))
  )
    await page.keyboard.press('Enter');
}

/** Text of visible notification toasts. */
export async function toasts(page: Page): Promise<string[]> {
  return page.locator('.notifications-toasts .notification-toast').allInnerTexts();
}

export async function waitForToast(page: Page, re: RegExp, timeout = 30_000): Promise<string> {
  const t = page.locator('.notifications-toasts .notification-toast', { hasText: re }).first();
  await t.waitFor({ timeout });
  return t.innerText();
}
