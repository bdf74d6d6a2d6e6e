// Everything about the token list that every head's measurement needs, computed once per text.
import type { Token } from '../core/attention';
import { isPunctuationToken, matchBrackets, repeatTargets, type TargetLists } from './tokenClasses';

export interface TextContext {
  n: number;
  causal: boolean;
  tokens: Token[];
  /** 1 for tokens with a source span, 0 for special tokens. */
  nonSpecial: Float64Array;
  /** Span start in UTF-16 units (0 for specials; masked by nonSpecial). */
  starts: Float64Array;
  /** Indices of special tokens and of punctuation tokens, ascending. */
  specialIdx: Int32Array;
  punctIdx: Int32Array;
  /** Non-special starts never decrease (the usual case): enables the fast distance pass. */
  startsMonotone: boolean;
  /** 1 for punctuation/separator tokens (isPunctuationToken). */
  punct: Float64Array;
  /** punctBefore[i] = number of punctuation tokens among 0..i−1. */
  punctBefore: Int32Array;
  /** Earlier copies / token after an earlier copy, special queries excluded (for roles). */
  dup: TargetLists;
  ind: TargetLists;
  /** TransformerLens patterns over every row, specials included (for the tl* metrics). */
  tlDup: TargetLists;
  tlInd: TargetLists;
  /** 1 where row i's dup and ind lists equal tlDup's and tlInd's (every non-special query): measure reads them once. */
  tlShared: Uint8Array;
  /** 1 where row i's ind list is its dup list + 1, key by key (every row, as repeatTargets builds them): one walk reads both. */
  indAfterDup: Uint8Array;
  /** Closing token → opener token(s). */
  brackets: TargetLists;
  /**
   * Sink columns: the first token, and every special token ([CLS], [SEP], BOS). Heads park attention there
   * as a no-op (Xiao et al. 2023; Clark et al. 2019 on [SEP]); the sink-aware scores (sinkAware.ts) set them aside.
   */
  sink: Uint8Array;
  /** Indices of the sink columns, ascending. */
  sinkIdx: Int32Array;
}

export function buildContext(tokens: Token[], causal: boolean): TextContext {
  const n = tokens.length;
  const nonSpecial = new Float64Array(n);
  const starts = new Float64Array(n);
  const punct = new Float64Array(n);
  const punctBefore = new Int32Array(n + 1);
  const ids = new Int32Array(n);
  const special: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const t = tokens[i];
    ids[i] = t.id;
    special.push(t.special || t.start < 0);
    nonSpecial[i] = special[i] ? 0 : 1;
    starts[i] = special[i] ? 0 : t.start;
    punct[i] = isPunctuationToken(t, i) ? 1 : 0;
    punctBefore[i + 1] = punctBefore[i] + punct[i];
  }
  let startsMonotone = true,
    last = -Infinity;
  for (let i = 0; i < n; i++) {
    if (nonSpecial[i] === 1) {
      if (starts[i] < last) startsMonotone = false;
      last = starts[i];
    }
  }
  const specialIdx = Int32Array.from(special.flatMap((sp, i) => (sp ? [i] : [])));
  const punctIdx = Int32Array.from(Array.from(punct).flatMap((p, i) => (p === 1 ? [i] : [])));
  const { dup, ind } = repeatTargets(ids, special);
  const tl = repeatTargets(ids);
  const tlShared = new Uint8Array(n);
  for (let i = 0; i < n; i++) tlShared[i] = sameRow(dup, tl.dup, i) && sameRow(ind, tl.ind, i) ? 1 : 0;
  const indAfterDup = new Uint8Array(n);
  for (let i = 0; i < n; i++) indAfterDup[i] = sameRow(ind, dup, i, 1) ? 1 : 0;
  const sink = new Uint8Array(n);
  for (let i = 0; i < n; i++) sink[i] = i === 0 || special[i] ? 1 : 0;
  const sinkIdx = Int32Array.from(Array.from(sink).flatMap((v, i) => (v === 1 ? [i] : [])));
  return {
    n,
    causal,
    tokens,
    nonSpecial,
    starts,
    startsMonotone,
    specialIdx,
    punctIdx,
    punct,
    punctBefore,
    dup,
    ind,
    tlDup: tl.dup,
    tlInd: tl.ind,
    tlShared,
    indAfterDup,
    brackets: matchBrackets(tokens),
    sink,
    sinkIdx,
  };
}

/** Row i of `a` equals row i of `b` with `shift` added to every key. */
function sameRow(a: TargetLists, b: TargetLists, i: number, shift = 0): boolean {
  const a0 = a.start[i],
    len = a.start[i + 1] - a0,
    b0 = b.start[i];
  if (b.start[i + 1] - b0 !== len) return false;
  for (let p = 0; p < len; p++) if (a.idx[a0 + p] !== b.idx[b0 + p] + shift) return false;
  return true;
}
