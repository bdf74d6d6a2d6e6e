// Direct logit attribution against PyTorch: GPT-2-style (decomposed LayerNorm at opset 14, LayerNormalization
// ops at opset 17, tied unembedding, biases everywhere) and Llama-style (RMSNorm, GQA, untied lm_head)
// decoders built by scripts/fixtures/make-dla.py, whose reference.json holds each head's DLA and every other
// term of the logit as PyTorch computed them. The exact-decomposition test: every term the engine finds in
// the graph, through the frozen norm, sums to the exported logits within 1e-4.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadModel, type LoadedModel } from '../../../src/engine/modelCache';
import { computeDla, decompose, decompositionFetches, type DlaPlan } from '../../../src/engine/dla';
import { fetchAll } from '../../fixtures/dlaFetch';
import { EngineClient } from '../../../src/engine';

const DIR = path.resolve(__dirname, '..', '..', 'fixtures', 'dla');

interface Run {
  text?: string;
  ids: number[];
  targets: number[];
  alt: number[];
  logits: (number | null)[];
  dla: (number | null)[][][];
  diff: (number | null)[][][];
  components: { label: string; values: (number | null)[] }[];
}
interface Reference {
  name: string;
  kind: string;
  layers: number;
  heads: number;
  runs: Run[];
}

for (const name of ['gpt2-op14', 'gpt2-op17', 'llama-op17']) {
  describe(`DLA on ${name} (PyTorch answer key)`, function () {
    this.timeout(60_000);
    const ref = JSON.parse(fs.readFileSync(path.join(DIR, name, 'reference.json'), 'utf8')) as Reference;
    let m: LoadedModel;
    let plan: DlaPlan;
    before(async () => {
      const file = path.join(DIR, name, 'model.onnx');
      m = await loadModel(file, name);
      assert.ok(m.dla && !('refused' in m.dla), `no DLA plan: ${m.dla && 'refused' in m.dla ? m.dla.refused : 'none'}`);
      plan = m.dla;
    });
    after(async () => {
      await m?.session.release();
    });

    it('finds the final norm the way the export wrote it', () => {
      const label = plan.residual.norm.label;
      if (name === 'gpt2-op14') assert.equal(label, 'decomposed LayerNorm');
      if (name === 'gpt2-op17') assert.equal(label, 'LayerNormalization');
      if (name === 'llama-op17') assert.equal(label, 'decomposed RMSNorm');
      assert.deepEqual([plan.residual.unembed.d, plan.residual.unembed.vocab], [32, 260]);
      assert.equal(plan.layers.length, ref.layers);
    });

    it("a kept explain's DLA comes after its first paint (the worker's path: tokenizer, run, predictions), equal to PyTorch's", async () => {
      const run = ref.runs.find((x) => x.text)!;
      const client = new EngineClient();
      try {
        const res = await client.explain(
          run.text!,
          { modelPath: path.join(DIR, name, 'model.onnx'), tokenizerPath: path.join(DIR, '..', 'decoders', 'tokenizer.json') },
          { keep: true },
        );
        assert.deepEqual(
          res.tokens.map((t) => t.id),
          run.ids,
          'the tokenizer gives the ids the reference ran',
        );
        // Kept (the extension's path): the reply that paints carries no DLA, a `dla` request brings it.
        assert.equal(res.dla, undefined);
        assert.ok(res.dlaPending && res.kept, 'a kept explain leaves its DLA to a later request');
        const late = await client.dla(res.kept.handle);
        assert.ok(late.dla, late.dlaNote);
        assert.strictEqual((await client.dla(res.kept.handle)).dla?.actual.length, late.dla.actual.length, 'asked twice, computed once and answered again');
        const dla = late.dla;
        const n = run.ids.length,
          H = ref.heads;
        for (let l = 0; l < ref.layers; l++)
          for (let h = 0; h < H; h++)
            for (let i = 0; i + 1 < n; i++) {
              const v = dla.actual[(l * H + h) * n + i];
              assert.ok(Math.abs(v - run.dla[l][h][i]!) < 1e-4, `L${l}H${h} at ${i}: ${v} vs ${run.dla[l][h][i]}`);
            }
        // The alternative is the model's best other token, read off its own predictions.
        const p = res.predictions!;
        for (let i = 0; i + 1 < n; i++) {
          const top = p.topIds[i * p.k];
          assert.equal(dla.alternatives[i], top === run.ids[i + 1] ? p.topIds[i * p.k + 1] : top);
        }
        await client.release(res.kept.handle);
        await assert.rejects(client.dla(res.kept.handle), /no longer loaded/, 'a released run has no DLA to give');
      } finally {
        await client.dispose();
      }
    });

    for (const [r, run] of ref.runs.entries()) {
      it(`run ${r}: the reference reproduces the ONNX logits, and every term sums to them within 1e-4`, async () => {
        const { fetched, logits, vocab } = await fetchAll(m, decompositionFetches(plan), run.ids);
        const n = run.ids.length;
        // The answer key is PyTorch's own forward: first check it is the same model as the export.
        for (let i = 0; i + 1 < n; i++)
          assert.ok(
            Math.abs(logits[i * vocab + run.targets[i]] - run.logits[i]!) < 1e-4,
            `position ${i}: ONNX ${logits[i * vocab + run.targets[i]]} vs PyTorch ${run.logits[i]}`,
          );
        const comps = decompose(plan, fetched, Int32Array.from(run.targets), ref.heads);
        assert.equal(comps.filter((c) => c.kind === 'head').length, ref.layers * ref.heads);
        for (let i = 0; i + 1 < n; i++) {
          const sum = comps.reduce((a, c) => a + c.values[i], 0);
          assert.ok(
            Math.abs(sum - logits[i * vocab + run.targets[i]]) < 1e-4,
            `position ${i}: terms sum to ${sum}, logit ${logits[i * vocab + run.targets[i]]}`,
          );
        }
        // Any other token's logit decomposes too (the alternatives: not the tokens the model saw next).
        const alt = decompose(plan, fetched, Int32Array.from(run.alt), ref.heads);
        for (let i = 0; i < n; i++) {
          const sum = alt.reduce((a, c) => a + c.values[i], 0);
          assert.ok(Math.abs(sum - logits[i * vocab + run.alt[i]]) < 1e-4, `position ${i}, token ${run.alt[i]}: ${sum} vs ${logits[i * vocab + run.alt[i]]}`);
        }
        // Term by term against PyTorch: heads, embeddings, MLPs, biases.
        for (const c of comps.filter((x) => x.kind === 'head')) {
          for (let i = 0; i + 1 < n; i++)
            assert.ok(Math.abs(c.values[i] - run.dla[c.layer][c.head!][i]!) < 1e-4, `${c.label} at ${i}: ${c.values[i]} vs ${run.dla[c.layer][c.head!][i]}`);
        }
        const byKind = (kind: string, layer?: number) => comps.filter((c) => c.kind === kind && (layer === undefined || c.layer === layer));
        const sumOf = (cs: typeof comps, i: number) => cs.reduce((a, c) => a + c.values[i], 0);
        for (const rc of run.components) {
          const ours =
            rc.label === 'embedding'
              ? byKind('embedding')
              : rc.label.startsWith('MLP L')
                ? [...byKind('mlp', Number(rc.label.slice(5))), ...comps.filter((c) => c.label === `MLP bias L${rc.label.slice(5)}`)]
                : rc.label.startsWith('attention bias L')
                  ? byKind('attention bias', Number(rc.label.slice(16)))
                  : byKind('norm bias');
          assert.ok(ours.length > 0, `no term for ${rc.label}`);
          for (let i = 0; i + 1 < n; i++)
            assert.ok(Math.abs(sumOf(ours, i) - rc.values[i]!) < 1e-4, `${rc.label} at ${i}: ${sumOf(ours, i)} vs ${rc.values[i]}`);
        }
      });

      it(`run ${r}: computeDla (the explain's path, on ONNX Runtime) equals PyTorch's per-head DLA and logit differences`, async () => {
        const { fetched } = await fetchAll(m, plan.fetches, run.ids);
        const n = run.ids.length,
          H = ref.heads;
        const res = await computeDla(plan, fetched, run.ids, Int32Array.from(run.alt), H);
        for (let l = 0; l < ref.layers; l++) {
          for (let h = 0; h < H; h++) {
            for (let i = 0; i < n; i++) {
              const k = (l * H + h) * n + i;
              if (i + 1 === n) {
                assert.ok(Number.isNaN(res.actual[k]), 'no next token at the end');
                continue;
              }
              assert.ok(Math.abs(res.actual[k] - run.dla[l][h][i]!) < 1e-4, `L${l}H${h} at ${i}: ${res.actual[k]} vs ${run.dla[l][h][i]}`);
              assert.ok(Math.abs(res.diff[k] - run.diff[l][h][i]!) < 1e-4, `L${l}H${h} diff at ${i}: ${res.diff[k]} vs ${run.diff[l][h][i]}`);
            }
          }
        }
      });
    }
  });
}

