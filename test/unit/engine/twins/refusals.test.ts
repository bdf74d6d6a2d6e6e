// The refusal and hostile fixtures are what they claim: each holds the op Headlight must name, and ORT 1.30's
// CPU provider fails on it the way the fixture records (so a refusal test built on them tests the refusal,
// not an accident of the fixture).
import { strict as assert } from 'node:assert';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';

import { buildTwin, specName, twinFeeds } from '../../../fixtures/twins';
import { CPU_UNSUPPORTED, HOSTILE, REFUSALS, refusalFeeds, type Refusal } from '../../../fixtures/twins/refusals';

async function failure(bytes: Uint8Array | string, feeds: () => Record<string, ort.Tensor>): Promise<{ stage: 'load' | 'run' | 'none'; message: string }> {
  let s: ort.InferenceSession;
  try {
    s = await ort.InferenceSession.create(bytes as Uint8Array, { logSeverityLevel: 4 });
  } catch (e) {
    return { stage: 'load', message: String(e) };
  }
  try {
    await s.run(feeds());
    return { stage: 'none', message: '' };
  } catch (e) {
    return { stage: 'run', message: String(e) };
  } finally {
    await s.release();
  }
}

function check(r: Refusal) {
  return async () => {
    const bytes = r.bytes();
    const [domain, op] = r.op.includes('.') ? [r.op.slice(0, r.op.lastIndexOf('.')), r.op.slice(r.op.lastIndexOf('.') + 1)] : ['', r.op];
    const nodes = onnx.ModelProto.decode(bytes).graph!.node!.filter((n) => n.opType === op && (n.domain ?? '') === domain);
    assert.ok(nodes.length >= 1, `${r.name}: no ${r.op} node`);
    const f = await failure(bytes, () => Object.fromEntries(Object.entries(refusalFeeds(bytes)).map(([k, v]) => [k, new ort.Tensor(v.type, v.data, v.dims)])));
    assert.equal(f.stage, r.runtime === 'load-error' ? 'load' : 'run', `${r.name}: ${f.message}`);
    assert.match(f.message, r.ortSays);
  };
}

describe('twins: refusal and hostile fixtures', function () {
  this.timeout(60000);
  for (const r of REFUSALS) it(`refusal: ${r.name} (${r.op})`, check(r));
  for (const r of HOSTILE) it(`hostile: ${r.name} (${r.op})`, check(r));
  for (const u of CPU_UNSUPPORTED) {
    it(`no CPU kernel for this layout: ${specName(u.spec)}`, async () => {
      const t = buildTwin(u.spec);
      const f = await failure(t.modelPath, () => twinFeeds(t, [5, 6, 7, 8, 9, 10]));
      assert.equal(f.stage, 'run', f.message);
      assert.match(f.message, u.ortSays);
      // its plain twin runs: the layout, not the model, is what the CPU provider lacks
      assert.equal((await failure(t.plainPath, () => twinFeeds(t, [5, 6, 7, 8, 9, 10]))).stage, 'none');
    });
  }
});
