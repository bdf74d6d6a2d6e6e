import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

// `npm run package` makes a platform-specific .vsix that carries what the extension runs and nothing else.
const ROOT = path.resolve(__dirname, '..', '..');

describe('npm run package (.vsix contents)', function () {
  this.timeout(240_000);
  let entries: string[] = [];

  before(() => {
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'package.mjs'), '--target=linux-x64'], { cwd: ROOT, stdio: 'pipe', env: { ...process.env, npm_config_yes: 'true' } });
    const vsix = path.join(ROOT, 'headlight-linux-x64.vsix');
    assert.ok(fs.statSync(vsix).size > 1e6);
    // unzip -Z1 lists entry names only (Debian's unzip; a .vsix is a zip)
    entries = execFileSync('unzip', ['-Z1', vsix], { encoding: 'utf8', maxBuffer: 16 << 20 }).split('\n').filter(Boolean);
  });

  it('holds the four bundles, the README, CHANGELOG, LICENSE and every bundled model', () => {
    for (const f of ['dist/extension.js', 'dist/engine-worker.js', 'dist/analysis-worker.js', 'dist/cli.js', 'dist/webview.js', 'dist/webview.css', 'readme.md', 'changelog.md', 'LICENSE.txt', 'package.json']) {
      assert.ok(entries.includes(`extension/${f}`), f);
    }
    for (const m of ['planted', 'headlight-mini', 'tiny-bert']) {
      for (const f of ['model.onnx', 'tokenizer.json', 'card.json']) assert.ok(entries.includes(`extension/media/models/${m}/${f}`), `${m}/${f}`);
    }
    assert.ok(entries.some((e) => /^extension\/node_modules\/onnxruntime-node\/bin\/napi-v\d+\/linux\/x64\/libonnxruntime\.so/.test(e)));
    assert.ok(entries.includes('extension/node_modules/tokenizers/tokenizers.linux-x64-gnu.node'));
  });

  it('leaves out sources, tests, source maps, docs and other platforms\' native binaries', () => {
    const bad = entries.filter((e) => /\/(src|test|webview|scripts|bench|docs|samples)\//.test(e.replace(/^extension\/node_modules\/.*/, ''))
      || /\.map$|\.ts$|\.test\.js$/.test(e)
      || /onnxruntime-node\/bin\/napi-v\d+\/(darwin|win32|linux\/arm64)\//.test(e)
      || /tokenizers\.(?!linux-x64-gnu\.node$)[^/]*\.node$/.test(e)
      || /\/test\//.test(e));
    assert.deepEqual(bad, []);
  });
});
