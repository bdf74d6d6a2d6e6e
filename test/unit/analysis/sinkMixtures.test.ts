// Heads that park most of their attention on a sink and spend the rest on a pattern (what real GPT-2,
// Llama and BERT heads do): the pattern must be named whatever the sink takes, as long as the rest is
// ≥ MIN_REST_MASS of each row; noise on the rest must never be named. Sinks: the first token, and for
// BERT-style inputs [CLS] and [SEP] too.
import { strict as assert } from 'node:assert';
import { analyzeHeads, buildContext, MIN_REST_MASS, MIN_ROWS, type TextContext } from '../../../src/analysis';
import type { Token } from '../../../src/engine/types';
import { attentionSet, buildHead, gamma, mulberry32, type Rng } from './support/synth';
import { roleText } from './support/texts';
import { bracketRows, rolePlants } from './support/plants';

const SINK_MASSES = [0.3, 0.5, 0.7, 0.9];
const CONTENT = new Set(['previous-token', 'self', 'positional', 'local', 'duplicate-token', 'induction', 'punctuation', 'bracket-matching']);

/** roleText with BERT's template: [CLS] first (its BOS slot) and [SEP] last. */
function bertText(rng: Rng, n: number): Token[] {
  const t = roleText(rng, n - 1).map((x, i) => (i === 0 ? { ...x, text: '[CLS]' } : x));
  return [...t, { id: 9999, text: '[SEP]', start: -1, end: -1, special: true }];
}

/**
 * Row i: `s` on the visible sink columns (split evenly), then of the rest `onTarget` on the targets that are
 * not sinks and the remainder as Dirichlet(α) noise over the non-sink keys. Sink rows: all on themselves.
 */
function sinkHead(rng: Rng, ctx: TextContext, s: number, targets: (i: number, m: number) => number[], onTarget: number, alpha = 1): Float32Array {
  return buildHead(ctx.n, ctx.causal, (i, m, row) => {
    if (ctx.sink[i] === 1) {
      row[i] = 1;
      return;
    }
    const sinks: number[] = [],
      rest: number[] = [];
    for (let j = 0; j < m; j++) (ctx.sink[j] === 1 ? sinks : rest).push(j);
    const t = targets(i, m).filter((j) => j >= 0 && j < m && ctx.sink[j] === 0);
    const share = t.length ? onTarget : 0;
    let noise = 0;
    const g = rest.map(() => gamma(rng, alpha) + 1e-30);
    for (const x of g) noise += x;
    rest.forEach((j, k) => {
      row[j] = ((1 - s) * (1 - share) * g[k]) / noise;
    });
    for (const j of t) row[j] += ((1 - s) * share) / t.length;
    for (const j of sinks) row[j] += s / sinks.length;
  });
}

const plants = (ctx: TextContext) => rolePlants(ctx).filter((p) => p.role !== 'first-token-sink');

const content = (names: string[]): string[] => names.filter((x) => CONTENT.has(x));

