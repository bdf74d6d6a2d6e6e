// `npm run package`: platform-specific .vsix files (default: this machine's platform; `--target=T` for one
// of TARGETS, `--target=all` for every one). onnxruntime-node and tokenizers ship every platform's native
// binaries in their npm packages (~350 MB together); a .vsix for one target keeps only its own, as VS
// Code's platform-specific extensions are meant to:
// - onnxruntime-node: bin/napi-v*/<platform>/<arch>/ of the target, without the GPU-only DirectML
//   libraries on Windows (DirectML.dll, dxcompiler.dll, dxil.dll: onnxruntime.dll only delay-loads
//   DirectML.dll when the DirectML provider is asked for — see test/package/pe.ts and
//   test/package/package.test.ts) and without macOS' second copy of the runtime (the binding links
//   @rpath/libonnxruntime.1.dylib; libonnxruntime.1.30.0.dylib is a byte-identical duplicate).
// - tokenizers 0.23.2 carries every platform's binary inside its own package (tokenizers.<triple>.node;
//   it has no per-platform optional packages), so nothing needs fetching: the target's file is kept.
// darwin-x64 is refused with a message: onnxruntime-node 1.30 ships no darwin/x64 binary.
// vsce deflates at zlib's default level; advzip (Debian/Ubuntu package advancecomp) then re-deflates every
// entry at libdeflate's strongest level: the same files, 1.3 MB (3%) less to download on linux-x64.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Per target: onnxruntime-node's bin folder, the tokenizers binary, and the runtime files left out. */
export const TARGETS = {
  'linux-x64': { ort: 'linux/x64', tok: 'linux-x64-gnu', drop: [] },
  'linux-arm64': { ort: 'linux/arm64', tok: 'linux-arm64-gnu', drop: [] },
  'darwin-arm64': { ort: 'darwin/arm64', tok: 'darwin-arm64', drop: [/^libonnxruntime\.\d+\.\d+\.\d+\.dylib$/] },
  'win32-x64': { ort: 'win32/x64', tok: 'win32-x64-msvc', drop: [/^DirectML\.dll$/i, /^dxcompiler\.dll$/i, /^dxil\.dll$/i] },
  'win32-arm64': { ort: 'win32/arm64', tok: 'win32-arm64-msvc', drop: [/^DirectML\.dll$/i, /^dxcompiler\.dll$/i, /^dxil\.dll$/i] },
};
export const UNSUPPORTED = {
  'darwin-x64': 'onnxruntime-node 1.30 ships no darwin/x64 binary, so Headlight cannot run a model on an Intel Mac (Apple-silicon Macs: darwin-arm64).',
};

/** The "!" lines that put `target`'s native files, and only those, into its package (.vscodeignore leaves out
 * the rest of node_modules): onnxruntime's library and binding less the dropped files, the tokenizers binary. */
export function nativesFor(target) {
  const t = TARGETS[target];
  const files = [];
  const ortBin = path.join(root, 'node_modules/onnxruntime-node/bin');
  for (const napi of fs.readdirSync(ortBin)) {
    const dir = path.join(ortBin, napi, t.ort);
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir)) if (!t.drop.some((re) => re.test(f))) files.push(`node_modules/onnxruntime-node/bin/${napi}/${t.ort}/${f}`);
  }
  files.push(`node_modules/tokenizers/tokenizers.${t.tok}.node`);
  const missing = files.filter((f) => !fs.existsSync(path.join(root, f)));
  if (!files.some((f) => f.includes('/onnxruntime-node/')) || missing.length) {
    throw new Error(`${target}: native files missing from node_modules (${missing.join(', ') || 'onnxruntime-node/bin'}); run npm ci`);
  }
  return files.map((f) => `!${f}`);
}

/** Re-deflates the package's entries as small as advzip can; without advzip it stays as vsce wrote it (with a note). */
function recompress(file) {
  try {
    execFileSync('advzip', ['--recompress', '-2', '--quiet', file], { stdio: ['ignore', 'ignore', 'inherit'] });
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
    console.error('headlight: advzip not found (Debian/Ubuntu: apt-get install advancecomp): the package stays as vsce deflated it, about 3% larger');
  }
}

function packageOne(target) {
  const t0 = Date.now();
  const ignore = path.join(os.tmpdir(), `headlight-vscodeignore-${process.pid}-${target}`);
  fs.writeFileSync(ignore, fs.readFileSync(path.join(root, '.vscodeignore'), 'utf8') + '\n' + nativesFor(target).join('\n') + '\n');
  const out = path.join(root, `headlight-${target}.vsix`);
  try {
    execFileSync(
      process.execPath,
      [
        path.join(root, 'node_modules/@vscode/vsce/vsce'),
        'package',
        '--target',
        target,
        '--ignoreFile',
        ignore,
        '--out',
        out,
        '--allow-missing-repository',
        '--skip-license',
        '--no-rewrite-relative-links',
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, npm_config_yes: 'true' } },
    );
  } finally {
    fs.rmSync(ignore, { force: true });
  }
  const written = fs.statSync(out).size;
  recompress(out);
  const size = fs.statSync(out).size;
  console.log(
    `${path.basename(out)}: ${(size / 1e6).toFixed(1)} MB${size < written ? ` (vsce: ${(written / 1e6).toFixed(1)} MB)` : ''} (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
  );
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = process.argv.find((a) => a.startsWith('--target='));
  const wanted = arg ? arg.slice('--target='.length) : `${process.platform}-${process.arch}`;
  const targets = wanted === 'all' ? Object.keys(TARGETS) : [wanted];
  for (const target of targets) {
    if (UNSUPPORTED[target]) {
      console.error(`headlight: no package for ${target}: ${UNSUPPORTED[target]}`);
      process.exit(2);
    }
    if (!TARGETS[target]) {
      console.error(`headlight: unsupported target ${target}; one of ${Object.keys(TARGETS).join(', ')} or all`);
      process.exit(2);
    }
  }
  for (const target of targets) packageOne(target);
}
