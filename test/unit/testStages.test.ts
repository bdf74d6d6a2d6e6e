import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

// `npm test` decides per stage whether this machine can run it, and says why when not (scripts/test.mjs). It
// installs nothing on the system: missing Debian packages skip their stage with the set-up command that
// installs them (scripts/install-system-deps.sh, which .ci/run and the demo run).
const ROOT = path.resolve(__dirname, '..', '..');
type Facts = { platform: string; hasApt: boolean; browser: boolean; missing?: Record<string, string[]> };
const load = async () =>
  (await import(pathToFileURL(path.join(ROOT, 'scripts', 'test.mjs')).href)) as { skipReason: (stage: string, f: Facts) => string | null };
const deps = async () =>
  (await import(pathToFileURL(path.join(ROOT, 'scripts', 'systemDeps.mjs')).href)) as {
    SYSTEM_PACKAGES: { groups: Record<string, { packages: string[]; why: string }>; stages: Record<string, string[]> };
    packagesOf: (names: string[]) => string[];
  };

describe('npm test stages per platform', () => {
  it('Debian with every package: every stage but electron (code-server is the in-editor suite there)', async () => {
    const { skipReason } = await load();
    const f = { platform: 'linux', hasApt: true, browser: true, missing: {} };
    for (const s of ['build', 'typecheck', 'lint', 'unit', 'webview', 'package', 'bench', 'e2e']) assert.equal(skipReason(s, f), null, s);
    assert.match(skipReason('electron', f)!, /code-server/);
  });

  it('Debian before the set-up: a stage whose packages are missing is skipped, naming them and the command that installs them', async () => {
    const { skipReason } = await load();
    const missing = { webview: ['chromium'], package: ['strace'], bench: ['python3-onnx', 'chromium'], e2e: ['ripgrep'] };
    const f = { platform: 'linux', hasApt: true, browser: false, missing };
    for (const [stage, names] of Object.entries(missing)) {
      const why = skipReason(stage, f);
      assert.ok(why, stage);
      assert.ok(why.includes(`Debian packages missing: ${names.join(', ')}`), why);
      assert.ok(why.includes('`bash scripts/install-system-deps.sh` installs them'), why);
    }
    // Stages with nothing missing still run.
    assert.equal(skipReason('package', { ...f, missing: { ...missing, package: [] } }), null);
  });

  it('macOS and Windows: unit, webview with a browser and electron run; the apt stages are skipped with a reason', async () => {
    const { skipReason } = await load();
    for (const platform of ['darwin', 'win32']) {
      const f = { platform, hasApt: false, browser: true };
      for (const s of ['unit', 'webview', 'electron']) assert.equal(skipReason(s, f), null, `${platform} ${s}`);
      for (const s of ['package', 'bench', 'e2e'])
        assert.match(skipReason(s, f)!, new RegExp(`needs Linux with apt \\(this is ${platform}\\)`), `${platform} ${s}`);
      assert.match(skipReason('webview', { ...f, browser: false })!, /Chrome or Edge/);
    }
  });

  it('Linux without apt (e.g. Fedora): the apt stages say so', async () => {
    const { skipReason } = await load();
    assert.match(skipReason('e2e', { platform: 'linux', hasApt: false, browser: false })!, /dpkg\/apt-get not found/);
  });

  it('never installs system packages: no script npm test runs calls the set-up or apt', () => {
    // The scripts behind npm test's stages (package.json: build, typecheck, test:*), and what they run in turn.
    // (bench/run.ts, behind the bench stage, installs its Python packages itself when they are missing: the
    // bench stage only runs when scripts/test.mjs found them installed, so it never gets there from npm test.)
    const files = ['scripts/test.mjs', 'scripts/build.mjs', 'scripts/e2e.mjs', 'scripts/install-code-server.sh', 'scripts/testElectron.mjs'];
    const runsSetup = /\b(spawn|spawnSync|execFile|execFileSync|exec|execSync)\(.*(install-system-deps|apt-get|\bapt\b)/;
    const shellRunsSetup = /^\s*(sudo\s+|\$SUDO\s+)?((bash|sh|source|\.)\s+.*install-system-deps\.sh|apt(-get)?\s+install)\b/;
    const offending = files.flatMap((f) =>
      fs
        .readFileSync(path.join(ROOT, f), 'utf8')
        .split('\n')
        .map((l, i) => ({ l, at: `${f}:${i + 1}` }))
        .filter(({ l }) => (runsSetup.test(l) || shellRunsSetup.test(l)) && !/^\s*(\/\/|#)/.test(l))
        .map(({ l, at }) => `${at}: ${l.trim()}`),
    );
    assert.deepEqual(offending, []);
  });

  it('the set-up installs every package a stage checks, each group saying why', async () => {
    const { SYSTEM_PACKAGES, packagesOf } = await deps();
    const all = new Set(packagesOf([]));
    for (const [stage, groups] of Object.entries(SYSTEM_PACKAGES.stages)) {
      for (const g of groups) assert.ok(SYSTEM_PACKAGES.groups[g], `${stage}: no group ${g}`);
      for (const p of packagesOf([stage])) assert.ok(all.has(p), `${stage}: ${p} is not installed by the set-up`);
    }
    for (const [g, { packages, why }] of Object.entries(SYSTEM_PACKAGES.groups)) assert.ok(packages.length && why.length > 20, g);
    // The set-up script reads that list rather than keeping its own.
    assert.match(fs.readFileSync(path.join(ROOT, 'scripts', 'install-system-deps.sh'), 'utf8'), /systemDeps\.mjs" missing "\$@"/);
  });
});
