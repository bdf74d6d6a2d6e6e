// Where an explain's milliseconds go: every stage of the path the extension takes, timed one after the
// other on ONE thread (so stages do not overlap and steal each other's cores), medians over reps.
//   npx tsx bench/profile.ts [tokens=1024] [model.onnx] [tokenizer.json] [reps=3]
// Defaults: the GPT-2-small-shaped bench model (bench/results/gpt2-small) and headlight-mini's tokenizer.
// The real explain overlaps the engine's recompute with the analysis worker (two threads); the sum here
// is the work, not the wall time — bench/engine.ts's explain child gives that.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { getModel, captureRun, disposeCaptured, recomputeHeads } from '../src/engine/modelCache';
import { encodeText, loadTokenizer } from '../src/engine/tokenize';
import { predictionsFrom } from '../src/engine/predictions';
import { nextTokenFetches, predictionsFromOutputs } from '../src/engine/nextTokenGraph';
import { allValueNorms } from '../src/engine/values';
import { dlaFetches, runDla } from '../src/engine/dlaRun';
import { attentionSourceIndex } from '../src/engine/loadedModel';
import { headAnalyzer, LayerSums, PathwayBuilder } from '../src/analysis';
import { measureHead, Scratch } from '../src/analysis/measure';
import { measureRest } from '../src/analysis/sinkAware';
import { buildContext } from '../src/analysis/context';
import { thumbnailOf, THUMB_SIZE } from '../src/session/wire';
import { joinedSamples } from '../test/fixtures/samples';

