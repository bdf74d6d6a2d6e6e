// measureHead's optimised passes (abs-free distance halves, table log, top-3 inserted out of the loop, punctuation
// gathered with four partial sums, TransformerLens sums riding on the role reads) against a
// straightforward reference written from the definitions: every metric and every per-row statistic
// the roles use, on random Dirichlet heads with repeated tokens, specials, punctuation and brackets.
import { strict as assert } from 'node:assert';
import { buildContext, type TextContext } from '../../../src/analysis/context';
import { CLEAR_ARGMAX_RATIO, LOCAL_WINDOW, measureHead, Scratch } from '../../../src/analysis/measure';
import { repeatTargets, type TargetLists } from '../../../src/analysis/tokenClasses';
import type { Token } from '../../../src/engine/types';
import { buildHead, dirichletHead, mulberry32, type Rng } from './support/synth';

/** Relative 1e-6 (the brief's bar; sums differ only in order, entropy in the table log's ~1e-8). */
function close(got: number, want: number, what: string): void {
  if (Number.isNaN(want)) return assert.ok(Number.isNaN(got), `${what}: ${got}, want NaN`);
  assert.ok(Math.abs(got - want) <= 1e-6 * Math.max(1e-3, Math.abs(want)), `${what}: ${got}, want ${want}`);
}

interface RefStat {
  corrected: number;
  observed: number;
  baseline: number;
  rows: number;
  argHits: number;
}
const stat = (): RefStat => ({ corrected: 0, observed: 0, baseline: 0, rows: 0, argHits: 0 });
function add(s: RefStat, o: number, b: number, hit: boolean): void {
  s.corrected += (o - b) / (1 - b);
  s.observed += o;
  s.baseline += b;
  s.rows++;
  if (hit) s.argHits++;
}
const row = (T: TargetLists, i: number): number[] => Array.from(T.idx.subarray(T.start[i], T.start[i + 1]));

