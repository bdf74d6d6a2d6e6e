import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cliScratch, ROOT, runCli as run } from '../fixtures/cli';

// The command-line entry as a user runs it (`npx headlight explain …` resolves to bin/headlight.js).
const PLANTED = path.join(ROOT, 'media', 'models', 'planted');

interface CliJson {
  tokens: { id: number; text: string; start: number; end: number; special: boolean }[];
  layers: number;
  headsPerLayer: number;
  heads: { layer: number; head: number; id: string; roles: { name: string; score: number }[] }[];
  attention?: number[][][][];
}

describe('headlight CLI', function () {
  this.timeout(60_000);
  const tmp = cliScratch('headlight-cli-');

  for (const [name, positions, T] of [
    ['bytes-l3h4-p64', 64, 31],
    ['bytes-l2h4-p128', 128, 63],
  ] as const) {
    it(`a ${positions}-position causal model (${name}) explains a 30-token selection; the JSON shows the probe it drew`, () => {
      const file = path.join(tmp, `${name}.txt`);
      fs.writeFileSync(file, 'The river had risen overnight,');
      const out = path.join(tmp, `${name}.json`);
      const r = run(['explain', file, '--model', path.join(ROOT, 'test/fixtures/answer-key', name), '--json', out]);
      assert.equal(r.status, 0, r.stderr);
      const j = JSON.parse(fs.readFileSync(out, 'utf8')) as CliJson & { probe: { status: string; T: number; ids: number[]; bos: { text: string } } };
      assert.equal(j.tokens.length, 31);
      assert.equal(j.probe.status, 'measured');
      assert.equal(j.probe.T, T);
      assert.equal(j.probe.ids.length, 1 + 2 * T);
      assert.equal(j.probe.bos.text, '<|bos|>');
      assert.ok(
        j.probe.ids.slice(1).every((id) => id >= 0x21 && id <= 0x7e),
        'printable ASCII bytes only',
      );
      assert.ok(
        j.heads.some((h) => h.roles.some((x) => x.name === 'induction')),
        'its trained induction head is named',
      );
    });
  }

  it("--effects adds every head's effect and the predictions", () => {
    const file = path.join(tmp, 'eff.txt');
    fs.writeFileSync(file, 'the cat sat. the cat sat.');
    const out = path.join(tmp, 'eff.json');
    const r = run(['explain', file, '--model', PLANTED, '--effects', '--json', out]);
    assert.equal(r.status, 0, r.stderr);
    type Head = CliJson['heads'][number] & { effect: { meanDelta: number; perToken: (number | null)[]; method: string } };
    const j = JSON.parse(fs.readFileSync(out, 'utf8')) as Omit<CliJson, 'heads'> & {
      heads: Head[];
      predictions: { top: { id: number; text: string; p: number }[]; actualP: number | null; loss: number | null }[];
    };
    assert.equal(j.predictions.length, j.tokens.length);
    assert.equal(j.predictions[0].top.length, 5);
    assert.equal(j.predictions.at(-1)!.loss, null, 'nothing follows the last token');
    for (const h of j.heads) {
      assert.equal(h.effect.method, 'zero-ablation: Δ loss of the next token (nats)');
      assert.equal(h.effect.perToken.length, j.tokens.length);
    }
    // The planted model: only L0H0 and L1H0 write to the residual, so only they can change the loss; removing
    // L0H0 (which the induction head reads) costs the most (PyTorch's numbers: test/unit/engine/effects.test.ts).
    j.heads.forEach((h, k) => {
      if (k !== 0 && k !== 8) assert.ok(Math.abs(h.effect.meanDelta) < 1e-4, `${h.id} ${h.effect.meanDelta}`);
    });
    assert.ok(j.heads[0].effect.meanDelta > 1, `L0H0 ${j.heads[0].effect.meanDelta}`);
    assert.ok(
      j.heads[8].effect.perToken.some((v) => v !== null && Math.abs(v) > 1),
      'L1H0 moves some tokens',
    );
  });

  it('writes tokens with spans, attention and per-head roles matching the planted card', () => {
    const file = path.join(tmp, 'in.txt');
    const text = 'the cat sat. the cat sat.\n(a [b] c)';
    fs.writeFileSync(file, text);
    const out = path.join(tmp, 'out.json');
    const r = run(['explain', file, '--model', PLANTED, '--json', out, '--attention']);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(fs.readFileSync(out, 'utf8')) as CliJson;
    assert.equal(j.layers, 2);
    assert.equal(j.headsPerLayer, 8);
    assert.equal(j.tokens[0].special, true);
    assert.equal(
      j.tokens
        .filter((t) => !t.special)
        .map((t) => text.slice(t.start, t.end))
        .join(''),
      text,
    );
    const n = j.tokens.length;
    assert.equal(j.attention!.length, 2);
    assert.equal(j.attention![1][7].length, n);
    for (const row of j.attention![0][0]) assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-4);
    const card = JSON.parse(fs.readFileSync(path.join(PLANTED, 'card.json'), 'utf8')) as { heads: { layer: number; head: number; roles: string[] }[] };
    assert.equal(j.heads.length, 16);
    for (const h of card.heads) {
      const got = j.heads.find((x) => x.layer === h.layer && x.head === h.head)!;
      assert.equal(got.id, `L${h.layer}H${h.head}`);
      // Text-level roles may be unmeasurable on a short text (e.g. few repeats), but never wrong.
      for (const role of got.roles) assert.ok(h.roles.includes(role.name), `${got.id}: ${role.name} not planted (${h.roles.join(',')})`);
    }
    const byId = (id: string) => j.heads.find((x) => x.id === id)!.roles.map((r) => r.name);
    assert.deepEqual(byId('L0H0'), ['previous-token']);
    assert.deepEqual(byId('L1H0'), ['induction']);
  });

  it('exits 2 with a clear message for a missing file and for a model folder without a model', () => {
    const a = run(['explain', path.join(tmp, 'nope.txt')]);
    assert.equal(a.status, 2);
    assert.match(a.stderr, /cannot read .*nope\.txt: ENOENT/);
    const file = path.join(tmp, 'x.txt');
    fs.writeFileSync(file, 'hello');
    const b = run(['explain', file, '--model', tmp]);
    assert.equal(b.status, 2);
    assert.match(b.stderr, /\[file-not-found\]/);
    const c = run(['frobnicate']);
    assert.equal(c.status, 2);
    assert.match(c.stderr, /unknown command "frobnicate"/);
  });
});
