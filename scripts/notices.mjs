// dist/THIRD-PARTY-NOTICES.txt: every npm package whose code esbuild put into a bundle (the builds' metafile
// inputs) or whose file the build copies, with its version, license and license file. The .vsix ships no dependency's folder, only the
// bundles (scripts/build.mjs), so their notices travel here.
import fs from 'node:fs';
import path from 'node:path';

const LICENSE_FILE = /^(licen[cs]e|copying)(\.(md|txt))?$/i;

/** The package folders that hold the given files (paths relative to the working directory or absolute). */
function packagesOf(files) {
  const dirs = new Set();
  for (const f of files.map((p) => p.split(path.sep).join('/'))) {
    const at = f.lastIndexOf('node_modules/');
    if (at < 0) continue;
    const rest = f.slice(at + 'node_modules/'.length).split('/');
    dirs.add(path.resolve(f.slice(0, at), 'node_modules', ...rest.slice(0, rest[0].startsWith('@') ? 2 : 1)));
  }
  return [...dirs];
}

export function writeNotices(files, file) {
  const entries = packagesOf(files)
    .map((dir) => {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
      const licenseFile = fs.readdirSync(dir).find((f) => LICENSE_FILE.test(f));
      const text = licenseFile
        ? fs.readFileSync(path.join(dir, licenseFile), 'utf8').trim()
        : `(the package ships no license file; its package.json declares ${pkg.license})`;
      const repo = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
      return { name: pkg.name, text: `${pkg.name} ${pkg.version} — ${pkg.license}${repo ? ` — ${repo}` : ''}\n\n${text}\n` };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  const head = 'Headlight bundles code from these npm packages into dist/ (scripts/build.mjs); their notices follow.\n';
  fs.writeFileSync(file, [head, ...entries.map((e) => e.text)].join(`\n${'-'.repeat(78)}\n\n`));
  return entries.length;
}
