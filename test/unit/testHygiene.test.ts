import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

// Tests wait on conditions: no fixed sleeps, no retries (a flaky test is a bug to find, not to retry), and
// no clock: speed is the bench's to measure, a test asserts what happens, not how fast. And no test skips
// itself because a file is missing: a package or checkout that dropped a bundled model must fail, not stay green.
const ROOT = path.resolve(__dirname, '..', '..');
const SELF = path.relative(ROOT, __filename).split(path.sep).join('/');
const tracked = (re: RegExp) =>
  execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f && re.test(f) && f !== SELF && fs.existsSync(path.join(ROOT, f)));
const hits = (files: string[], re: RegExp) =>
  files.flatMap((f) =>
    fs
      .readFileSync(path.join(ROOT, f), 'utf8')
      .split('\n')
      .map((l, i) => (re.test(l) ? `${f}:${i + 1}: ${l.trim()}` : ''))
      .filter(Boolean),
  );

describe('test hygiene', () => {
  it('the e2e and webview suites never sleep a fixed time', () => {
    // (harness.ts' `until` polls a condition every 50 ms: a condition wait, not a sleep.)
    assert.deepEqual(hits(tracked(/^test\/(e2e|webview|hostile)\/.*\.ts$/), /waitForTimeout\(/), []);
    assert.deepEqual(hits(tracked(/^test\/.*\.e2e\.ts$|^test\/webview\/.*\.test\.ts$/), /setTimeout\(\w+, \d+\)/), []);
  });

  it('the unit and hostile suites never sleep a fixed time', () => {
    assert.deepEqual(hits(tracked(/^test\/(unit|hostile)\/.*\.ts$/), /setTimeout\(\w+, \d+\)|setTimeout\(\(\) => \w+\(\), \d+\)|setInterval\(/), []);
  });

  it('no test reads the clock to judge speed', () => {
    // (A file date in the future, `new Date(Date.now() + …)`, is not a timing. The webview suite prints the
    // page's timings, never asserting them: it is left to its own rule above.)
    const clock = hits(tracked(/^test\/(unit|hostile|e2e)\/.*\.(test|e2e)\.ts$/), /\b(Date|performance)\.now\(\)/);
    assert.deepEqual(
      clock.filter((l) => !/new Date\(Date\.now\(\)/.test(l)),
      [],
    );
  });

  it('no mocha config or test retries', () => {
    assert.deepEqual(hits(tracked(/(^|\/)\.mocharc\.json$/), /"retries"/), []);
    assert.deepEqual(hits(tracked(/^test\/.*\.ts$/), /\.retries\(/), []);
  });

  it('no test skips itself on a missing file', () => {
    // A skip may depend on the platform (process.platform, or whether Linux's proc filesystem exists), never on a project file.
    const skips = hits(tracked(/^test\/.*\.ts$/), /existsSync\(.*(\?\s*(describe|it)\b|\.skip\b|this\.skip\(\))/);
    assert.deepEqual(
      skips.filter((l) => !/existsSync\('\/proc\//.test(l)),
      [],
    );
  });
});
