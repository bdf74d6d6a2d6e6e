// `npm run bench -- --against <git-ref>`: this checkout against another commit, interleaved, on the same
// models, sizes and machine — the way to see a regression when other work shares the cores. The ref is
// checked out once into a git worktree under bench/results/ab/ (ignored), with this checkout's node_modules,
// and built with its own build script; then each round runs one floor child (this checkout's) and both
// explain children in alternating order. Both children are this checkout's bench/engine.ts (copied into the
// ref's tree as bench/engine.ab.ts, so it drives the ref's own engine and pipeline): the same measurement on
// both sides, CPU time included. --ref-harness runs the ref's own bench/engine.ts instead. Prints medians over every rep of
// every round and the ratios this / ref; writes bench/results/ab-<sha>.json. No timing is asserted anywhere.
//   npm run bench -- --against 976df65 [--rounds=3] [--reps=3] [--sizes=512,1024] [--only=long-context-8x8]
// --this=<ref> puts another commit in this checkout's place (a change's A/B against its parent after the fact).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ModelJob } from './run';

const ROOT = path.resolve(__dirname, '..');
const RESULTS = path.join(ROOT, 'bench', 'results');

type ExplainRows = Record<
  number,
  { tokens: number; explain: number[]; run: number[]; tokenize: number[]; analysis: number[]; firstPaint: number[]; cpu?: number[] }
>;
interface Side {
  label: string;
  dir: string;
}

const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : NaN);
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const git = (args: string[], cwd = ROOT) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

/** The ref's tree, checked out and built once per commit (a stamp file records a finished build). */
export function prepareRef(ref: string): Side {
  const sha = git(['rev-parse', '--verify', `${ref}^{commit}`]);
  const dir = path.join(RESULTS, 'ab', sha.slice(0, 12));
  const stamp = path.join(dir, 'dist', '.ab-built');
  if (!fs.existsSync(path.join(dir, '.git'))) {
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    git(['worktree', 'add', '--detach', dir, sha]);
  }
  if (!fs.existsSync(stamp)) {
    const nm = path.join(dir, 'node_modules');
    if (!fs.existsSync(nm)) fs.symlinkSync(path.join(ROOT, 'node_modules'), nm, 'dir');
    console.log(`building ${ref} (${sha.slice(0, 7)}) in ${path.relative(ROOT, dir)}…`);
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: dir, stdio: 'inherit' });
    fs.writeFileSync(stamp, sha);
  }
  return { label: `${ref} (${sha.slice(0, 7)})`, dir };
}

/** The explain child a tree runs: this checkout's harness copied into it (see the header), or its own. */
function harness(dir: string): string {
  if (dir === ROOT || process.argv.includes('--ref-harness')) return path.join(dir, 'bench', 'engine.ts');
  const file = path.join(dir, 'bench', 'engine.ab.ts');
  fs.copyFileSync(path.join(ROOT, 'bench', 'engine.ts'), file);
  return file;
}

function child<T>(dir: string, mode: 'floor' | 'explain', job: ModelJob, sizes: number[], reps: number, corpus: string): T {
  const spec = JSON.stringify({ model: { modelPath: job.modelPath, tokenizerPath: job.tokenizerPath, name: job.name }, sizes, reps, corpus });
  const out = execFileSync(process.execPath, [...process.execArgv, harness(dir), mode, spec], {
    cwd: dir,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' },
  });
  return JSON.parse(out) as T;
}

interface Collected {
  explain: ExplainRows[];
  peakRssMb: number[];
}
// cpu: the explain process's CPU time per explain (all threads), where both trees' children report it.
const stages = ['firstPaint', 'explain', 'run', 'analysis', 'cpu'] as const;

