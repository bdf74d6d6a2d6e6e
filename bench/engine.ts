// Engine bench, one model per child process (so peak RSS is that model's own):
//   floor   — the UNMODIFIED graph run by onnxruntime-node (plain session, no attention outputs);
//   explain — the whole path a user triggers: EngineClient (worker) → tokenize → run capturing each
//             layer's score inputs (bounded-memory mode; models without it fetch the probabilities)
//             → repeat probe (cached) → heads recomputed and analysed a chunk at a time → wire format.
// Printed per token count as medians; the parent (bench/run.ts) turns them into ratios to the floor.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineClient, type ModelRef } from '../src/engine';
import { loadModel, runSession } from '../src/engine/modelCache';
import { SessionPipeline } from '../src/session/pipeline';

export interface EngineRow {
  model: string;
  tokens: number;
  floorMs: number;
  floorMin: number;
  floorMax: number;
  attentionMs: number;
  attentionMin: number;
  attentionMax: number;
  ratio: number;
  tokenizeMs: number;
  analysisMs: number;
  explainMs: number;
  explainMin: number;
  explainMax: number;
  /** Host side of first paint: the session the panel can draw (a long selection's preview, else the whole explain). */
  firstPaintMs: number;
  peakRssMb: number;
  floorPeakRssMb: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** A text that tokenizes to exactly `n` tokens (specials included) with this model's tokenizer. */
async function textOfTokens(client: EngineClient, model: ModelRef, n: number, corpus: string): Promise<string> {
  let text = corpus;
  while (text.length < n * 8) text += '\n' + corpus;
  const r = await client.explain(text, model, { maxTokens: n, truncate: true, keep: true }); // tokens only: keep, never materialise
  if (r.kept) await client.release(r.kept.handle);
  const last = [...r.tokens].reverse().find((t) => !t.special)!;
  return text.slice(0, last.end); // merges across the cut may shift the count by one: rows report what ran
}

async function floorChild(modelPath: string, sizes: number[], reps: number): Promise<void> {
  const st = fs.statSync(modelPath);
  const m = await loadModel(path.resolve(modelPath), `${st.mtimeMs}:${st.size}`, { addAttention: false });
  const out: Record<number, number[]> = {};
  for (const n of sizes) {
    const ids = Array.from({ length: n }, (_, i) => 1 + ((i * 7919) % 200));
    out[n] = [];
    for (let r = 0; r <= reps; r++) {
      const t = performance.now();
      const res = await runSession(m, ids, m.originalOutputs);
      const dt = performance.now() - t;
      for (const v of Object.values(res)) v.dispose?.();
      if (r > 0) out[n].push(dt); // the first run warms up
    }
  }
  process.stdout.write(JSON.stringify({ times: out, peakRssMb: process.resourceUsage().maxRSS / 1024 }));
}

async function explainChild(model: ModelRef, sizes: number[], reps: number, corpus: string): Promise<void> {
  const client = new EngineClient({ workerPath: path.join(__dirname, '..', 'dist', 'engine-worker.js') });
  const pipeline = new SessionPipeline(client);
  const out: Record<number, { tokens: number; explain: number[]; run: number[]; tokenize: number[]; analysis: number[]; firstPaint: number[]; cpu: number[] }> =
    {};
  for (const n of sizes) {
    const text = await textOfTokens(client, model, n, corpus);
    const row = {
      tokens: n,
      explain: [] as number[],
      run: [] as number[],
      tokenize: [] as number[],
      analysis: [] as number[],
      firstPaint: [] as number[],
      cpu: [] as number[],
    };
    for (let r = 0; r <= reps; r++) {
      // CPU time of the whole process (every thread: ORT's, the workers'): what the explain costs when other
      // work shares the cores and wall time says more about the neighbours than about the code.
      const c0 = process.cpuUsage();
      const t = performance.now();
      // keep: the extension's bounded-memory path (heads recomputed and analysed a chunk at a time).
      // First paint: when the panel could show the session — the preview of a long selection, else the end.
      let preview = NaN;
      const b = await pipeline.build({ id: r, title: 'bench', text, model, maxTokens: 4096, keep: true, onPreview: () => (preview = performance.now() - t) });
      b.source.dispose();
      const dt = performance.now() - t;
      row.firstPaint.push(Number.isNaN(preview) ? dt : preview);
      row.tokens = b.session.tokens.length;
      if (r === 0) {
        row.firstPaint.pop();
        continue;
      } // warm-up: session load and the model's repeat probe
      row.explain.push(dt);
      const c = process.cpuUsage(c0);
      row.cpu.push((c.user + c.system) / 1000);
      row.run.push(b.result.stats.runMs);
      row.tokenize.push(b.result.stats.tokenizeMs);
      row.analysis.push(b.timings.analysisMs);
    }
    out[n] = row;
  }
  await client.dispose();
  process.stdout.write(JSON.stringify({ rows: out, peakRssMb: process.resourceUsage().maxRSS / 1024 }));
}

/**
 * Head effects: every head zero-ablated on its own over one explained selection (the pipeline's path,
 * gate sets batched as the model's logits allow). Each measurement is fresh: the pipeline's cache is
 * bypassed with a new pipeline per repetition; the gated session is loaded by the warm-up.
 */
async function effectsChild(model: ModelRef, sizes: number[], reps: number, corpus: string): Promise<void> {
  const client = new EngineClient({ workerPath: path.join(__dirname, '..', 'dist', 'engine-worker.js') });
  const out: Record<number, { tokens: number; heads: number; ms: number[] }> = {};
  for (const n of sizes) {
    const text = await textOfTokens(client, model, n, corpus);
    const base = new SessionPipeline(client);
    const b = await base.build({ id: 0, title: 'bench', text, model, maxTokens: 4096, keep: true });
    b.source.dispose();
    const row = { tokens: b.session.tokens.length, heads: b.result.model.layers * b.result.model.headsPerLayer, ms: [] as number[] };
    for (let r = 0; r <= reps; r++) {
      const t = performance.now();
      await new SessionPipeline(client).measureEffects(model, b.result);
      if (r > 0) row.ms.push(performance.now() - t); // the first loads the gated session
    }
    out[n] = row;
  }
  await client.dispose();
  process.stdout.write(JSON.stringify({ rows: out }));
}

if (require.main === module) {
  const [mode, spec] = process.argv.slice(2);
  const job = JSON.parse(spec) as { model: ModelRef; sizes: number[]; reps: number; corpus?: string };
  const run =
    mode === 'floor'
      ? floorChild(job.model.modelPath, job.sizes, job.reps)
      : mode === 'effects'
        ? effectsChild(job.model, job.sizes, job.reps, job.corpus ?? '')
        : explainChild(job.model, job.sizes, job.reps, job.corpus ?? '');
  run.catch((e: unknown) => {
    process.stderr.write(String((e instanceof Error && e.stack) || e));
    process.exit(1);
  });
}

export function summarise(
  model: string,
  floor: { times: Record<number, number[]>; peakRssMb: number },
  ex: {
    rows: Record<number, { tokens: number; explain: number[]; run: number[]; tokenize: number[]; analysis: number[]; firstPaint: number[] }>;
    peakRssMb: number;
  },
): EngineRow[] {
  return Object.keys(floor.times)
    .map(Number)
    .map((n) => {
      const f = floor.times[n];
      const e = ex.rows[n];
      const floorMs = median(f);
      const attentionMs = median(e.run);
      return {
        model,
        tokens: e.tokens,
        floorMs,
        floorMin: Math.min(...f),
        floorMax: Math.max(...f),
        attentionMs,
        attentionMin: Math.min(...e.run),
        attentionMax: Math.max(...e.run),
        ratio: attentionMs / floorMs,
        tokenizeMs: median(e.tokenize),
        analysisMs: median(e.analysis),
        firstPaintMs: median(e.firstPaint),
        explainMs: median(e.explain),
        explainMin: Math.min(...e.explain),
        explainMax: Math.max(...e.explain),
        peakRssMb: ex.peakRssMb,
        floorPeakRssMb: floor.peakRssMb,
      };
    });
}
