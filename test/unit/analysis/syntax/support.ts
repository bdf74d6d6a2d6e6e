// Test tokenizers for the syntax layer: GPT-2-like pieces (leading whitespace kept, identifiers split at
// capitals so `getUserName` is three tokens), with exact UTF-16 spans.
import type { Token } from '../../../../src/engine/types';

export function pieces(text: string): string[] {
  const out = text.match(/\s*(?:[A-Z]?[a-z0-9_]+|[A-Z]+(?![a-z])|\S)|\s+$/gu) ?? [];
  if (out.join('') !== text) throw new Error(`pieces do not cover the text: ${JSON.stringify(out)}`);
  return out;
}

/** Tokens with spans; ids by text; a leading special BOS unless `bos` is false. */
export function tokenize(text: string, bos = true): Token[] {
  const ids = new Map<string, number>();
  const out: Token[] = bos ? [{ id: 0, text: '<|bos|>', start: -1, end: -1, special: true }] : [];
  let pos = 0;
  for (const t of pieces(text)) {
    if (!ids.has(t)) ids.set(t, ids.size + 1);
    out.push({ id: ids.get(t)!, text: t, start: pos, end: pos + t.length, special: false });
    pos += t.length;
  }
  return out;
}

/** Edges of a gold array as `dependent → gold` token texts (trimmed). */
export function edges(tokens: Token[], gold: Int32Array): string[] {
  const out: string[] = [];
  gold.forEach((g, d) => { if (g >= 0) out.push(`${tokens[d].text.trim()}@${d}→${tokens[g].text.trim()}@${g}`); });
  return out;
}
