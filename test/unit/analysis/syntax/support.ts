// Test tokenizers for the syntax layer: GPT-2-like pieces (leading whitespace kept, identifiers split at
// capitals so `getUserName` is three tokens), with exact UTF-16 spans.
import type { Token } from '../../../../src/engine/types';

export function pieces(text: string): string[] {
  const out = text.match(/\s*(?:[A-Z]?[a-z0-9_]+|[A-Z]+(?![a-z])|\S)|\s+$/gu) ?? [];
  if (out.join('') !== text) throw new Error(`pieces do not cover the text: ${JSON.stringify(out)}`);
  return out;
}

/** A vocabulary id from the text (FNV-1a): the same text, the same id, in no order related to where it appears. */
export function idOf(t: string): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < t.length; k++) h = Math.imul(h ^ t.charCodeAt(k), 0x01000193) >>> 0;
  return 1 + (h % 50_000);
}

/** Tokens with spans; ids by text (idOf); a leading special BOS unless `bos` is false. */
export function tokenize(text: string, bos = true): Token[] {
  const out: Token[] = bos ? [{ id: 0, text: '<|bos|>', start: -1, end: -1, special: true }] : [];
  let pos = 0;
  for (const t of pieces(text)) {
    out.push({ id: idOf(t), text: t, start: pos, end: pos + t.length, special: false });
    pos += t.length;
  }
  return out;
}

/** Edges of a gold array as `dependent → gold` token texts (trimmed). */
export function edges(tokens: Token[], gold: Int32Array): string[] {
  const out: string[] = [];
  gold.forEach((g, d) => {
    if (g >= 0) out.push(`${tokens[d].text.trim()}@${d}→${tokens[g].text.trim()}@${g}`);
  });
  return out;
}

/** Samples for the syntax roles' tests and bench: a Python module and an English paragraph with determiners and sentiment words. */
export const CODE = `import os

def walk(root, depth, seen):
    """Yield every file under root, at most depth folders down."""
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if path in seen:
            continue
        seen.add(path)
        if os.path.isdir(path) and depth > 0:
            yield from walk(path, depth - 1, seen)
        else:
            yield path

def count(root):
    total = 0
    for item in walk(root, 3, set()):
        total += 1
    return total
`;

export const PROSE =
  'The old man walked to the river with a small dog. The dog saw a bright bird in the tall grass, and the man laughed. ' +
  'It was a wonderful morning after a terrible storm; the village felt happy and safe again, though the bridge was broken and the road was a mess.';
