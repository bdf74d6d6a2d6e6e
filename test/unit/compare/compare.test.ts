import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { EngineClient } from '../../../src/engine';
import { SessionPipeline } from '../../../src/session/pipeline';
import { alignTokens, checkpointStep, compareSessions, diffRoles } from '../../../src/session/compare';
import type { RoleName, SessionData, WireHead, WireToken } from '../../../src/protocol';

const ROOT = path.resolve(__dirname, '../../..');
const MODELS = path.join(ROOT, 'media', 'models');
const ref = (dir: string, tok = dir) => ({ modelPath: path.join(MODELS, dir, 'model.onnx'), tokenizerPath: path.join(MODELS, tok, 'tokenizer.json') });
const TEXT = fs.readFileSync(path.join(ROOT, 'samples', 'repeats.txt'), 'utf8').slice(0, 300);

const head = (layer: number, h: number, roles: [RoleName, number][]): WireHead => ({
  layer,
  head: h,
  id: `L${layer}H${h}`,
  metrics: {},
  notes: {},
  roles: roles.map(([name, score]) => ({ name, score, threshold: 0.5, evidence: '', source: 'text' })),
});
const tok = (text: string, start: number, end: number, special = false): WireToken => ({ text, start, end, special });

describe('compare: role diff', () => {
  it('reports a role that changes heads as one move, nearest head first', () => {
    const a = [head(0, 1, [['previous-token', 0.8]]), head(1, 0, [['induction', 0.6]])];
    const b = [head(0, 2, [['previous-token', 0.7]]), head(1, 0, [['induction', 0.9]])];
    const d = diffRoles(a, b, { a: 'A', b: 'B' });
    assert.deepEqual(
      d.changes.map((c) => [c.kind, c.role, c.a?.id, c.b?.id]),
      [['moves', 'previous-token', 'L0H1', 'L0H2']],
    );
    assert.equal(d.changes[0].sentence, 'previous-token moves from L0H1 (0.80) in A to L0H2 (0.70) in B');
    assert.deepEqual(
      d.kept.map((c) => [c.role, c.a?.id, c.a?.score, c.b?.score]),
      [['induction', 'L1H0', 0.6, 0.9]],
    );
  });

  it('pairs moves within a layer before across layers; unpaired heads appear or vanish', () => {
    const a = [head(0, 0, [['local', 0.7]]), head(1, 3, [['local', 0.7]]), head(1, 1, [['self', 0.9]])];
    const b = [head(1, 2, [['local', 0.7]]), head(0, 3, [['local', 0.7]]), head(0, 0, [['local', 0.6]]), head(1, 2, [['broad', 0.9]])];
    const d = diffRoles(a, b, { a: 'x@step-100', b: 'x@step-2000' });
    const got = d.changes.map((c) => `${c.kind} ${c.role} ${c.a?.id ?? '-'} ${c.b?.id ?? '-'}`);
    assert.deepEqual(got, ['appears local - L0H3', 'vanishes self L1H1 -', 'appears broad - L1H2', 'moves local L1H3 L1H2']);
    assert.equal(d.changes[0].sentence, 'local appears at L0H3 between step 100 and step 2,000 (score 0.70)');
    assert.equal(d.kept.length, 1);
  });

  it('reads checkpoint steps from labels', () => {
    assert.equal(checkpointStep('headlight-small@step-0'), 0);
    assert.equal(checkpointStep('headlight-small@step-03100'), 3100);
    assert.equal(checkpointStep('tiny-bert'), undefined);
  });
});

describe('compare: span alignment', () => {
  it('groups a byte-level BPE and a WordPiece tokenization of the same text by characters', () => {
    const text = 'unbelievable cats.';
    const bpe = [tok('<|endoftext|>', -1, -1, true), tok('un', 0, 2), tok('bel', 2, 5), tok('ievable', 5, 12), tok(' cats', 12, 17), tok('.', 17, 18)];
    const wp = [
      tok('[CLS]', -1, -1, true),
      tok('unbe', 0, 4),
      tok('##lie', 4, 7),
      tok('##vable', 7, 12),
      tok('cats', 13, 17),
      tok('.', 17, 18),
      tok('[SEP]', -1, -1, true),
    ];
    assert.equal(text.length, 18);
    const al = alignTokens(bpe, wp);
    assert.equal(al.identical, false);
    assert.deepEqual(al.spans, [
      { start: 0, end: 12, a: [1, 2, 3], b: [1, 2, 3] },
      { start: 12, end: 17, a: [4], b: [4] },
      { start: 17, end: 18, a: [5], b: [5] },
    ]);
    assert.deepEqual(al.specialA, [0]);
    assert.deepEqual(al.specialB, [0, 6]);
    assert.match(al.note, /tokenizers differ \(6 tokens in A, 7 in B\).*3 character spans, 2 of them one token to one token/);
  });

  it('keeps characters only one side covers as one-sided groups', () => {
    const a = [tok('a', 0, 1), tok(' ', 1, 2), tok('b', 2, 3)];
    const b = [tok('a', 0, 1), tok('b', 2, 3)];
    assert.deepEqual(alignTokens(a, b).spans, [
      { start: 0, end: 1, a: [0], b: [0] },
      { start: 1, end: 2, a: [1], b: [] },
      { start: 2, end: 3, a: [2], b: [1] },
    ]);
  });

  it('says so when both sides use the same tokens', () => {
    const t = [tok('<s>', -1, -1, true), tok('hi', 0, 2)];
    const al = alignTokens(
      t,
      t.map((x) => ({ ...x })),
    );
    assert.equal(al.identical, true);
    assert.deepEqual(al.spans, [{ start: 0, end: 2, a: [1], b: [1] }]);
  });
});