/** Every quantity straight from its definition: no halves, no tables, no shared reads. */
function reference(A: Float32Array, ctx: TextContext, topK: number) {
  const { n, causal } = ctx;
  const at = (i: number, j: number): number => A[i * n + j];
  let ent = 0,
    entRows = 0,
    dist = 0,
    chr = 0,
    chrRows = 0,
    punct = 0,
    mx = 0,
    tk = 0,
    sumA = 0;
  let sink = 0,
    self = 0,
    prev = 0,
    dupM = 0,
    dupRows = 0,
    indM = 0,
    indRows = 0,
    tlD = 0,
    tlI = 0;
  const s = {
    previous: stat(),
    sink: stat(),
    self: stat(),
    local: stat(),
    punct: stat(),
    dup: stat(),
    ind: stat(),
    bracket: stat(),
    sinkOnDup: stat(),
    sinkOnInd: stat(),
    sinkOnBracket: stat(),
  };
  const argmax: number[] = [],
    clear: number[] = [];
  // The runner-up's key and the 2nd/3rd largest weights, ties in key order; a row with fewer keys has −1
  // weights there, and a one-key row's runner-up key is that key (0), as the scan leaves it.
  const argmax2: number[] = [],
    second: number[] = [],
    third: number[] = [];
  const hist = new Map<number, number>();
  const offsetMass = new Array<number>(2 * LOCAL_WINDOW + 1).fill(0);
  const targetMass = (T: TargetLists, i: number, m: number, am: number, st: RefStat): number => {
    const t = row(T, i);
    if (t.length === 0) return -1;
    const vis = t.filter((j) => j < m);
    const o = vis.reduce((acc, j) => acc + at(i, j), 0);
    if (vis.length > 0 && vis.length < m) add(st, o, vis.length / m, vis.includes(am));
    return o;
  };
  for (let i = 0; i < n; i++) {
    const m = causal ? i + 1 : n;
    const w = Array.from({ length: m }, (_, j) => at(i, j));
    sumA += w.reduce((a, b) => a + b, 0);
    if (m >= 2) {
      ent += -w.reduce((acc, a) => acc + (a > 0 ? a * Math.log(a) : 0), 0) / Math.log(m);
      entRows++;
    }
    dist += w.reduce((acc, a, j) => acc + a * Math.abs(i - j), 0);
    if (ctx.nonSpecial[i] === 1) {
      let num = 0,
        den = 0;
      w.forEach((a, j) => {
        if (ctx.nonSpecial[j] === 1) {
          num += a * Math.abs(ctx.starts[i] - ctx.starts[j]);
          den += a;
        }
      });
      if (den > 0) {
        chr += num / den;
        chrRows++;
      }
    }
    const pm = w.reduce((acc, a, j) => acc + (ctx.punct[j] === 1 ? a : 0), 0);
    punct += pm;
    const am = w.indexOf(Math.max(...w));
    argmax.push(am);
    const byWeight = w.map((_a, j) => j).sort((x, y) => w[y] - w[x] || x - y);
    argmax2.push(byWeight.length > 1 ? byWeight[1] : 0);
    second.push(byWeight.length > 1 ? w[byWeight[1]] : -1);
    third.push(byWeight.length > 2 ? w[byWeight[2]] : -1);
    const sorted = [...w].sort((a, b) => b - a);
    mx += sorted[0];
    tk += sorted
      .slice(0, topK)
      .filter((a) => a > 0)
      .reduce((a, b) => a + b, 0);
    const isClear = sorted[0] > CLEAR_ARGMAX_RATIO * Math.max(0, sorted[1] ?? -1) ? 1 : 0;
    clear.push(isClear);
    sink += at(i, 0);
    self += at(i, i);
    if (i >= 1) prev += at(i, i - 1);
    for (const j of row(ctx.tlDup, i)) tlD += at(i, j);
    for (const j of row(ctx.tlInd, i)) tlI += at(i, j);
    if (m < 2) continue;
    const b1 = 1 / m;
    if (isClear) hist.set(am - i, (hist.get(am - i) ?? 0) + 1);
    if (i >= 1) {
      add(s.previous, at(i, i - 1), b1, am === i - 1);
      add(s.sink, at(i, 0), b1, am === 0);
    }
    add(s.self, at(i, i), b1, am === i);
    const lo = Math.max(0, i - LOCAL_WINDOW),
      hi = causal ? i : Math.min(n - 1, i + LOCAL_WINDOW);
    if (hi - lo + 1 < m) {
      let lw = 0;
      for (let j = lo; j <= hi; j++) {
        lw += at(i, j);
        offsetMass[j - i + LOCAL_WINDOW] += at(i, j);
      }
      add(s.local, lw, (hi - lo + 1) / m, am >= lo && am <= hi);
    }
    let pc = 0;
    for (let j = 0; j < m; j++) pc += ctx.punct[j];
    if (pc > 0 && pc < m) add(s.punct, pm, pc / m, ctx.punct[am] === 1);
    const od = targetMass(ctx.dup, i, m, am, s.dup);
    if (od >= 0) {
      dupM += od;
      dupRows++;
      if (i >= 1) add(s.sinkOnDup, at(i, 0), b1, am === 0);
    }
    const oi = targetMass(ctx.ind, i, m, am, s.ind);
    if (oi >= 0) {
      indM += oi;
      indRows++;
      if (i >= 1) add(s.sinkOnInd, at(i, 0), b1, am === 0);
    }
    if (targetMass(ctx.brackets, i, m, am, s.bracket) >= 0 && i >= 1) add(s.sinkOnBracket, at(i, 0), b1, am === 0);
  }
  const metrics = {
    entropy: entRows > 0 ? ent / entRows : NaN,
    distance: dist / n,
    charDistance: chrRows > 0 ? chr / chrRows : NaN,
    sink: sink / n,
    self: self / n,
    previous: prev / n,
    punctuation: punct / n,
    duplicate: dupRows > 0 ? dupM / dupRows : NaN,
    induction: indRows > 0 ? indM / indRows : NaN,
    maxWeight: mx / n,
    topK: tk / n,
    tlPrevious: prev / sumA,
    tlDuplicate: tlD / sumA,
    tlInduction: tlI / sumA,
  };
  return { metrics, stats: s, argmax, clear, hist, offsetMass, argmax2, second, third };
}

/** n tokens from a small vocabulary (so words repeat), with brackets, quotes, punctuation and specials. */
function randomTokens(rng: Rng, n: number, opts: { midSpecials: boolean; shuffleStarts: boolean }): Token[] {
  const vocab = ['the', ' cat', ',', ' (', 'x', ')', ' and', '.', '\n', ' "', 'b', '"', ' [', ']', ' sat', ' {', '}', ' of'];
  const out: Token[] = [{ id: 0, text: '<bos>', start: -1, end: -1, special: true }];
  let pos = 0;
  for (let i = 1; i < n; i++) {
    if (opts.midSpecials && i % 29 === 14) {
      out.push({ id: 1, text: '[SEP]', start: -1, end: -1, special: true });
      continue;
    }
    const v = Math.floor(rng() * vocab.length);
    const text = vocab[v];
    out.push({ id: 10 + v, text, start: pos, end: pos + text.length, special: false });
    pos += text.length;
  }
  if (opts.shuffleStarts) for (let i = 3; i < n; i += 11) if (!out[i].special) out[i] = { ...out[i], start: Math.max(0, out[i].start - 25) };
  return out;
}

