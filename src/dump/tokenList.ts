// The token list of an attention dump's tokens.json (and of a notebook output, src/notebook/format.ts): the text
// and its tokens with UTF-16 [start, end) spans (the engine's Token contract, src/core/attention.ts). Parsed
// defensively: it comes from someone else's script. No Node or DOM API: the notebook renderer runs it too.
import { EngineError } from '../core/errors';
import type { Token } from '../core/attention';

export interface DumpTokens {
  text: string;
  tokens: Token[];
  model?: string;
  causal?: boolean;
  /** A VS Code languageId (`python`, `typescript`, …) for the syntax roles; absent = prose. */
  language?: string;
}

export const invalid = (file: string, message: string, details?: Record<string, string | number | boolean>): EngineError =>
  new EngineError('dump-invalid', `${file}: ${message}`, { file, ...details });

export function parseTokens(v: unknown, file = 'tokens.json'): DumpTokens {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(file, 'expected an object {"text": ..., "tokens": [...]}');
  const o = v as Record<string, unknown>;
  if (typeof o.text !== 'string') throw invalid(file, '"text" must be a string (the text the tokens cover)');
  if (!Array.isArray(o.tokens) || o.tokens.length === 0) throw invalid(file, '"tokens" must be a non-empty list');
  if (o.model !== undefined && typeof o.model !== 'string') throw invalid(file, '"model" must be a string when given');
  if (o.causal !== undefined && typeof o.causal !== 'boolean') throw invalid(file, '"causal" must be true or false when given');
  if (o.language !== undefined && typeof o.language !== 'string')
    throw invalid(file, '"language" must be a string (a VS Code languageId such as "python") when given');
  const text = o.text;
  const tokens: Token[] = o.tokens.map((raw: unknown, i: number): Token => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(file, `token ${i} is not an object`, { token: i });
    const t = raw as Record<string, unknown>;
    if (t.text !== undefined && typeof t.text !== 'string') throw invalid(file, `token ${i} has a non-string "text"`, { token: i });
    if (t.id !== undefined && !Number.isSafeInteger(t.id)) throw invalid(file, `token ${i} has a non-integer "id"`, { token: i });
    if (t.special !== undefined && typeof t.special !== 'boolean') throw invalid(file, `token ${i} has a non-boolean "special"`, { token: i });
    const id = (t.id as number | undefined) ?? -1;
    // Special tokens (BOS/CLS/SEP…) cover no text: whatever offsets the tokenizer gave them, they get -1.
    if (t.special === true) return { id, text: t.text ?? `[special ${i}]`, start: -1, end: -1, special: true };
    const { start, end } = t;
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) {
      throw invalid(file, `token ${i} needs integer "start" and "end" (UTF-16 offsets into "text"), or "special": true`, { token: i });
    }
    const s = start as number,
      e = end as number;
    if (s < 0 || e < s || e > text.length) {
      throw invalid(file, `token ${i} span [${s}, ${e}) is out of range for a text of ${text.length} UTF-16 units`, {
        token: i,
        start: s,
        end: e,
        textLength: text.length,
      });
    }
    // The engine's contract: an ordinary token's text is what it covers (not the tokenizer's "Ġthe" form).
    return { id, text: text.slice(s, e), start: s, end: e, special: false };
  });
  return {
    text,
    tokens,
    ...(o.model !== undefined ? { model: o.model } : {}),
    ...(o.causal !== undefined ? { causal: o.causal } : {}),
    ...(o.language !== undefined ? { language: o.language } : {}),
  };
}
