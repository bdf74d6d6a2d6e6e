// Tokens and attention: the shapes the engine produces (src/engine/types.ts re-exports them) and everything
// downstream reads, here so the analysis, the dump readers and the notebook output format share them without
// importing the engine.

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

/** Read one head's attention matrix as a view (no copy). */
export function headView(a: AttentionSet, layer: number, head: number): Float32Array {
  const n = a.seq * a.seq;
  return a.data[layer].subarray(head * n, (head + 1) * n);
}