describe('analysis: sink-aware roles', () => {
  it("the issue's cases by construction: 0.7 first + 0.3 previous, 0.5 first + 0.5 at −2, 0.6 first + 0.4 self", () => {
    const n = 40;
    const tokens = roleText(mulberry32(1), n);
    const ctx = buildContext(tokens, true);
    const exact = (s: number, off: number) =>
      buildHead(n, true, (i, m, row) => {
        if (i + off < 1 || i + off >= m) {
          row[0] = 1;
          return;
        }
        row[0] = s;
        row[i + off] += 1 - s;
      });
    const [prev, pos, self] = analyzeHeads(attentionSet([[exact(0.7, -1), exact(0.5, -2), exact(0.6, 0)]], n, true), tokens);
    assert.deepEqual(prev.roles.map((r) => r.name).sort(), ['first-token-sink', 'previous-token']);
    assert.deepEqual(content(pos.roles.map((r) => r.name)), ['positional']);
    assert.equal(pos.roles.find((r) => r.name === 'positional')?.offset, -2);
    assert.deepEqual(self.roles.map((r) => r.name).sort(), ['first-token-sink', 'self']);
    // Both readings are reported: the whole rows' score and the rest's.
    const p = prev.roles.find((r) => r.name === 'previous-token')!;
    // Rows 2..39 keep 0.3 off the sink and put all of it on i−1: the rest's score is exactly 1.
    assert.ok(Math.abs(p.score - 1) < 1e-6, String(p.score));
    assert.ok(p.rest && Math.abs(p.rest.mass - 0.3) < 1e-6, JSON.stringify(p.rest));
    assert.match(
      p.evidence.sentence,
      /parks 70% of its attention on the first token; of the rest \(30% of each row on average\) it puts 100% on the previous token/,
    );
    assert.ok(p.evidence.example && p.evidence.example.key === p.evidence.example.query - 1, 'the example is a previous-token edge, not the sink');
    void ctx;
  });

  for (const bert of [false, true]) {
    for (const n of [32, 96]) {
      it(`${bert ? 'bidirectional with [CLS]/[SEP]' : 'causal with a first-token sink'}, ${n} tokens: every planted pattern named at sink mass ${SINK_MASSES.join(', ')}`, () => {
        const rng = mulberry32(n + (bert ? 1000 : 0));
        const causal = !bert;
        const tokens = bert ? bertText(rng, n) : roleText(rng, n);
        const ctx = buildContext(tokens, causal);
        for (const s of SINK_MASSES) {
          const ps = plants(ctx).filter((p) => p.role !== 'bracket-matching' || bracketRows(ctx) >= MIN_ROWS);
          const heads = ps.map((p) => sinkHead(rng, ctx, s, p.targets, 0.8));
          const reports = analyzeHeads(attentionSet([heads], n, causal), tokens);
          reports.forEach((r, k) => {
            const names = r.roles.map((x) => x.name);
            assert.deepEqual(
              content(names),
              [ps[k].role],
              `s=${s} ${ps[k].role}: got [${names.join(',')}] ${JSON.stringify(r.candidates.map((c) => [c.name, +c.score.toFixed(2), c.rest ? +c.rest.score.toFixed(2) : null]))}`,
            );
            assert.ok(!names.includes('punctuation') || ps[k].role === 'punctuation', '[SEP] is a sink, never punctuation');
          });
        }
      });
    }
  }

  it('a pattern on less than MIN_REST_MASS of each row is not named (0.95 on the sink, 0.05 on i−1)', () => {
    const n = 48;
    const tokens = roleText(mulberry32(5), n);
    const head = buildHead(n, true, (i, _m, row) => {
      if (i < 2) {
        row[0] = 1;
        return;
      }
      row[0] = 0.95;
      row[i - 1] = 0.05;
    });
    const [r] = analyzeHeads(attentionSet([[head]], n, true), tokens);
    assert.deepEqual(
      r.roles.map((x) => x.name),
      ['first-token-sink'],
    );
    assert.ok(0.05 < MIN_REST_MASS);
  });

  it('1,280 heads with a sink and noise on the rest get no content role', () => {
    const rng = mulberry32(77);
    let heads = 0;
    for (const bert of [false, true]) {
      for (const n of [24, 64]) {
        const causal = !bert;
        const tokens = bert ? bertText(rng, n) : roleText(rng, n);
        const ctx = buildContext(tokens, causal);
        for (const s of SINK_MASSES) {
          for (const alpha of [0.1, 0.3, 1, 3]) {
            const layer = Array.from({ length: 20 }, () => sinkHead(rng, ctx, s, () => [], 0, alpha));
            for (const r of analyzeHeads(attentionSet([layer], n, causal), tokens)) {
              heads++;
              const names = r.roles.map((x) => x.name);
              assert.deepEqual(
                content(names),
                [],
                `s=${s} α=${alpha} n=${n} ${bert ? 'bert' : 'causal'}: ${JSON.stringify(r.roles.map((x) => [x.name, x.score, x.rest]))}`,
              );
            }
          }
        }
      }
    }
    assert.equal(heads, 1280);
  });
});
