// Messages between EngineClient (host thread) and the engine worker. Big arrays travel as
// Float32Array buffers in transfer lists, never as JSON.
import type { EngineErrorShape } from '../core/errors';
import type { ProbePlan } from './probeIds';
import type { EffectRun } from './effects';
import type { ModelInfo, Predictions, Token } from './types';

export interface ModelRef {
  modelPath: string;
  tokenizerPath: string;
  /** Display name; defaults to the model's folder name. */
  name?: string;
  /**
   * ONNX Runtime execution providers in priority order (headlight.executionProviders), e.g.
   * ['cuda', 'cpu']; default ['cpu']. Part of the session cache key. One that this platform's
   * onnxruntime-node lacks, or that fails to start, is an EngineError 'provider-unavailable'.
   */
  executionProviders?: string[];
}

/**
 * Heads larger than this (over 1,448 tokens) are what a `heads` request's `into` buffer is for: the worker writes
 * them there (recomputeHeadsInto), and the pipeline hands one out only above it (pumpHeads' two slots).
 */
export const SHARED_HEADS_FROM_BYTES = 8 * 2 ** 20;

export type WorkerRequest =
  | { id: number; type: 'explain'; model: ModelRef; text: string; maxTokens: number; truncate: boolean; keep?: boolean }
  | { id: number; type: 'run-ids'; model: ModelRef; ids: number[]; attentionMask?: number[]; keep?: boolean }
  /**
   * Recompute heads of a kept run (see WorkerResult.kept), one Float32Array (n×n) per [layer, head]. `into`: a
   * shared buffer of at least heads × n × n floats the caller reuses; large heads come back as views into it.
   */
  | { id: number; type: 'heads'; handle: number; heads: [number, number][]; into?: SharedArrayBuffer }
  | { id: number; type: 'release'; handle: number }
  /** The information-flow route behind token `token`'s prediction in the explain whose result carried `routes` (routesKept.ts). */
  | { id: number; type: 'routes'; routes: number; token: number; threshold: number }
  /** A kept explain's value norms (WorkerResult.valueNormsPending), measured after the first paint from the values its run kept. */
  | { id: number; type: 'value-norms'; handle: number }
  /** A kept explain's direct logit attribution (WorkerResult.dlaPending), computed after the first paint from the tensors its run fetched. */
  | { id: number; type: 'dla'; handle: number }
  | { id: number; type: 'info'; model: ModelRef }
  /** The model-level repeat probe's ids: ordinary tokens, a length that fits the model, BOS as its family runs it. */
  | { id: number; type: 'probe-plan'; model: ModelRef; seed: number }
  /** Zero-ablate each listed head on its own over `ids` (effects.ts): per head, per position, Δ loss or 1 − cosine. */
  | { id: number; type: 'effects'; model: ModelRef; ids: number[]; heads: [number, number][] }
  | { id: number; type: 'cancel-queued'; target: number }
  /** Drop the queue, finish the current run, then exit (never killed mid-run: see client.ts). */
  | { id: number; type: 'shutdown' };

export interface RunStats {
  /** The session came from the worker's cache (same path, mtime and size). */
  sessionCached: boolean;
  loadMs: number;
  tokenizeMs: number;
  runMs: number;
}

export interface WorkerAttention {
  layers: number;
  headsPerLayer: number;
  seq: number;
  causal: boolean;
  data: Float32Array[];
}

export interface WorkerResult {
  model: ModelInfo;
  tokens: Token[];
  /** In a kept result `data` is empty: heads are recomputed on request (`heads`). */
  attention: WorkerAttention;
  truncatedFrom?: number;
  predictions?: Predictions;
  predictionsNote?: string;
  valueNorms?: { data: Float32Array; weighting: 'value·W_O' | 'value' | 'mixed' };
  valueNormsNote?: string;
  dla?: import('./types').DlaResult;
  dlaNote?: string;
  /** What the worker kept for routes (ask with this id), or why it kept nothing. */
  routes?: number;
  routesNote?: string;
  /** A kept explain leaves its value norms to a `value-norms` request: they are no part of the first paint. */
  valueNormsPending?: boolean;
  /** A kept explain leaves its DLA to a `dla` request, for the same reason. */
  dlaPending?: boolean;
  stats: RunStats;
  /**
   * Set when the request asked to `keep` and the model runs in bounded-memory mode: the worker keeps
   * the run's captured score inputs (`bytes` of them) under `handle` instead of sending attention.
   */
  kept?: { handle: number; bytes: number };
}

export type WorkerResponse =
  | { id: number; type: 'started' }
  | { id: number; type: 'done'; result: WorkerResult }
  | { id: number; type: 'info'; model: ModelInfo; stats: RunStats }
  | { id: number; type: 'probe-plan'; plan: ProbePlan }
  /** `cut`: why the ablations reran the whole (gated) graph instead of a cut copy (ablationCut.ts); absent when cut. */
  | { id: number; type: 'effects'; run: EffectRun & { cut?: string } }
  | { id: number; type: 'heads'; data: Float32Array[] }
  | { id: number; type: 'routes'; graph: import('../protocol/wire').RouteGraph }
  | { id: number; type: 'released' }
  | { id: number; type: 'value-norms'; valueNorms?: WorkerResult['valueNorms']; valueNormsNote?: string }
  | { id: number; type: 'dla'; dla?: WorkerResult['dla']; dlaNote?: string }
  | { id: number; type: 'error'; error: EngineErrorShape };
