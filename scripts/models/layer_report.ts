// The scale ladder in numbers: runs Headlight's real pipeline (engine, probe, analysis, as the panel and CLI
// do) on the same text through headlight-mini, headlight-small and every checkpoint shipped (headlight-small's:
// headlight-mini ships none), and prints the per-layer Layers-view numbers (mean distance, normalised entropy,
// first-token mass) and the roles found, as the markdown tables in media/models/README.md. Headlight's per-layer numbers are tested against PyTorch
// on headlight-small (test/unit/analysis/smallModel.test.ts), so this report rests on a checked path.
// usage: npx tsx scripts/models/layer_report.ts [TOKENS ...]   (default: 128 256)
import * as path from 'node:path';
import { EngineClient, listBundledModels, type ModelRef } from '../../src/engine';
import { SessionPipeline } from '../../src/session/pipeline';
import { summarizeLayers, type HeadReport } from '../../src/analysis';
import { joinedSamples } from '../../test/fixtures/samples';

const ROOT = path.resolve(__dirname, '../..');
const TEXT = joinedSamples();
const f2 = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : '–');

function roleList(reports: HeadReport[]): string {
  const by = new Map<string, string[]>();
  for (const r of reports) for (const x of r.roles) by.set(x.name, [...(by.get(x.name) ?? []), r.id]);
  return [...by].map(([k, v]) => `${k} ${v.join(' ')}`).join('; ') || '—';
}

async function main(): Promise<void> {
  const lengths = process.argv
    .slice(2)
    .map(Number)
    .filter((n) => n > 0);
  const pipeline = new SessionPipeline(new EngineClient());
  const models = listBundledModels(ROOT).filter((m) => m.name.startsWith('headlight-'));
  let id = 0;
  try {
    for (const n of lengths.length ? lengths : [128, 256]) {
      console.log(`\n### ${n} tokens: per layer (final models)\n`);
      console.log('| model | layer | mean distance | entropy | first-token mass | roles |');
      console.log('|---|---|---|---|---|---|');
      const overall: string[] = [];
      for (const m of models) {
        const ref: ModelRef = { modelPath: m.modelPath, tokenizerPath: m.tokenizerPath, name: m.name };
        const b = await pipeline.build({ id: ++id, title: m.name, text: TEXT, model: ref, maxTokens: n, truncate: true });
        for (const l of summarizeLayers(b.reports)) {
          const roles =
            Object.entries(l.roleCounts)
              .map(([k, c]) => `${k} ×${c}`)
              .join(', ') || '—';
          console.log(`| ${m.name} | ${l.layer} | ${f2(l.metrics.distance.mean)} | ${f2(l.metrics.entropy.mean)} | ${f2(l.metrics.sink.mean)} | ${roles} |`);
        }
        const mean = (k: 'entropy' | 'distance' | 'sink') => b.reports.reduce((s, r) => s + r.metrics[k], 0) / b.reports.length;
        const distinct = new Set(b.reports.flatMap((r) => r.roles.map((x) => x.name)));
        const loss = b.result.predictions ? [...b.result.predictions.loss].filter(Number.isFinite) : [];
        const meanLoss = loss.reduce((x, y) => x + y, 0) / loss.length;
        overall.push(
          `| ${m.name} | ${b.reports.length} | ${f2(mean('entropy'))} | ${f2(mean('distance'))} | ${f2(mean('sink'))} | ${f2(meanLoss)} | ${distinct.size} (${[...distinct].sort().join(', ')}) |`,
        );
      }
      console.log(`\n### ${n} tokens: all heads\n`);
      console.log('| model | heads | mean entropy | mean distance | mean first-token mass | next-token loss (nats) | distinct roles |');
      console.log('|---|---|---|---|---|---|---|');
      for (const o of overall) console.log(o);
    }
    console.log("\n### Checkpoints: roles Headlight finds (256 tokens), and the repeat probe's best induction head\n");
    console.log('| checkpoint | roles | best probe induction |');
    console.log('|---|---|---|');
    for (const m of models) {
      for (const ck of m.checkpoints) {
        const ref: ModelRef = { modelPath: ck.modelPath, tokenizerPath: ck.tokenizerPath, name: `${m.name}@step-${ck.step}` };
        const b = await pipeline.build({ id: ++id, title: ref.name!, text: TEXT, model: ref, maxTokens: 256, truncate: true });
        const best = [...b.reports].sort((x, y) => (y.metrics.probeInduction || 0) - (x.metrics.probeInduction || 0))[0];
        console.log(`| ${ref.name} | ${roleList(b.reports)} | ${best.id} ${f2(best.metrics.probeInduction)} |`);
      }
    }
  } finally {
    await pipeline.dispose();
  }
}
void main();
