import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// Headlight never phones home: a real `headlight explain` (the CLI: engine worker, onnxruntime-node,
// tokenizers, analysis worker) runs under `strace -f` and every socket it connects or sends to must be a
// Unix socket or loopback. Linux only (Debian's strace; scripts/install-system-deps.sh installs it).
const ROOT = path.resolve(__dirname, '..', '..');

export interface Peer {
  family: string;
  address: string;
  line: string;
}

/** Every socket address in strace's connect/sendto lines (AF_INET / AF_INET6 / AF_UNIX / others). */
export function peers(trace: string): Peer[] {
  const out: Peer[] = [];
  for (const line of trace.split('\n')) {
    if (!/\b(connect|sendto|sendmsg)\(/.test(line)) continue;
    for (const m of line.matchAll(/sa_family=(AF_[A-Z0-9]+)([^}]*)/g)) {
      const [, family, rest] = m;
      const addr =
        /inet_addr\("([^"]+)"\)/.exec(rest)?.[1] ?? /inet_pton\(AF_INET6, "([^"]+)"/.exec(rest)?.[1] ?? /sun_path=("[^"]*"|@"[^"]*")/.exec(rest)?.[1] ?? '';
      out.push({ family, address: addr, line: line.trim() });
    }
  }
  return out;
}

/** Loopback (127.0.0.0/8, ::1, ::ffff:127.x) or not an internet socket at all (AF_UNIX, AF_NETLINK). */
export function isLocal(p: Peer): boolean {
  if (p.family === 'AF_INET') return /^127\./.test(p.address);
  if (p.family === 'AF_INET6') return p.address === '::1' || /^::ffff:127\./i.test(p.address);
  return p.family === 'AF_UNIX' || p.family === 'AF_LOCAL' || p.family === 'AF_NETLINK';
}

function strace(args: string[], env: NodeJS.ProcessEnv, tmp: string, name: string): { status: number | null; stderr: string; trace: string } {
  const file = path.join(tmp, `${name}.strace`);
  const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=connect,sendto,sendmsg,execve', '-o', file, ...args], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.error) throw new Error(`strace could not run (${r.error.message}): run scripts/install-system-deps.sh (Debian package "strace")`);
  return { status: r.status, stderr: r.stderr, trace: fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '' };
}

(process.platform === 'linux' ? describe : describe.skip)('no network: a real explain under strace (Linux)', function () {
  this.timeout(180_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'headlight-strace-'));
  const home = path.join(tmp, 'home');
  fs.mkdirSync(home);
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_CACHE_HOME: path.join(home, '.cache') };
  delete env.ORT_DISABLE_TELEMETRY; // the CLI must set it itself
  // onnxruntime stays silent when it sees CI=true (measured); check what a user's machine would do.
  for (const k of ['CI', 'CONTINUOUS_INTEGRATION', 'GITHUB_ACTIONS', 'TF_BUILD', 'BUILD_ID', 'BUILD_NUMBER', 'JENKINS_URL', 'GITLAB_CI']) delete env[k];
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('the parser reads strace lines of each family', () => {
    const ps = peers(
      [
        '12 connect(19, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("20.42.65.92")}, 16) = -1 ENETUNREACH',
        '12 connect(20, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "2603:1030::1", &sin6_addr), sin6_scope_id=0}, 28) = -1 ENETUNREACH',
        '13 connect(5, {sa_family=AF_UNIX, sun_path=@"headlight-test"}, 110) = 0',
        '13 sendto(6, "x", 1, 0, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("127.0.0.53")}, 16) = 1',
        '13 sendto(6, "x", 1, MSG_NOSIGNAL, NULL, 0) = 1',
        '14 connect(7, {sa_family=AF_INET6, sin6_port=htons(80), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = 0',
      ].join('\n'),
    );
    assert.deepEqual(
      ps.map((p) => [p.family, p.address, isLocal(p)]),
      [
        ['AF_INET', '20.42.65.92', false],
        ['AF_INET6', '2603:1030::1', false],
        ['AF_UNIX', '@"headlight-test"', true],
        ['AF_INET', '127.0.0.53', true],
        ['AF_INET6', '::1', true],
      ],
    );
  });

  it('control: a process that connects out is caught (TEST-NET-1 address, never reachable)', () => {
    const r = strace(
      [
        process.execPath,
        '-e',
        "const s = require('node:net').connect(9, '192.0.2.1'); s.on('error', () => process.exit(0)); s.on('connect', () => process.exit(0)); setTimeout(() => process.exit(0), 2000);",
      ],
      env,
      tmp,
      'control',
    );
    assert.match(r.trace, /execve\(/, 'strace traced the process');
    const remote = peers(r.trace).filter((p) => !isLocal(p));
    assert.deepEqual(
      remote.map((p) => p.address),
      ['192.0.2.1'],
    );
  });

  for (const [label, extra] of [
    ['headlight-mini (default model)', []],
    ['tiny-bert, with --report', ['--model', path.join(ROOT, 'media', 'models', 'tiny-bert'), '--report', path.join(tmp, 'report.html')]],
  ] as const) {
    it(`headlight explain on ${label}: no socket but Unix and loopback`, () => {
      const out = path.join(tmp, `${label.split(' ')[0]}.json`);
      const r = strace(
        [process.execPath, path.join(ROOT, 'bin', 'headlight.js'), 'explain', path.join(ROOT, 'samples', 'prose.txt'), '--json', out, ...extra],
        env,
        tmp,
        label.split(' ')[0],
      );
      assert.equal(r.status, 0, r.stderr);
      assert.ok(JSON.parse(fs.readFileSync(out, 'utf8')).heads.length > 0, 'the explain ran');
      assert.match(r.trace, /execve\(/, 'strace traced the process');
      const all = peers(r.trace);
      const remote = all.filter((p) => !isLocal(p));
      console.log(
        `      strace: ${r.trace.split('\n').filter(Boolean).length} lines, ${all.length} socket addresses (${[...new Set(all.map((p) => p.family))].join(', ') || 'none'}), ${remote.length} non-local`,
      );
      assert.deepEqual(
        remote.map((p) => p.line),
        [],
      );
    });
  }
});
