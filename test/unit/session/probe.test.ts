// The model-level repeat probe never blocks an explain: it fits 64- and 128-position models, says why when
// a model is too small for one, and a probe that fails leaves the text-only roles, a note, and a retry.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineClient, EngineError, type ModelRef, type ProbePlan } from '../../../src/engine';
import { PROBE_DRAWS, SessionPipeline } from '../../../src/session/pipeline';
import { buildTiny } from '../../fixtures/onnxBuilder';
import { byteLevelTokenizer, wordPieceTokenizer, writeJson } from '../../fixtures/tokenizers';

/** ~30 GPT-2 tokens. */
const TEXT = 'the cat sat in the hat; the cat sat in the hat again, and then the cat sat down.';

/** An engine whose probe planning fails like an out-of-memory worker would (the failure is the engine's own error type). */
class FailingProbeEngine extends EngineClient {
  /** Probe plans asked for (one per draw; the first of each probe run is its first draw). */
  planCalls = 0;
  override probePlan(model: ModelRef, seed: number): Promise<ProbePlan> {
    this.planCalls++;
    if (this.planCalls === 1) return Promise.reject(new EngineError('worker-crashed', 'The engine worker stopped (out of memory).'));
    return super.probePlan(model, seed);
  }
}

describe('session: the repeat probe fits the model and never blocks an explain', function () {
  this.timeout(60_000);
  let dir: string;
  let tok: string;
  let pipeline: SessionPipeline;
  const model = (name: string, positions: number, kind: 'gpt2' | 'bert' = 'gpt2', tokenizer = tok): ModelRef => {
    const d = path.join(dir, name);
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, 'model.onnx'), buildTiny({ kind, positions, layers: 2, heads: 2 }).bytes);
    return { modelPath: path.join(d, 'model.onnx'), tokenizerPath: tokenizer, name };
  };
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-probe-'));
    tok = writeJson(dir, 'gpt2.json', byteLevelTokenizer().json);
    pipeline = new SessionPipeline(new EngineClient());
  });
  after(async () => {
    await pipeline.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const [positions, T] of [
    [64, 31],
    [128, 63],
  ]) {
    for (const keep of [false, true]) {
      it(`a ${positions}-position causal model explains a ~30-token selection (${keep ? 'bounded memory' : 'in memory'}); the probe is [<|endoftext|>] + 2·${T}`, async () => {
        const built = await pipeline.build({ id: 1, title: 't', text: TEXT, model: model(`p${positions}`, positions), keep });
        assert.ok(built.session.tokens.length >= 25 && built.session.tokens.length <= positions, String(built.session.tokens.length));
        const p = built.probe!;
        assert.equal(p.status, 'measured', p.note);
        assert.equal(p.plan?.T, T);
        assert.equal(p.plan?.ids.length, 1 + 2 * T);
        assert.ok(p.plan.ids.length <= positions);
        assert.deepEqual(p.plan?.bos, { id: 262, text: '<|endoftext|>', from: 'convention' });
        assert.match(
          p.note,
          new RegExp(
            `8 random ${T}-token sequences of ordinary tokens \\(the first: ids \\d+, \\d+, \\d+, \\d+, \\d+, \\d+, …\\), each repeated twice after \`<\\|endoftext\\|>\` \\(prepended by the family's convention; the tokenizer's template adds none\\), averaged`,
          ),
        );
        // Every head was scored on the probe: the induction and duplicate candidates come from it.
        for (const r of built.reports) {
          assert.equal(r.candidates.find((c) => c.name === 'induction')?.source, 'probe');
          assert.ok(Number.isFinite(r.metrics.probeInduction));
        }
        assert.equal(built.session.probeNote, undefined, 'a measured probe speaks in the evidence, not in a banner');
      });
    }
  }

  it('a model too small for a probe (16 positions) still explains, and says the model-level roles are not measurable and why', async () => {
    const built = await pipeline.build({ id: 2, title: 't', text: 'the cat sat in the hat', model: model('p16', 16) });
    assert.equal(built.probe?.status, 'not-measurable');
    assert.match(
      built.session.probeNote ?? '',
      /not measurable on this model: the model has 16 positions: room for a 7-token repeat, and induction needs at least 8/,
    );
    for (const r of built.reports) assert.equal(r.candidates.find((c) => c.name === 'induction')?.source, 'text');
  });

  it('a probe that fails leaves text-only roles and a visible note, and is tried again on the next explain', async () => {
    const engine = new FailingProbeEngine();
    const p = new SessionPipeline(engine);
    try {
      const m = model('p64fail', 64);
      const first = await p.build({ id: 3, title: 't', text: TEXT, model: m });
      assert.equal(first.probe?.status, 'failed');
      assert.match(
        first.session.probeNote ?? '',
        /repeat probe failed \(The engine worker stopped \(out of memory\)\.\); roles come from the text alone, and the probe is tried again/,
      );
      assert.ok(first.reports.length === 4 && first.reports.every((r) => r.candidates.find((c) => c.name === 'induction')?.source === 'text'));
      const second = await p.build({ id: 4, title: 't', text: TEXT, model: m });
      assert.equal(engine.planCalls, 1 + PROBE_DRAWS, 'tried again: every draw of a new probe');
      assert.equal(second.probe?.status, 'measured');
      assert.equal(second.session.probeNote, undefined);
      const third = await p.build({ id: 5, title: 't', text: TEXT, model: m });
      assert.equal(engine.planCalls, 1 + PROBE_DRAWS, 'a measured probe is cached per model file');
      assert.deepEqual(third.probe?.plan?.ids, second.probe?.plan?.ids);
    } finally {
      await p.dispose();
    }
  });

  it("truncation keeps the template's special tokens: a cut BERT input still ends in [SEP]", async () => {
    const wp = writeJson(dir, 'wp.json', wordPieceTokenizer().json);
    const m = model('bert', 64, 'bert', wp);
    const built = await pipeline.build({
      id: 6,
      title: 't',
      text: 'hello world the cafe hello world the cafe hello world',
      model: m,
      maxTokens: 8,
      truncate: true,
    });
    const t = built.session.tokens;
    assert.equal(t.length, 8);
    assert.equal(built.session.truncatedFrom, 12);
    assert.deepEqual([t[0].text, t[7].text], ['[CLS]', '[SEP]']);
    assert.ok(t.slice(1, 7).every((x) => !x.special));
  });
});
