// Token ↔ source alignment. Tokens carry UTF-16 spans into the explained text; parsers and taggers work
// on characters. The rule, the same for code and prose:
// - A token's *anchor* is its first non-whitespace character (a BPE token ` foo` is anchored at `f`);
//   specials and whitespace-only tokens have none (−1) and never take part in a relation.
// - A character belongs to the *first* token whose span covers it (byte-level BPE may split one emoji
//   into two tokens with the same span: the first one owns it).
// - A token *leads* when it owns its anchor; a token that only continues a character another token
//   began is neither a dependent nor a target.
// - A syntax node (or a word) is represented by the token owning its first character: a node that
//   starts inside a token (`(x` spanning `(` and `x`) is that token; a node split over several tokens
//   (`getUserName` → `get`, `User`, `Name`) is its first token, and the later pieces start no node
//   of their own (their anchor is inside a leaf that began before them).
import type { Token } from '../../core/attention';

export interface Alignment {
  /** Per token: UTF-16 offset in the explained text of its first non-whitespace character, −1 if none. */
  anchor: Int32Array;
  /** Per token: 1 when it owns its anchor. */
  leads: Uint8Array;
  /** Length of the explained text the spans cover. */
  length: number;
  /** The token owning character `pos` of the explained text, −1 if none (whitespace between tokens, out of range). */
  tokenAt(pos: number): number;
}

const SPACE = /\s/;

export function alignTokens(tokens: Token[]): Alignment {
  const n = tokens.length;
  let length = 0;
  for (const t of tokens) if (!t.special && t.start >= 0 && t.end > length) length = t.end;
  const owner = new Int32Array(length).fill(-1);
  for (let i = 0; i < n; i++) {
    const t = tokens[i];
    if (t.special || t.start < 0) continue;
    for (let c = Math.max(0, t.start); c < t.end; c++) if (owner[c] < 0) owner[c] = i;
  }
  const anchor = new Int32Array(n).fill(-1);
  const leads = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const t = tokens[i];
    if (t.special || t.start < 0 || t.end <= t.start) continue;
    let k = 0;
    while (k < t.text.length && SPACE.test(t.text[k])) k++;
    if (k >= t.text.length || t.start + k >= t.end) continue;
    anchor[i] = t.start + k;
    leads[i] = owner[t.start + k] === i ? 1 : 0;
  }
  return {
    anchor,
    leads,
    length,
    tokenAt: (pos: number) => (pos >= 0 && pos < length ? owner[pos] : -1),
  };
}
