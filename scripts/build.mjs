// Two bundles for the two runtimes: the extension host (Node, CommonJS) and the webview (browser, IIFE).
// The engine worker and the command-line entry are separate Node entry points so that the worker file
// can be handed to `new Worker()` and the CLI can run without VS Code.
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { copyVendorFiles, nativeAddons, nodeExternal, vendorEntries, vendored } from './bundleDeps.mjs';
import { writeNotices } from './notices.mjs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
// Dependencies are bundled, native addons and the tree-sitter grammars stay files: scripts/bundleDeps.mjs.

const node = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: nodeExternal,
  plugins: [nativeAddons, vendored],
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
};
/**
 * In the renderer bundle, webview/channel.ts (acquireVsCodeApi, the panel's messages) becomes webview/notebook/channelShim.ts,
 * which exports the same API.
 */
function notebookSwaps() {
  const from = path.resolve('webview/channel.ts'),
    to = path.resolve('webview/notebook/channelShim.ts');
  return {
    name: 'notebook-swaps',
    setup(b) {
      b.onResolve({ filter: /(^|\/)channel$/ }, (args) => (path.resolve(args.resolveDir, `${args.path}.ts`) === from ? { path: to } : undefined));
    },
  };
}

const configs = [
  { ...node, entryPoints: { extension: 'src/extension.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { 'engine-worker': 'src/engine/worker.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { cli: 'src/cli.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { 'analysis-worker': 'src/session/analysisWorker.ts' }, outdir: 'dist' },
  { ...node, entryPoints: vendorEntries, outdir: 'dist', plugins: [], sourcemap: false },
  {
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'chrome120',
    entryPoints: { webview: 'webview/main.ts' },
    outdir: 'dist',
    sourcemap: !production,
    minify: true,
    logLevel: 'warning',
  },
  // The notebook renderer (webview/notebook/): an ES module VS Code imports in the notebook's webview. It reuses the
  // panel's shell and views; webview/channel.ts, which assumes the panel's page, is swapped for the renderer's own (see
  // notebookSwaps). The panel's stylesheet comes in as text, scoped under the output's root at run time.
  {
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'chrome120',
    entryPoints: { 'notebook-renderer': 'webview/notebook/renderer.ts' },
    outdir: 'dist',
    sourcemap: !production,
    minify: true,
    logLevel: 'warning',
    loader: { '.css': 'text' },
    plugins: [notebookSwaps()],
  },
  // plotly apart: the panel loads it when a chart is first drawn, so opening the panel does not parse 1 MB.
  {
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'chrome120',
    entryPoints: { charts: 'webview/charts.ts' },
    outdir: 'dist',
    sourcemap: false,
    minify: true,
    logLevel: 'warning',
  },
];
// Every entry point must exist: a missing one is a broken tree, never a bundle to skip quietly.
const missing = configs.flatMap((c) => Object.values(c.entryPoints)).filter((p) => !fs.existsSync(p));
if (missing.length) {
  console.error(`build: missing entry point${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`);
  process.exit(1);
}
const present = configs;
const copied = copyVendorFiles('dist');
if (watch) {
  for (const c of present) await (await esbuild.context(c)).watch();
} else {
  const t0 = Date.now();
  const results = await Promise.all(present.map((c) => esbuild.build({ ...c, metafile: true })));
  writeNotices([...results.flatMap((r) => Object.keys(r.metafile.inputs)), ...copied], 'dist/THIRD-PARTY-NOTICES.txt');
  console.log(`built ${present.flatMap((c) => Object.keys(c.entryPoints)).join(', ')} in ${Date.now() - t0} ms`);
}