export function runAgainst(ref: string, jobs: ModelJob[], corpus: string): void {
  const t0 = Date.now();
  const rounds = Number(arg('rounds') ?? 3);
  const reps = Number(arg('reps') ?? 3);
  const sizesArg = arg('sizes')?.split(',').map(Number);
  const other = prepareRef(ref);
  const thisRef = arg('this');
  const here: Side = thisRef
    ? prepareRef(thisRef)
    : {
        label: `this checkout (${git(['rev-parse', '--short', 'HEAD'])}${git(['status', '--porcelain', '--untracked-files=no']) ? '+changes' : ''})`,
        dir: ROOT,
      };
  if (here.dir === other.dir) throw new Error('--against and --this name the same commit');
  const report: unknown[] = [];
  for (const job of jobs) {
    const sizes = sizesArg ?? job.sizes;
    const floor: { times: Record<number, number[]>; peakRssMb: number[] } = { times: {}, peakRssMb: [] };
    const got = new Map<Side, Collected>([
      [other, { explain: [], peakRssMb: [] }],
      [here, { explain: [], peakRssMb: [] }],
    ]);
    for (let r = 0; r < rounds; r++) {
      process.stdout.write(`${job.name} at ${sizes.join('/')} tokens, round ${r + 1} of ${rounds}: floor`);
      const f = child<{ times: Record<number, number[]>; peakRssMb: number }>(ROOT, 'floor', job, sizes, reps, corpus);
      for (const n of sizes) (floor.times[n] ??= []).push(...f.times[n]);
      floor.peakRssMb.push(f.peakRssMb);
      // Alternate who goes first: a machine that slows down over a round does not favour one side.
      for (const side of r % 2 === 0 ? [other, here] : [here, other]) {
        process.stdout.write(side === here ? ', this' : ', ref');
        const e = child<{ rows: ExplainRows; peakRssMb: number }>(side.dir, 'explain', job, sizes, reps, corpus);
        got.get(side)!.explain.push(e.rows);
        got.get(side)!.peakRssMb.push(e.peakRssMb);
      }
      console.log(` (load ${os.loadavg()[0].toFixed(1)})`);
    }
    const all = (side: Side, n: number, key: (typeof stages)[number]) => got.get(side)!.explain.flatMap((rows) => rows[n]?.[key] ?? []);
    const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '–');
    console.log(`\n${job.name}: medians over ${rounds} rounds × ${reps} reps (ms; ×floor in brackets); ratio = this / ref`);
    console.log(`  ${'tokens'.padStart(6)}  ${'stage'.padEnd(12)} ${'ref'.padStart(15)} ${'this'.padStart(15)}  ratio`);
    const rows: unknown[] = [];
    for (const n of sizes) {
      const fl = median(floor.times[n]);
      console.log(`  ${String(n).padStart(6)}  ${'floor'.padEnd(12)} ${f0(fl).padStart(15)}`);
      for (const key of stages) {
        const a = median(all(other, n, key)),
          b = median(all(here, n, key));
        console.log(
          `  ${''.padStart(6)}  ${key.padEnd(12)} ${`${f0(a)} (${(a / fl).toFixed(2)})`.padStart(15)} ${`${f0(b)} (${(b / fl).toFixed(2)})`.padStart(15)}  ${(b / a).toFixed(2)}`,
        );
        rows.push({ tokens: n, stage: key, floorMs: fl, refMs: a, thisMs: b, ref: all(other, n, key), this: all(here, n, key) });
      }
    }
    const rss = (s: Side) => median(got.get(s)!.peakRssMb);
    const fr = median(floor.peakRssMb);
    console.log(
      `  peak RSS MB: floor ${f0(fr)}, ref ${f0(rss(other))} (×${(rss(other) / fr).toFixed(2)}), this ${f0(rss(here))} (×${(rss(here) / fr).toFixed(2)}), ratio ${(rss(here) / rss(other)).toFixed(2)}`,
    );
    report.push({
      model: job.name,
      sizes,
      rounds,
      reps,
      rows,
      peakRssMb: { floor: floor.peakRssMb, ref: got.get(other)!.peakRssMb, this: got.get(here)!.peakRssMb },
    });
  }
  const sha = git(['rev-parse', '--short=12', `${ref}^{commit}`]);
  fs.mkdirSync(RESULTS, { recursive: true });
  const file = path.join(
    RESULTS,
    `ab-${sha}${thisRef ? `-${git(['rev-parse', '--short=12', `${thisRef}^{commit}`])}` : ''}-${jobs.map((j) => j.name).join('+')}.json`,
  );
  fs.writeFileSync(
    file,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        ref: other.label,
        this: here.label,
        cpu: os.cpus()[0]?.model ?? 'unknown',
        cores: os.cpus().length,
        load: os.loadavg(),
        models: report,
      },
      null,
      1,
    ),
  );
  console.log(
    `\nwrote ${path.relative(ROOT, file)} in ${((Date.now() - t0) / 1000).toFixed(0)} s (load average ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')})`,
  );
}
