// Everything downstream of the attention works through a fused kernel: on twins of the trained bundled models
// (test/fixtures/twins) the panel's pipeline — engine, repeat probe, analysis — names the same roles as on the
// unfused twin with the same weights, value weighting finds each kernel's values and W_O (dequantised from
// MatMulNBits where the output projection is 4-bit), head effects gate each head's slice of the kernel output
// and move the loss as removing that head's probabilities does in the plain twin, and predictions agree.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineClient, type ModelRef } from '../../../src/engine';
import { SessionPipeline, type BuiltSession } from '../../../src/session/pipeline';
import { buildTwin, specName, type Twin, type TwinSpec } from '../../fixtures/twins';
import { joinedSamples } from '../../fixtures/samples';

const ROOT = path.join(__dirname, '..', '..', '..');
const modelOf = (twin: Twin, file: string): ModelRef => ({ modelPath: file, tokenizerPath: twin.tokenizerPath });

const cases: { spec: TwinSpec; effects?: boolean }[] = [
  { spec: { base: 'headlight-small', kernel: 'attention' }, effects: true },
  { spec: { base: 'headlight-small', kernel: 'gqa', packed: true, past: 'symbolic' }, effects: true },
  { spec: { base: 'headlight-small', kernel: 'mha', bias: true }, effects: true },
  { spec: { base: 'headlight-small', kernel: 'ms-attention', mask: 'keys' }, effects: true },
  { spec: { base: 'headlight-small', kernel: 'gqa', weights: 'int4' } },
  { spec: { base: 'tiny-bert', kernel: 'attention', mask: 'bool' } },
  { spec: { base: 'tiny-bert', kernel: 'mha' }, effects: true },
  { spec: { base: 'tiny-bert', kernel: 'ms-attention', mask: 'keys', neighbours: 'erf' } },
];

const roleNames = (b: BuiltSession) =>
  b.reports.map(
    (h) =>
      `${h.id}: ${
        h.roles
          .map((r) => r.name)
          .sort()
          .join(',') || '—'
      }`,
  );

describe('session: everything downstream through fused kernels (twins of the trained models)', function () {
  this.timeout(180_000);
  let pipeline: SessionPipeline;
  before(() => (pipeline = new SessionPipeline(new EngineClient())));
  after(() => pipeline.dispose());

  for (const { spec, effects } of cases) {
    it(`${specName(spec)}: the unfused twin's roles, value norms${effects ? ', head effects' : ''} and predictions`, async () => {
      const twin = buildTwin(spec);
      const text = spec.base === 'tiny-bert' ? fs.readFileSync(path.join(ROOT, 'samples/prose.txt'), 'utf8') : joinedSamples();
      const opts = { title: twin.name, text, maxTokens: 128, truncate: true, keep: true, syntax: { language: 'plaintext', text, offset: 0 } };
      const fused = await pipeline.build({ ...opts, id: 1, model: modelOf(twin, twin.modelPath) });
      const plain = await pipeline.build({ ...opts, id: 2, model: modelOf(twin, twin.plainPath) });
      try {
        assert.deepEqual(roleNames(fused), roleNames(plain));
        assert.ok(
          fused.reports.some((h) => h.roles.length),
          'the trained weights give roles, so the comparison means something',
        );
        if (spec.base === 'headlight-small') {
          assert.equal(fused.probe?.status, plain.probe?.status);
          assert.ok(fused.reports.filter((h) => h.layer === 2 && h.roles.some((r) => r.name === 'induction')).length >= 2, 'layer 2 keeps its induction heads');
        }
        // Value weighting: ‖v_j W_O^h‖ from the kernel's kept inputs equals the unfused twin's from its value tensor.
        const a = fused.session.valueNorms,
          b = plain.session.valueNorms;
        assert.ok(a, fused.session.valueNormsNote);
        assert.ok(b);
        assert.equal(a.weighting, 'value·W_O');
        assert.equal(a.weighting, b.weighting);
        let rel = 0;
        for (let i = 0; i < b.data.length; i++) rel = Math.max(rel, Math.abs(a.data[i] - b.data[i]) / Math.max(1e-6, Math.abs(b.data[i])));
        assert.ok(rel <= 1e-4, `value norms differ by ${rel} (relative)`);
        if (fused.result.predictions) {
          const p = fused.result.predictions,
            q = plain.result.predictions!;
          assert.deepEqual(Array.from(p.topIds), Array.from(q.topIds));
          for (let i = 0; i + 1 < p.loss.length; i++) assert.ok(Math.abs(p.loss[i] - q.loss[i]) <= 1e-4, `loss at ${i}`);
        }
        if (effects) {
          const ea = await pipeline.measureEffects(modelOf(twin, twin.modelPath), fused.result);
          const eb = await pipeline.measureEffects(modelOf(twin, twin.plainPath), plain.result);
          assert.equal(ea.method, eb.method);
          assert.equal(ea.heads.length, eb.heads.length);
          ea.heads.forEach((h, k) => assert.ok(Math.abs(h.meanDelta - eb.heads[k].meanDelta) <= 1e-4, `head ${k}: ${h.meanDelta} vs ${eb.heads[k].meanDelta}`));
          assert.ok(
            ea.heads.some((h) => Math.abs(h.meanDelta) > 1e-3),
            'some head matters, so the comparison means something',
          );
        }
      } finally {
        fused.source.dispose();
        plain.source.dispose();
      }
    });
  }
});
