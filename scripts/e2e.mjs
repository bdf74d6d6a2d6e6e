// End-to-end tests in a real VS Code: checks the Debian packages they need (Chromium, code-server's, the
// Python helper's; installed by the set-up, scripts/install-system-deps.sh, never from here), makes sure
// code-server is there (installed from the npm registry into .code-server/, once), then runs the mocha e2e suite.
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { missingPackages, missingSentence, packagesOf } from './systemDeps.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const t0 = Date.now();
fs.rmSync(path.join(root, '.e2e'), { recursive: true, force: true }); // last run's profiles and logs
fs.rmSync(path.join(root, 'test/e2e/artifacts'), { recursive: true, force: true });
const missing = missingPackages(packagesOf(['e2e']));
if (missing.length) {
  console.error(`the e2e suite needs ${missingSentence(missing)}.`);
  process.exit(1);
}
execFileSync('bash', [path.join(root, 'scripts/install-code-server.sh')], { stdio: 'inherit' });
const args = ['mocha', '--config', 'test/e2e/.mocharc.json', ...process.argv.slice(2)];
const r = spawnSync('npx', args, { cwd: root, stdio: 'inherit', env: { ...process.env, npm_config_yes: 'true' } });
console.log(`e2e finished in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
process.exit(r.status ?? 1);
