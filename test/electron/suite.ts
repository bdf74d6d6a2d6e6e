// Runs inside a downloaded VS Code's extension host (see scripts/testElectron.mjs).
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import Mocha from 'mocha';
import type { Controller } from '../../src/host/controller';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 120_000, color: false });
  mocha.suite.emit('pre-require', globalThis, 'suite', mocha);
  describe('Headlight (electron)', () => {
    it('explains a range with the bundled model and answers a head matrix request', async () => {
      const ext = vscode.extensions.all.find((e) => e.packageJSON.name === 'headlight');
      assert.ok(ext, 'extension present');
      const api = (await ext.activate()) as { controller: Controller };
      const file = path.join(ext.extensionPath, 'samples', 'repeats.txt');
      await vscode.commands.executeCommand('headlight.explainAttention', { uri: vscode.Uri.file(file).toString(), range: [0, 0, 0, 40] });
      const s = api.controller.session;
      assert.ok(s, 'a session is shown');
      assert.equal(s.heads.length, s.model.layers * s.model.headsPerLayer);
      const m = await api.controller.source.request('head/matrix', { sessionId: s.id, layer: 0, head: 0 });
      assert.equal(m.data.length, m.seq * m.seq);
    });
    it('registers every command', async () => {
      const cmds = await vscode.commands.getCommands(true);
      for (const c of ['headlight.explainAttention', 'headlight.findHead', 'headlight.selectModel', 'headlight.exportView']) assert.ok(cmds.includes(c), c);
    });
  });
  return new Promise((resolve, reject) => mocha.run((failures) => (failures ? reject(new Error(`${failures} failed`)) : resolve())));
}