const CASES = [
  { n: 97, causal: true, alpha: 1, midSpecials: false, shuffleStarts: false, topK: 3 },
  { n: 128, causal: true, alpha: 0.1, midSpecials: true, shuffleStarts: false, topK: 3 },
  { n: 80, causal: false, alpha: 1, midSpecials: true, shuffleStarts: false, topK: 3 },
  { n: 64, causal: false, alpha: 0.3, midSpecials: false, shuffleStarts: true, topK: 1 },
  { n: 70, causal: true, alpha: 0.5, midSpecials: true, shuffleStarts: true, topK: 5 },
  { n: 3, causal: true, alpha: 1, midSpecials: false, shuffleStarts: false, topK: 3 },
  // Weights 1..3 before normalising: ties everywhere (argmax = first key holding the max, top-k multiset).
  { n: 90, causal: true, alpha: 0, midSpecials: true, shuffleStarts: false, topK: 3 },
  { n: 60, causal: false, alpha: 0, midSpecials: false, shuffleStarts: false, topK: 2 },
];

describe('measureHead fast path = straightforward reference (random Dirichlet heads, seed 11)', () => {
  for (const c of CASES) {
    it(`${c.causal ? 'causal' : 'bidirectional'} n=${c.n} ${c.alpha > 0 ? `α=${c.alpha}` : 'tied weights'} topK=${c.topK}${c.midSpecials ? ', repeated specials' : ''}${c.shuffleStarts ? ', non-monotone spans' : ''}`, () => {
      const rng = mulberry32(11 + c.n);
      const tokens = randomTokens(rng, c.n, c);
      const ctx = buildContext(tokens, c.causal);
      assert.equal(ctx.startsMonotone, !c.shuffleStarts);
      const scratch = new Scratch(c.n, c.topK);
      for (let h = 0; h < 3; h++) {
        const A =
          c.alpha > 0
            ? dirichletHead(rng, c.n, c.causal, c.alpha)
            : buildHead(c.n, c.causal, (_i, m, w) => {
                for (let j = 0; j < m; j++) w[j] = 1 + Math.floor(rng() * 3);
              });
        const got = measureHead(A, ctx, scratch, c.topK);
        const want = reference(A, ctx, c.topK);
        for (const [k, v] of Object.entries(want.metrics)) close(got.metrics[k as keyof typeof want.metrics], v, `head ${h} ${k}`);
        for (const [k, v] of Object.entries(want.stats)) {
          const g = got[k as keyof typeof want.stats];
          assert.equal(g.rows, v.rows, `head ${h} ${k}.rows`);
          assert.equal(g.argHits, v.argHits, `head ${h} ${k}.argHits`);
          close(g.corrected, v.corrected, `head ${h} ${k}.corrected`);
          close(g.observed, v.observed, `head ${h} ${k}.observed`);
          close(g.baseline, v.baseline, `head ${h} ${k}.baseline`);
        }
        assert.deepEqual(Array.from(got.argmax), want.argmax, `head ${h} argmax`);
        assert.deepEqual(Array.from(got.clear), want.clear, `head ${h} clear`);
        // What the sink-aware pass reads from the scratch (sinkAware.ts): exact, not within a tolerance.
        assert.deepEqual(Array.from(scratch.argmax2), want.argmax2, `head ${h} runner-up keys`);
        assert.deepEqual(Array.from(scratch.second), want.second, `head ${h} second largest`);
        assert.deepEqual(Array.from(scratch.third), want.third, `head ${h} third largest`);
        for (let d = -(c.n - 1); d <= c.n - 1; d++) assert.equal(got.offsetHist[d + c.n - 1], want.hist.get(d) ?? 0, `head ${h} offsetHist[${d}]`);
        want.offsetMass.forEach((v, k) => close(got.offsetMass[k], v, `head ${h} offsetMass[${k}]`));
      }
    });
  }
});

describe('repeatTargets = the definition, key by key', () => {
  it('duplicate (earlier copies) and induction (the token after each) lists on random ids, specials skipped as queries', () => {
    const rng = mulberry32(5);
    for (const [n, vocab] of [
      [1, 3],
      [40, 3],
      [300, 15],
      [200, 400],
    ]) {
      const ids = Array.from({ length: n }, () => Math.floor(rng() * vocab));
      const special = ids.map((_, i) => i % 13 === 7);
      for (const sp of [special, undefined]) {
        const { dup, ind } = repeatTargets(ids, sp);
        for (let i = 0; i < n; i++) {
          const want = sp?.[i] ? [] : ids.slice(0, i).flatMap((id, j) => (id === ids[i] ? [j] : []));
          assert.deepEqual(row(dup, i), want, `n=${n} dup row ${i}`);
          assert.deepEqual(
            row(ind, i),
            want.map((j) => j + 1),
            `n=${n} ind row ${i}`,
          );
        }
      }
    }
  });
});