const ROOT = path.resolve(__dirname, '..');
const n = Number(process.argv[2] ?? 1024);
const modelPath = path.resolve(process.argv[3] || path.join(ROOT, 'bench/results/gpt2-small/model.onnx'));
const tokenizerPath = path.resolve(process.argv[4] || path.join(ROOT, 'media/models/headlight-mini/tokenizer.json'));
const reps = Number(process.argv[5] ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Wall and CPU time (this process, ORT's threads included): CPU time is what a stage costs when other work
// shares the cores.
const rows: { stage: string; ms: number[]; cpu: number[] }[] = [];
async function time<T>(stage: string, f: () => Promise<T> | T): Promise<T> {
  const c = process.cpuUsage();
  const t = performance.now();
  const r = await f();
  const dt = performance.now() - t;
  const dc = process.cpuUsage(c);
  let row = rows.find((x) => x.stage === stage);
  if (!row) rows.push((row = { stage, ms: [], cpu: [] }));
  row.ms.push(dt);
  row.cpu.push((dc.user + dc.system) / 1000);
  return r;
}

async function main(): Promise<void> {
  process.env.ORT_DISABLE_TELEMETRY = '1';
  if (!fs.existsSync(modelPath)) throw new Error(`no model at ${modelPath}: run npm run bench once (it generates the bench models)`);
  const t0 = performance.now();
  const { model: m } = await getModel(modelPath);
  console.log(
    `load ${(performance.now() - t0).toFixed(0)} ms: ${m.layers}×${m.headsPerLayer} heads, recompute ${m.recompute ? 'yes' : 'no'}, values ${m.values ? 'planned' : 'none'}`,
  );
  const tok = loadTokenizer(tokenizerPath);
  let text = joinedSamples('\n');
  while (text.length < n * 8) text += '\n' + text;
  const tokens = (await encodeText(tok, text)).slice(0, n);
  const ids = tokens.map((t) => t.id);
  const layerSources = m.attention.map((_, l) => attentionSourceIndex(m, l));
  const valueNames = m.values ? [...new Set(layerSources.map((k) => m.values!.values[k]))] : [];
  const logitsName = m.plan.logitsOutput;
  const plainFetch = m.originalOutputs;
  const feeds = async () => {
    const { feedTensor } = await import('../src/engine/feeds');
    return Object.fromEntries(m.plan.inputs.map((s) => [s.name, feedTensor(s, n, ids, undefined)]));
  };
  for (let r = 0; r <= reps; r++) {
    const label = (s: string) => (r === 0 ? `warm-up: ${s}` : s);
    const f = await feeds();
    const plain = await time(label('floor: plain run, original outputs'), () => m.session.run(f, plainFetch));
    for (const v of Object.values(plain)) v.dispose?.();
    const bare = await time(label('capture run, captures only'), () => captureRun(m, ids));
    disposeCaptured(bare);
    // What the worker fetches with an explain: the graph's next-token reduction (else the logits), the values, DLA's tensors.
    const next = [...(m.nextToken ? nextTokenFetches(m.nextToken) : logitsName ? [logitsName] : []), ...dlaFetches(m)];
    let got: Record<string, ort.Tensor> = {};
    const values: Record<string, { data: Float32Array; dims: readonly number[] }> = {};
    const cap = await time(label('explain run: captures + predictions + values'), () =>
      captureRun(m, ids, undefined, [...next, ...valueNames], (t) => {
        got = t;
        for (const v of valueNames) values[v] = { data: t[v].data as Float32Array, dims: t[v].dims };
      }),
    );
    if (m.nextToken) {
      const r = m.nextToken;
      const p = await time(label('predictions: from the reduced outputs'), () => predictionsFromOutputs(got, r, ids));
      await time(label('DLA (after the heads: beside the last analysis)'), () => runDla(m, got, ids, { ...p, topText: [] }));
    } else if (logitsName) {
      const logits = got[logitsName];
      await time(label('predictions: JS top-k + log-softmax over logits'), () => predictionsFrom(logits.data as Float32Array, n, Number(logits.dims[2]), ids));
    }
    const norms = valueNames.length
      ? await time(label('value norms (ORT; after the first paint)'), () => allValueNorms(m.values!, layerSources, m.headsPerLayer, n, values))
      : undefined;
    // The streamed analysis, stage by stage, one layer at a time; then what only a view's first use does.
    const ctx = await time(label('analysis: text context'), () => buildContext(tokens, m.causal));
    const scratch = new Scratch(n, 3);
    const an = headAnalyzer({ layers: m.layers, headsPerLayer: m.headsPerLayer, seq: n, causal: m.causal }, tokens);
    const sums: LayerSums[] = [];
    for (let l = 0; l < m.layers; l++) {
      const list = Array.from({ length: m.headsPerLayer }, (_, h) => [l, h] as const);
      const heads = await time(label('recompute: slice runs (all layers)'), () => recomputeHeads(m, cap, list));
      sums.push(new LayerSums(l, n, m.causal, m.headsPerLayer));
      for (let h = 0; h < heads.length; h++) {
        const A = heads[h];
        await time(label('  of which measureHead (main + target pass)'), () => measureHead(A, ctx, scratch, 3));
        await time(label('  of which measureRest (sink-aware)'), () => measureRest(A, ctx, scratch));
        await time(label('analysis: analyze() per head (measure + rest + roles)'), () => an.analyze(l, h, A));
        await time(label('thumbnail'), () => thumbnailOf(A, n, THUMB_SIZE, undefined, m.causal));
        if (norms)
          await time(label('first use: value-weighted thumbnail'), () =>
            thumbnailOf(A, n, THUMB_SIZE, norms.data.subarray((l * m.headsPerLayer + h) * n, (l * m.headsPerLayer + h + 1) * n), m.causal),
          );
        await time(label('first use: Flow cache (LayerSums.add)'), () => sums[l].add(A));
      }
    }
    await time(label("Flow: the last token's pathway from the cache"), () => {
      const b = new PathwayBuilder({ layers: m.layers, headsPerLayer: m.headsPerLayer, seq: n, causal: m.causal }, n - 1);
      for (let want = b.next(); want; want = b.next()) b.feedLayer(sums[want[0]]);
      return b.result();
    });
    disposeCaptured(cap);
  }
  console.log(
    `\n${n} tokens (load average ${os.loadavg()[0].toFixed(1)}), ${path.relative(ROOT, modelPath)}; medians of ${reps} (sums over heads/layers per explain)`,
  );
  for (const r of rows) {
    if (r.stage.startsWith('warm-up')) continue;
    const per = r.ms.length / reps; // calls per explain
    const sum = (xs: number[]) => Array.from({ length: reps }, (_, k) => xs.slice(k * per, (k + 1) * per).reduce((a, b) => a + b, 0));
    const totals = sum(r.ms),
      cpu = sum(r.cpu);
    console.log(
      `  ${r.stage.padEnd(58)} ${median(totals).toFixed(0).padStart(7)} ms  [${Math.min(...totals).toFixed(0)}–${Math.max(...totals).toFixed(0)}]  cpu ${median(cpu).toFixed(0).padStart(6)} ms`,
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
