import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

// `npm test` decides per stage whether this machine can run it, and says why when not (scripts/test.mjs).
type Facts = { platform: string; hasApt: boolean; browser: boolean };
const load = async () => (await import(pathToFileURL(path.resolve(__dirname, '..', '..', 'scripts', 'test.mjs')).href)) as { skipReason(stage: string, f: Facts): string | null };

describe('npm test stages per platform', () => {
  it('Debian: every stage but electron (code-server is the in-editor suite there)', async () => {
    const { skipReason } = await load();
    const f = { platform: 'linux', hasApt: true, browser: true };
    for (const s of ['build', 'typecheck', 'unit', 'webview', 'package', 'bench', 'e2e']) assert.equal(skipReason(s, f), null, s);
    assert.match(skipReason('electron', f)!, /code-server/);
  });

  it('macOS and Windows: unit, webview with a browser and electron run; the apt stages are skipped with a reason', async () => {
    const { skipReason } = await load();
    for (const platform of ['darwin', 'win32']) {
      const f = { platform, hasApt: false, browser: true };
      for (const s of ['unit', 'webview', 'electron']) assert.equal(skipReason(s, f), null, `${platform} ${s}`);
      for (const s of ['package', 'bench', 'e2e']) assert.match(skipReason(s, f)!, new RegExp(`needs Linux with apt \\(this is ${platform}\\)`), `${platform} ${s}`);
      assert.match(skipReason('webview', { ...f, browser: false })!, /Chrome or Edge/);
    }
  });

  it('Linux without apt (e.g. Fedora): the apt stages say so', async () => {
    const { skipReason } = await load();
    assert.match(skipReason('e2e', { platform: 'linux', hasApt: false, browser: false })!, /dpkg\/apt-get not found/);
  });
});
