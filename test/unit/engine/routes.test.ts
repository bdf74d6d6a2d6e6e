// Information-flow routes through the real worker: edge by edge against PyTorch's own tracing of the same
// definition (scripts/fixtures/make-dla.py, from the modules' tensors in float64), and on the planted model,
// whose heads are set by construction: a repeated token's route runs through the induction head and, below
// it, the previous-token head that wrote what the induction head keys on.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineClient } from '../../../src/engine';

const ROOT = path.resolve(__dirname, '..', '..', '..');
interface RefEdge {
  layer: number;
  kind: string;
  head: number;
  frm: number;
  to: number;
  weight: number;
}

describe('engine: information-flow routes', function () {
  this.timeout(120_000);
  let client: EngineClient;
  before(() => {
    client = new EngineClient();
  });
  after(async () => {
    await client.dispose();
  });

  for (const name of ['gpt2-op14', 'gpt2-op17', 'llama-op17']) {
    it(`${name}: every edge and share equals PyTorch's trace`, async () => {
      const ref = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/fixtures/dla', name, 'reference.json'), 'utf8')) as {
        runs: { text?: string; ids: number[]; routes: { token: number; threshold: number; edges: RefEdge[] } }[];
      };
      const run = ref.runs.find((r) => r.text)!;
      const r = await client.explain(
        run.text!,
        { modelPath: path.join(ROOT, 'test/fixtures/dla', name, 'model.onnx'), tokenizerPath: path.join(ROOT, 'test/fixtures/decoders/tokenizer.json') },
        { keep: true },
      );
      assert.deepEqual(
        r.tokens.map((t) => t.id),
        run.ids,
      );
      assert.ok(r.routes !== undefined, r.routesNote);
      const g = await client.routes(r.routes, run.routes.token, run.routes.threshold);
      assert.equal(g.via, 'value·W_O');
      const key = (e: { layer: number; kind: string; head: number; to: number }, from: number) => `${e.layer}:${e.kind}:${e.head}:${from}->${e.to}`;
      const ours = new Map(g.edges.map((e) => [key(e, e.from), e.weight]));
      const theirs = new Map(run.routes.edges.map((e) => [key(e, e.frm), e.weight]));
      // An edge within 1e-4 of the threshold may fall either side of it in float32: compare the rest exactly.
      const clear = (w: number) => Math.abs(w - run.routes.threshold) > 1e-4;
      for (const [k, w] of theirs)
        if (clear(w)) {
          assert.ok(ours.has(k), `missing ${k} (${w})`);
          assert.ok(Math.abs(ours.get(k)! - w) < 1e-4, `${k}: ${ours.get(k)} vs ${w}`);
        }
      for (const [k, w] of ours) if (clear(w)) assert.ok(theirs.has(k), `extra ${k} (${w})`);
      if (r.kept) await client.release(r.kept.handle);
    });
  }

  it("planted: a repeated token's route runs through the induction head L1H0 and the previous-token head L0H0 below it", async () => {
    const text = 'the cat sat. the cat sat.';
    const m = { modelPath: path.join(ROOT, 'media/models/planted/model.onnx'), tokenizerPath: path.join(ROOT, 'media/models/planted/tokenizer.json') };
    const r = await client.explain(text, m, { keep: true });
    assert.ok(r.routes !== undefined, r.routesNote);
    const ids = r.tokens.map((t) => t.id);
    // The second "cat"'s "a" (token 19 = <|bos|> + 18 bytes): its prediction copies what followed "a" before.
    const token = ids.lastIndexOf(97);
    const g = await client.routes(r.routes, token, 0.04);
    assert.match(g.via ?? '', /slice/, 'planted has no W_O matrix: head outputs come from a slice of its graph');
    const induction = g.edges.filter((e) => e.kind === 'head' && e.layer === 1 && e.to === token);
    assert.ok(induction.length > 0, 'an attention edge into the token at layer 1');
    assert.ok(
      induction.every((e) => e.head === 0),
      `only the induction head L1H0 carries it: ${JSON.stringify(induction)}`,
    );
    for (const e of induction) assert.equal(ids[e.from - 1], ids[token], 'the key is the token after an earlier copy of the query');
    // Below: each such key got its previous token (the copy) through L0H0.
    for (const e of induction) {
      const feed = g.edges.find((x) => x.kind === 'head' && x.layer === 0 && x.to === e.from);
      assert.ok(feed, `a layer-0 edge into key ${e.from}`);
      assert.equal(feed.head, 0, 'the previous-token head L0H0');
      assert.equal(feed.from, e.from - 1);
    }
    // No head that writes nothing by construction appears.
    assert.ok(
      g.edges.every((e) => e.kind !== 'head' || e.head === 0),
      'only L0H0 and L1H0 write to the stream',
    );
    if (r.kept) await client.release(r.kept.handle);
  });

  it('says why a session has no routes, and refuses bad requests', async () => {
    const r = await client.explain(
      'the cat',
      { modelPath: path.join(ROOT, 'media/models/planted/model.onnx'), tokenizerPath: path.join(ROOT, 'media/models/planted/tokenizer.json') },
      { keep: true },
    );
    await assert.rejects(client.routes(r.routes!, 999, 0.04), /No token 999/);
    await assert.rejects(client.routes(r.routes!, 1, 0), /threshold/);
    const older = r.routes!;
    await client.explain(
      'a b',
      { modelPath: path.join(ROOT, 'media/models/planted/model.onnx'), tokenizerPath: path.join(ROOT, 'media/models/planted/tokenizer.json') },
      { keep: true },
    );
    await assert.rejects(client.routes(older, 1, 0.04), /newest explanation/);
  });
});
