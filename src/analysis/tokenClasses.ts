// Token classes the roles need: punctuation/separator tokens and matching bracket pairs.
// Works on the Token list only (token texts are source slices), so the webview can use it too.
import type { Token } from '../core/attention';

const PUNCT_CHAR = /^[\p{P}<>]$/u;

/**
 * Punctuation/separator token: after trimming whitespace, every character is punctuation
 * (Unicode P*, plus < >); or the token is only whitespace containing a line break (a line
 * separator in code). Never the first token nor a special one ([CLS], [SEP], BOS): those are sinks,
 * where heads rest as a no-op (Clark et al. 2019), measured separately — resting there is not "punctuation".
 */
export function isPunctuationToken(t: Token, index: number): boolean {
  if (index === 0 || t.special) return false;
  const s = t.text.trim();
  if (s.length === 0) return t.text.includes('\n');
  for (const ch of s) if (!PUNCT_CHAR.test(ch)) return false;
  return true;
}

/** Rows → target key lists in compressed form: targets of row i are idx[start[i] .. start[i+1]). */
export interface TargetLists {
  start: Int32Array;
  idx: Int32Array;
}

export function toTargetLists(n: number, lists: number[][]): TargetLists {
  const start = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) start[i + 1] = start[i] + lists[i].length;
  const idx = new Int32Array(start[n]);
  for (let i = 0; i < n; i++) idx.set(lists[i], start[i]);
  return { start, idx };
}

const OPEN_OF: Record<string, string> = { ')': '(', ']': '[', '}': '{', '”': '“', '’': '‘', '»': '«' };
const OPENERS = new Set(['(', '[', '{', '“', '‘', '«']);
const TOGGLES = new Set(['"', '`', "'"]);
const WORDISH = /[\p{L}\p{N}]/u;

/**
 * Matching bracket pairs over the token texts: for each closing token, the token(s) holding its
 * opener. Handles () [] {}, “” ‘’ «», straight quotes " ` ' (toggled; an apostrophe between two
 * letters, as in "don't", is not a quote), and XML/HTML tags (`</p>` → `<p …>`). Pairs whose
 * opener and closer sit in the same or adjacent tokens are dropped.
 */
export function matchBrackets(tokens: Token[]): TargetLists {
  const n = tokens.length;
  // Concatenate the non-special token texts with a char → token map.
  let text = '';
  const owner: number[] = [];
  for (let t = 0; t < n; t++) {
    if (tokens[t].special) continue;
    text += tokens[t].text;
    for (let c = 0; c < tokens[t].text.length; c++) owner.push(t);
  }
  const lists: number[][] = Array.from({ length: n }, () => []);
  // Adjacent pairs like `()` are dropped too: a previous-token head would match them for free.
  const add = (closer: number, opener: number): void => {
    if (opener < closer - 1 && !lists[closer].includes(opener)) lists[closer].push(opener);
  };

  const stack: { ch: string; tok: number }[] = [];
  for (let c = 0; c < text.length; c++) {
    const ch = text[c];
    const tok = owner[c];
    if (OPENERS.has(ch)) {
      stack.push({ ch, tok });
    } else if (ch in OPEN_OF) {
      const want = OPEN_OF[ch];
      // Recover from unbalanced input: close the nearest matching opener, drop what was above it.
      let k = stack.length - 1;
      while (k >= 0 && stack[k].ch !== want) k--;
      if (k >= 0) {
        add(tok, stack[k].tok);
        stack.length = k;
      }
    } else if (TOGGLES.has(ch)) {
      if (ch === "'" && c > 0 && c + 1 < text.length && WORDISH.test(text[c - 1]) && WORDISH.test(text[c + 1])) continue;
      const top = stack.length - 1;
      if (top >= 0 && stack[top].ch === ch) {
        add(tok, stack[top].tok);
        stack.length = top;
      } else {
        stack.push({ ch, tok });
      }
    }
  }

  // Tags: a separate stack so `<` in code comparisons cannot disturb the brackets above.
  const tagRe = /<(\/?)([A-Za-z][\w:.-]*)[^<>]*?(\/?)>/g;
  const tags: { name: string; toks: number[] }[] = [];
  for (let m = tagRe.exec(text); m; m = tagRe.exec(text)) {
    if (m[3] === '/') continue; // self-closing
    const nameEnd = m.index + 1 + m[1].length + m[2].length;
    if (m[1] === '') {
      const toks: number[] = [];
      for (let c = m.index; c < nameEnd; c++) if (!toks.includes(owner[c])) toks.push(owner[c]);
      tags.push({ name: m[2], toks });
    } else {
      let k = tags.length - 1;
      while (k >= 0 && tags[k].name !== m[2]) k--;
      if (k >= 0) {
        const closer = owner[m.index];
        for (const o of tags[k].toks) add(closer, o);
        tags.length = k;
      }
    }
  }
  return toTargetLists(n, lists);
}

/**
 * Earlier copies of each token (TransformerLens duplicate pattern: j < i, id_j = id_i) and the
 * tokens right after them (induction pattern: j ≤ i, id_{j−1} = id_i). Special tokens are not
 * queries here (a repeated PAD is not a repeat in the text); TL's own scores are computed
 * separately over every row.
 */
export function repeatTargets(ids: ArrayLike<number>, special?: ArrayLike<boolean>): { dup: TargetLists; ind: TargetLists } {
  const n = ids.length;
  const dup: number[][] = Array.from({ length: n }, () => []);
  const ind: number[][] = Array.from({ length: n }, () => []);
  const seen = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const prev = seen.get(ids[i]);
    if (prev && !(special && special[i])) {
      for (const j of prev) {
        dup[i].push(j);
        if (j + 1 <= i) ind[i].push(j + 1);
      }
    }
    if (prev) prev.push(i);
    else seen.set(ids[i], [i]);
  }
  return { dup: toTargetLists(n, dup), ind: toTargetLists(n, ind) };
}
