// The Python helper (python/) end to end, without VS Code: its own unit tests under Debian's python3, its
// offline install, the sample notebook run by a real Jupyter kernel, and the host's analysis of the outputs that
// run produced — equal to `headlight explain --dump` on the dump the same notebook wrote, and to the planted
// model's answer key (media/models/planted/card.json: roles set by construction).
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AnalysisClient } from '../../../src/session/analysisClient';
import { analyseOutput, type AnalysedOutput } from '../../../src/notebook/analyseOutput';
import {
  DEBIAN_PYTHON,
  executeNotebook,
  headlightOutputs,
  helperVenv,
  pythonSkipReason,
  ROOT,
  SAMPLE_NOTEBOOK,
  scratch,
  type HelperVenv,
} from '../../fixtures/notebook';
import { runCli } from '../../fixtures/cli';
import { comparableHeads, comparableCliHeads } from './support/compare';

describe('the Python helper and a real kernel', function () {
  this.timeout(300_000);
  let dir: string;
  let venv: HelperVenv;
  const analysis = new AnalysisClient();

  before(async function () {
    // Debian's python3 with numpy, torch, ipykernel and nbconvert: the set-up (scripts/install-system-deps.sh)
    // installs them on Linux. Elsewhere, or before the set-up, the tests say why they are skipped.
    const why = await pythonSkipReason();
    if (why) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    dir = scratch('notebook-kernel-');
    venv = helperVenv(dir);
  });
  after(async () => {
    await analysis.dispose();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("the helper's own tests pass (Debian's python3, numpy; torch for the adapters' tiny model)", () => {
    const r = spawnSync(DEBIAN_PYTHON, ['-W', 'error::ResourceWarning', '-m', 'unittest', 'discover', '-s', 'tests', '-v'], {
      cwd: path.join(ROOT, 'python'),
      encoding: 'utf8',
      env: { ...venv.env },
      timeout: 240_000,
    });
    const summary = r.stderr
      .split('\n')
      .filter((l) => /^(Ran \d+ tests|OK|FAILED)/.test(l))
      .join('; ');
    console.log(`      python/tests: ${summary}`);
    assert.equal(r.status, 0, r.stderr.slice(-4000));
    assert.match(r.stderr, /Ran (\d{2,}) tests/);
  });

  it('pip install ./python works offline and imports the installed package, numpy its only requirement', () => {
    const where = execFileSync(venv.python, ['-c', 'import headlight, sys; print(headlight.__file__); print(headlight.MIME)'], {
      env: venv.env,
      encoding: 'utf8',
    })
      .trim()
      .split('\n');
    assert.ok(where[0].startsWith(path.join(dir, 'venv')), `imported from ${where[0]}`);
    assert.equal(where[1], 'application/vnd.headlight.attention+json');
    const requires = execFileSync(venv.python, ['-m', 'pip', 'show', 'headlight'], { env: venv.env, encoding: 'utf8' });
    assert.match(requires, /^Requires: numpy$/m);
  });

  describe('the sample notebook, executed', () => {
    let outputs: Record<string, unknown>[];
    let inline: AnalysedOutput;
    let viaDump: AnalysedOutput;
    before(async () => {
      const nb = executeNotebook(venv, SAMPLE_NOTEBOOK, dir);
      outputs = headlightOutputs(nb);
      const opts = (id: number) => ({ id, title: 'x', analysis, resolveDump: (d: { path: string }) => path.resolve(dir, d.path) });
      inline = await analyseOutput(JSON.stringify(outputs[0]), opts(1));
      viaDump = await analyseOutput(JSON.stringify(outputs[1]), opts(2));
    });
    after(() => {
      if (viaDump?.attention && 'close' in viaDump.attention) viaDump.attention.close();
    });

    it('produces two Headlight outputs: the attention inline (float16) and one pointing to the dump it wrote', () => {
      assert.equal(outputs.length, 2);
      const [a, b] = outputs as { attention?: { dtype: string; layout: string }; dump?: { path: string }; shape: number[]; model: string }[];
      assert.deepEqual([a.shape, a.model, a.attention?.dtype, a.attention?.layout], [[2, 8, 48], 'planted', 'float16', 'lower']);
      assert.equal(b.dump?.path, 'planted-dump');
      assert.ok(fs.existsSync(path.join(dir, 'planted-dump', 'attention.safetensors')));
    });

    it('the host analyses both exactly as `headlight explain --dump` does the dump: tokens, metrics, roles, evidence', () => {
      const out = path.join(dir, 'cli.json');
      const r = runCli(['explain', '--dump', path.join(dir, 'planted-dump'), '--json', out]);
      assert.equal(r.status, 0, r.stderr);
      const cli = JSON.parse(fs.readFileSync(out, 'utf8')) as Parameters<typeof comparableCliHeads>[0];
      const want = comparableCliHeads(cli);
      assert.equal(want.length, 16);
      assert.deepEqual(comparableHeads(inline.session), want);
      assert.deepEqual(comparableHeads(viaDump.session), want);
      assert.deepEqual(
        inline.session.tokens.map((t) => [t.text, t.start, t.end, t.special]),
        cli.tokens.map((t) => [t.text, t.start, t.end, t.special]),
      );
    });

    it('finds every role the planted model was built with, on the head it was built into', () => {
      const card = JSON.parse(fs.readFileSync(path.join(ROOT, 'media', 'models', 'planted', 'card.json'), 'utf8')) as {
        heads: { layer: number; head: number; roles: string[] }[];
      };
      for (const h of card.heads) {
        const found = inline.session.heads.find((x) => x.layer === h.layer && x.head === h.head)!.roles.map((r) => r.name);
        for (const role of h.roles) assert.ok(found.includes(role as never), `L${h.layer}H${h.head}: built as ${role}, found ${found.join(', ') || 'nothing'}`);
      }
    });
  });
});
