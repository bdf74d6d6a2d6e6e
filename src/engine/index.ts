// Public surface of the engine (no vscode import anywhere below src/engine).
export * from './types';
export { EngineError, isEngineError, EXPORT_ADVICE, type EngineErrorCode, type EngineErrorShape } from '../core/errors';
export {
  EngineClient,
  DEFAULT_MAX_TOKENS,
  type EngineClientOptions,
  type EngineResult,
  type ExplainOptions,
  type RunIdsOptions,
  type RunOptions,
} from './client';
export { explain, runIds, defaultClient, shutdownEngine } from './explain';
export {
  listBundledModels,
  findBundledModel,
  listBundledChoices,
  findBundledChoice,
  resolveModelRef,
  modelsRoot,
  type BundledModel,
  type BundledChoice,
} from './models';
export type { ModelRef, RunStats } from './workerProtocol';
export { PROBE_MAX_T, PROBE_MIN_T, probeLength, classifyDecoded, type ProbePlan, type ProbeBos, type OrdinaryDraw } from './probeIds';
export type { EffectRun, EffectMethod } from './effects';
export { predictionsFrom, logProbs, TOP_K, type PredictionArrays } from './predictions';
