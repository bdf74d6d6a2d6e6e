// `npm run demo`: a real VS Code with Headlight loaded and sample files open.
// - Linux with apt (and CI): code-server on 127.0.0.1, installed into .code-server/ on first use (with the
//   Debian packages it needs: scripts/install-system-deps.sh code-server).
// - macOS, Windows (or Linux without apt) with VS Code's `code` on PATH: that VS Code, with
//   --extensionDevelopmentPath on this checkout and the sample workspace.
// - otherwise: a message saying what to install.
// Everything it writes lives under .demo/ (git-ignored); Ctrl-C stops the editor and its child processes.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Which editor the demo starts here. Pure: platform facts in, a mode (or what to install) out. */
export function demoMode({ platform, hasApt, hasCode }) {
  if (platform === 'linux' && hasApt) return { mode: 'code-server' };
  if (hasCode) return { mode: 'vscode' };
  return {
    mode: 'none',
    message:
      platform === 'linux'
        ? 'npm run demo needs either Debian/Ubuntu packages (apt, for code-server) or VS Code with its `code` command on PATH. Install VS Code (https://code.visualstudio.com) and run `npm run demo` again.'
        : `npm run demo needs VS Code with its \`code\` command on PATH on ${platform === 'darwin' ? 'macOS' : platform === 'win32' ? 'Windows' : platform}. ` +
          `Install VS Code (https://code.visualstudio.com)${platform === 'darwin' ? ', run "Shell Command: Install \'code\' command in PATH" from its command palette' : ''} and run \`npm run demo\` again.`,
  };
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
if (process.argv[1] === fileURLToPath(import.meta.url)) main();

function main() {
  const win = process.platform === 'win32';
  const hasApt = process.platform === 'linux' && spawnSync('dpkg', ['--version'], { stdio: 'ignore' }).status === 0;
  const hasCode = !(process.platform === 'linux' && hasApt) && spawnSync('code', ['--version'], { stdio: 'ignore', shell: win }).status === 0;
  const { mode, message } = demoMode({ platform: process.platform, hasApt, hasCode });
  if (mode === 'none') {
    console.error(message);
    process.exit(2);
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const port = Number(process.env.PORT || 3111);
  const demo = path.join(root, '.demo');
  const home = path.join(demo, 'home'),
    userData = path.join(demo, 'user-data'),
    extensions = path.join(demo, 'extensions');
  const ws = path.join(demo, 'workspace');
  for (const d of [home, path.join(userData, 'User'), extensions, ws]) fs.mkdirSync(d, { recursive: true });
  for (const f of fs.readdirSync(path.join(root, 'samples'))) fs.copyFileSync(path.join(root, 'samples', f), path.join(ws, f));
  fs.writeFileSync(
    path.join(ws, 'README.md'),
    [
      '# Headlight demo',
      '',
      'Select some text in any file here (try `repeats.txt` or `code.py`), right-click and choose **Explain Attention**',
      '(or press Ctrl+K Ctrl+G; Cmd+K Cmd+G on macOS). Then hover tokens in the panel, open the Heads tab, and run **Headlight: Find Head…**',
      'from the command palette (F1) with "induction" or "previous".',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(
    path.join(userData, 'User', 'settings.json'),
    JSON.stringify(
      {
        'workbench.startupEditor': 'readme',
        'telemetry.telemetryLevel': 'off',
        'update.mode': 'none',
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'security.workspace.trust.enabled': false,
        'git.openRepositoryInParentFolders': 'never',
      },
      null,
      1,
    ),
  );

  if (mode === 'vscode') {
    // The developer's own VS Code: a window with this checkout as the extension under development (its own
    // user-data dir under .demo/, so the demo neither reads nor changes the user's settings and extensions).
    const args = [
      `--extensionDevelopmentPath=${root}`,
      '--new-window',
      '--user-data-dir',
      userData,
      '--extensions-dir',
      extensions,
      ws,
      path.join(ws, 'README.md'),
    ];
    console.log(`Starting VS Code with Headlight under development on ${ws}`);
    const r = spawnSync(
      'code',
      args.map((a) => (win ? `"${a}"` : a)),
      { stdio: 'inherit', shell: win, env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' } },
    );
    process.exit(r.status ?? 1);
  }

  // The demo sets itself up: the Debian packages code-server needs (the set-up script, its code-server group),
  // then code-server itself into .code-server/.
  execFileSync('bash', [path.join(root, 'scripts/install-system-deps.sh'), 'code-server'], { stdio: 'inherit' });
  execFileSync('bash', [path.join(root, 'scripts/install-code-server.sh')], { stdio: 'inherit' });
  const link = path.join(extensions, `${pkg.publisher}.${pkg.name}-${pkg.version}`);
  fs.rmSync(link, { force: true, recursive: true });
  fs.symlinkSync(root, link);

  const env = {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_DATA_HOME: path.join(home, '.local/share'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    ORT_DISABLE_TELEMETRY: '1',
  };
  const bin = path.join(root, '.code-server', 'node_modules', '.bin', 'code-server');
  // detached: the file watcher and extension host are its children; Ctrl-C must take the whole group down
  const cs = spawn(
    bin,
    [
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--auth',
      'none',
      '--user-data-dir',
      userData,
      '--extensions-dir',
      extensions,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      ws,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env },
  );
  const logFile = fs.createWriteStream(path.join(demo, 'code-server.log'));
  cs.stdout.pipe(logFile);
  cs.stderr.pipe(logFile);
  const onData = (d) => {
    if (!/HTTP server listening/.test(String(d))) return;
    console.log(`\nHeadlight demo is running in VS Code (code-server ${'4.100.3'}):\n\n    http://127.0.0.1:${port}/?folder=${encodeURIComponent(ws)}\n`);
    console.log('Open that address in a browser. Log: .demo/code-server.log. Press Ctrl-C to stop.');
    cs.stdout.off('data', onData);
    cs.stderr.off('data', onData);
  };
  cs.stdout.on('data', onData);
  cs.stderr.on('data', onData);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping code-server…');
    try {
      process.kill(-cs.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
    setTimeout(() => {
      try {
        process.kill(-cs.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      process.exit(0);
    }, 3000).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  cs.on('exit', (code) => {
    console.log(`code-server exited (${code ?? 'signal'})`);
    process.exit(stopping ? 0 : (code ?? 1));
  });
}
