// Compare two sessions of the same text (two models, or two checkpoints of one model): which head roles
// appear, vanish, stay or move between them, per-layer metric means, and an alignment of the two token
// lists by the source characters they cover. Pure: no vscode, no DOM — unit-tested in plain Node and
// shared by the host (builds the diff) and the webview (renders it).
import type { AlignedSpan, CompareDiff, HeadRef, RoleChange, SessionData, TokenAlignment, WireHead, WireToken } from '../protocol';
// The diff's wire types belong to the protocol (the panel draws them); re-exported for the diff's callers.
export type { AlignedSpan, CompareDiff, HeadRef, LayerSeries, RoleChange, RoleChangeKind, TokenAlignment } from '../protocol';

const idOf = (layer: number, head: number) => `L${layer}H${head}`;

/** "headlight-small@step-3100" → 3100; undefined for anything that is not a checkpoint label. */
export function checkpointStep(label: string): number | undefined {
  const m = /@step-0*(\d+)$/.exec(label);
  return m ? Number(m[1]) : undefined;
}

/** Where B stands relative to A, for sentences: "between step 0 and step 4,000" or "in B (name)". */
function whereB(a: string, b: string): { appear: string; vanish: string } {
  const sa = checkpointStep(a),
    sb = checkpointStep(b);
  const base = (s: string) => s.replace(/@step-\d+$/, '');
  if (sa !== undefined && sb !== undefined && base(a) === base(b)) {
    const span = `between step ${sa.toLocaleString('en-US')} and step ${sb.toLocaleString('en-US')}`;
    return sb >= sa
      ? { appear: span, vanish: span }
      : {
          appear: `going back from step ${sa.toLocaleString('en-US')} to ${sb.toLocaleString('en-US')}`,
          vanish: `going back from step ${sa.toLocaleString('en-US')} to ${sb.toLocaleString('en-US')}`,
        };
  }
  return { appear: `in ${b} (absent in ${a})`, vanish: `in ${b} (present in ${a})` };
}

function holders(heads: WireHead[]): Map<string, HeadRef[]> {
  const out = new Map<string, HeadRef[]>();
  for (const hd of heads)
    for (const r of hd.roles) {
      const list = out.get(r.name) ?? [];
      list.push({ layer: hd.layer, head: hd.head, id: hd.id || idOf(hd.layer, hd.head), score: r.score });
      out.set(r.name, list);
    }
  return out;
}

const byPlace = (x: HeadRef, y: HeadRef) => x.layer - y.layer || x.head - y.head;
const fmt = (x: number) => x.toFixed(2);

/**
 * Roles matched by (layer, head) first; what is left over of one role on each side is paired as a move,
 * nearest heads first (same layer before another layer, then the closest head index), so "previous-token
 * on L0H1 in A and on L0H2 in B" reads as one move rather than a vanish plus an appear.
 */
export function diffRoles(a: WireHead[], b: WireHead[], labels: { a: string; b: string }): { changes: RoleChange[]; kept: RoleChange[] } {
  const ha = holders(a),
    hb = holders(b);
  const roles = [...new Set([...ha.keys(), ...hb.keys()])].sort();
  const where = whereB(labels.a, labels.b);
  const changes: RoleChange[] = [];
  const kept: RoleChange[] = [];
  for (const role of roles) {
    const la = (ha.get(role) ?? []).slice().sort(byPlace);
    const lb = (hb.get(role) ?? []).slice().sort(byPlace);
    const inB = new Set(lb.map((x) => x.id));
    const inA = new Set(la.map((x) => x.id));
    for (const x of la) {
      if (!inB.has(x.id)) continue;
      const y = lb.find((z) => z.id === x.id)!;
      kept.push({ kind: 'kept', role, a: x, b: y, sentence: `${role} stays at ${x.id} (${fmt(x.score)} → ${fmt(y.score)})` });
    }
    const onlyA = la.filter((x) => !inB.has(x.id));
    const onlyB = lb.filter((x) => !inA.has(x.id));
    // Greedy nearest pairing: all candidate pairs by distance, take the closest unused ones.
    const pairs: { i: number; j: number; d: number }[] = [];
    onlyA.forEach((x, i) => onlyB.forEach((y, j) => pairs.push({ i, j, d: Math.abs(x.layer - y.layer) * 1000 + Math.abs(x.head - y.head) })));
    pairs.sort((p, q) => p.d - q.d || p.i - q.i || p.j - q.j);
    const usedA = new Set<number>(),
      usedB = new Set<number>();
    for (const p of pairs) {
      if (usedA.has(p.i) || usedB.has(p.j)) continue;
      usedA.add(p.i);
      usedB.add(p.j);
      const x = onlyA[p.i],
        y = onlyB[p.j];
      changes.push({
        kind: 'moves',
        role,
        a: x,
        b: y,
        sentence: `${role} moves from ${x.id} (${fmt(x.score)}) in ${labels.a} to ${y.id} (${fmt(y.score)}) in ${labels.b}`,
      });
    }
    onlyA.forEach((x, i) => {
      if (!usedA.has(i)) changes.push({ kind: 'vanishes', role, a: x, sentence: `${role} at ${x.id} (${fmt(x.score)}) vanishes ${where.vanish}` });
    });
    onlyB.forEach((y, j) => {
      if (!usedB.has(j)) changes.push({ kind: 'appears', role, b: y, sentence: `${role} appears at ${y.id} ${where.appear} (score ${fmt(y.score)})` });
    });
  }
  const place = (c: RoleChange) => (c.b ?? c.a)!;
  changes.sort((x, y) => byPlace(place(x), place(y)) || x.role.localeCompare(y.role));
  kept.sort((x, y) => byPlace(x.a!, y.a!) || x.role.localeCompare(y.role));
  return { changes, kept };
}

