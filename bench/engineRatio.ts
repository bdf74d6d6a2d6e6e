// Cost of reading attention: plain ORT run vs the run that also fetches every Softmax output, at
// 128/512/1,024 tokens, on the GPT-2-small-shaped model from bench/make-gpt2-small.py. Each mode
// runs in its own child process so peak RSS is that mode's alone.
//   npx tsx bench/engineRatio.ts [model.onnx]   (CPU-heavy: run when the machine is quiet)
// --tune: session options instead (graphOptimizationLevel basic/extended/all x intraOpNumThreads
// 1/2/ORT default) with attention outputs at 512 and 1,024 tokens, configs in a new random order
// each round, every config in its own child process; writes results/engine-tune-<time>.json. The chosen
// values live in src/engine/providers.ts (sessionTuning).
//   npx tsx bench/engineRatio.ts --tune [rounds] [model.onnx]   (writes results/engine-tune-<time>.json)
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadModel, runSession } from '../src/engine/modelCache';

const SIZES = [128, 512, 1024];
const REPS = 3;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function child(modelPath: string, mode: 'plain' | 'attention'): Promise<void> {
  process.env.ORT_DISABLE_TELEMETRY = '1';
  const st = fs.statSync(modelPath);
  const t0 = performance.now();
  const m = await loadModel(path.resolve(modelPath), `${st.mtimeMs}:${st.size}`, { addAttention: mode === 'attention' });
  const loadMs = performance.now() - t0;
  const fetch = mode === 'plain' ? m.originalOutputs : [...m.originalOutputs, ...m.attention];
  const times: Record<number, number> = {};
  for (const n of SIZES) {
    const ids = Array.from({ length: n }, (_, i) => (i * 7919) % 50257);
    const ts: number[] = [];
    for (let r = 0; r < REPS + 1; r++) {
      const t = performance.now();
      const out = await runSession(m, ids, fetch);
      if (r > 0) ts.push(performance.now() - t); // first run warms up
      for (const v of Object.values(out)) v.dispose?.();
    }
    times[n] = median(ts);
  }
  process.stdout.write(
    JSON.stringify({ mode, loadMs, layers: m.layers, heads: m.headsPerLayer, outputs: fetch.length, times, peakRssMiB: process.resourceUsage().maxRSS / 1024 }),
  );
}

type Level = 'basic' | 'extended' | 'all';
interface TuneRun {
  level: Level;
  threads: number;
  loadMs: number;
  load1: number;
  times: Record<number, number[]>;
}

async function tuneChild(modelPath: string, level: Level, threads: number): Promise<void> {
  process.env.ORT_DISABLE_TELEMETRY = '1';
  const load1 = os.loadavg()[0];
  const t0 = performance.now();
  const m = await loadModel(path.resolve(modelPath), 'tune', { graphOptimizationLevel: level, ...(threads ? { intraOpNumThreads: threads } : {}) });
  const loadMs = performance.now() - t0;
  const fetch = [...m.originalOutputs, ...m.attention];
  const times: Record<number, number[]> = {};
  for (const n of [512, 1024]) {
    const ids = Array.from({ length: n }, (_, i) => (i * 7919) % 50257);
    times[n] = [];
    for (let r = 0; r < REPS + 1; r++) {
      const t = performance.now();
      const out = await runSession(m, ids, fetch);
      if (r > 0) times[n].push(performance.now() - t);
      for (const v of Object.values(out)) v.dispose?.();
    }
  }
  process.stdout.write(JSON.stringify({ level, threads, loadMs, load1, times } satisfies TuneRun));
}

