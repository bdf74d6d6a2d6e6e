// The input of a run, checked before any inference: an explain's text tokenised (refused or truncated past the
// model's and the user's limits), or a run-ids request's ids validated against the model. Used by worker.ts.
import * as path from 'node:path';
import { EngineError } from '../core/errors';
import type { WorkerRequest, RunStats } from './workerProtocol';
import type { LoadedModel } from './loadedModel';
import { encodeText, truncateKeepingTemplate, type LoadedTokenizer } from './tokenize';
import type { Token } from './types';

/** An explain's tokens (refused or truncated past the limits) and their ids. */
export async function explainInput(
  req: Extract<WorkerRequest, { type: 'explain' }>,
  m: LoadedModel,
  tok: LoadedTokenizer,
  stats: RunStats,
): Promise<{ ids: number[]; tokens: Token[]; truncatedFrom?: number }> {
  if (req.text.trim() === '') throw new EngineError('empty-text', 'Nothing to explain: the selection is empty or only whitespace. Select some text first.');
  const t1 = performance.now();
  let tokens = await encodeText(tok, req.text);
  stats.tokenizeMs = performance.now() - t1;
  const n = tokens.length;
  const positions = m.plan.positionRows ?? Infinity;
  if (n > req.maxTokens && !req.truncate) {
    throw new EngineError(
      'too-many-tokens',
      `The selection is ${n} tokens; the limit is ${req.maxTokens}. Select less text, raise headlight.maxTokens, or explain the first ${Math.min(req.maxTokens, positions)} tokens.`,
      { tokens: n, maxTokens: req.maxTokens },
    );
  }
  if (n > positions && !req.truncate) {
    throw new EngineError(
      'too-many-positions',
      `The selection is ${n} tokens, but ${path.basename(m.modelPath)} has only ${positions} positions. Select less text or explain the first ${positions} tokens.`,
      { tokens: n, positions },
    );
  }
  const limit = Math.min(req.maxTokens, positions);
  let truncatedFrom: number | undefined;
  if (n > limit) {
    truncatedFrom = n;
    tokens = truncateKeepingTemplate(tokens, limit);
  }
  return { ids: tokens.map((t) => t.id), tokens, truncatedFrom };
}

/** A run-ids request's ids, checked against the model, as tokens. */
export function idsInput(req: Extract<WorkerRequest, { type: 'run-ids' }>, m: LoadedModel, tok: LoadedTokenizer): { ids: number[]; tokens: Token[] } {
  const ids = req.ids;
  const vocab = m.plan.vocabRows ?? tok.idLimit;
  if (!ids.length || ids.some((v) => !Number.isInteger(v) || v < 0 || v >= vocab)) {
    throw new EngineError('bad-request', `runIds needs a non-empty list of integer ids in [0, ${vocab}).`);
  }
  if (m.plan.positionRows !== undefined && ids.length > m.plan.positionRows) {
    throw new EngineError('too-many-positions', `${ids.length} ids, but the model has only ${m.plan.positionRows} positions.`, {
      tokens: ids.length,
      positions: m.plan.positionRows,
    });
  }
  if (req.attentionMask && req.attentionMask.length !== ids.length) throw new EngineError('bad-request', 'attentionMask must have one entry per id.');
  return { ids, tokens: ids.map((id) => ({ id, text: tok.tokenizer.idToToken(id) ?? String(id), start: -1, end: -1, special: false })) };
}
