import * as fs from 'node:fs';
import { EngineClient } from './src/engine';
(async () => {
  const c = new EngineClient();
  const text = 'The quick brown fox jumps. The quick brown fox jumps.';
  const r = await c.explain(text, { modelPath: 'media/models/headlight-mini/model.onnx', tokenizerPath: 'media/models/headlight-mini/tokenizer.json' }, { keep: true }); console.log('routes', r.routes, r.routesNote);
  console.log(r.tokens.map((t, i) => `${i}:${JSON.stringify(t.text)}`).join(' '));
  const tok = r.tokens.length - 3;
  for (const th of [0.04, 0.1]) {
    const t0 = performance.now();
    const g = await c.routes(r.routes!, tok, th); if (!g) console.log(r.routesNote);
    console.log('token', tok, r.tokens[tok].text, 'th', th, 'edges', g.edges.length, (performance.now() - t0).toFixed(0), 'ms');
    for (const e of g.edges.filter((e) => e.kind === 'head').sort((a, b) => b.weight - a.weight).slice(0, 12)) console.log(`  L${e.layer}H${e.head} ${e.from}(${r.tokens[e.from].text}) -> ${e.to}(${r.tokens[e.to].text}) ${e.weight.toFixed(3)}`);
    for (const e of g.edges.filter((e) => e.kind !== 'head')) console.log(`  ${e.kind} L${e.layer} ${e.from} -> ${e.to} ${e.weight.toFixed(3)}`);
  }
  await c.dispose();
})();
