// The Debian packages each part of the project needs (scripts/system-packages.json) and which of them are
// missing here. The set-up (scripts/install-system-deps.sh) installs them; `npm test` and the e2e runner only
// check and name the set-up command, never install.
//   node scripts/systemDeps.mjs missing [GROUP|STAGE …]   the missing packages, one a line (all groups by default)
//   node scripts/systemDeps.mjs check STAGE …             exit 1 with the set-up command when any is missing
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SYSTEM_PACKAGES = JSON.parse(fs.readFileSync(path.join(here, 'system-packages.json'), 'utf8'));

/** What installs the missing packages (it uses sudo when not run as root). */
export const SETUP_COMMAND = 'bash scripts/install-system-deps.sh';

/** The packages of the named groups or stages (every group when none is named), each once. */
export function packagesOf(names = []) {
  const { groups, stages } = SYSTEM_PACKAGES;
  const groupNames = names.length
    ? names.flatMap((n) => {
        if (stages[n]) return stages[n];
        if (groups[n]) return [n];
        throw new Error(`no package group or stage "${n}" in scripts/system-packages.json`);
      })
    : Object.keys(groups);
  return [...new Set(groupNames.flatMap((g) => groups[g].packages))];
}

/** Those of `packages` that dpkg does not list as installed (all of them when dpkg-query cannot run). */
export function missingPackages(packages) {
  if (!packages.length) return [];
  const r = spawnSync('dpkg-query', ['-W', '-f=${Package} ${Status}\\n', ...packages], { encoding: 'utf8' });
  if (r.error) return [...packages];
  const installed = new Set(
    r.stdout
      .split('\n')
      .filter((l) => l.endsWith(' install ok installed'))
      .map((l) => l.split(' ')[0]),
  );
  return packages.filter((p) => !installed.has(p));
}

/** The sentence a stage or script says when packages are missing. */
export const missingSentence = (missing) => `Debian packages missing: ${missing.join(', ')}; \`${SETUP_COMMAND}\` installs them`;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [cmd, ...names] = process.argv.slice(2);
  if (cmd === 'missing') {
    for (const p of missingPackages(packagesOf(names))) console.log(p);
  } else if (cmd === 'check') {
    const missing = missingPackages(packagesOf(names));
    if (missing.length) {
      console.error(`${names.join(', ') || 'this'} needs ${missingSentence(missing)}.`);
      process.exit(1);
    }
  } else {
    console.error('usage: node scripts/systemDeps.mjs missing [GROUP|STAGE …] | check STAGE …');
    process.exit(2);
  }
}
