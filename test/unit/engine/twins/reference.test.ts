// The GQA twin with real grouping (8 query heads over 2 KV heads) and rotary inside the kernel, checked
// against a plain-JS float64 reference computed from the weights alone: rotary in both layouts and partial,
// grouped attention, local window, soft-capping.
import { strict as assert } from 'node:assert';

import { buildTwin, loadBase, specName, type TwinSpec } from '../../../fixtures/twins';
import { maxAbsDiff, TwinSessions } from '../../../fixtures/twins/compare';
import { referenceLlama } from '../../../fixtures/twins/reference';
import { sampleIds } from '../../../fixtures/twins/texts';

const CASES: TwinSpec[] = [
  { base: 'llama-gqa', kernel: 'gqa' },
  { base: 'llama-gqa', kernel: 'gqa', interleaved: true },
  { base: 'llama-gqa', kernel: 'gqa', rotaryDim: 16 },
  { base: 'llama-gqa', kernel: 'gqa', packed: true, past: 'symbolic', interleaved: true, rotaryDim: 16 },
  { base: 'llama-gqa', kernel: 'gqa', localWindow: 8 },
  { base: 'llama-gqa', kernel: 'gqa', softcap: 2, scale: 0.125 },
  { base: 'llama-gqa', kernel: 'attention', rotary: 'onnx', rank: 3, interleaved: true, rotaryDim: 16 },
];

describe('twins: llama-gqa kernels against a plain-JS reference of rotary + grouped attention', function () {
  this.timeout(60000);
  const base = loadBase('llama-gqa');

  it('the base really groups: 8 query heads over 2 KV heads, head size 32', () => {
    assert.deepEqual([base.heads, base.kvHeads, base.headSize], [8, 2, 32]);
  });

  for (const spec of CASES) {
    it(specName(spec), async function () {
      const s = await TwinSessions.open(buildTwin(spec));
      try {
        for (const n of [9, 70]) {
          const ids = await sampleIds(s.twin.tokenizerPath, n);
          const ref = referenceLlama(base, ids, spec);
          const k = (await s.kernelProbs(ids))!;
          ref.forEach((A, l) => {
            const d = maxAbsDiff(A, k[l]);
            assert.ok(d <= 1e-5, `n=${n} layer ${l}: max |Δp| ${d}`);
          });
          // not a vacuous comparison: the heads are neither uniform nor one-hot, and heads sharing a KV head differ
          const A = ref[1];
          let peak = 0;
          let mean = 0;
          for (let h = 0; h < base.heads; h++)
            for (let i = 1; i < n; i++) {
              const row = A.subarray((h * n + i) * n, (h * n + i + 1) * n);
              peak = Math.max(...row);
              mean += peak / (base.heads * (n - 1));
            }
          // rows past the first: the mean of the row maxima lies strictly between uniform and one-hot
          assert.ok(mean < 0.95 && mean > 2 / n, `mean row peak ${mean}`);
          assert.ok(maxAbsDiff(A.subarray(0, n * n), A.subarray(n * n, 2 * n * n)) > 1e-2, 'heads 0 and 1 (one KV head) differ');
        }
      } finally {
        await s.release();
      }
    });
  }

  it('the reference can fail: the other rotary layout is far off', async function () {
    const s = await TwinSessions.open(buildTwin({ base: 'llama-gqa', kernel: 'gqa', interleaved: true }));
    const ids = await sampleIds(s.twin.tokenizerPath, 33);
    const k = (await s.kernelProbs(ids))!;
    const wrong = referenceLlama(base, ids, { interleaved: false });
    assert.ok(maxAbsDiff(wrong[0], k[0]) > 1e-3);
    await s.release();
  });
});
