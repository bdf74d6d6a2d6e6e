// The engine on the models shipped in media/models. A missing bundled model fails here (never a skip:
// a package or checkout that dropped one must not stay green).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineClient, headView, listBundledModels } from '../../../src/engine';

const ROOT = path.resolve(__dirname, '../../..');
const TEXT = 'line one\r\n\tfunction f(x) { return x; } // 👩‍💻 café שלום\n';

describe('engine: bundled models', function () {
  this.timeout(30000);
  const client = new EngineClient();
  const models = listBundledModels(ROOT);
  const byName = new Map(models.map((m) => [m.name, m]));
  after(() => client.dispose());

  const expected: Record<string, { kind: 'causal' | 'bidirectional' }> = {
    planted: { kind: 'causal' },
    'headlight-mini': { kind: 'causal' },
    'tiny-bert': { kind: 'bidirectional' },
  };
  for (const [name, exp] of Object.entries(expected)) {
    it(`${name}: kind, shape and spans agree with its card`, async function () {
      const m = byName.get(name);
      assert.ok(m, `bundled model ${name} is missing from media/models`);
      const card = m.card as { layers?: number; headsPerLayer?: number; kind?: string; vocabSize?: number };
      const r = await client.explain(TEXT, m);
      assert.equal(r.model.kind, exp.kind);
      if (card.kind) assert.equal(r.model.kind, card.kind);
      if (card.layers) assert.equal(r.model.layers, card.layers);
      if (card.headsPerLayer) assert.equal(r.model.headsPerLayer, card.headsPerLayer);
      if (card.vocabSize) assert.equal(r.model.vocabSize, card.vocabSize);
      let pos = 0;
      let rebuilt = '';
      for (const t of r.tokens.filter((x) => !x.special)) {
        const gap = TEXT.slice(pos, t.start);
        assert.match(gap, /^[\s\p{Cc}\p{Cf}\p{Mn}]*$/u);
        rebuilt += gap + TEXT.slice(t.start, t.end);
        pos = t.end;
      }
      assert.equal(rebuilt + TEXT.slice(pos), TEXT);
      const n = r.attention.seq;
      const A = headView(r.attention, r.attention.layers - 1, 0);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += A[i * n + j];
        assert.ok(Math.abs(s - 1) < 1e-4);
      }
    });
  }

  it('planted: the engine finds both Softmax outputs itself and matches the PyTorch construction', async function () {
    const m = byName.get('planted');
    const refFile = m && path.join(m.dir, 'reference.json');
    assert.ok(m, 'bundled model planted is missing from media/models');
    assert.ok(fs.existsSync(refFile!), 'media/models/planted/reference.json is missing');
    const ref = JSON.parse(fs.readFileSync(refFile!, 'utf8')) as { inputIds: number[]; attention: number[][][][] };
    const r = await client.runIds(ref.inputIds, m);
    const n = ref.inputIds.length;
    assert.equal(r.attention.layers, ref.attention.length);
    let worst = 0;
    ref.attention.forEach((layer, l) =>
      layer.forEach((head, h) =>
        head.forEach((row, i) =>
          row.forEach((v, j) => {
            worst = Math.max(worst, Math.abs(headView(r.attention, l, h)[i * n + j] - v));
          }),
        ),
      ),
    );
    assert.ok(worst < 1e-4, `max difference ${worst}`); // reference.json is rounded
  });

  it('headlight-small checkpoints load in step order', async function () {
    const m = byName.get('headlight-small');
    assert.ok(m, 'bundled model headlight-small is missing from media/models');
    assert.ok(m.checkpoints.length > 0, 'headlight-small ships its checkpoints');
    const steps = m.checkpoints.map((c) => c.step);
    assert.deepEqual(
      steps,
      [...steps].sort((a, b) => a - b),
    );
    const r = await client.runIds([1, 2, 3, 1, 2, 3], m.checkpoints[0]);
    assert.equal(r.attention.layers, (m.card as { layers: number }).layers);
  });
});
