// Webview half of `npm run bench`: the real dist/webview.js in headless Chromium (the tests' harness),
// fed recorded session messages for a 12 × 12-head model at 128–2,048 tokens, and a real kept session of
// the long-context bench model at 4,096 tokens. Prints one JSON object
// { webview: [...], table, scaling } on stdout for bench/run.ts.
//   firstPaintMs  — session/data delivered → Arcs drawn, the page's own work (render, layout, arc
//                   selection, paint); the matrix transport is reported apart as fetchMs because the
//                   harness ships it as base64 through Playwright, where VS Code uses structured clone;
//   hoverP50/P95  — the hover handler (arc redraw on the hover canvas + highlight) over 200 hovers;
//   headsGridMs   — the Heads catalog of 144 thumbnails, cards and badges;
//   heapMb        — JS heap in use after those steps.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeHeads, mulberry32 } from '../../src/analysis';
import { EngineClient, type EngineResult } from '../../src/engine';
import type { AttentionSet } from '../../src/engine/types';
import { defaultPanelState } from '../../src/protocol';
import { toSessionData } from '../../src/session/wire';
import { launch, Panel } from './harness';
import { joinedSamples } from '../fixtures/samples';
import type { Browser } from 'playwright-core';
import type { SessionData } from '../../src/protocol';
import { SessionPipeline } from '../../src/session/pipeline';
import type { AttentionSource } from '../../src/session/attentionSource';
import { perDoubling } from '../../bench/run';

const ROOT = path.resolve(__dirname, '../..');
const L = 12,
  H = 12;
const quick = process.argv.includes('--quick');
const SIZES = quick ? [128] : [128, 512, 1024, 2048];
const HOVERS = quick ? 40 : 200;

/** 144 causal heads with GPT-2-like variety: previous-token, sink, local, broad and peaky random rows. */
function syntheticAttention(n: number): AttentionSet {
  const r = mulberry32(n);
  const data: Float32Array[] = [];
  for (let l = 0; l < L; l++) {
    const layer = new Float32Array(H * n * n);
    for (let h = 0; h < H; h++) {
      const kind = (l * H + h) % 5;
      for (let i = 0; i < n; i++) {
        const base = h * n * n + i * n;
        let sum = 0;
        for (let j = 0; j <= i; j++) {
          let w = 0.02 * r();
          if (kind === 0 && j === i - 1) w += 4;
          if (kind === 1 && j === 0) w += 3;
          if (kind === 2 && i - j < 4) w += 1;
          if (kind === 3) w += 0.5;
          if (kind === 4) w += r() ** 8;
          layer[base + j] = w;
          sum += w;
        }
        for (let j = 0; j <= i; j++) layer[base + j] /= sum;
      }
    }
    data.push(layer);
  }
  return { layers: L, headsPerLayer: H, seq: n, causal: true, data };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))];
};

type Row = {
  model: string;
  tokens: number;
  firstPaintMs: number;
  fetchMs: number;
  hoverP50Ms: number;
  hoverP95Ms: number;
  headsGridMs: number;
  heapMb: number;
};

