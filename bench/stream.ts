// What reading a head's effect on the output costs, against the floor (a plain run of the unmodified graph,
// same process, interleaved): direct logit attribution for every head, exact ablation on the cut copies (all
// heads, and the first 12 by |DLA|), and one token's information-flow route. One model per child process.
//   npx tsx bench/stream.ts [MODEL.onnx] [--dla 128,512,1024] [--ablate 128] [--routes 512] [--reps 3] [--gated] [--interleaved]
// --gated also times the whole gated graph for all heads (the method before the cut copies), for an A/B;
// --interleaved pairs each layer's ablations with a floor run right before them (load drifts on a shared
// machine over a minute-long measurement) and sums the per-head ratios.
// Prints a table and, with --json, one JSON object (bench/run.ts reads it). No timing is asserted anywhere.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { addCaptureOutputs } from '../src/engine/recomputeGraph';
import { decodeModel, elemTypes } from '../src/engine/onnxGraph';
import { feedTensor } from '../src/engine/feeds';
import { loadModel, runSession, captureRun, disposeCaptured, type Captured, type LoadedModel } from '../src/engine/modelCache';
import { computeDla, alternativesFrom } from '../src/engine/dla';
import { dlaPlanOf } from '../src/engine/dlaRun';
import { predictionsFrom } from '../src/engine/predictions';
import { cutState, measureHeadEffects } from '../src/engine/ablationCut';
import { measureEffects } from '../src/engine/effects';
import { allValueNorms } from '../src/engine/values';
import { attentionSourceIndex } from '../src/engine/loadedModel';
import { keepRoutes, routeFetches, traceRoutesFor } from '../src/engine/routesKept';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The explain's run: the captures where the model recomputes its attention, else the attention itself; `extra` handed over. */
async function explainRun(
  m: LoadedModel,
  ids: number[],
  extra: string[],
  onExtra: (t: Record<string, ort.Tensor>) => void,
): Promise<{ cap?: Captured; attention?: Float32Array[] }> {
  if (m.recompute) return { cap: await captureRun(m, ids, undefined, extra, onExtra) };
  const out = await runSession(m, ids, [...m.attention, ...extra]);
  onExtra(out);
  return { attention: m.attention.map((a) => out[a].data as Float32Array) };
}
const done = (r: { cap?: Captured }) => {
  if (r.cap) disposeCaptured(r.cap);
};
const idsOf = (n: number) => Array.from({ length: n }, (_, i) => 1 + ((i * 7919) % 200));

export interface StreamRow {
  what: string;
  tokens: number;
  ms: number;
  min: number;
  max: number;
  floorMs: number;
  ratio: number;
  note?: string;
}

async function floorOf(plain: LoadedModel, ids: number[]): Promise<number> {
  const t = performance.now();
  const out = await runSession(plain, ids, plain.originalOutputs);
  for (const v of Object.values(out)) v.dispose?.();
  return performance.now() - t;
}

/** The explain's run with what DLA fetches, the predictions that name each position's alternative, and DLA itself. */
async function dlaOnce(m: LoadedModel, ids: number[]): Promise<{ ms: number; runMs: number; dlaMs: number; predictMs: number }> {
  const plan = dlaPlanOf(m);
  if ('refused' in plan) throw new Error(plan.refused);
  const logits = m.plan.logitsOutput!;
  const t0 = performance.now();
  let got: Record<string, ort.Tensor> = {};
  const cap = await explainRun(m, ids, [logits, ...plan.fetches], (t) => {
    got = t;
  });
  const runMs = performance.now() - t0;
  const lg = got[logits];
  const V = Number(lg.dims[lg.dims.length - 1]);
  // The explain makes its predictions anyway (they name each position's alternative): timed apart.
  const tp = performance.now();
  const p = predictionsFrom(lg.data as Float32Array, ids.length, V, ids);
  const t1 = performance.now();
  const fetched = Object.fromEntries(plan.fetches.map((nm) => [nm, { data: got[nm].data as Float32Array, dims: got[nm].dims }]));
  await computeDla(plan, fetched, ids, alternativesFrom(p.topIds, p.k, ids), m.headsPerLayer);
  const end = performance.now();
  done(cap);
  return { ms: runMs + (end - t1), runMs, dlaMs: end - t1, predictMs: t1 - tp };
}

