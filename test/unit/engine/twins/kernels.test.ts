// Each fused twin computes what its plain twin computes (the unfused graph is the oracle), and each kernel's
// own probability output equals the plain twin's Softmax outputs on every layer and head — at two lengths,
// one over 64 tokens. Tolerances were measured (docs in /test/fixtures/twins/README.md), not guessed.
import { strict as assert } from 'node:assert';

import { buildTwin, specName, TWINS, type TwinSpec } from '../../../fixtures/twins';
import { maxAbsDiff, TwinSessions } from '../../../fixtures/twins/compare';
import { sampleIds } from '../../../fixtures/twins/texts';

const LENGTHS = [9, 70];
/** fp32: max |Δlogit| ≤ 2e-6 · max |logit| (worst measured: 1.1e-5 on logits up to 13, 8.8e-7 relative). */
const LOGITS_REL = 2e-6;
const PROBS_ABS = 1e-5;

async function check(spec: TwinSpec): Promise<void> {
  const twin = buildTwin(spec);
  const s = await TwinSessions.open(twin);
  try {
    for (const n of LENGTHS) {
      const ids = await sampleIds(twin.tokenizerPath, n);
      const gap = await s.gap(ids);
      assert.ok(gap.logitScale > 1, `${twin.name}: degenerate logits`);
      assert.ok(gap.logits <= LOGITS_REL * gap.logitScale, `${twin.name} n=${n}: max |Δlogit| ${gap.logits} (scale ${gap.logitScale})`);
      if (!twin.oraclePath) continue;
      const k = (await s.kernelProbs(ids))!;
      k.forEach((p, l) => {
        assert.equal(p.length, twin.heads * n * n, `${twin.name} layer ${l}: probs.${l} is [1, ${twin.heads}, ${n}, ${n}]`);
        for (let r = 0; r < twin.heads * n; r++) {
          let sum = 0;
          for (let j = 0; j < n; j++) sum += p[r * n + j];
          assert.ok(Math.abs(sum - 1) < 1e-5, `${twin.name} layer ${l}: row ${r} of the kernel's probabilities sums to ${sum}`);
        }
        assert.ok(gap.probs[l] <= PROBS_ABS, `${twin.name} n=${n} layer ${l}: max |Δp| ${gap.probs[l]}`);
      });
    }
    if (twin.inputs.includes('attention_mask')) {
      // right padding: the mask must reach the kernel (an all-ones mask cannot tell a dropped mask from a kept one)
      const n = 40, ids = await sampleIds(twin.tokenizerPath, n);
      const mask = Array.from({ length: n }, (_, i) => (i < n - 5 ? 1 : 0));
      const gap = await s.gap(ids, mask);
      assert.ok(gap.logits <= LOGITS_REL * gap.logitScale, `${twin.name} padded: max |Δlogit| ${gap.logits} (scale ${gap.logitScale})`);
      gap.probs.forEach((d, l) => assert.ok(!twin.oraclePath || d <= PROBS_ABS, `${twin.name} padded layer ${l}: max |Δp| ${d}`));
    }
  } finally {
    await s.release();
  }
}

describe('twins: each fused kernel equals its plain twin', function () {
  this.timeout(60000);
  for (const spec of TWINS) it(specName(spec), () => check(spec));

  it('the check can fail: a kernel whose scale differs from the plain twin\'s is caught', async function () {
    // plain twin at 1/√32, kernel at 0.125: the probabilities must differ far beyond the tolerance
    const good = await TwinSessions.open(buildTwin({ base: 'headlight-small', kernel: 'attention' }));
    const wrong = await TwinSessions.open(buildTwin({ base: 'headlight-small', kernel: 'attention', scale: 0.125 }));
    const ids = await sampleIds(good.twin.tokenizerPath, 33);
    const a = (await good.plainRun(ids)).probs, b = (await wrong.kernelProbs(ids))!;
    assert.ok(Math.max(...a.map((p, l) => maxAbsDiff(p, b[l]))) > 100 * PROBS_ABS);
    await good.release(); await wrong.release();
  });
});