describe('compare: real sessions from the bundled models', function () {
  this.timeout(120_000);
  const engine = new EngineClient();
  const pipeline = new SessionPipeline(engine);
  const s: Record<string, SessionData> = {};
  before(async () => {
    const build = async (key: string, dir: string, tokDir = dir) => {
      s[key] = (await pipeline.build({ id: 1, title: key, text: TEXT, model: ref(dir, tokDir) })).session;
    };
    await build('planted', 'planted');
    await build('planted2', 'planted');
    await build('step0', 'headlight-small/checkpoints/step-00000', 'headlight-small');
    await build('small', 'headlight-small');
    await build('final', 'headlight-mini');
    await build('bert', 'tiny-bert');
  });
  after(async () => {
    await engine.dispose();
  });

  it('planted vs planted: no change, every role kept', () => {
    const d = compareSessions(s.planted, s.planted2, { a: 'planted', b: 'planted' });
    assert.deepEqual(d.changes, []);
    const roles = s.planted.heads.reduce((n, hd) => n + hd.roles.length, 0);
    assert.ok(roles >= 10);
    assert.equal(d.kept.length, roles);
    assert.equal(d.alignment.identical, true);
    assert.equal(d.sameShape, true);
    for (const l of d.layers) assert.deepEqual(l.a, l.b);
  });

  // The card's answer (PyTorch, media/models/README.md): no role at step 0, induction heads L2H0–L2H3 at step 4,000.
  it('headlight-small step 0 vs final: the induction heads L2H0–L2H3 appear, every broad head of step 0 vanishes', () => {
    const d = compareSessions(s.step0, s.small, { a: 'headlight-small@step-0', b: 'headlight-small@step-4000' });
    const appears = d.changes
      .filter((c) => c.kind === 'appears')
      .map((c) => `${c.role}@${c.b!.id}`)
      .sort();
    for (const h of ['L2H0', 'L2H1', 'L2H2', 'L2H3']) assert.ok(appears.includes(`induction@${h}`), appears.join(', '));
    const ind = d.changes.find((c) => c.role === 'induction' && c.b?.id === 'L2H0')!;
    assert.match(ind.sentence, /^induction appears at L2H0 between step 0 and step 4,000 \(score 0\.\d\d\)$/);
    assert.ok(ind.b!.score > 0.6, `final induction score ${ind.b!.score}`);
    const broad = s.step0.heads.filter((hd) => hd.roles.some((r) => r.name === 'broad')).map((hd) => hd.id);
    assert.equal(broad.length, 16, 'every head is broad at step 0');
    assert.deepEqual(
      d.changes
        .filter((c) => c.kind === 'vanishes' && c.role === 'broad')
        .map((c) => c.a!.id)
        .sort(),
      broad.sort(),
    );
    // Entropy falls with training: heads at step 0 are near-uniform (entropy near 1).
    const ent = d.layers.find((l) => l.key === 'entropy')!;
    for (let l = 0; l < 4; l++) assert.ok(ent.a[l] > ent.b[l] + 0.1, `layer ${l}: ${ent.a[l]} vs ${ent.b[l]}`);
    assert.ok(ent.a[0] > 0.9);
  });

  it('aligns headlight-mini (byte-level BPE) with tiny-bert (WordPiece) by characters', () => {
    const d = compareSessions(s.final, s.bert);
    const al = d.alignment;
    assert.equal(al.identical, false);
    assert.equal(d.sameShape, true); // both 2 × 4, but the tokens differ
    const A = s.final.tokens,
      B = s.bert.tokens;
    // Every non-special token lands in exactly one group, and groups cover disjoint character ranges.
    const seenA = al.spans.flatMap((g) => g.a).sort((x, y) => x - y);
    const seenB = al.spans.flatMap((g) => g.b).sort((x, y) => x - y);
    assert.deepEqual(
      seenA,
      A.map((t, i) => (t.special ? -1 : i)).filter((i) => i >= 0),
    );
    assert.deepEqual(
      seenB,
      B.map((t, i) => (t.special ? -1 : i)).filter((i) => i >= 0),
    );
    for (let g = 1; g < al.spans.length; g++) assert.ok(al.spans[g].start >= al.spans[g - 1].end, `group ${g} overlaps the one before`);
    for (const g of al.spans) for (const i of g.a) assert.ok(A[i].start >= g.start && A[i].end <= g.end);
    // The text, cut at the group edges, reads the same from both sides.
    const two = al.spans.filter((g) => g.a.length && g.b.length);
    assert.ok(two.length > 30);
    for (const g of two) {
      const ta = TEXT.slice(Math.min(...g.a.map((i) => A[i].start)), Math.max(...g.a.map((i) => A[i].end))).trim();
      const tb = TEXT.slice(Math.min(...g.b.map((i) => B[i].start)), Math.max(...g.b.map((i) => B[i].end))).trim();
      assert.equal(ta, tb);
    }
  });
});