/** Open a panel on `session`, answer its requests from `source`, and time first paint, hovers and the Heads grid. */
async function measure(browser: Browser, model: string, session: SessionData, source: EngineResult | AttentionSource): Promise<Row> {
  const panel = await Panel.open(browser, 'dark');
  const state = { ...defaultPanelState('file:///bench.txt', [0, 0, 0, 0], model), layer: 0, head: 0 };
  await panel.load(session, source, state);
  await panel.page.waitForFunction(
    () => ((window as unknown as { headlightTimings(): { arcsFirstPaintMs?: number } }).headlightTimings().arcsFirstPaintMs ?? 0) > 0,
    undefined,
    { timeout: 300_000 },
  );
  const t = await panel.page.evaluate(() =>
    (window as unknown as { headlightTimings(): { arcsFirstPaintMs: number; arcsFetchMs: number } }).headlightTimings(),
  );
  // Hovers: dispatch the same event the mouse does, time the synchronous handler (it draws the hover canvas).
  const hover = await panel.page.evaluate((count) => {
    const toks = [...document.querySelectorAll('.hl-view-arcs .hl-tok')] as HTMLElement[];
    const out: number[] = [];
    for (let k = 0; k < count; k++) {
      const el = toks[(k * 7919) % toks.length];
      const t0 = performance.now();
      el.dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
      out.push(performance.now() - t0);
    }
    return out;
  }, HOVERS);
  await panel.page.locator('vscode-tab-header', { hasText: 'Heads' }).click();
  await panel.page.waitForFunction(
    () => ((window as unknown as { headlightTimings(): { headsRenderMs?: number } }).headlightTimings().headsRenderMs ?? 0) > 0,
    undefined,
    { timeout: 60_000 },
  );
  const heads = await panel.page.evaluate(() => (window as unknown as { headlightTimings(): { headsRenderMs: number } }).headlightTimings().headsRenderMs);
  const heap = await panel.page.evaluate(() => (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? NaN);
  await panel.close();
  return {
    model,
    tokens: session.tokens.length,
    firstPaintMs: t.arcsFirstPaintMs - t.arcsFetchMs,
    fetchMs: t.arcsFetchMs,
    hoverP50Ms: pct(hover, 0.5),
    hoverP95Ms: pct(hover, 0.95),
    headsGridMs: heads,
    heapMb: heap / 1048576,
  };
}

/**
 * Page boot: navigation start → load event of the panel page (no session yet: what opening the panel
 * costs before any data can arrive), median over `count` cold loads, each in a fresh browser context.
 * Also the bytes of script the page parses before it can paint, and, beside the boot (not instead of
 * it), how it splits: filesMs — navigation start → the last of the page's files (HTML, CSS, script)
 * received, each served through the harness' route interception (a round trip through Playwright; VS
 * Code serves them through its own resource loader, with its own latency); afterFilesMs — from there to
 * the load event, the page's own work (medians of each run's values).
 */
export async function measureBoot(
  browser: Browser,
  count: number,
): Promise<{ bootMs: number; bootMinMs: number; bootMaxMs: number; domContentLoadedMs: number; filesMs: number; afterFilesMs: number; scriptKb: number }> {
  const load: number[] = [];
  const dcl: number[] = [];
  const files: number[] = [];
  for (let i = 0; i < count; i++) {
    const panel = await Panel.open(browser, 'dark');
    await panel.page.waitForFunction(() => ((performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined)?.loadEventEnd ?? 0) > 0);
    const t = await panel.page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      const before = (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).filter((r) => r.startTime < nav.loadEventStart);
      return { load: nav.loadEventEnd, dcl: nav.domContentLoadedEventEnd, files: Math.max(nav.responseEnd, ...before.map((r) => r.responseEnd)) };
    });
    load.push(t.load);
    dcl.push(t.dcl);
    files.push(t.files);
    await panel.close();
  }
  const scriptKb = fs.statSync(path.join(ROOT, 'dist', 'webview.js')).size / 1024;
  return {
    bootMs: pct(load, 0.5),
    bootMinMs: Math.min(...load),
    bootMaxMs: Math.max(...load),
    domContentLoadedMs: pct(dcl, 0.5),
    filesMs: pct(files, 0.5),
    afterFilesMs: pct(
      load.map((l, i) => l - files[i]),
      0.5,
    ),
    scriptKb,
  };
}

