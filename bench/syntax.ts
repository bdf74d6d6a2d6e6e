// Benchmark: the syntax roles' reading of a text (issue 20) — tree-sitter parse + relations for 1,024 tokens
// of code, wink-nlp tagging + relations for 1,024 tokens of prose — and what scoring them adds per head.
// First use (the runtime and a grammar or the English model load) and warm medians, wall and CPU time.
// Run: npx tsx bench/syntax.ts   (N=1024 RUNS=9 by default; no time is asserted anywhere)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { headAnalyzer } from '../src/analysis';
import { buildSyntax } from '../src/analysis/syntax';
import { encodeText, loadTokenizer } from '../src/engine/tokenize';
import { dirichletHead, mulberry32 } from '../test/unit/analysis/support/synth';

const N = Number(process.env.N ?? 1024),
  runs = Number(process.env.RUNS ?? 9);
const root = path.resolve(__dirname, '..');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timed(f: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await f();
  const c = process.cpuUsage(c0);
  return { wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 };
}

async function main(): Promise<void> {
  const tok = loadTokenizer(path.join(root, 'media/models/headlight-mini/tokenizer.json'));
  // N tokens of real code: Headlight's own sources (TypeScript) and the Python sample, cut at a line end.
  const cases: [string, string, string][] = [
    // Line comments dropped: tokens inside a comment start no node, and the row is about code.
    [
      'typescript',
      'src/analysis/roles/*.ts + sinkAware.ts, no // lines',
      [
        ...fs
          .readdirSync(path.join(root, 'src/analysis/roles'))
          .sort()
          .map((f) => `src/analysis/roles/${f}`),
        'src/analysis/sinkAware.ts',
      ]
        .map((f) => fs.readFileSync(path.join(root, f), 'utf8'))
        .join('')
        .replace(/^\s*\/\/.*\n/gm, ''),
    ],
    ['python', 'samples/code.py ×', fs.readFileSync(path.join(root, 'samples/code.py'), 'utf8').repeat(20)],
    ['plaintext', 'samples/prose.txt ×', (fs.readFileSync(path.join(root, 'samples/prose.txt'), 'utf8') + '\n\n').repeat(20)],
  ];
  console.log(`syntax roles' reading of ${N} tokens (headlight-mini's tokenizer), ${runs} warm runs`);
  console.log('| text | language | first use (wall) | warm median wall | warm median CPU | relation dependents |');
  console.log('|---|---|---|---|---|---|');
  for (const [language, what, long] of cases) {
    let text = long;
    let tokens = await encodeText(tok, text);
    if (tokens.length > N) {
      const cut = tokens[N - 1].end;
      text = text.slice(0, text.lastIndexOf('\n', cut) + 1 || cut);
      tokens = await encodeText(tok, text);
      tokens = tokens.slice(0, N);
    }
    const ctx = { language, text, offset: 0 };
    const first = await timed(() => buildSyntax(tokens, ctx));
    for (let w = 0; w < 3; w++) await buildSyntax(tokens, ctx); // JIT warm-up
    const wall: number[] = [],
      cpu: number[] = [];
    let deps = '';
    for (let r = 0; r < runs; r++) {
      const t = await timed(async () => {
        const info = await buildSyntax(tokens, ctx);
        deps = info.relations.map((x) => `${x.name} ${x.gold.filter((g) => g >= 0).length}`).join(', ');
      });
      wall.push(t.wall);
      cpu.push(t.cpu);
    }
    console.log(
      `| ${what} (${tokens.length} tokens) | ${language} | ${first.wall.toFixed(0)} ms | ${median(wall).toFixed(1)} ms | ${median(cpu).toFixed(1)} ms | ${deps} |`,
    );
  }

  // Per head: the syntax roles on top of the existing analysis, one random causal head at N tokens.
  for (const [language, file] of [
    ['python', 'samples/code.py'],
    ['plaintext', 'samples/prose.txt'],
  ] as const) {
    const text = (fs.readFileSync(path.join(root, file), 'utf8') + '\n\n').repeat(20);
    const tokens = (await encodeText(tok, text)).slice(0, N);
    const n = tokens.length;
    const info = await buildSyntax(tokens, { language, text, offset: 0 });
    const A = dirichletHead(mulberry32(1), n, true, 1);
    const shape = { layers: 1, headsPerLayer: 1, seq: n, causal: true };
    for (const [label, opts] of [
      ['without syntax', {}],
      ['with syntax', { syntax: info }],
    ] as const) {
      const an = headAnalyzer(shape, tokens, opts);
      for (let w = 0; w < 5; w++) an.analyze(0, 0, A); // JIT warm-up
      const ts: number[] = [];
      for (let r = 0; r < 4 * runs; r++) {
        const t0 = performance.now();
        an.analyze(0, 0, A);
        ts.push(performance.now() - t0);
      }
      console.log(`one head at ${n} tokens of ${language}, ${label}: ${median(ts).toFixed(2)} ms`);
    }
  }
}

void main();
