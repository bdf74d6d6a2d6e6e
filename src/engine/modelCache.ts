// Worker-side: ONNX Runtime sessions cached per model file. Loading (load.ts), the load probe
// (loadProbe.ts), input feeds (feeds.ts) and recompute (recompute.ts) live in files of their own; this
// module re-exports them so the worker, the benchmark and the tests have one entry point.
// Kept free of worker_threads so the benchmark can drive it directly on one thread.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineError } from '../core/errors';
import { resolveProviders } from './providers';
import { loadModel, releaseModel } from './load';
import type { LoadedModel } from './loadedModel';

export { attentionHeads, checkLayer, type LoadedModel, type RecomputeState } from './loadedModel';
export { loadModel, releaseModel, type LoadOptions } from './load';
export { runSession } from './feeds';
export {
  captureRun,
  disposeCaptured,
  recomputeHeads,
  recomputeHeadsInto,
  recomputeLayer,
  runAttention,
  runSlice,
  runSliceHeads,
  RECOMPUTE_RUN_BYTES,
  type Captured,
  type OnExtra,
} from './recompute';

const cache = new Map<string, LoadedModel>();

function fileKey(p: string): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    throw new EngineError('file-not-found', `Model file not found: ${p}. It may have been moved or deleted; pick the model again.`, { path: p });
  }
  return `${st.mtimeMs}:${st.size}`;
}

/**
 * Cached session for `modelPath` with these execution providers; a replaced (mtime/size) or deleted
 * file is noticed on every call. One session per model file: asking for other providers replaces it
 * (a second copy of a large model's weights is not worth keeping for a settings change).
 */
export async function getModel(modelPath: string, opts: { executionProviders?: readonly string[] } = {}): Promise<{ model: LoadedModel; cached: boolean }> {
  const abs = path.resolve(modelPath);
  const providers = resolveProviders(opts.executionProviders);
  let key: string;
  try {
    key = fileKey(abs);
  } catch (e) {
    await evict(abs);
    throw e;
  }
  key += `|${providers.join(',')}`; // part of the cache key: same file, other providers = other session
  const hit = cache.get(abs);
  if (hit && hit.key === key) return { model: hit, cached: true };
  await evict(abs);
  const model = await loadModel(abs, key, { executionProviders: providers });
  cache.set(abs, model);
  return { model, cached: false };
}

async function evict(abs: string): Promise<void> {
  const old = cache.get(abs);
  cache.delete(abs);
  if (old) await releaseModel(old);
}

export function clearSessionCache(): Promise<void> {
  return Promise.all([...cache.keys()].map(evict)).then(() => undefined);
}
