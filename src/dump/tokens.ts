// tokens.json of an attention dump, read from disk (the parsing itself is tokenList.ts, shared with the notebook
// renderer): size-capped, then parsed defensively — the file comes from someone else's script.
import * as fs from 'node:fs';
import { EngineError } from '../core/errors';
import { invalid, parseTokens, type DumpTokens } from './tokenList';

export { parseTokens, type DumpTokens };

/** tokens.json larger than this is refused (a 100k-token text with its tokens is well under 20 MB). */
export const MAX_TOKENS_FILE_BYTES = 64 * 1024 * 1024;

export function readTokensFile(file: string): DumpTokens {
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch {
    throw new EngineError('file-not-found', `${file}: no tokens.json beside the attention file (see docs/dump-format.md)`, { file });
  }
  if (size > MAX_TOKENS_FILE_BYTES) throw invalid(file, `${size} bytes is more than the ${MAX_TOKENS_FILE_BYTES}-byte limit for tokens.json`, { size });
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw invalid(file, `not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  return parseTokens(parsed, file);
}
