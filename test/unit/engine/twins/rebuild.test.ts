// The plain twins are the bundled models rebuilt by the twin builder from the bundled files' own weights:
// their logits must equal the bundled files' (which the suite checks against PyTorch), or no twin built on
// them can be an oracle.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';

import { buildTwin, twinFeeds, type Twin } from '../../../fixtures/twins';
import { ROOT } from '../../../fixtures/twins/bases';
import { maxAbs, maxAbsDiff } from '../../../fixtures/twins/compare';
import { sampleIds } from '../../../fixtures/twins/texts';

describe('twins: plain rebuilds of the bundled models', function () {
  this.timeout(60000);
  for (const base of ['headlight-small', 'tiny-bert'] as const) {
    it(`${base}: the rebuild's logits equal the bundled file's within 1e-5 on the sample texts`, async function () {
      const twin: Twin = buildTwin({ base, kernel: 'plain' });
      const rebuilt = await ort.InferenceSession.create(twin.plainPath);
      const bundled = await ort.InferenceSession.create(path.join(ROOT, 'media', 'models', base, 'model.onnx'));
      for (const n of [12, 130]) {
        const ids = await sampleIds(twin.tokenizerPath, n);
        const feeds = twinFeeds(twin, ids);
        const a = (await rebuilt.run(feeds)).logits.data as Float32Array;
        const b = (await bundled.run(feeds)).logits.data as Float32Array;
        assert.ok(maxAbs(b) > 1, 'the bundled logits are not degenerate');
        const d = maxAbsDiff(a, b);
        assert.ok(d <= 1e-5, `${base} n=${n}: max |Δlogit| ${d}`);
      }
      await rebuilt.release();
      await bundled.release();
    });
  }
});
