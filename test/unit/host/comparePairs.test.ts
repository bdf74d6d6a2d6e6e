// Compare Models' suggested pairs on the real bundled models: the scale pair (same tokenizer, smaller first)
// leads, then each model's training pair, then its consecutive checkpoints.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { listBundledModels } from '../../../src/engine';
import { comparePairs } from '../../../src/host/comparePairs';

const ROOT = path.resolve(__dirname, '../../..');

describe('host: Compare Models suggested pairs', () => {
  const pairs = comparePairs(listBundledModels(ROOT));

  it('offers headlight-mini vs headlight-small first, as the one scale pair (the others have their own tokenizers)', () => {
    const scale = pairs.filter((p) => p.kind === 'scale');
    assert.deepEqual(scale.map((p) => [p.a, p.b]), [['headlight-mini', 'headlight-small']]);
    assert.equal(pairs[0].kind, 'scale');
    assert.deepEqual(scale.map((p) => p.kind === 'scale' && [p.shapeA, p.shapeB]), [['2 × 4 heads', '4 × 4 heads']]);
  });

  it("offers each trained model's first checkpoint vs its final one, and consecutive checkpoints", () => {
    for (const m of ['headlight-mini', 'headlight-small']) {
      const model = listBundledModels(ROOT).find((x) => x.name === m)!;
      const steps = model.checkpoints.map((c) => c.step);
      assert.ok(steps.length >= 5, `${m}: ${steps.join(', ')}`);
      const training = pairs.find((p) => p.kind === 'training' && p.model === m);
      assert.deepEqual(training && [training.a, training.b], [`${m}@step-0`, `${m}@step-${steps[steps.length - 1]}`]);
      assert.equal(pairs.filter((p) => p.kind === 'step' && p.model === m).length, steps.length - 1);
    }
  });

  it("a final checkpoint without its own file is the model's file (each set of weights ships once)", () => {
    for (const m of listBundledModels(ROOT).filter((x) => x.checkpoints.length)) {
      assert.equal(m.checkpoints[m.checkpoints.length - 1].modelPath, m.modelPath, m.name);
    }
  });
});
