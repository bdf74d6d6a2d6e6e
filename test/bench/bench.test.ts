import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { perDoubling } from '../../bench/run';
import { mergeResults, speedTable, withSpeedTable } from '../../bench/speedTable';

// The benchmark script must keep working; its numbers are never asserted (speed lives in `npm run bench`).
// Its own stage of `npm test` (after package): it generates a GPT-2-sized model with Debian's python3-torch.
const ROOT = path.resolve(__dirname, '..', '..');

describe('npm run bench', function () {
  this.timeout(120_000);

  it('fits growth per doubling: linear = 2×, quadratic = 4×', () => {
    assert.ok(Math.abs(perDoubling([128, 256, 512, 1024].map((n) => ({ tokens: n, ms: 3 * n }))) - 2) < 1e-9);
    assert.ok(Math.abs(perDoubling([128, 256, 512].map((n) => ({ tokens: n, ms: (n * n) / 7 }))) - 4) < 1e-9);
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

  it("the README's Speed table is the script's output between its markers", () => {
    const row = (model: string, tokens: number, floorMs: number, firstPaintMs: number, explainMs: number) => ({
      model,
      tokens,
      floorMs,
      firstPaintMs,
      explainMs,
      peakRssMb: 2048,
      floorPeakRssMb: 1536,
    });
    const r = {
      date: '2026-01-02T03:04:05Z',
      cores: 2,
      load: [1.25, 1, 1],
      quick: false,
      engine: [
        row('gpt2-small-shape', 512, 800, 840, 960),
        row('gpt2-small-shape', 1023, 2000, 2100, 2500),
        row('long-context-8x8', 4096, 4000, 4000, 8000),
        row('qwen2.5-0.5b-shape-int4', 1024, 20000, 21000, 24000),
        row('qwen2.5-0.5b-shape-int4', 4096, 90000, 95000, 150000),
      ],
    };
    const table = speedTable(r as unknown as Parameters<typeof speedTable>[0]);
    assert.match(table, /^Measured 2026-01-02 \(2 vCPUs, load average 1\.3 1\.0 1\.0 at the end/);
    assert.match(table, /\| GPT-2-small shape, 1,024 tokens \| 2\.00 s \| 2\.10 s \(1\.05×\) \| 2\.50 s \(1\.25×\) \| 2\.00 GB \(1\.50 GB, 1\.33×\) \|/);
    assert.match(table, /\| Qwen2\.5-0\.5B shape \(GQA, 4-bit\), 4,096 tokens \| 90\.00 s \| 95\.00 s \(1\.06×\) \| 150\.00 s \(1\.67×\) \|/);
    assert.throws(() => speedTable({ ...r, quick: true } as unknown as Parameters<typeof speedTable>[0]), /--quick/);
    // Rows of two runs (the Qwen rows measured on their own): the later run's rows win, and the header names both loads.
    const qwenRun = {
      ...r,
      load: [3.5, 3, 2],
      engine: [row('qwen2.5-0.5b-shape-int4', 1024, 10000, 11000, 16000), row('qwen2.5-0.5b-shape-int4', 4096, 40000, 80000, 170000)],
    };
    const merged = speedTable(mergeResults([r, qwenRun] as unknown as Parameters<typeof mergeResults>[0]));
    assert.match(
      merged,
      /2 runs — gpt2-small-shape, long-context-8x8: load average 1\.3 1\.0 1\.0 at the end; qwen2\.5-0\.5b-shape-int4: load average 3\.5 3\.0 2\.0 at the end/,
    );
    assert.match(merged, /\| Qwen2\.5-0\.5B shape \(GQA, 4-bit\), 4,096 tokens \| 40\.00 s \| 80\.00 s \(2\.00×\) \| 170\.00 s \(4\.25×\) \|/);
    assert.match(merged, /\| GPT-2-small shape, 1,024 tokens \| 2\.00 s \|/);
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const out = withSpeedTable(readme, table);
    assert.ok(out.includes(table) && out.includes('<!-- speed-table') && out.includes('<!-- /speed-table -->'));
    assert.equal(withSpeedTable(out, table), out, 'regenerating is idempotent');
  });

  it('--against <ref> builds the ref in a worktree and runs both explain children interleaved', () => {
    const out = execFileSync(
      process.execPath,
      ['--require', 'tsx/cjs', path.join(ROOT, 'bench', 'run.ts'), '--against', 'HEAD', '--only=headlight-mini', '--sizes=24', '--rounds=1', '--reps=1'],
      { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' },
    );
    assert.match(out, /headlight-mini: medians over 1 rounds × 1 reps/);
    assert.match(out, /firstPaint .* \d+\.\d\d\n/);
    const file = /wrote (bench\/results\/ab-[0-9a-f]+-[\w.-]+\.json)/.exec(out)?.[1];
    assert.ok(file, out);
    const j = JSON.parse(fs.readFileSync(path.join(ROOT, file), 'utf8'));
    assert.equal(j.models[0].model, 'headlight-mini');
    assert.ok(j.models[0].rows.every((r: { refMs: number; thisMs: number }) => r.refMs > 0 && r.thisMs > 0));
  });
});
