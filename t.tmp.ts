import * as path from 'node:path';
import { loadModel, runSession } from './src/engine/session';
import { measureHeadEffects, cutState } from './src/engine/ablationCut';
import { measureEffects } from './src/engine/effects';
(async () => {
  const f = path.resolve('bench/results/gpt2-small/model.onnx');
  const plain = await loadModel(f, 'p', { addAttention: false });
  const m = await loadModel(f, 'm');
  const n = Number(process.argv[2] ?? 128);
  const ids = Array.from({ length: n }, (_, i) => 1 + ((i * 7919) % 200));
  const floor: number[] = [];
  for (let r = 0; r < 4; r++) { const t = performance.now(); await runSession(plain, ids, plain.originalOutputs); floor.push(performance.now() - t); }
  const fl = floor.slice(1).sort((a, b) => a - b)[1];
  let t = performance.now(); const st = await cutState(m); console.log('cut state', (performance.now() - t).toFixed(0), 'ms', 'refused' in st ? st.refused : `nodes ${st.graph.nodes}`, 'rss', (process.memoryUsage().rss / 2 ** 20).toFixed(0));
  const all: [number, number][] = []; for (let l = 0; l < 12; l++) for (let h = 0; h < 12; h++) all.push([l, h]);
  for (const [label, heads] of [['first 12 (layer 11)', all.slice(132)], ['first 12 (layer 0)', all.slice(0, 12)], ['all 144', all]] as const) {
    t = performance.now(); await measureHeadEffects(m, ids, heads as [number, number][]); const dt = performance.now() - t;
    console.log(label, dt.toFixed(0), 'ms =', (dt / fl).toFixed(1), 'x floor', fl.toFixed(0));
  }
  t = performance.now(); await measureEffects(m, ids, all.slice(0, 24)); const g = performance.now() - t;
  console.log('gated 24 heads', g.toFixed(0), 'ms =', (g / fl).toFixed(1), 'x →', (g / fl * 6).toFixed(0), 'x for 144');
})();
