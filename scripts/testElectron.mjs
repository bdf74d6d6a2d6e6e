// `npm run test:electron`: the in-editor suite under a downloaded VS Code (@vscode/test-electron), for
// machines that can reach update.code.visualstudio.com. This workplace cannot; here the suite that must
// pass is the code-server one (`npm run test:e2e`).
import * as esbuild from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTests } from '@vscode/test-electron';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
await esbuild.build({
  entryPoints: [path.join(root, 'test/electron/suite.ts')],
  outfile: path.join(root, 'out/electron/suite.js'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['vscode', 'mocha'],
  logLevel: 'warning',
});
try {
  await runTests({
    extensionDevelopmentPath: root,
    extensionTestsPath: path.join(root, 'out/electron/suite.js'),
    launchArgs: [path.join(root, 'samples'), '--disable-extensions', '--disable-workspace-trust'],
  });
} catch (err) {
  console.error('test:electron failed:', err instanceof Error ? err.message : err);
  process.exit(1);
}
