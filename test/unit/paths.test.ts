import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

// A fresh clone on any machine must build and test with nothing but itself: no source, test or script
// names an absolute path on the machine it was written on, or a relative path that leaves the repository.
//
// The rule, over every tracked file that is code or build configuration (`git ls-files`):
// - an absolute POSIX path — `/` followed by a top-level folder (work, root, home, tmp, usr, … — TOP
//   below) where a path can start (line start, quote, space, `(`, `=`, `,`) — is refused unless the
//   exact path is in ALLOWED below;
// - a home path (`~/…`), a Windows drive path (`C:\…`, `C:/…`) and a UNC path (`\\server\…`) are refused
//   unless in ALLOWED;
// - a relative path literal (`'../…'`) that, resolved against the file's own folder, lands outside the
//   repository is refused, and so is any mention of the sibling `../shared` folder.
// Markdown, model cards and binary data are not scanned: they describe where things came from, they
// are not run.
const ROOT = path.resolve(__dirname, '..', '..');
const SELF = path.relative(ROOT, __filename).split(path.sep).join('/');

// Absolute paths that are allowed, each with why. Keep this short: a new entry needs a reason that holds
// on every machine the project supports.
const ALLOWED: { path: string; why: string; files?: RegExp }[] = [
  { path: '/usr/bin/env', why: 'shebang lines (#!/usr/bin/env node|bash): the portable way to find an interpreter' },
  {
    path: '/usr/bin/python3',
    why: "Debian's python3 with python3-torch/python3-onnx; the model, fixture and bench generators need it (not run by the tests unless a bench model is missing)",
  },
  { path: '/usr/bin/chromium', why: "Debian's Chromium, which playwright-core drives (scripts/install-system-deps.sh installs it)" },
  { path: '/usr/bin/chromium-browser', why: 'the name Ubuntu gives the same Chromium' },
  { path: '/dev/null', why: 'shell redirections in scripts' },
  { path: '/var/tmp', why: 'where scripts/test-isolated.sh puts its clone: outside every folder it hides', files: /^scripts\/test-isolated\.sh$/ },
  { path: '/tmp', why: 'scripts/test-isolated.sh hides /tmp behind an empty tmpfs', files: /^scripts\/test-isolated\.sh$/ },
  {
    path: '/proc/self/fd',
    why: 'counts open file descriptors on Linux; the test skips itself where /proc does not exist',
    files: /^test\/unit\/dump\/malformed\.test\.ts$/,
  },
  {
    path: '/dev/nvidiactl',
    why: 'only tested for existence: whether an NVIDIA driver is loaded decides the outcome a cuda run must have (never opened)',
    files: /^test\/unit\/engine\/decoders\.test\.ts$/,
  },
  { path: '/etc/passwd', why: 'hostile-input fixtures: a path the engine and protocol must refuse, never read', files: /^test\/(unit|hostile)\// },
  {
    path: '/etc/hostname',
    why: 'a symlink target the engine must refuse as external data leaving the model folder',
    files: /^test\/unit\/engine\/refusals\.test\.ts$/,
  },
  { path: '/usr/share/doc/nodejs/api', why: "training-corpus source: the Node.js docs Debian's nodejs package installs", files: /^scripts\/models\// },
  { path: '/usr/lib/python3.11', why: "training-corpus source: Python's standard library from Debian", files: /^scripts\/models\// },
  { path: '/usr/share/common-licenses', why: "training-corpus source: Debian's license texts", files: /^scripts\/models\// },
  { path: 'C:\\\\Users\\\\me', why: 'Windows-shaped fixtures: strings resolved with path.win32, never opened', files: /^test\/unit\/.*windows.*\.test\.ts$/ },
  { path: 'D:\\\\models', why: 'Windows-shaped fixtures: strings resolved with path.win32, never opened', files: /^test\/unit\/.*windows.*\.test\.ts$/ },
  { path: 'C:/Users/me', why: 'Windows-shaped fixtures: strings resolved with path.win32, never opened', files: /^test\/unit\/.*windows.*\.test\.ts$/ },
  {
    path: '\\\\\\\\server\\\\share',
    why: 'Windows-shaped fixtures: a UNC path resolved with path.win32, never opened',
    files: /^test\/unit\/.*windows.*\.test\.ts$/,
  },
  { path: 'C:\\\\models', why: 'Windows-shaped fixtures: strings resolved with path.win32, never opened', files: /^test\/unit\/.*windows.*\.test\.ts$/ },
  { path: '/home/me/project', why: 'the same resolver with path.posix: a fixture string, never opened', files: /^test\/unit\/.*windows.*\.test\.ts$/ },
];

const SCANNED = /\.(ts|mts|cts|js|mjs|cjs|sh|py)$|(^|\/)(package\.json|tsconfig\.json|\.mocharc\.json|\.vscodeignore|\.npmrc|\.gitignore)$|^\.ci\//;
const TOP = 'work|root|home|Users|tmp|var|usr|opt|etc|mnt|srv|media|private|proc|dev|sys|shared|Volumes|nix|snap|run';
// The top folder must end where it is named: a folder called workspace (inside a test's own workspace) is not the top folder work.
const ABS = new RegExp(`(?:^|[\\s'"\`(=,\\[])(/(?:${TOP})(?![\\w.-])(?:/[^\\s'"\`),;\\]*?]*)?)`, 'g');
const HOME = /(?:^|[\s'"`(=:,[])(~\/[^\s'"`),;\]]*)/g;
const WIN = /(?:^|[^A-Za-z0-9_\\])([A-Za-z]:(?:\\\\|\\|\/)[^\s'"`),;\]]*|\\\\\\\\[A-Za-z0-9_.-]+\\\\[^\s'"`),;\]]*)/g;
const REL = /['"`]((?:\.\.\/)+[^'"`\s]*)['"`]/g;

function allowed(found: string, file: string): boolean {
  return ALLOWED.some(
    (a) =>
      (found === a.path || found.startsWith(a.path + '/') || found.startsWith(a.path + '\\') || found.startsWith(a.path + '*')) &&
      (!a.files || a.files.test(file)),
  );
}

export function scan(file: string, text: string): string[] {
  const bad: string[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    const at = `${file}:${i + 1}`;
    for (const re of [ABS, HOME, WIN]) {
      for (const m of line.matchAll(re)) if (!allowed(m[1], file)) bad.push(`${at}: ${m[1]}`);
    }
    if (/\.\.[\\/]shared\b/.test(line)) bad.push(`${at}: ../shared`);
    for (const m of line.matchAll(REL)) {
      const target = path.resolve(ROOT, path.dirname(file), m[1]);
      if (target !== ROOT && !target.startsWith(ROOT + path.sep)) bad.push(`${at}: ${m[1]} (leaves the repository)`);
    }
  });
  return bad;
}

describe('no absolute paths or paths outside the repository in sources, tests and scripts', () => {
  it('the scanner catches what it should and lets through what it should', () => {
    const f = 'test/unit/x.test.ts';
    // The samples are put together here, so this file names no absolute path itself.
    const abs = (...parts: string[]) => '/' + parts.join('/');
    assert.equal(scan(f, `readFileSync('${abs('work', 'shared', 'texts', 'a.txt')}')`).length, 1);
    assert.equal(scan(f, "value.endsWith('/workspace/')").length, 0);
    assert.equal(scan(f, `const p = "${abs('root', '.cache', 'x')}";`).length, 1);
    assert.equal(scan(f, `cd ${abs('home', 'me', 'proj')}`).length, 1);
    assert.equal(scan(f, "const t = '~/models/m.onnx';").length, 1);
    assert.equal(scan(f, "const w = 'C:\\\\Users\\\\x\\\\m.onnx';").length, 1);
    assert.equal(scan(f, "path.join(ROOT, '../shared/x')").length, 1);
    assert.equal(scan(f, "path.resolve(__dirname, '../../../../outside')").length, 1);
    assert.equal(scan(f, "path.resolve(__dirname, '../../media/models')").length, 0);
    assert.equal(scan(f, "execFileSync('/usr/bin/python3', [])").length, 0);
    assert.equal(scan(f, 'x = "http://www.w3.org/2000/svg"; a/usr/b; 1/tmp').length, 0);
    assert.equal(scan('scripts/a.sh', 'dpkg -s x >/dev/null 2>&1').length, 0);
  });

  it('every tracked source, test and script file is clean', () => {
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' })
      .split('\0')
      .filter((f) => f && SCANNED.test(f) && f !== SELF && f !== 'package-lock.json');
    assert.ok(files.length > 50, `only ${files.length} files listed`);
    const bad: string[] = [];
    for (const f of files) {
      const abs = path.join(ROOT, f);
      if (!fs.existsSync(abs)) continue; // deleted in the working tree, not yet committed
      bad.push(...scan(f, fs.readFileSync(abs, 'utf8')));
    }
    assert.deepEqual(bad, []);
  });
});
