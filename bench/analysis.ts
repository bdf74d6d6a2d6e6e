// Benchmark: analyzeHeads on 12 layers × 12 heads of random Dirichlet causal attention at 512
// tokens (GPT-2-small shape). Prints the median of several runs. Run: npx tsx bench/analysis.ts
import os from 'node:os';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeText, loadTokenizer } from '../src/engine/tokenize';
import { performance } from 'node:perf_hooks';
import { analyzeHeads, attentionPathway, summarizeLayers } from '../src/analysis';
import { attentionSet, dirichletHead, mulberry32, tokensFrom } from '../test/unit/analysis/support/synth';

const L = 12,
  H = 12,
  n = Number(process.env.N ?? 512),
  runs = Number(process.env.RUNS ?? 7);
const rng = mulberry32(7);
const words = ['the', ' ledger', ',', ' of', ' (', 'x', ')', ' and', '.', ' Quill', '\n', ' a', ' "', 'b', '"'];
const tokens = tokensFrom(
  Array.from({ length: n - 1 }, () => words[Math.floor(rng() * words.length)]),
  true,
);
const heads = Array.from({ length: L }, () => Array.from({ length: H }, () => dirichletHead(rng, n, true, 1)));
const att = attentionSet(heads, n, true);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
// Wall time and this process's CPU time: the machine is shared, and CPU time shows what the code
// costs when other processes steal the cores.
const time = (f: () => void): { wall: number[]; cpu: number[] } => {
  f(); // warm-up (JIT)
  const wall: number[] = [],
    cpu: number[] = [];
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    f();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall, cpu };
};
const line = (what: string, t: { wall: number[]; cpu: number[] }): void =>
  console.log(
    `${what}: median ${median(t.wall).toFixed(1)} ms wall, ${median(t.cpu).toFixed(1)} ms CPU (wall runs: ${t.wall.map((x) => x.toFixed(0)).join(', ')})`,
  );

line(
  `analyzeHeads + summarizeLayers, ${L}×${H} heads, ${n} tokens of 15 words (worst case: every token repeats ~${Math.round(n / 15)}×)`,
  time(() => summarizeLayers(analyzeHeads(att, tokens))),
);

line(
  `attentionPathway for one token through ${L} layers`,
  time(() => attentionPathway(att, n - 1)),
);
// The same heads over real tokens (the sample prose and code through headlight-mini's byte-level BPE),
// then as the extension runs it: in the analysis workers (layers split over up to two threads),
// attention moved there and back, thumbnails included. Sequential, so the measurements don't overlap.
void (async () => {
  const root = path.join(__dirname, '..');
  const corpus = ['prose.txt', 'code.py', 'repeats.txt', 'mixed.txt']
    .map((f) => fs.readFileSync(path.join(root, 'samples', f), 'utf8'))
    .join('\n')
    .repeat(8);
  const real = (await encodeText(loadTokenizer(path.join(root, 'media/models/headlight-mini/tokenizer.json')), corpus)).slice(0, n);
  line(
    `analyzeHeads + summarizeLayers, ${L}×${H} heads, ${n} tokens of real prose and code`,
    time(() => summarizeLayers(analyzeHeads(att, real))),
  );
  const { AnalysisClient } = await import('../src/session/analysisClient');
  const client = new AnalysisClient();
  let a = att; // the buffers move to the workers and back: keep using what came back
  for (const [label, toks] of [
    ['real prose and code', real],
    ['15 words', tokens],
  ] as const) {
    const wall: number[] = [];
    for (let r = 0; r <= runs; r++) {
      const t0 = performance.now();
      const out = await client.analyze(a, toks, undefined, 48);
      a = out.attention;
      if (r > 0) wall.push(performance.now() - t0); // the first run starts the workers
    }
    console.log(
      `AnalysisClient.analyze in workers (thumbnails included), ${L}×${H} heads, ${n} tokens of ${label}: median ${median(wall).toFixed(1)} ms wall (runs: ${wall.map((x) => x.toFixed(0)).join(', ')})`,
    );
  }
  await client.dispose();
  console.log(
    `load average ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')} on ${os.cpus().length} cores`,
  );
})();
