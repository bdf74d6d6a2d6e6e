// The panel and Compare Models… build on one SessionPipeline (Compare runs through the panel's session source,
// SessionSource.compare): a model either has loaded is served from the worker's session cache to the other.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineClient, type ModelRef } from '../../../src/engine';
import { SessionPipeline } from '../../../src/session/pipeline';

const ROOT = path.join(__dirname, '..', '..', '..');
const model: ModelRef = {
  modelPath: path.join(ROOT, 'media/models/planted/model.onnx'),
  tokenizerPath: path.join(ROOT, 'media/models/planted/tokenizer.json'),
};

describe('session: one engine worker for the panel and Compare', function () {
  this.timeout(120_000);

  it('loads a model once whether the panel or Compare asks first', async () => {
    const pipeline = new SessionPipeline(new EngineClient());
    const text = fs.readFileSync(path.join(ROOT, 'samples/repeats.txt'), 'utf8').slice(0, 200);
    try {
      // The panel's build (its own channel), then Compare's (no channel, kept and freed at once), then the panel again.
      const panel = await pipeline.build({ id: 1, title: 'panel', text, model, channel: 'panel', keep: true, maxTokens: 512, truncate: true });
      panel.source.dispose();
      const compare = await pipeline.build({ id: 0, title: 'compare', text, model, keep: true });
      compare.source.dispose();
      const again = await pipeline.build({ id: 2, title: 'panel', text, model, channel: 'panel', keep: true, maxTokens: 512, truncate: true });
      again.source.dispose();
      assert.equal(panel.result.stats.sessionCached, false, 'the first build loads it');
      assert.equal(compare.result.stats.sessionCached, true, "Compare reuses the panel's session");
      assert.equal(again.result.stats.sessionCached, true);
    } finally {
      await pipeline.dispose();
    }
  });

  it("is how the extension wires them: Compare runs through the panel's session source and its one pipeline", () => {
    const read = (...p: string[]) => fs.readFileSync(path.join(ROOT, 'src', ...p), 'utf8');
    const source = read('host', 'engineSource.ts');
    assert.equal(source.match(/new SessionPipeline\(/g)?.length, 1, 'one pipeline per engine source');
    assert.match(source, /async compare\([^]*this\.pipeline\.build\(/);
    assert.match(read('commands', 'compareModels.ts'), /controller\.source\.compare\(/);
    assert.doesNotMatch(read('commands', 'compareModels.ts'), /new (EngineClient|SessionPipeline)\(|pipeline/);
    assert.equal(read('extension.ts').match(/new EngineSessionSource\(/g)?.length, 1);
  });
});