interface Span {
  i: number;
  start: number;
  end: number;
}

const spansOf = (tokens: WireToken[]): { spans: Span[]; special: number[] } => {
  const spans: Span[] = [],
    special: number[] = [];
  tokens.forEach((t, i) => {
    if (t.special || t.start < 0 || t.end < 0) special.push(i);
    else spans.push({ i, start: t.start, end: Math.max(t.start, t.end) });
  });
  spans.sort((x, y) => x.start - y.start || x.end - y.end || x.i - y.i);
  return { spans, special };
};

/**
 * Groups tokens of two tokenizations of the same text by the characters they cover: each group is the
 * smallest run of A tokens and B tokens whose character ranges overlap each other and nothing outside.
 * Tokens that cover characters the other side skipped (WordPiece drops whitespace, a byte-level BPE keeps
 * it) form groups with one side empty. O(nA + nB) after sorting.
 */
export function alignTokens(a: WireToken[], b: WireToken[]): TokenAlignment {
  const identical =
    a.length === b.length && a.every((t, i) => t.text === b[i].text && t.start === b[i].start && t.end === b[i].end && t.special === b[i].special);
  const A = spansOf(a),
    B = spansOf(b);
  const spans: AlignedSpan[] = [];
  let i = 0,
    j = 0;
  const overlaps = (s: Span, start: number, end: number) => (s.start < end && s.end > start) || (s.start === s.end && s.start >= start && s.start < end);
  while (i < A.spans.length || j < B.spans.length) {
    const x = A.spans[i],
      y = B.spans[j];
    let g: AlignedSpan;
    if (x && (!y || (x.end <= y.start && !(x.start === y.start)))) {
      g = { start: x.start, end: x.end, a: [x.i], b: [] };
      i++;
    } else if (y && (!x || y.end <= x.start)) {
      g = { start: y.start, end: y.end, a: [], b: [y.i] };
      j++;
    } else {
      g = { start: Math.min(x.start, y.start), end: Math.max(x.end, y.end), a: [x.i], b: [y.i] };
      i++;
      j++;
    }
    // Grow the group while either side's next token still overlaps it.
    for (let grew = true; grew;) {
      grew = false;
      while (i < A.spans.length && overlaps(A.spans[i], g.start, g.end)) {
        g.a.push(A.spans[i].i);
        g.end = Math.max(g.end, A.spans[i].end);
        i++;
        grew = true;
      }
      while (j < B.spans.length && overlaps(B.spans[j], g.start, g.end)) {
        g.b.push(B.spans[j].i);
        g.end = Math.max(g.end, B.spans[j].end);
        j++;
        grew = true;
      }
    }
    spans.push(g);
  }
  const oneToOne = spans.filter((s) => s.a.length === 1 && s.b.length === 1).length;
  const note = identical
    ? `Both use the same tokenizer: ${a.length} tokens, compared position by position.`
    : `The tokenizers differ (${a.length} tokens in A, ${b.length} in B): tokens are aligned by the source characters they cover — ${spans.length} character spans, ${oneToOne} of them one token to one token.`;
  return { identical, spans, specialA: A.special, specialB: B.special, note };
}

/** Per-layer mean of a metric over the heads that could be measured. */
export function layerMeans(s: SessionData, key: string): number[] {
  return Array.from({ length: s.model.layers }, (_, l) => {
    const v = s.heads
      .filter((x) => x.layer === l)
      .map((x) => x.metrics[key])
      .filter((x) => Number.isFinite(x));
    return v.length ? v.reduce((p, q) => p + q, 0) / v.length : NaN;
  });
}

export const COMPARED_METRICS = ['entropy', 'distance', 'sink'];

export function compareSessions(a: SessionData, b: SessionData, labels: { a: string; b: string } = { a: a.model.name, b: b.model.name }): CompareDiff {
  const { changes, kept } = diffRoles(a.heads, b.heads, labels);
  return {
    labels,
    changes,
    kept,
    sameShape: a.model.layers === b.model.layers && a.model.headsPerLayer === b.model.headsPerLayer,
    alignment: alignTokens(a.tokens, b.tokens),
    layers: COMPARED_METRICS.map((key) => ({ key, a: layerMeans(a, key), b: layerMeans(b, key) })),
  };
}