/** The capture run an explain makes without DLA's fetches (the comparison for what DLA adds). */
async function captureOnly(m: LoadedModel, ids: number[]): Promise<number> {
  const t0 = performance.now();
  done(await explainRun(m, ids, [m.plan.logitsOutput!], () => undefined));
  return performance.now() - t0;
}

/** Medians; the ratio is the median of each rep over the floor run made right before it when both lists pair up (load drifts). */
function row(what: string, tokens: number, ms: number[], floor: number[], note?: string): StreamRow {
  const f = median(floor);
  const ratio = ms.length === floor.length ? median(ms.map((x, i) => x / floor[i])) : median(ms) / f;
  return { what, tokens, ms: median(ms), min: Math.min(...ms), max: Math.max(...ms), floorMs: f, ratio, ...(note ? { note } : {}) };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (k: string, d: string) => {
    const i = args.indexOf(k);
    return i >= 0 ? args[i + 1] : d;
  };
  const file = path.resolve(args.find((a) => a.endsWith('.onnx')) ?? path.join(__dirname, 'results', 'gpt2-small', 'model.onnx'));
  const list = (k: string, d: string) => opt(k, d).split(',').filter(Boolean).map(Number);
  const dlaSizes = list('--dla', '128,512,1024'),
    ablate = list('--ablate', '128'),
    routeSizes = list('--routes', '512');
  const reps = Number(opt('--reps', '3'));
  const st = fs.statSync(file);
  const plain = await loadModel(file, `${st.mtimeMs}:${st.size}`, { addAttention: false });
  const m = await loadModel(file, `${st.mtimeMs}:${st.size}`);
  const rows: StreamRow[] = [];
  const log = (r: StreamRow) => {
    rows.push(r);
    if (!args.includes('--json'))
      console.log(
        `  ${r.what.padEnd(44)} ${String(r.tokens).padStart(5)} tokens: ${r.ms.toFixed(0).padStart(6)} ms [${r.min.toFixed(0)}–${r.max.toFixed(0)}] = ${r.ratio.toFixed(2)}× the floor (${r.floorMs.toFixed(0)} ms)${r.note ? ` — ${r.note}` : ''}`,
      );
  };

  // DLA on its own: the unmodified graph plus only what DLA fetches (no attention captures), then DLA.
  const dlaPlan = dlaPlanOf(m);
  const alone =
    'refused' in dlaPlan || !dlaSizes.length
      ? undefined
      : await (async () => {
          const bytes = fs.readFileSync(file);
          const names = [...dlaPlan.fetches, m.plan.logitsOutput!];
          const session = await ort.InferenceSession.create(
            addCaptureOutputs(bytes, names, elemTypes(decodeModel(bytes, 'm'), names) as number[], m.originalOutputs),
            { logSeverityLevel: 3, graphOptimizationLevel: 'all' },
          );
          return async (ids: number[]) => {
            const feeds: Record<string, ort.Tensor> = {};
            for (const spec of m.plan.inputs) feeds[spec.name] = feedTensor(spec, ids.length, ids);
            const t0 = performance.now();
            const out = await session.run(feeds, names);
            const run = performance.now() - t0;
            const lg = out[m.plan.logitsOutput!];
            const p = predictionsFrom(lg.data as Float32Array, ids.length, Number(lg.dims[2]), ids); // the explain's anyway: not counted
            const t1 = performance.now();
            await computeDla(
              dlaPlan,
              Object.fromEntries(dlaPlan.fetches.map((nm) => [nm, { data: out[nm].data as Float32Array, dims: out[nm].dims }])),
              ids,
              alternativesFrom(p.topIds, p.k, ids),
              m.headsPerLayer,
            );
            return run + (performance.now() - t1);
          };
        })();
  for (const n of dlaSizes) {
    const ids = idsOf(n);
    await floorOf(plain, ids);
    await dlaOnce(m, ids); // warm-up
    const floor: number[] = [],
      floor2: number[] = [],
      dla: number[] = [],
      run: number[] = [],
      only: number[] = [],
      capture: number[] = [],
      predict: number[] = [],
      solo: number[] = [];
    if (alone) await alone(ids);
    for (let r = 0; r < reps; r++) {
      floor.push(await floorOf(plain, ids));
      if (alone) solo.push(await alone(ids));
      floor2.push(await floorOf(plain, ids));
      const d = await dlaOnce(m, ids);
      dla.push(d.ms);
      run.push(d.runMs);
      only.push(d.dlaMs);
      predict.push(d.predictMs);
      capture.push(await captureOnly(m, ids));
    }
    if (solo.length) log(row('DLA alone (a plain run + its fetches, then DLA)', n, solo, floor));
    log(
      row(
        'DLA in the explain (its capture run + DLA)',
        n,
        dla,
        floor2,
        `run ${median(run).toFixed(0)} ms, DLA ${median(only).toFixed(0)} ms; the explain's run without DLA's fetches ${median(capture).toFixed(0)} ms; its predictions (made anyway) ${median(predict).toFixed(0)} ms`,
      ),
    );
  }

  const state = await cutState(m);
  for (const n of ablate) {
    const ids = idsOf(n);
    const floor: number[] = [];
    for (let r = 0; r < reps; r++) floor.push(await floorOf(plain, ids));
    // The order Measure Head Effects uses (effectsOrder.ts): by |DLA|; all heads layer by layer, the top layer first.
    const plan = dlaPlanOf(m);
    let order: [number, number][] = Array.from({ length: m.layers * m.headsPerLayer }, (_, k) => [Math.floor(k / m.headsPerLayer), k % m.headsPerLayer]);
    if (!('refused' in plan)) {
      let got: Record<string, ort.Tensor> = {};
      const cap = await explainRun(m, ids, [m.plan.logitsOutput!, ...plan.fetches], (t) => {
        got = t;
      });
      const lg = got[m.plan.logitsOutput!];
      const p = predictionsFrom(lg.data as Float32Array, n, Number(lg.dims[2]), ids);
      const d = await computeDla(
        plan,
        Object.fromEntries(plan.fetches.map((nm) => [nm, { data: got[nm].data as Float32Array, dims: got[nm].dims }])),
        ids,
        alternativesFrom(p.topIds, p.k, ids),
        m.headsPerLayer,
      );
      done(cap);
      const mag = order.map((_, k) => {
        let s = 0;
        for (let i = 0; i + 1 < n; i++) s += Math.abs(d.actual[k * n + i]);
        return s;
      });
      order = order
        .map((hd, k) => [hd, mag[k]] as const)
        .sort((a, b) => b[1] - a[1])
        .map((x) => x[0]);
    }
    const layersFirst: number[] = [];
    for (const [l] of order) if (!layersFirst.includes(l)) layersFirst.push(l);
    const grouped = layersFirst.flatMap((l) => order.filter(([x]) => x === l));
    const fresh = () => {
      if (!('refused' in state)) state.clean = undefined;
    }; // every measurement pays its own clean run
    await measureHeadEffects(m, ids, order.slice(0, 2)); // warm-up: the cut session's first runs
    for (const [what, heads] of [
      ['exact ablation, first 12 heads by |DLA|', order.slice(0, 12)],
      [`exact ablation, all ${order.length} heads`, grouped],
    ] as const) {
      const ms: number[] = [],
        paired: number[] = [];
      for (let r = 0; r < Math.min(reps, heads.length > 12 ? 2 : reps); r++) {
        paired.push(await floorOf(plain, ids));
        fresh();
        const t = performance.now();
        const res = await measureHeadEffects(m, ids, heads);
        ms.push(performance.now() - t);
        if (res.cut) console.error(`whole graph: ${res.cut}`);
      }
      log(row(what, n, ms, paired, 'refused' in state ? `on the gated whole graph: ${state.refused}` : 'cut copies, clean run included'));
    }
    if (args.includes('--interleaved')) {
      // Load drifts over a minute-long measurement: pair each layer's cut run (a batch of its heads, as the
      // whole measurement runs them) with a floor run right before it, and sum the per-head ratios.
      const per: number[][] = Array.from({ length: m.layers }, () => []),
        gated: number[] = [];
      const H = m.headsPerLayer,
        batch = Math.min(3, H);
      for (let r = 0; r < reps; r++) {
        for (let l = 0; l < m.layers; l++) {
          const fl = await floorOf(plain, ids);
          const t = performance.now();
          await measureHeadEffects(
            m,
            ids,
            Array.from({ length: batch }, (_, h) => [l, h] as [number, number]),
          );
          per[l].push((performance.now() - t) / fl / batch);
        }
        if (args.includes('--gated')) {
          const fl = await floorOf(plain, ids);
          const t = performance.now();
          await measureEffects(m, ids, [
            [r % m.layers, 0],
            [r % m.layers, 1],
            [(r + 1) % m.layers, 0],
          ]);
          gated.push((performance.now() - t) / fl / 3);
        }
      }
      const perHead = per.map(median);
      const total = H * perHead.reduce((a, b) => a + b, 0) + 1; // + the clean run
      log({
        what: `exact ablation, all ${m.layers * H} heads, paired with floors`,
        tokens: n,
        ms: total * median(floor),
        min: NaN,
        max: NaN,
        floorMs: median(floor),
        ratio: total,
        note: `per head by layer ${perHead.map((x) => x.toFixed(2)).join(' ')} × the floor`,
      });
      if (gated.length)
        log({
          what: `gated whole graph, all ${m.layers * H} heads, paired`,
          tokens: n,
          ms: NaN,
          min: NaN,
          max: NaN,
          floorMs: median(floor),
          ratio: median(gated) * m.layers * H,
          note: `${median(gated).toFixed(2)}× the floor per head`,
        });
    }
    if (args.includes('--gated') && !args.includes('--interleaved')) {
      const all = order.slice().sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      await measureEffects(m, ids, all.slice(0, 2));
      const t = performance.now();
      await measureEffects(m, ids, all);
      log(row(`gated whole graph, all ${all.length} heads (before)`, n, [performance.now() - t], floor));
    }
  }

  for (const n of routeSizes) {
    const ids = idsOf(n);
    const floor: number[] = [];
    for (let r = 0; r < reps; r++) floor.push(await floorOf(plain, ids));
    // An explain's kept run with what routes keep (the worker's path, in this process).
    const names = routeFetches(m);
    const valueNames = [...new Set(m.attention.map((_, l) => m.values!.values[attentionSourceIndex(m, l)]))];
    let got: Record<string, ort.Tensor> = {};
    const run = await explainRun(m, ids, [...new Set([...names, ...valueNames])], (t) => {
      got = t;
    });
    const vn = await allValueNorms(
      m.values!,
      m.attention.map((_, l) => attentionSourceIndex(m, l)),
      m.headsPerLayer,
      n,
      Object.fromEntries(valueNames.map((v) => [v, { data: got[v].data as Float32Array, dims: got[v].dims }])),
    );
    const kept = keepRoutes(m, got, ids, vn?.data, run.cap ? { handle: 1 } : { attention: run.attention! });
    if (kept.routes === undefined) {
      console.error(`no routes: ${kept.routesNote}`);
      continue;
    }
    const keptRun = () => (run.cap ? { model: m, cap: run.cap } : undefined);
    const token = n - 2;
    await traceRoutesFor(kept.routes, token - 1, 0.04, keptRun); // warm-up (its sessions)
    const ms: number[] = [],
      paired: number[] = [];
    let edges = 0;
    for (let r = 0; r < reps; r++) {
      paired.push(await floorOf(plain, ids));
      const t = performance.now();
      const g = await traceRoutesFor(kept.routes, token, 0.04, keptRun);
      ms.push(performance.now() - t);
      edges = g.edges.length;
    }
    done(run);
    log(row('routes for one token (threshold 0.04)', n, ms, paired, `${edges} edges`));
  }
  if (args.includes('--json')) process.stdout.write(JSON.stringify({ rows }));
}

if (require.main === module)
  main().catch((e: unknown) => {
    console.error((e instanceof Error && e.stack) || e);
    process.exit(1);
  });