function tune(modelPath: string, rounds: number): void {
  const configs: { level: Level; threads: number }[] = [];
  // HL_TUNE_THREADS=1,0 narrows the thread counts (0 = ORT's default) for a follow-up run.
  const threadCounts = (process.env.HL_TUNE_THREADS ?? '1,2,0').split(',').map(Number);
  for (const level of ['basic', 'extended', 'all'] as const) for (const threads of threadCounts) configs.push({ level, threads });
  const runs: TuneRun[] = [];
  for (let round = 0; round < rounds; round++) {
    const order = [...configs].sort(() => Math.random() - 0.5);
    for (const c of order) {
      const r = JSON.parse(
        execFileSync(process.execPath, [...process.execArgv, __filename, modelPath], {
          env: { ...process.env, HL_BENCH_CHILD: 'tune', HL_TUNE: `${c.level},${c.threads}` },
          encoding: 'utf8',
          maxBuffer: 1 << 20,
        }),
      ) as TuneRun;
      runs.push(r);
      console.error(
        `round ${round + 1} ${c.level}/${c.threads || 'default'}: load1 ${r.load1.toFixed(2)}, 512: ${r.times[512].map((t) => t.toFixed(0)).join(' ')} ms, 1024: ${r.times[1024].map((t) => t.toFixed(0)).join(' ')} ms`,
      );
    }
  }
  console.log('level     threads   load(s)  512 median(s)  1024 median(s)   (medians over every rep of every round)');
  for (const c of configs) {
    const mine = runs.filter((r) => r.level === c.level && r.threads === c.threads);
    const all = (n: number) => mine.flatMap((r) => r.times[n]);
    console.log(
      `${c.level.padEnd(9)} ${String(c.threads || 'default').padEnd(8)} ${(median(mine.map((r) => r.loadMs)) / 1000).toFixed(1).padStart(7)}  ${(median(all(512)) / 1000).toFixed(3).padStart(13)}  ${(median(all(1024)) / 1000).toFixed(3).padStart(14)}`,
    );
  }
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  fs.writeFileSync(path.join(__dirname, 'results', `engine-tune-${Date.now()}.json`), JSON.stringify(runs, null, 1));
}

function main(): void {
  if (process.env.HL_BENCH_CHILD === 'tune') {
    const [level, threads] = (process.env.HL_TUNE ?? 'all,0').split(',');
    void tuneChild(process.argv[2], level as Level, Number(threads));
    return;
  }
  if (process.argv[2] === '--tune') {
    tune(process.argv[4] ?? path.join(__dirname, 'results', 'gpt2-small', 'model.onnx'), Number(process.argv[3] ?? 2));
    return;
  }
  const modelPath = process.argv[2] ?? path.join(__dirname, 'results', 'gpt2-small', 'model.onnx');
  if (process.env.HL_BENCH_CHILD) {
    void child(modelPath, process.env.HL_BENCH_CHILD as 'plain' | 'attention');
    return;
  }
  const results = (['plain', 'attention'] as const).map(
    (mode) =>
      JSON.parse(
        execFileSync(process.execPath, [...process.execArgv, __filename, modelPath], {
          env: { ...process.env, HL_BENCH_CHILD: mode },
          encoding: 'utf8',
          maxBuffer: 1 << 20,
        }),
      ) as { mode: string; loadMs: number; layers: number; heads: number; outputs: number; times: Record<number, number>; peakRssMiB: number },
  );
  const [plain, attn] = results;
  console.log(
    `model ${modelPath}: ${attn.layers} layers x ${attn.heads} heads; session load ${(plain.loadMs / 1000).toFixed(1)} s plain, ${(attn.loadMs / 1000).toFixed(1)} s with attention outputs (incl. probe)`,
  );
  console.log('tokens  plain(s)  with-attention(s)  ratio');
  for (const n of SIZES)
    console.log(
      `${String(n).padStart(6)}  ${(plain.times[n] / 1000).toFixed(3).padStart(8)}  ${(attn.times[n] / 1000).toFixed(3).padStart(17)}  ${(attn.times[n] / plain.times[n]).toFixed(2)}x`,
    );
  console.log(`peak RSS: plain ${plain.peakRssMiB.toFixed(0)} MiB, with attention ${attn.peakRssMiB.toFixed(0)} MiB`);
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  fs.writeFileSync(path.join(__dirname, 'results', 'engineRatio.json'), JSON.stringify(results, null, 1));
}

main();
