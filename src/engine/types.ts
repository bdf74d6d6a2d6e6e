// The engine's output contract. Everything downstream (analysis, panel, CLI, bench) reads these shapes.

/** One token of the explained text. Offsets are UTF-16 code units into the explained text, `[start, end)`. */
export interface Token {
  id: number;
  /** What the token covers in the source (`text.slice(start, end)`), or the special token's name. */
  text: string;
  start: number;
  end: number;
  /** BOS/CLS/SEP/PAD and similar: no span in the source (start === end === -1). */
  special: boolean;
}

/**
 * Attention of every head, one Float32Array per layer laid out row-major as [head][query][key]
 * (length heads * seq * seq). Rows sum to 1 over the keys a query may see.
 */
export interface AttentionSet {
  layers: number;
  headsPerLayer: number;
  seq: number;
  /** true for decoder (GPT-2 style) models: zeros above the diagonal. */
  causal: boolean;
  data: Float32Array[];
}

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

/** Read one head's attention matrix as a view (no copy). */
export function headView(a: AttentionSet, layer: number, head: number): Float32Array {
  const n = a.seq * a.seq;
  return a.data[layer].subarray(head * n, (head + 1) * n);
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
