// Each fused twin computes what its plain twin computes (the unfused graph is the oracle), and each kernel's
// own probability output equals the plain twin's Softmax outputs on every layer and head — at two lengths,
// one over 64 tokens. Tolerances were measured (docs in /test/fixtures/twins/README.md), not guessed.
import { strict as assert } from 'node:assert';

import { buildTwin, specName, TWINS } from '../../../fixtures/twins';
import { assertTwin, FP32, maxAbsDiff, TwinSessions } from '../../../fixtures/twins/compare';
import { sampleIds } from '../../../fixtures/twins/texts';

describe('twins: each fused kernel equals its plain twin', function () {
  this.timeout(60000);
  for (const spec of TWINS) it(specName(spec), () => assertTwin(spec, FP32));

  it("the check can fail: a kernel whose scale differs from the plain twin's is caught", async function () {
    // plain twin at 1/√32, kernel at 0.125: the probabilities must differ far beyond the tolerance
    const good = await TwinSessions.open(buildTwin({ base: 'headlight-small', kernel: 'attention' }));
    const wrong = await TwinSessions.open(buildTwin({ base: 'headlight-small', kernel: 'attention', scale: 0.125 }));
    const ids = await sampleIds(good.twin.tokenizerPath, 33);
    const a = (await good.plainRun(ids)).probs,
      b = (await wrong.kernelProbs(ids))!;
    assert.ok(Math.max(...a.map((p, l) => maxAbsDiff(p, b[l]))) > 100 * FP32.probs);
    await good.release();
    await wrong.release();
  });
});
