// headlight-small (scripts/models/train_small.py, export_small.py): Headlight's real pipeline against the
// numbers PyTorch measured when the model was exported — never against Headlight's own output.
// - Per layer, the Layers view's mean distance, normalised entropy and first-token mass on the card's text
//   equal the card's layerStats (PyTorch, float64, definitions from the papers metricDefs.ts cites).
// - Every head the card names induction (PyTorch, ordinary-id repeat probe) gets Headlight's induction role;
//   a head whose card induction score is clearly low (< 0.1) does not.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { EngineClient, type ModelRef } from '../../../src/engine';
import { SessionPipeline, type BuiltSession } from '../../../src/session/pipeline';
import { summarizeLayers } from '../../../src/analysis';
import { joinedSamples } from '../../fixtures/samples';

const ROOT = path.resolve(__dirname, '../../..');
const DIR = path.join(ROOT, 'media/models/headlight-small');

interface LayerStat {
  distance: number;
  entropy: number;
  sink: number;
}
interface Card {
  heads: { layer: number; head: number; roles: string[]; scores: Record<string, number> }[];
  layerStats: { text: string; inputIds: number[]; layers: LayerStat[] };
}

describe('analysis: headlight-small against its PyTorch card', function () {
  this.timeout(180_000);
  const card = JSON.parse(readFileSync(path.join(DIR, 'card.json'), 'utf8')) as Card;
  const model: ModelRef = { modelPath: path.join(DIR, 'model.onnx'), tokenizerPath: path.join(DIR, 'tokenizer.json'), name: 'headlight-small' };
  let pipeline: SessionPipeline;
  let built: Promise<BuiltSession>;
  before(() => {
    pipeline = new SessionPipeline(new EngineClient());
    // The card's text: the four samples joined by blank lines, cut to the card's token count as the panel cuts.
    const text = joinedSamples();
    built = pipeline.build({ id: 1, title: 'small', text, model, maxTokens: card.layerStats.inputIds.length, truncate: true });
    built.catch(() => undefined);
  });
  after(() => pipeline.dispose());

  it('tokenizes the card text to the ids PyTorch saw', async () => {
    assert.deepEqual(
      (await built).result.tokens.map((t) => t.id),
      card.layerStats.inputIds,
    );
  });

  it('per layer: mean distance, entropy and first-token mass equal PyTorch (relative 1e-3)', async () => {
    const layers = summarizeLayers((await built).reports);
    assert.equal(layers.length, card.layerStats.layers.length);
    card.layerStats.layers.forEach((want, l) => {
      for (const key of ['distance', 'entropy', 'sink'] as const) {
        const got = layers[l].metrics[key].mean;
        assert.ok(Math.abs(got - want[key]) <= 1e-3 * Math.max(1, Math.abs(want[key])), `L${l} ${key}: Headlight ${got}, PyTorch ${want[key]}`);
      }
    });
  });

  it('names the induction heads the card names, and no head the card scores clearly low', async () => {
    const got = new Map((await built).reports.map((r) => [r.id, r]));
    const named = card.heads.filter((h) => h.roles.includes('induction'));
    assert.ok(named.length >= 2, 'the card names induction heads');
    for (const h of card.heads) {
      const r = got.get(`L${h.layer}H${h.head}`)!;
      const has = r.roles.some((x) => x.name === 'induction');
      if (h.roles.includes('induction'))
        assert.ok(has, `card: L${h.layer}H${h.head} induction ${h.scores.induction}; Headlight: ${r.roles.map((x) => x.name).join(', ')}`);
      if (h.scores.induction < 0.1) assert.ok(!has, `card: L${h.layer}H${h.head} induction ${h.scores.induction}, Headlight names it induction`);
    }
  });
});
