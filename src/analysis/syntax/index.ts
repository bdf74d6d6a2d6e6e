// The syntax layer's entry: tokens (+ where they came from) → SyntaxInfo, the gold edges and target sets
// every head is then scored against (src/analysis/roles/syntax.ts). Async only because the tree-sitter
// runtime and a grammar load on first use; everything after the parse is synchronous and pure.
import type { Token } from '../../core/attention';
import { codeRelations } from './code';
import { proseRelations } from './prose';
import { rarityById } from './rarity';
import { GRAMMARS, parserFor } from './treeSitter';
import type { SyntaxContext, SyntaxInfo } from './types';

export type { MassTarget, Relation, SyntaxContext, SyntaxInfo } from './types';
export { alignTokens, type Alignment } from './align';
export { codeRelations } from './code';
export { proseRelations, englishTagger, afinn } from './prose';
export { rarityById } from './rarity';
export { GRAMMARS, languageOfPath, parserFor } from './treeSitter';

/** Languages read as English prose without a note. */
const PROSE = new Set(['plaintext', 'markdown', 'prose', 'restructuredtext', 'latex', 'git-commit', '']);
/** Above this the document is not parsed whole: the explained text alone is (flagged partial if it does not parse). */
export const MAX_PARSE_CHARS = 2_000_000;

/** The explained text as the tokens' spans lay it out (gaps — WordPiece drops whitespace — become spaces). */
export function textFromTokens(tokens: Token[]): string {
  let len = 0;
  for (const t of tokens) if (!t.special && t.start >= 0) len = Math.max(len, t.end);
  const chars = new Array<string>(len).fill(' ');
  for (const t of tokens) {
    if (t.special || t.start < 0) continue;
    for (let k = 0; k < t.text.length && t.start + k < len; k++) chars[t.start + k] = t.text[k];
  }
  return chars.join('');
}

/** The spans agree with the document text at `offset` (a stale document would misplace every edge). */
function agrees(tokens: Token[], doc: string, offset: number): boolean {
  for (const t of tokens) {
    if (t.special || t.start < 0) continue;
    if (doc.slice(offset + t.start, offset + t.end) !== t.text) return false;
  }
  return true;
}

export async function buildSyntax(tokens: Token[], context: SyntaxContext = {}): Promise<SyntaxInfo> {
  const language = context.language ?? '';
  const rarity = rarityById(tokens);
  let doc = context.text,
    offset = context.offset ?? 0;
  let note: string | undefined;
  if (doc !== undefined && (offset < 0 || !agrees(tokens, doc, offset))) {
    note = 'the document no longer matches the explained text: only the selection was read';
    doc = undefined;
  }
  if (doc === undefined) {
    doc = textFromTokens(tokens);
    offset = 0;
  }
  if (GRAMMARS[language]) {
    if (doc.length > MAX_PARSE_CHARS) {
      doc = textFromTokens(tokens);
      offset = 0;
      note = `the document is longer than ${MAX_PARSE_CHARS.toLocaleString('en')} characters: only the selection was parsed`;
    }
    const p = await parserFor(language);
    if (p) {
      const tree = p.parser.parse(doc);
      try {
        if (!tree) throw new Error(`tree-sitter returned no parse for ${language}`);
        const code = codeRelations(tree.rootNode, tokens, offset, p.family, doc);
        if (code.partial) note = [note, 'the parse has errors: relations cover the parts that parsed'].filter(Boolean).join('; ');
        return {
          mode: 'code',
          language,
          relations: code.relations,
          masses: [],
          rarity,
          tokenSyntax: code.tokenSyntax,
          partial: code.partial,
          ...(note ? { note } : {}),
        };
      } finally {
        tree?.delete();
        p.parser.delete();
      }
    }
  }
  if (!PROSE.has(language)) note = [note, `no grammar for ${language}: read as English prose`].filter(Boolean).join('; ');
  const own = textFromTokens(tokens);
  const text = doc.slice(offset, offset + own.length);
  try {
    const prose = proseRelations(text, tokens);
    return {
      mode: 'prose',
      language: 'prose',
      relations: prose.relations,
      masses: prose.masses,
      rarity,
      tokenSyntax: prose.tokenSyntax,
      partial: false,
      ...(note ? { note } : {}),
    };
  } catch (e) {
    note = [note, `the English tagger failed (${e instanceof Error ? e.message : String(e)})`].filter(Boolean).join('; ');
    return { mode: 'prose', language: 'prose', relations: [], masses: [], rarity, tokenSyntax: tokens.map(() => null), partial: true, note };
  }
}
