// Compare Models' suggested pairs on the real bundled models: the scale pair (same tokenizer, smaller first)
// leads, then each model's training pair, then its consecutive checkpoints — derived from the checkpoint
// folders a model ships, whichever model that is.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { listBundledModels, type BundledModel } from '../../../src/engine';
import { comparePairs } from '../../../src/host/comparePairs';

const ROOT = path.resolve(__dirname, '../../..');

describe('host: Compare Models suggested pairs', () => {
  const pairs = comparePairs(listBundledModels(ROOT));

  it('offers headlight-mini vs headlight-small first, as the one scale pair (the others have their own tokenizers)', () => {
    const scale = pairs.filter((p) => p.kind === 'scale');
    assert.deepEqual(
      scale.map((p) => [p.a, p.b]),
      [['headlight-mini', 'headlight-small']],
    );
    assert.equal(pairs[0].kind, 'scale');
    assert.deepEqual(
      scale.map((p) => p.kind === 'scale' && [p.shapeA, p.shapeB]),
      [['2 × 4 heads', '4 × 4 heads']],
    );
  });

  it("offers each model's first checkpoint vs its final one, and consecutive checkpoints, for the models that ship them", () => {
    const models = listBundledModels(ROOT);
    for (const model of models) {
      const m = model.name,
        steps = model.checkpoints.map((c) => c.step);
      const training = pairs.filter((p) => p.kind === 'training' && p.model === m);
      const consecutive = pairs.filter((p) => p.kind === 'step' && p.model === m);
      if (steps.length < 2) {
        assert.deepEqual([training.length, consecutive.length], [0, 0], m);
        continue;
      }
      assert.deepEqual(
        training.map((p) => [p.a, p.b]),
        [[`${m}@step-${steps[0]}`, `${m}@step-${steps[steps.length - 1]}`]],
      );
      assert.deepEqual(
        consecutive.map((p) => p.a),
        steps.slice(0, -1).map((s) => `${m}@step-${s}`),
      );
    }
    // The bundle as shipped: headlight-small carries the training ladder (steps 0 … 4,000); headlight-mini ships none.
    assert.deepEqual(
      pairs.filter((p) => p.kind === 'training').map((p) => [p.a, p.b]),
      [['headlight-small@step-0', 'headlight-small@step-4000']],
    );
    assert.deepEqual(
      models.find((x) => x.name === 'headlight-small')!.checkpoints.map((c) => c.step),
      [0, 2500, 2800, 3100, 4000],
    );
  });

  it("derives the pairs from any model's checkpoints, in step order, and none from a lone checkpoint", () => {
    const model = (name: string, steps: number[]): BundledModel => ({
      name,
      dir: name,
      modelPath: `${name}.onnx`,
      tokenizerPath: `${name}.json`,
      card: { kind: 'causal', layers: 1, headsPerLayer: 1 },
      checkpoints: steps.map((step) => ({ step, modelPath: `${name}-${step}.onnx`, tokenizerPath: `${name}.json` })),
    });
    const got = comparePairs([model('x', [0, 10, 250]), model('y', [7]), model('z', [])]);
    assert.deepEqual(
      got.map((p) => [p.kind, p.a, p.b]),
      [
        ['training', 'x@step-0', 'x@step-250'],
        ['step', 'x@step-0', 'x@step-10'],
        ['step', 'x@step-10', 'x@step-250'],
      ],
    );
  });

  it("a final checkpoint without its own file is the model's file (each set of weights ships once)", () => {
    for (const m of listBundledModels(ROOT).filter((x) => x.checkpoints.length)) {
      assert.equal(m.checkpoints[m.checkpoints.length - 1].modelPath, m.modelPath, m.name);
    }
  });
});
