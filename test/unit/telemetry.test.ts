import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { disableOrtTelemetry, TELEMETRY_ENV } from '../../src/noTelemetry';

// onnxruntime 1.29+ keeps a telemetry store under $XDG_CACHE_HOME/Microsoft/DeveloperTools (a device id and
// an event database it uploads) unless ORT_DISABLE_TELEMETRY=1 is in the real process environment. The
// extension host and the CLI set it in their main thread before anything loads the runtime.
const ROOT = path.resolve(__dirname, '..', '..');
const ORT = path.join(ROOT, 'node_modules', 'onnxruntime-node');
const MODEL = path.join(ROOT, 'media', 'models', 'planted', 'model.onnx');

function freshHome(tmp: string, name: string): NodeJS.ProcessEnv {
  const home = path.join(tmp, name);
  fs.mkdirSync(home);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    USERPROFILE: home,
    XDG_CACHE_HOME: path.join(home, '.cache'),
    LOCALAPPDATA: path.join(home, 'AppData'),
  };
  delete env[TELEMETRY_ENV];
  // Measured: onnxruntime writes no store at all when it sees CI=true (as `.ci/run` sets it), which would make
  // the control below pass vacuously there. Both checks run as on a user's machine.
  for (const k of ['CI', 'CONTINUOUS_INTEGRATION', 'GITHUB_ACTIONS', 'TF_BUILD', 'BUILD_ID', 'BUILD_NUMBER', 'JENKINS_URL', 'GITLAB_CI']) delete env[k];
  return env;
}
const telemetryStore = (env: NodeJS.ProcessEnv) => path.join(env.XDG_CACHE_HOME!, 'Microsoft', 'DeveloperTools');

describe('no onnxruntime telemetry', function () {
  this.timeout(60_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'headlight-telemetry-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('disableOrtTelemetry sets ORT_DISABLE_TELEMETRY=1', () => {
    const env: NodeJS.ProcessEnv = {};
    disableOrtTelemetry(env);
    assert.deepEqual(env, { ORT_DISABLE_TELEMETRY: '1' });
  });

  for (const bundle of ['extension.js', 'cli.js']) {
    it(`dist/${bundle} sets it before it requires any module or starts a worker`, () => {
      const js = fs.readFileSync(path.join(ROOT, 'dist', bundle), 'utf8');
      const set = js.indexOf('\ndisableOrtTelemetry();');
      assert.ok(set > 0, 'the call is in the bundle');
      const firstRequire = js.search(/\brequire\("/);
      assert.ok(firstRequire > set, `first require at ${firstRequire}, telemetry off at ${set}`);
    });
  }

  // Control: shows the check below can fail. Setting the variable only in a worker (its `env` option and its
  // own process.env) leaves the main process' environment without it, and the runtime writes its store.
  it('control: the variable set only inside a worker does not stop the runtime (its store appears)', function () {
    if (process.platform !== 'linux') this.skip(); // where the store lives was measured on Linux; the CLI check below runs everywhere
    const env = freshHome(tmp, 'worker-only');
    const code = `const { Worker } = require('node:worker_threads');
      new Worker(${JSON.stringify(`process.env.ORT_DISABLE_TELEMETRY = '1';
        require(${JSON.stringify(ORT)}).InferenceSession.create(${JSON.stringify(MODEL)}).then(() => process.exit(0));`)},
        { eval: true, env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' } });`;
    const r = spawnSync(process.execPath, ['-e', code], { env, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(fs.existsSync(telemetryStore(env)), 'onnxruntime wrote its telemetry store: the control is sensitive');
  });

  it('a real `headlight explain` through the CLI leaves no telemetry store in a fresh home', () => {
    const env = freshHome(tmp, 'cli');
    const out = path.join(tmp, 'cli.json');
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'headlight.js'), 'explain', path.join(ROOT, 'samples', 'prose.txt'), '--json', out], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(fs.statSync(out).size > 0);
    assert.ok(!fs.existsSync(telemetryStore(env)), `${telemetryStore(env)} exists`);
  });
});
