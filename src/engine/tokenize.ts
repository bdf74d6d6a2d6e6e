// Tokenisation through Hugging Face's own tokenizer (npm `tokenizers`); never by hand. Its offsets
// count Unicode code points (byte-level pieces of one character repeat that character's range), so
// here they become UTF-16 [start, end) spans that tile the text in order without overlaps.
import * as fs from 'node:fs';
import { Tokenizer } from 'tokenizers';
import { EngineError } from '../core/errors';
import type { Token } from './types';

const MAX_TOKENIZER_BYTES = 200 * 2 ** 20;

export interface LoadedTokenizer {
  tokenizer: Tokenizer;
  /** Largest id the tokenizer can emit, plus one (added tokens included). */
  idLimit: number;
  /** Ids of the file's `added_tokens` (special or not): never ordinary text tokens. */
  added: Map<number, { content: string; special: boolean }>;
  /** The model's unknown-token id, when its vocab names one. */
  unkId?: number;
}

export function loadTokenizer(file: string): LoadedTokenizer {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new EngineError(
      'file-not-found',
      `Tokenizer file not found: ${file}. Put the model's tokenizer.json next to model.onnx or set headlight.tokenizerPath.`,
      { path: file },
    );
  }
  if (!st.isFile() || st.size === 0 || st.size > MAX_TOKENIZER_BYTES) {
    throw new EngineError(
      'tokenizer-invalid',
      `${file} is ${st.isFile() ? `${st.size} bytes` : 'not a file'}; expected a Hugging Face tokenizer.json (saved with tokenizer.save() or save_pretrained()).`,
    );
  }
  // Parse it ourselves first: a clear message for broken JSON, and the native parser only sees plausible input.
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new EngineError(
      'tokenizer-invalid',
      `${file} is not valid JSON (${(e as Error).message}). Save the tokenizer again with tokenizer.save("tokenizer.json").`,
    );
  }
  const model = (json as { model?: { type?: unknown; vocab?: unknown; unk_token?: unknown } } | null)?.model;
  if (typeof json !== 'object' || json === null || typeof model !== 'object' || model === null || !model.vocab) {
    throw new EngineError(
      'tokenizer-invalid',
      `${file} is JSON but not a Hugging Face tokenizer.json (no "model" with a "vocab"). A vocab.json or config.json is not enough: save the fast tokenizer with tokenizer.save("tokenizer.json").`,
    );
  }
  let tokenizer: Tokenizer;
  try {
    tokenizer = Tokenizer.fromFile(file);
  } catch (e) {
    throw new EngineError(
      'tokenizer-invalid',
      `The tokenizers library rejected ${file}: ${(e as Error).message}. Save it again with a current transformers/tokenizers version.`,
    );
  }
  const vocab = tokenizer.getVocab(true);
  let idLimit = 0;
  for (const id of Object.values(vocab)) idLimit = Math.max(idLimit, id + 1);
  const added = new Map<number, { content: string; special: boolean }>();
  const list = (json as { added_tokens?: unknown }).added_tokens;
  for (const a of Array.isArray(list) ? list : []) {
    const t = a as { id?: unknown; content?: unknown; special?: unknown };
    if (typeof t.id === 'number' && typeof t.content === 'string') added.set(t.id, { content: t.content, special: t.special === true });
  }
  const unk = typeof model.unk_token === 'string' ? vocab[model.unk_token] : undefined;
  return { tokenizer, idLimit, added, unkId: typeof unk === 'number' ? unk : undefined };
}

/** UTF-16 offset of every code point boundary: map[cp] = code units before code point cp. */
function codePointToUtf16(text: string): Uint32Array {
  const map = new Uint32Array(text.length + 1);
  let cp = 0;
  for (let u = 0; u < text.length; cp++) {
    map[cp] = u;
    const c = text.charCodeAt(u);
    u += c >= 0xd800 && c <= 0xdbff && u + 1 < text.length ? 2 : 1;
  }
  map[cp] = text.length;
  return map.subarray(0, cp + 1);
}

export async function encodeText(tok: LoadedTokenizer, text: string): Promise<Token[]> {
  const enc = await tok.tokenizer.encode(text);
  const ids = enc.getIds();
  const offsets = enc.getOffsets();
  const special = enc.getSpecialTokensMask();
  const names = enc.getTokens();
  const map = codePointToUtf16(text);
  const cps = map.length - 1;
  const toUnit = (cp: number) => map[Math.min(Math.max(cp, 0), cps)];
  const tokens: Token[] = [];
  // Rule for pieces of one character (byte-level BPE splitting a multi-byte character): the
  // character belongs to the first token that reaches it; later pieces get an empty span at the
  // end of what was already covered. `cursor` enforces order and no overlap.
  let cursor = 0;
  for (let i = 0; i < ids.length; i++) {
    const [s, e] = offsets[i] ?? [0, 0];
    if (special[i] === 1 && s === e) {
      tokens.push({ id: ids[i], text: names[i], start: -1, end: -1, special: true });
      continue;
    }
    const start = Math.max(toUnit(s), cursor);
    const end = Math.max(toUnit(e), start);
    cursor = end;
    tokens.push({ id: ids[i], text: text.slice(start, end), start, end, special: false });
  }
  return tokens;
}

/**
 * The first `limit` tokens, keeping the template's own special tokens at both ends: a truncated BERT
 * input still ends in [SEP] (the model never saw one without), and the text is cut before it.
 */
export function truncateKeepingTemplate<T extends { special: boolean }>(tokens: T[], limit: number): T[] {
  let head = 0;
  while (head < tokens.length && tokens[head].special) head++;
  let tail = 0;
  while (tail < tokens.length - head && tokens[tokens.length - 1 - tail].special) tail++;
  if (head + tail >= limit) return tokens.slice(0, limit);
  return [...tokens.slice(0, limit - tail), ...tokens.slice(tokens.length - tail)];
}
