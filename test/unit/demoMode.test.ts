import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

// `npm run demo` picks its editor per machine (scripts/demo.mjs): code-server on Linux with apt, the
// developer's VS Code (`code --extensionDevelopmentPath`) elsewhere, a clear message when neither exists.
type Facts = { platform: string; hasApt: boolean; hasCode: boolean };
const load = async () =>
  (await import(pathToFileURL(path.resolve(__dirname, '..', '..', 'scripts', 'demo.mjs')).href)) as {
    demoMode: (f: Facts) => { mode: string; message?: string };
  };

describe('npm run demo: which editor', () => {
  it('Linux with apt keeps code-server (also when VS Code is installed)', async () => {
    const { demoMode } = await load();
    assert.equal(demoMode({ platform: 'linux', hasApt: true, hasCode: true }).mode, 'code-server');
  });
  it('macOS and Windows with `code` on PATH open VS Code with the extension under development', async () => {
    const { demoMode } = await load();
    for (const platform of ['darwin', 'win32']) assert.equal(demoMode({ platform, hasApt: false, hasCode: true }).mode, 'vscode');
    assert.equal(demoMode({ platform: 'linux', hasApt: false, hasCode: true }).mode, 'vscode');
  });
  it('without either, a message says what to install', async () => {
    const { demoMode } = await load();
    const mac = demoMode({ platform: 'darwin', hasApt: false, hasCode: false });
    assert.equal(mac.mode, 'none');
    assert.match(mac.message!, /VS Code .*`code` command on PATH on macOS.*Shell Command: Install 'code' command in PATH/);
    assert.match(demoMode({ platform: 'win32', hasApt: false, hasCode: false }).message!, /on Windows/);
  });
});
