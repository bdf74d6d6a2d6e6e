// `npm test`: build, typecheck, lint (ESLint and Prettier's check), then the unit, webview, package, bench and end-to-end suites in turn, with
// each stage's time and a closing "N passed, N failed" line over all suites. Stops at the first failing
// stage. It installs nothing on the system: a stage this machine cannot run is skipped out loud — its name and
// why, at the start and in the closing line — never silently:
// - package, bench and e2e need Linux with Debian's packages (scripts/system-packages.json: `file`, `unzip`,
//   `strace`, python3-torch, code-server's native-module deps …); where some are missing the stage says which and
//   that the set-up, `bash scripts/install-system-deps.sh`, installs them (.ci/run runs it before npm test). So
//   do the unit stage's Python helper tests (test/unit/notebook: python3, pip, ipykernel, nbconvert), which say
//   they are skipped;
// - webview needs a Chromium: Debian's on Linux, an installed Chrome or Edge elsewhere;
// - electron (the in-editor suite under a downloaded VS Code, @vscode/test-electron) runs on macOS and
//   Windows, where code-server's e2e stage cannot; set HEADLIGHT_SKIP_ELECTRON=1 where VS Code cannot be
//   downloaded.
// `npm test -- --only=unit,package` runs just those stages (the others are listed as not selected).
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { missingPackages, missingSentence, packagesOf, SYSTEM_PACKAGES } from './systemDeps.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const linux = process.platform === 'linux';
const hasApt = linux && spawnSync('dpkg', ['--version'], { stdio: 'ignore' }).status === 0;

/**
 * Why this machine cannot run a stage, or null when it can. Pure: platform facts in, reason out; `missing` holds
 * each stage's Debian packages that are not installed (apt machines only).
 */
export function skipReason(stage, { platform, hasApt: apt, browser, missing = {} }) {
  const aptReason = platform === 'linux' ? 'needs Debian/Ubuntu packages (dpkg/apt-get not found)' : `needs Linux with apt (this is ${platform})`;
  const packages = () => (missing[stage]?.length ? missingSentence(missing[stage]) : null);
  switch (stage) {
    case 'webview':
      if (browser) return null;
      return apt ? (packages() ?? 'no Chromium found (set CHROMIUM_PATH)') : 'no Chromium, Chrome or Edge found (install Chrome or Edge, or set CHROMIUM_PATH)';
    case 'package':
      return apt ? packages() : `${aptReason}: Debian's file, unzip and strace check the .vsix files and the network`;
    case 'bench':
      return apt ? packages() : `${aptReason}: its GPT-2-sized model is generated with Debian's python3-torch`;
    case 'e2e':
      return apt
        ? packages()
        : `${aptReason}: code-server and its native modules are installed with apt/dpkg (on macOS/Windows the electron stage runs the in-editor suite instead)`;
    case 'electron':
      return platform === 'linux' ? 'Linux runs the in-editor suite in code-server (the e2e stage)' : null;
    default:
      return null;
  }
}

/** Per stage, its Debian packages that are not installed (checked with dpkg, never installed from here). */
function missingByStage() {
  return Object.fromEntries(Object.keys(SYSTEM_PACKAGES.stages).map((stage) => [stage, missingPackages(packagesOf([stage]))]));
}

/** A browser for the webview stage: CHROMIUM_PATH, Debian's Chromium where apt is, else an installed Chrome or
 * Edge that playwright-core finds by channel (test/webview/harness.ts launches the same way). */
async function findBrowser(missing) {
  if (process.env.CHROMIUM_PATH) return true;
  if (hasApt) return !missing.webview?.length;
  const { chromium } = await import('playwright-core');
  for (const channel of ['chrome', 'msedge']) {
    try {
      await (await chromium.launch({ channel, headless: true })).close();
      return true;
    } catch {
      /* not installed */
    }
  }
  return false;
}

const stages = [
  ['build', 'npm', ['run', '-s', 'build']],
  ['typecheck', 'npm', ['run', '-s', 'typecheck']],
  // ESLint (zero warnings) and Prettier's check: seconds, so a style or lint failure stops the run before the suites.
  ['lint', 'npm', ['run', '-s', 'lint:ci']],
  ['unit', 'npm', ['run', '-s', 'test:unit']],
  ['webview', 'npm', ['run', '-s', 'test:webview']],
  ['package', 'npm', ['run', '-s', 'test:package']],
  ['bench', 'npm', ['run', '-s', 'test:bench']],
  ['e2e', 'npm', ['run', '-s', 'test:e2e']],
  ['electron', 'npm', ['run', '-s', 'test:electron']],
];

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const missing = hasApt ? missingByStage() : {};
  const facts = { platform: process.platform, hasApt, missing, browser: await findBrowser(missing) };
  if (process.env.HEADLIGHT_SKIP_ELECTRON === '1') facts.skipElectron = true;
  const only = process.argv
    .find((a) => a.startsWith('--only='))
    ?.slice('--only='.length)
    .split(',');
  const skipped = [];
  for (const [name] of stages) {
    const why =
      only && !only.includes(name)
        ? 'not selected (--only)'
        : name === 'electron' && facts.skipElectron && !skipReason(name, facts)
          ? 'HEADLIGHT_SKIP_ELECTRON=1'
          : skipReason(name, facts);
    if (why) skipped.push([name, why]);
  }
  for (const [name, why] of skipped) console.log(`npm test: skipping stage "${name}": ${why}`);
  if (missing.unit?.length && !skipped.some(([n]) => n === 'unit')) {
    console.log(`npm test: the unit stage's Python helper tests will say they are skipped: ${missingSentence(missing.unit)}`);
  }
  let passed = 0,
    failed = 0,
    pending = 0;
  const t0 = Date.now();
  const times = [];
  const skippedLine = () => (skipped.length ? `; skipped: ${skipped.map(([n]) => n).join(', ')} (reasons above)` : '');
  for (const [name, cmd, args] of stages) {
    if (skipped.some(([n]) => n === name)) continue;
    const s0 = Date.now();
    const code = await new Promise((resolve) => {
      const p = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], shell: process.platform === 'win32' });
      p.stdout.on('data', (d) => {
        process.stdout.write(d);
        // mocha's spec reporter: "  123 passing (4s)", "  2 failing", "  1 pending" (colour codes stripped)
        for (const line of stripVTControlCharacters(String(d)).split('\n')) {
          const m = /^\s+(\d+) (passing|failing|pending)\b/.exec(line);
          if (m) {
            if (m[2] === 'passing') passed += Number(m[1]);
            else if (m[2] === 'failing') failed += Number(m[1]);
            else pending += Number(m[1]);
          }
        }
      });
      p.on('close', resolve);
    });
    times.push(`${name} ${((Date.now() - s0) / 1000).toFixed(0)} s`);
    if (code !== 0) {
      console.log(`\nstage "${name}" failed (exit ${code}); stages: ${times.join(', ')}${skippedLine()}`);
      console.log(`${passed} passed, ${Math.max(failed, 1)} failed${pending ? `, ${pending} skipped` : ''}`);
      process.exit(typeof code === 'number' && code !== 0 ? code : 1);
    }
  }
  console.log(`\nstages: ${times.join(', ')}; total ${((Date.now() - t0) / 1000).toFixed(0)} s${skippedLine()}`);
  for (const [name, why] of skipped) console.log(`  not run here: ${name} — ${why}`);
  console.log(`${passed} passed, ${failed} failed${pending ? `, ${pending} skipped` : ''}`);
}
