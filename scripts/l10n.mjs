// The English l10n bundle: every vscode.l10n.t('…') message in src/ (host strings) and the webview's
// string table (webview strings the host passes in), written to l10n/bundle.l10n.json. Translators add
// l10n/bundle.l10n.<locale>.json beside it (and package.nls.<locale>.json for the contributions).
// `node scripts/l10n.mjs` writes it; `--check` fails when it is out of date (test/unit/host/contributions.test.ts).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'l10n', 'bundle.l10n.json');

export function collect() {
  const messages = new Set();
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts')) {
        const src = fs.readFileSync(p, 'utf8');
        for (const m of src.matchAll(/l10n\.t\(\s*'((?:[^'\\]|\\.)*)'/g)) messages.add(m[1].replace(/\\'/g, "'").replace(/\\\\/g, '\\'));
      }
    }
  };
  walk(path.join(root, 'src'));
  // The webview's table (src/protocol/strings.ts WEBVIEW_STRINGS): its English values are the bundle's keys.
  const proto = fs.readFileSync(path.join(root, 'src', 'protocol', 'strings.ts'), 'utf8');
  const table = /WEBVIEW_STRINGS = \{([\s\S]*?)\} as const/.exec(proto)?.[1] ?? '';
  for (const m of table.matchAll(/:\s*'((?:[^'\\]|\\.)*)'/g)) messages.add(m[1].replace(/\\'/g, "'"));
  const bundle = {};
  for (const m of [...messages].sort()) bundle[m] = m;
  return JSON.stringify(bundle, null, 2) + '\n';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = collect();
  if (process.argv.includes('--check')) {
    const now = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
    if (now !== text) {
      console.error('l10n/bundle.l10n.json is out of date: run node scripts/l10n.mjs');
      process.exit(1);
    }
  } else {
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, text);
    console.log(`wrote ${Object.keys(JSON.parse(text)).length} messages to l10n/bundle.l10n.json`);
  }
}