async function main(): Promise<void> {
  if (process.argv.includes('--boot')) {
    // `npx tsx test/webview/bench.ts --boot`: the boot row alone
    const browser = await launch();
    try {
      process.stdout.write(JSON.stringify(await measureBoot(browser, quick ? 3 : 9)) + '\n');
    } finally {
      await browser.close();
    }
    return;
  }
  const corpus = joinedSamples('\n');
  let text = corpus;
  while (text.length < 16_000) text += '\n' + corpus;
  const mini = path.join(ROOT, 'media/models/headlight-mini');
  const client = new EngineClient({ workerPath: path.join(ROOT, 'dist', 'engine-worker.js') });
  const browser = await launch();
  const rows: Row[] = [];
  let boot: Awaited<ReturnType<typeof measureBoot>> | undefined;
  try {
    boot = await measureBoot(browser, quick ? 3 : 9);
    process.stderr.write(`webview: page boot ${boot.bootMs.toFixed(0)} ms\n`);
    for (const n of SIZES) {
      // Real tokens of real text (spans, specials) from the bundled tokenizer; 144 synthetic heads over them.
      const tok = await client.explain(
        text,
        { modelPath: path.join(mini, 'model.onnx'), tokenizerPath: path.join(mini, 'tokenizer.json') },
        { maxTokens: n, truncate: true },
      );
      const attention = syntheticAttention(tok.tokens.length);
      const reports = analyzeHeads(attention, tok.tokens);
      const cut = text.slice(0, Math.max(...tok.tokens.map((t) => t.end)));
      const session = toSessionData({
        id: n,
        title: `bench-${n}`,
        text: cut,
        model: { name: 'synthetic-12x12', kind: 'causal', layers: L, headsPerLayer: H },
        tokens: tok.tokens,
        attention,
        reports,
      });
      rows.push(await measure(browser, 'synthetic-12x12', session, { ...tok, attention }));
      process.stderr.write(`webview: ${n} tokens done\n`);
    }
    // 4,096 tokens: synthetic heads would need 9.7 GB, so this row is the real thing — the long-context
    // bench model (bench/make-long-context.py) through the pipeline in bounded-memory mode, its head
    // matrices recomputed by the engine on request, exactly as the extension serves them.
    const long = path.join(ROOT, 'bench/results/long-context/model.onnx');
    if (!quick && fs.existsSync(long)) {
      const pipeline = new SessionPipeline(client);
      let big = text;
      while (big.length < 6000) big += '\n' + text;
      const built = await pipeline.build({
        id: 4096,
        title: 'bench-4096',
        text: big,
        keep: true,
        maxTokens: 4096,
        truncate: true,
        model: { modelPath: long, tokenizerPath: path.join(ROOT, 'test/fixtures/decoders/tokenizer.json'), name: 'long-context-8x8' },
      });
      rows.push(await measure(browser, 'long-context-8x8 (kept)', built.session, built.source));
      built.source.dispose();
      await pipeline.analysis.dispose();
      process.stderr.write('webview: 4096 tokens (long-context) done\n');
    }
  } finally {
    await browser.close();
    await client.dispose();
  }
  const f = (x: number) => x.toFixed(x < 10 ? 2 : 0);
  const table = [
    'model                     tokens  first paint ms (+matrix transport)  hover p50 ms  hover p95 ms  Heads grid ms  heap MB',
    ...rows.map(
      (r) =>
        `${r.model.padEnd(24)}  ${String(r.tokens).padStart(6)}  ${`${f(r.firstPaintMs)} (+${f(r.fetchMs)})`.padEnd(33)} ${f(r.hoverP50Ms).padStart(12)}  ${f(r.hoverP95Ms).padStart(12)}  ${f(r.headsGridMs).padStart(13)}  ${f(r.heapMb).padStart(7)}`,
    ),
  ].join('\n');
  const synth = rows.filter((r) => r.model === 'synthetic-12x12');
  const scaling =
    synth.length < 2
      ? []
      : (['firstPaintMs', 'hoverP95Ms', 'headsGridMs'] as const).map((k) => ({
          stage: `webview ${k}`,
          model: 'synthetic-12x12',
          perDoubling: perDoubling(synth.map((r) => ({ tokens: r.tokens, ms: r[k] }))),
        }));
  const bootLine = boot
    ? `\npage boot (navigation → load, no session): ${f(boot.bootMs)} ms median (${f(boot.bootMinMs)}–${f(boot.bootMaxMs)}), DOMContentLoaded ${f(boot.domContentLoadedMs)} ms (files in by ${f(boot.filesMs)} ms, then ${f(boot.afterFilesMs)} ms of page work), ${f(boot.scriptKb)} KB of script at boot`
    : '';
  process.stdout.write(JSON.stringify({ webview: rows, boot, table: table + bootLine, scaling }));
}

main().catch((e: unknown) => {
  process.stderr.write(String((e instanceof Error && e.stack) || e));
  process.exit(1);
});
