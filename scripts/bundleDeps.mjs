// How the Node bundles (scripts/build.mjs) take in the dependencies. Their JavaScript is bundled, so the .vsix
// ships none from node_modules (.vscodeignore keeps only what the bundles load from disk; scripts/package.mjs
// adds the target's native binaries; scripts/notices.mjs collects the licenses). Not bundled:
// - `vscode` (the host provides it);
// - native addons (.node: onnxruntime-node's binding, tokenizers'): each stays a file in its package, and the
//   bundle requires it from dist/ by its path under node_modules (nativeAddons);
// - @vscode/tree-sitter-wasm: an emscripten loader that finds its .wasm grammars beside itself (treeSitter.ts);
// - the prose tagger (wink-nlp and its 3.8 MB English model, AFINN's labels): only prose needs it, loaded on first
//   use by three bundles, so it is built once into dist/vendor/ (a JSON file is copied) and required from there.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

export const nodeExternal = ['vscode', '@vscode/tree-sitter-wasm'];

/** Package specifier → its file in dist/vendor/. */
const VENDOR = { 'wink-nlp': 'wink-nlp.js', 'wink-eng-lite-web-model': 'wink-eng-lite-web-model.js', 'sentiment/languages/en/labels.json': 'afinn-165.json' };
const copied = Object.entries(VENDOR).filter(([, f]) => f.endsWith('.json'));

/** A require of a `.node` file stays a require, of its path under node_modules as seen from dist/. */
export const nativeAddons = {
  name: 'native-addons',
  setup(build) {
    build.onResolve({ filter: /\.node$/ }, (args) => {
      const file = path.resolve(args.resolveDir, args.path).split(path.sep).join('/');
      const at = file.lastIndexOf('/node_modules/');
      if (at < 0) return { errors: [{ text: `native addon outside node_modules: ${args.path}` }] };
      return { path: `..${file.slice(at)}`, external: true };
    });
    // onnxruntime-node names its binding by a template literal, which esbuild would expand to every platform's
    // file: the same path, from dist/, as an expression esbuild leaves to run time.
    const ortBinding = 'require(`../bin/napi-v6/${process.platform}/${process.arch}/onnxruntime_binding.node`)';
    build.onLoad({ filter: /[\\/]onnxruntime-node[\\/]dist[\\/]binding\.js$/ }, async (args) => {
      const js = await fs.promises.readFile(args.path, 'utf8');
      if (!js.includes(ortBinding)) return { errors: [{ text: `${args.path} no longer loads its binding as scripts/bundleDeps.mjs expects` }] };
      const fromDist = 'require(__dirname + `/../node_modules/onnxruntime-node/bin/napi-v6/${process.platform}/${process.arch}/onnxruntime_binding.node`)';
      return { contents: js.replace(ortBinding, fromDist), loader: 'js' };
    });
  },
};

/** The prose tagger's packages resolve to their files in dist/vendor/. */
export const vendored = {
  name: 'vendored',
  setup(build) {
    const names = Object.keys(VENDOR).map((k) => k.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
    build.onResolve({ filter: new RegExp(`^(${names.join('|')})$`) }, (args) => ({ path: `./vendor/${VENDOR[args.path]}`, external: true }));
  },
};

/** Entry points of the vendor bundles (dist/vendor/<name>.js). */
export const vendorEntries = Object.fromEntries(
  Object.entries(VENDOR)
    .filter(([, f]) => f.endsWith('.js'))
    .map(([pkg, f]) => [`vendor/${f.slice(0, -3)}`, require.resolve(pkg)]),
);

/** Copies the vendor files that need no bundling; returns their sources (for the notices). */
export function copyVendorFiles(dist) {
  fs.mkdirSync(path.join(dist, 'vendor'), { recursive: true });
  for (const [pkg, f] of copied) fs.copyFileSync(require.resolve(pkg), path.join(dist, 'vendor', f));
  return copied.map(([pkg]) => require.resolve(pkg));
}
