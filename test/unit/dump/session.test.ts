// The same attention through the reader path (a dump on disk, or readerOf in memory) and through the
// AttentionSet path gives identical reports, probe scores, matrices, rollouts and sessions.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { analyzeHeads, attentionPathway, readerOf, rolloutMatrix, scoreRepeatProbe, makeRepeatProbe } from '../../../src/analysis';
import { buildDumpSession, buildDumpSessionAsync } from '../../../src/session/dump';
import { flowData, headMatrix, thumbnail, toSessionData } from '../../../src/session/wire';
import type { AttentionSet, Token } from '../../../src/engine/types';
import { attentionSet, dirichletHead, mulberry32, plantedHead, uniformHead } from '../analysis/support/synth';
import { roleText } from '../analysis/support/texts';
import { writeDumpFolder } from './support/writeDump';

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'headlight-dump-session-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Two layers of planted heads (previous-token, sink, self, induction) plus random and uniform ones. */
function planted(n: number, causal: boolean): { att: AttentionSet; tokens: Token[]; text: string } {
  const rng = mulberry32(n + (causal ? 1 : 2));
  const tokens = roleText(rng, n);
  const text = tokens.map((t) => t.text).join('');
  const fixed = tokens.map((t) => ({ ...t, special: false, id: t.id }));
  let pos = 0;
  for (const t of fixed) {
    t.start = pos;
    pos += t.text.length;
    t.end = pos;
  }
  const layer0 = [plantedHead(rng, n, causal, (i) => [i - 1]), plantedHead(rng, n, causal, () => [0]), dirichletHead(rng, n, causal, 0.5)];
  const layer1 = [plantedHead(rng, n, causal, (i) => [i]), uniformHead(n, causal), dirichletHead(rng, n, causal, 0.1)];
  return { att: attentionSet([layer0, layer1], n, causal), tokens: fixed, text };
}

describe('dump: reader path = AttentionSet path', () => {
  for (const causal of [true, false]) {
    it(`analyzeHeads, rollout, probe and wire agree (${causal ? 'causal' : 'bidirectional'}, 48 tokens)`, () => {
      const { att, tokens } = planted(48, causal);
      const r = readerOf(att);
      assert.deepEqual(analyzeHeads(r, tokens), analyzeHeads(att, tokens));
      assert.deepEqual(rolloutMatrix(r), rolloutMatrix(att));
      assert.deepEqual(attentionPathway(r, 20, { residual: 0 }), attentionPathway(att, 20, { residual: 0 }));
      assert.deepEqual(headMatrix(r, 1, 2), headMatrix(att, 1, 2));
      assert.deepEqual(thumbnail(r, 0, 1), thumbnail(att, 0, 1));
      assert.deepEqual(flowData(r, 47), flowData(att, 47));
      assert.throws(() => headMatrix(r, 2, 0), /no head L2H0 in a 2×3 model/);
    });
  }

  it('scoreRepeatProbe agrees on a planted induction head', () => {
    const T = 16;
    const ids = makeRepeatProbe({ size: 100, specialIds: [0], bosId: 0 }, T, 1);
    const n = ids.length;
    const rng = mulberry32(3);
    const ind = plantedHead(rng, n, true, (i) => (i > T ? [i - T + 1] : []));
    const att = attentionSet([[ind, uniformHead(n, true)]], n, true);
    const a = scoreRepeatProbe(readerOf(att), ids, T),
      b = scoreRepeatProbe(att, ids, T);
    assert.deepEqual(a, b);
    assert.ok(a[0].induction > 0.8 && a[1].induction < 0.1);
  });

  for (const layout of ['stacked', 'per-layer'] as const) {
    it(`buildDumpSession(dir) gives the session built in memory (${layout})`, () => {
      const { att, tokens, text } = planted(64, true);
      const dir = writeDumpFolder(path.join(tmp, layout), att, text, tokens, layout);
      const built = buildDumpSession(dir, { id: 7, title: 'T' });
      try {
        const reports = analyzeHeads(att, tokens);
        assert.deepEqual(built.reports, reports);
        const roles = built.reports.map((rep) => `${rep.id}:${rep.roles.map((x) => x.name).join('+')}`);
        assert.deepEqual(roles.slice(0, 2), ['L0H0:previous-token', 'L0H1:first-token-sink']);
        assert.equal(roles[3], 'L1H0:self');
        assert.equal(roles[4], 'L1H1:broad');
        const expected = toSessionData({
          id: 7,
          title: 'T',
          text,
          model: { name: 'generated', kind: 'causal', layers: 2, headsPerLayer: 3 },
          tokens,
          attention: att,
          reports,
        });
        assert.deepEqual(built.session, expected);
        // The panel's later requests, answered from the still-open dump.
        assert.deepEqual(headMatrix(built.dump, 1, 0), headMatrix(att, 1, 0));
        assert.deepEqual(flowData(built.dump, 63), flowData(att, 63));
      } finally {
        built.dump.close();
      }
    });
  }

  it('the async build (yielding between heads) equals the sync one, reports progress, and can be cancelled', async () => {
    const { att, tokens, text } = planted(96, true);
    const dir = writeDumpFolder(path.join(tmp, 'async'), att, text, tokens);
    const sync = buildDumpSession(dir, { id: 1 });
    sync.dump.close();
    const progress: number[] = [];
    const built = await buildDumpSessionAsync(dir, { id: 1, sliceMs: 0, onProgress: (p) => progress.push(p.done) });
    built.dump.close();
    assert.deepEqual(built.session, sync.session);
    assert.deepEqual(progress, [1, 2, 3, 4, 5, 6]);
    const ac = new AbortController();
    await assert.rejects(
      buildDumpSessionAsync(dir, { id: 1, sliceMs: 0, signal: ac.signal, onProgress: () => ac.abort() }),
      (e: Error & { code?: string }) => e.code === 'cancelled',
    );
  });

  it('the committed torch dump: L0H0 (hand-set previous-token bias) is found, in F32, F16 and BF16 alike', () => {
    const dirs = ['', 'f16.safetensors', 'bf16.safetensors'].map((f) => path.join(__dirname, '../../fixtures/dumps/small', f));
    const roleLists = dirs.map((p) => {
      const b = buildDumpSession(p, { id: 1 });
      b.dump.close();
      assert.equal(b.session.model.name, 'tiny-torch');
      assert.equal(b.session.tokens.length, 39);
      return b.reports.map((r) => r.roles.map((x) => x.name).join('+'));
    });
    assert.equal(roleLists[0][0], 'previous-token');
    assert.deepEqual(roleLists[1], roleLists[0]);
    assert.deepEqual(roleLists[2], roleLists[0]);
  });
});
