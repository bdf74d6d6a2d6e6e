import * as path from 'node:path';
import { loadModel } from './src/engine/session';
(async () => {
  const files = ['media/models/headlight-mini/model.onnx', 'media/models/headlight-small/model.onnx', 'media/models/planted/model.onnx', 'media/models/tiny-bert/model.onnx',
    ...['llama', 'qwen', 'phi', 'gemma'].flatMap((a) => ['plain', 'kv'].map((i) => `test/fixtures/decoders/${a}-${i}-op14/model.onnx`)), 'bench/results/long-context/model.onnx'];
  for (const f of files) {
    const m = await loadModel(path.resolve(f), f);
    const d = m.dla!;
    console.log(f.padEnd(50), 'refused' in d ? 'REFUSED ' + d.refused : `${d.residual.norm.label}, W_U ${d.residual.unembed.layout} ${d.residual.unembed.d}x${d.residual.unembed.vocab}, leaves ${d.residual.leaves.map((x) => x.label).join('|')}, mids ${d.residual.layers.map((x) => x.mid ? 'y' : 'n').join('')}`);
    await m.session.release();
  }
})();
