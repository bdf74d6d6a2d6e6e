// `npm run bench [-- --quick | --against <git-ref>]`: how fast Headlight is, as medians and ratios to the floor (a plain
// onnxruntime-node run of the unmodified graph), and how each stage grows with the number of tokens.
// Writes bench/results/latest.json and prints a table. No timing is asserted anywhere. `--against <ref>`
// instead runs that commit's explain child and this checkout's interleaved (bench/ab.ts).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { summarise, type EngineRow } from './engine';
import type { StreamRow } from './stream';
import { runAgainst } from './ab';
import { ensureQwen05b } from './makeQwen05b';

const ROOT = path.resolve(__dirname, '..');
const RESULTS = path.join(ROOT, 'bench', 'results');
const quick = process.argv.includes('--quick');
const against = process.argv.includes('--against')
  ? process.argv[process.argv.indexOf('--against') + 1]
  : process.argv.find((a) => a.startsWith('--against='))?.slice('--against='.length);
// --only=name[,name]: those models only; --no-effects: skip the head-effects rows (minutes on the GPT-2 shape).
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const noEffects = process.argv.includes('--no-effects');
const REPS = quick ? 2 : 5;

export interface ModelJob {
  name: string;
  modelPath: string;
  tokenizerPath: string;
  sizes: number[];
  reps?: number;
  effectSizes?: number[];
}

function bundled(name: string, sizes: number[]): ModelJob {
  const dir = path.join(ROOT, 'media', 'models', name);
  return { name, modelPath: path.join(dir, 'model.onnx'), tokenizerPath: path.join(dir, 'tokenizer.json'), sizes };
}

/** The GPT-2-small-shaped model (random weights, ~650 MB): generated once by a script, never committed. */
function gpt2Small(): ModelJob | undefined {
  const file = path.join(RESULTS, 'gpt2-small', 'model.onnx');
  if (!fs.existsSync(file)) {
    console.log('generating the GPT-2-small-shaped model (bench/make-gpt2-small.py; Debian python3-torch)…');
    try {
      execFileSync(
        'bash',
        [
          '-c',
          'dpkg -s python3-torch python3-onnx >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-onnx python3-numpy libopenblas0-pthread >/dev/null)',
        ],
        { stdio: 'inherit' },
      );
      execFileSync('/usr/bin/python3', [path.join(ROOT, 'bench', 'make-gpt2-small.py')], {
        stdio: 'inherit',
        env: { ...process.env, OPENBLAS_NUM_THREADS: '1' },
      });
    } catch (e) {
      console.log(`skipping GPT-2-small: ${(e as Error).message}`);
      return undefined;
    }
  }
  // Its vocabulary is GPT-2's 50,257 rows; any byte-level tokenizer with fewer ids drives it. Ours: headlight-mini's.
  return {
    name: 'gpt2-small-shape',
    modelPath: file,
    tokenizerPath: path.join(ROOT, 'media/models/headlight-mini/tokenizer.json'),
    sizes: [128, 512, 1024],
    effectSizes: [128, 512],
  };
}

/**
 * The long-context model (Llama-style, 8 × 8 heads, RoPE: no position limit; ~85 MB): its attention at
 * 4,096 tokens is 4.3 GB as float32, so its row shows whether the explain's memory is bounded.
 */
/**
 * The model size people actually run, the way they download it (issue 25): a Qwen2.5-0.5B-shaped export as the
 * onnxruntime-genai builder writes it (24 layers, 14 query heads over 2 KV heads, rotary inside
 * GroupQueryAttention, 4-bit MatMulNBits everywhere, vocabulary 32,768; random weights, ~350 MB), generated on
 * first use by bench/makeQwen05b.ts, never committed. Each 4,096-token run takes a minute or more here: three runs.
 */
function qwen05b(): ModelJob | undefined {
  try {
    const { modelPath, tokenizerPath } = ensureQwen05b();
    return { name: 'qwen2.5-0.5b-shape-int4', modelPath, tokenizerPath, sizes: [1024, 4096], reps: 3 };
  } catch (e) {
    console.log(`skipping the Qwen2.5-0.5B shape: ${(e as Error).message}`);
    return undefined;
  }
}

function longContext(): ModelJob | undefined {
  const file = path.join(RESULTS, 'long-context', 'model.onnx');
  if (!fs.existsSync(file)) {
    console.log('generating the long-context model (bench/make-long-context.py; Debian python3-torch)…');
    try {
      execFileSync('/usr/bin/python3', [path.join(ROOT, 'bench', 'make-long-context.py')], {
        stdio: 'inherit',
        env: { ...process.env, OPENBLAS_NUM_THREADS: '1' },
      });
    } catch (e) {
      console.log(`skipping long-context: ${(e as Error).message}`);
      return undefined;
    }
  }
  // Each explain at 4,096 tokens takes tens of seconds here: three runs, not five.
  return { name: 'long-context-8x8', modelPath: file, tokenizerPath: path.join(ROOT, 'test/fixtures/decoders/tokenizer.json'), sizes: [1024, 4096], reps: 3 };
}

