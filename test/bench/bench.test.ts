import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { perDoubling } from '../../bench/run';

// The benchmark script must keep working; its numbers are never asserted (speed lives in `npm run bench`).
// Its own stage of `npm test` (after package): it generates a GPT-2-sized model with Debian's python3-torch.
const ROOT = path.resolve(__dirname, '..', '..');

describe('npm run bench', function () {
  this.timeout(120_000);

  it('fits growth per doubling: linear = 2×, quadratic = 4×', () => {
    assert.ok(Math.abs(perDoubling([128, 256, 512, 1024].map((n) => ({ tokens: n, ms: 3 * n }))) - 2) < 1e-9);
    assert.ok(Math.abs(perDoubling([128, 256, 512].map((n) => ({ tokens: n, ms: n * n / 7 }))) - 4) < 1e-9);
  });

  it('--quick runs end to end and writes latest.json with the documented fields', () => {
    execFileSync(process.execPath, ['--require', 'tsx/cjs', path.join(ROOT, 'bench', 'run.ts'), '--quick'], { cwd: ROOT, stdio: 'pipe' });
    const j = JSON.parse(fs.readFileSync(path.join(ROOT, 'bench', 'results', 'latest.json'), 'utf8'));
    assert.equal(typeof j.cpu, 'string');
    assert.ok(!Number.isNaN(Date.parse(j.date)));
    assert.ok(j.engine.length >= 2);
    for (const r of j.engine) {
      for (const k of ['model', 'tokens', 'floorMs', 'attentionMs', 'ratio', 'tokenizeMs', 'analysisMs', 'explainMs', 'peakRssMb']) assert.ok(k in r, k);
      assert.ok(r.floorMs > 0 && r.attentionMs > 0 && r.explainMs > 0 && r.peakRssMb > 0);
      assert.ok(Math.abs(r.ratio - r.attentionMs / r.floorMs) < 1e-9);
    }
    for (const w of j.webview) for (const k of ['tokens', 'firstPaintMs', 'hoverP50Ms', 'hoverP95Ms', 'headsGridMs', 'heapMb']) assert.ok(k in w, k);
  });
});
