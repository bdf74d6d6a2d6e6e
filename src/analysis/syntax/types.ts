// Shapes of the syntax layer: what a parse (code) or a tagger (prose) says about the explained tokens,
// as gold edges per token and target sets, ready for scoring against any head. Pure data.
import type { RoleName } from '../../protocol';

/** What the host knows about where the explained text came from. All optional: without it, prose rules. */
export interface SyntaxContext {
  /** A VS Code languageId (`typescript`, `python`, `plaintext`, …). Absent or unknown → prose rules. */
  language?: string;
  /** The whole document (or a window of it around the selection), so a selection that cuts a construct in half still parses. */
  text?: string;
  /** UTF-16 offset of the explained text's first character in `text` (default 0). */
  offset?: number;
}

/**
 * A relation: for each dependent token, the one token it should attend to (Clark et al. 2019's
 * dependency edges). `gold[i]` = key index, −1 when token i is not a dependent.
 */
export interface Relation {
  name: RoleName;
  /** "its AST parent", "the keyword opening its block", … (for evidence sentences). */
  what: string;
  gold: Int32Array;
  /**
   * Pairs whose gold lies after the dependent are read the other way round in causal models (the
   * later token → the earlier one), as Clark et al. score each relation in both directions: a determiner
   * cannot see its noun in a decoder, the noun can see its determiner.
   */
  reversible: boolean;
  /** `what` for the reversed reading (the noun → "its determiner"). */
  whatBack?: string;
  /** Some dependents were dropped because the parse had errors there. */
  partial?: boolean;
}

/** A mass role's target set (keyword: content words; sentiment: lexicon words). */
export interface MassTarget {
  name: RoleName;
  what: string;
  target: Uint8Array;
}

export interface SyntaxInfo {
  mode: 'code' | 'prose';
  /** The languageId the rules came from (`prose` for prose). */
  language: string;
  relations: Relation[];
  masses: MassTarget[];
  /** Per token: rarity (larger = rarer), NaN for tokens that take no part (specials). */
  rarity?: Float64Array;
  /** Per token: its syntax node type (code) or word class (prose), for hover; null where none. */
  tokenSyntax: (string | null)[];
  /** The parse had errors: relations cover what parsed. */
  partial: boolean;
  /** Said in the panel: unknown language, parse errors, a tagger that failed. */
  note?: string;
}