function child<T>(mode: 'floor' | 'explain' | 'effects', job: ModelJob, corpus: string): T {
  const spec = JSON.stringify({
    model: { modelPath: job.modelPath, tokenizerPath: job.tokenizerPath, name: job.name },
    sizes: job.sizes,
    reps: Math.min(REPS, job.reps ?? REPS),
    corpus,
  });
  const out = execFileSync(process.execPath, [...process.execArgv, path.join(__dirname, 'engine.ts'), mode, spec], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' },
  });
  return JSON.parse(out) as T;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Least-squares slope of log2(time) on log2(tokens): 2^slope = growth per doubling of tokens. */
export function perDoubling(points: { tokens: number; ms: number }[]): number {
  const xs = points.map((p) => Math.log2(p.tokens)),
    ys = points.map((p) => Math.log2(Math.max(p.ms, 1e-3)));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length,
    my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0,
    den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? NaN : 2 ** (num / den);
}

function main(): void {
  const t0 = Date.now();
  const corpus = ['prose.txt', 'code.py', 'repeats.txt', 'mixed.txt'].map((f) => fs.readFileSync(path.join(ROOT, 'samples', f), 'utf8')).join('\n');
  if (against) {
    // The issue's sizes by default: the GPT-2-small shape at 512 and 1,024 tokens (--only=long-context-8x8 for 4,096).
    const pick = only ?? 'gpt2-small-shape';
    const job =
      pick === 'long-context-8x8'
        ? longContext()
        : pick === 'gpt2-small-shape'
          ? gpt2Small()
          : pick === 'qwen2.5-0.5b-shape-int4'
            ? qwen05b()
            : bundled(pick, [128, 512]);
    if (!job) throw new Error(`no ${pick} model to compare on`);
    runAgainst(against, [pick === 'gpt2-small-shape' ? { ...job, sizes: [512, 1024] } : pick === 'long-context-8x8' ? { ...job, sizes: [4096] } : job], corpus);
    return;
  }
  const jobs: ModelJob[] = quick
    ? [bundled('headlight-mini', [64, 128])]
    : [
        gpt2Small(),
        longContext(),
        qwen05b(),
        { ...bundled('headlight-mini', [128, 512, 1024]), effectSizes: [128, 512] },
        bundled('planted', [128, 255]),
        bundled('tiny-bert', [128, 512]),
      ].filter((j): j is ModelJob => Boolean(j) && (!only || only.split(',').includes(j!.name)));
  const engine: EngineRow[] = [];
  const effects: { model: string; tokens: number; heads: number; ms: number; min: number; max: number; floorMs: number; perHeadFloor: number }[] = [];
  const f = (x: number) => x.toFixed(x < 10 ? 1 : 0);
  for (const job of jobs) {
    process.stdout.write(`engine: ${job.name} at ${job.sizes.join('/')} tokens… `);
    const floor = child<Parameters<typeof summarise>[1]>('floor', job, corpus);
    const ex = child<Parameters<typeof summarise>[2]>('explain', job, corpus);
    const rows = summarise(job.name, floor, ex);
    engine.push(...rows);
    if (job.effectSizes && !noEffects) {
      const ef = child<{ rows: Record<number, { tokens: number; heads: number; ms: number[] }> }>(
        'effects',
        { ...job, sizes: job.effectSizes, reps: Math.min(3, job.reps ?? 3) },
        corpus,
      );
      for (const [n, r] of Object.entries(ef.rows)) {
        const fl = rows.find((x) => x.tokens === r.tokens || String(x.tokens) === n)?.floorMs ?? median(floor.times[Number(n)] ?? [NaN]);
        effects.push({
          model: job.name,
          tokens: r.tokens,
          heads: r.heads,
          ms: median(r.ms),
          min: Math.min(...r.ms),
          max: Math.max(...r.ms),
          floorMs: fl,
          perHeadFloor: median(r.ms) / fl / r.heads,
        });
      }
    }
    console.log('done');
  }
  // Direct logit attribution, exact ablation on cut copies and routes (bench/stream.ts), on the GPT-2-small shape.
  const stream = streamBench(jobs);
  if (effects.length) {
    console.log(
      '\nHead effects: every head zero-ablated on its own (medians; ×floor = the whole measurement over one plain run; 144 separate runs would be ≈ 144×)',
    );
    for (const e of effects)
      console.log(
        `  ${e.model.padEnd(18)} ${String(e.tokens).padStart(5)} tokens, ${e.heads} heads: ${f(e.ms)} ms [${f(e.min)}–${f(e.max)}] = ${(e.ms / e.floorMs).toFixed(1)}× the floor (${e.perHeadFloor.toFixed(2)}× per head)`,
      );
  }
  console.log('\nEngine (medians over', REPS, 'runs; min–max in brackets)');
  console.log(
    'model               tokens   floor ms          attention ms      ratio  tokenize  analysis  explain ms        ×floor  first paint ×floor  peak RSS MB',
  );
  for (const r of engine) {
    console.log(
      `${r.model.padEnd(18)} ${String(r.tokens).padStart(6)}   ${`${f(r.floorMs)} [${f(r.floorMin)}–${f(r.floorMax)}]`.padEnd(17)} ${`${f(r.attentionMs)} [${f(r.attentionMin)}–${f(r.attentionMax)}]`.padEnd(17)} ${r.ratio.toFixed(2).padStart(5)}  ${f(r.tokenizeMs).padStart(8)}  ${f(r.analysisMs).padStart(8)}  ${`${f(r.explainMs)} [${f(r.explainMin)}–${f(r.explainMax)}]`.padEnd(17)} ${(r.explainMs / r.floorMs).toFixed(2).padStart(6)}  ${`${f(r.firstPaintMs)} ${(r.firstPaintMs / r.floorMs).toFixed(2)}`.padStart(18)}  ${f(r.peakRssMb).padStart(6)} (floor ${f(r.floorPeakRssMb)}, ×${(r.peakRssMb / r.floorPeakRssMb).toFixed(2)})`,
    );
  }
  const scaling: { stage: string; model: string; perDoubling: number }[] = [];
  for (const model of new Set(engine.map((r) => r.model))) {
    const rows = engine.filter((r) => r.model === model);
    if (rows.length < 2) continue;
    for (const [stage, key] of [
      ['floor', 'floorMs'],
      ['attention run', 'attentionMs'],
      ['tokenize', 'tokenizeMs'],
      ['analysis', 'analysisMs'],
      ['explain', 'explainMs'],
    ] as const) {
      scaling.push({ stage, model, perDoubling: perDoubling(rows.map((r) => ({ tokens: r.tokens, ms: r[key] }))) });
    }
  }
  console.log('\nScaling (time multiplies by this per doubling of tokens; 2 = linear, 4 = quadratic)');
  for (const s of scaling) console.log(`  ${s.model.padEnd(18)} ${s.stage.padEnd(14)} ${s.perDoubling.toFixed(2)}×`);
  let webview: unknown[] = [];
  const webBench = path.join(ROOT, 'test', 'webview', 'bench.ts');
  if (fs.existsSync(webBench)) {
    console.log('\nWebview (headless Chromium, real bundle, recorded messages)');
    const out = execFileSync(process.execPath, [...process.execArgv, webBench, ...(quick ? ['--quick'] : [])], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const parsed = JSON.parse(out.slice(out.indexOf('{'))) as { webview: unknown[]; table: string; scaling?: unknown[] };
    console.log(parsed.table);
    webview = parsed.webview;
    if (parsed.scaling) scaling.push(...(parsed.scaling as typeof scaling));
  }
  const result = {
    date: new Date().toISOString(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    load: os.loadavg(),
    quick,
    engine,
    effects,
    stream,
    webview,
    scaling,
  };
  fs.mkdirSync(RESULTS, { recursive: true });
  fs.writeFileSync(path.join(RESULTS, 'latest.json'), JSON.stringify(result, null, 1));
  console.log(
    `\nwrote bench/results/latest.json in ${((Date.now() - t0) / 1000).toFixed(0)} s (load average ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')})`,
  );
}

/** bench/stream.ts in its own process: the GPT-2-small shape's rows, or headlight-mini's small ones with --quick. */
function streamBench(jobs: ModelJob[]): StreamRow[] {
  const job = jobs.find((j) => j.name === 'gpt2-small-shape') ?? (quick ? jobs.find((j) => j.name === 'headlight-mini') : undefined);
  if (!job) return [];
  const sizes = quick
    ? ['--dla', '64', '--ablate', '64', '--routes', '64', '--reps', '1']
    : ['--dla', '128,512,1024', '--ablate', '128', '--routes', '512', '--reps', '3'];
  console.log(`\nDLA, exact ablation and routes on ${job.name} (bench/stream.ts; ratios to a plain run in the same process)`);
  const out = execFileSync(process.execPath, [...process.execArgv, path.join(__dirname, 'stream.ts'), job.modelPath, ...sizes, '--json'], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const rows = (JSON.parse(out.slice(out.indexOf('{'))) as { rows: StreamRow[] }).rows;
  for (const r of rows)
    console.log(
      `  ${r.what.padEnd(48)} ${String(r.tokens).padStart(5)} tokens: ${r.ms.toFixed(0).padStart(6)} ms [${r.min.toFixed(0)}–${r.max.toFixed(0)}] = ${r.ratio.toFixed(2)}× the floor (${r.floorMs.toFixed(0)} ms)${r.note ? ` — ${r.note}` : ''}`,
    );
  return rows;
}

if (require.main === module) main();
