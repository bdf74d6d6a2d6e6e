// Random-weight exports of every supported family must get no role from the repeat probe: an induction or
// duplicate-token badge there would be invented. Llama/Qwen/Phi/Gemma exports (plain and with a KV cache,
// opsets 14 and 17) and JS-built GPT-2 graphs, through the same pipeline as the panel.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineClient, type ModelRef } from '../../../src/engine';
import { SessionPipeline } from '../../../src/session/pipeline';
import { buildTiny } from '../../fixtures/onnxBuilder';
import { byteLevelTokenizer, writeJson } from '../../fixtures/tokenizers';

const ROOT = path.join(__dirname, '..', '..', '..');
const DECODERS = path.join(ROOT, 'test/fixtures/decoders');
const TEXT = fs.readFileSync(path.join(ROOT, 'samples/repeats.txt'), 'utf8').slice(0, 300);

describe('session: random-weight models get no role from the repeat probe', function () {
  this.timeout(120_000);
  let pipeline: SessionPipeline;
  let dir: string;
  before(() => {
    pipeline = new SessionPipeline(new EngineClient());
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-randprobe-'));
  });
  after(async () => {
    await pipeline.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const families = fs
    .readdirSync(DECODERS, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  it('the fixture set covers every decoder family, plain and with a KV cache', () => {
    assert.equal(families.length, 16);
    for (const f of ['llama', 'qwen', 'phi', 'gemma'])
      for (const v of ['plain', 'kv']) assert.ok(families.includes(`${f}-${v}-op14`) && families.includes(`${f}-${v}-op17`), `${f}-${v}`);
  });

  it('16 decoder exports and 3 GPT-2 graphs: the probe ran, and no head holds a probe role', async () => {
    const tok = writeJson(dir, 'gpt2.json', byteLevelTokenizer().json);
    const models: [string, ModelRef][] = families.map((f) => [
      f,
      { modelPath: path.join(DECODERS, f, 'model.onnx'), tokenizerPath: path.join(DECODERS, 'tokenizer.json'), name: f },
    ]);
    for (const seed of [1, 2, 3]) {
      const p = path.join(dir, `gpt2-${seed}.onnx`);
      fs.writeFileSync(p, buildTiny({ kind: 'gpt2', seed, layers: 2, heads: 4, d: 32, positions: 256 }).bytes);
      models.push([`gpt2-${seed}`, { modelPath: p, tokenizerPath: tok, name: `gpt2-${seed}` }]);
    }
    let heads = 0;
    for (const [name, model] of models) {
      const built = await pipeline.build({ id: 1, title: name, text: TEXT, model, maxTokens: 256, truncate: true });
      assert.equal(built.probe?.status, 'measured', `${name}: ${built.probe?.note}`);
      for (const r of built.reports) {
        heads++;
        const fromProbe = r.roles.filter((x) => x.source === 'probe');
        assert.deepEqual(
          fromProbe.map((x) => x.name),
          [],
          `${name} ${r.id}: ${fromProbe.map((x) => x.evidence.sentence).join(' | ')}`,
        );
      }
    }
    assert.ok(heads >= 19 * 4, String(heads));
  });
});
