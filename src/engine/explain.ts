// Plain-Node API on one shared, lazily started EngineClient (its idle worker never keeps Node alive).
import { EngineClient, type EngineResult, type ExplainOptions, type RunIdsOptions } from './client';
import { resolveModelRef } from './models';
import type { ModelRef } from './workerProtocol';

let shared: EngineClient | undefined;
export function defaultClient(): EngineClient {
  return (shared ??= new EngineClient());
}

/** Tokenise `text` with the model's tokenizer.json and return tokens with spans plus every head's attention. */
export function explain(text: string, modelDirOrPaths: string | ModelRef, opts: ExplainOptions = {}): Promise<EngineResult> {
  return defaultClient().explain(text, resolveModelRef(modelDirOrPaths), opts);
}

/** Run given token ids (probe inputs such as "random tokens repeated twice"); tokens carry no spans. */
export function runIds(ids: number[], modelDirOrPaths: string | ModelRef, opts: RunIdsOptions = {}): Promise<EngineResult> {
  return defaultClient().runIds(ids, resolveModelRef(modelDirOrPaths), opts);
}

export async function shutdownEngine(): Promise<void> {
  const c = shared;
  shared = undefined;
  await c?.dispose();
}