describe('DLA: where the graph has no such path, the status says why', function () {
  this.timeout(60_000);
  const ROOT = path.resolve(__dirname, '..', '..', '..');
  const bundled = (n: string) => ({
    modelPath: path.join(ROOT, 'media/models', n, 'model.onnx'),
    tokenizerPath: path.join(ROOT, 'media/models', n, 'tokenizer.json'),
  });
  let client: EngineClient;
  before(() => {
    client = new EngineClient();
  });
  after(async () => {
    await client.dispose();
  });

  it('planted: its logits read a slice of the stream, not a norm or the stream itself', async () => {
    const r = await client.explain('abc abc', bundled('planted'));
    assert.equal(r.dla, undefined);
    assert.match(r.dlaNote ?? '', /not available: the path from the residual stream to the logits was not found \(the unembedding reads a Slice/);
  });

  it('tiny-bert: a bidirectional model predicts no next token', async () => {
    const r = await client.explain('the cat sat', bundled('tiny-bert'));
    assert.equal(r.dla, undefined);
    assert.match(r.dlaNote ?? '', /bidirectional/);
  });

  it('headlight-small (float16 weights): every head has a finite DLA at every token with a next token', async () => {
    const r = await client.explain('the cat sat on the mat. the cat sat on the mat.', bundled('headlight-small'));
    assert.ok(r.dla, r.dlaNote);
    const n = r.tokens.length;
    for (let k = 0; k < r.model.layers * r.model.headsPerLayer; k++) for (let i = 0; i + 1 < n; i++) assert.ok(Number.isFinite(r.dla.actual[k * n + i]));
    assert.equal(r.dla.norm, 'decomposed LayerNorm');
  });
});
