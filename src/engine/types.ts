// The engine's output contract. Everything downstream (analysis, panel, CLI, bench) reads these shapes. Its tokens
// and attention (Token, AttentionSet, headView) live in src/core/attention.ts: the analysis and the notebook output
// format (bundled into the webview) read them and may not import the engine. Re-exported as part of the contract.
import type { AttentionSet, Token } from '../core/attention';

export { headView, type AttentionSet, type Token } from '../core/attention';

export interface ExplainResult {
  model: ModelInfo;
  tokens: Token[];
  attention: AttentionSet;
  /** The tokens that did not fit `maxTokens`, if the caller accepted truncation. */
  truncatedFrom?: number;
  /** A causal LM's next-token predictions for the explained tokens; else `predictionsNote` says why there are none. */
  predictions?: Predictions;
  predictionsNote?: string;
  /** ‖v_j W_O^h‖ per layer, head and key (Kobayashi et al. 2020), for value-weighted attention; else why not. */
  valueNorms?: { data: Float32Array; weighting: 'value·W_O' | 'value' | 'mixed' };
  valueNormsNote?: string;
  /** Direct logit attribution of every head at every token (dla.ts); else why there is none. */
  dla?: DlaResult;
  dlaNote?: string;
  /** Routes: the worker kept what they need under this id (routesKept.ts), or says why not. */
  routes?: number;
  routesNote?: string;
}

/** Per position i (predicting token i + 1): the top-k next tokens and the actual next token's probability and loss. */
export interface Predictions {
  k: number;
  /** [n × k], best first. */
  topIds: Int32Array;
  topP: Float32Array;
  /** [n × k] decoded texts of topIds. */
  topText: string[];
  /** NaN at the last position (the selection ends there). */
  actualP: Float32Array;
  /** −ln actualP, nats (surprisal). */
  loss: Float32Array;
}

export interface ModelInfo {
  /** Display name: the bundled model's name or the ONNX file's folder name. */
  name: string;
  modelPath: string;
  tokenizerPath: string;
  kind: 'causal' | 'bidirectional';
  layers: number;
  headsPerLayer: number;
  vocabSize: number;
  /** ONNX Runtime execution providers the session runs on, e.g. ['cpu']. */
  executionProviders?: string[];
}

/** Direct logit attribution of every head at every token from one run (dla.ts computes it). */
export interface DlaResult {
  /** [layer][head][token]: DLA onto the actual next token's logit (NaN at the last token). */
  actual: Float32Array;
  /** Same layout: onto logit(actual) − logit(alternative). */
  diff: Float32Array;
  /** Per position: the next token's id (−1 at the end) and the best other token's id. */
  targets: Int32Array;
  alternatives: Int32Array;
  /** How the final norm was frozen, for the status line: "decomposed LayerNorm", "RMSNormalization", … */
  norm: string;
  ms: number;
}
