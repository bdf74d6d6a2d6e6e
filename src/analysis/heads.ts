// Attention that can be read one head at a time: the engine's in-memory AttentionSet, or a dump file
// read lazily from disk (src/dump). The analysis walks heads in order, so it never needs more than one
// head (rollout: one layer's heads) in memory at once.
import { headView, type AttentionSet } from '../core/attention';

export interface HeadReader {
  layers: number;
  headsPerLayer: number;
  seq: number;
  /** true for decoder (GPT-2 style) models: zeros above the diagonal. */
  causal: boolean;
  /**
   * One head's matrix, row-major [query][key] (length seq²). Treat as read-only: it may be a view into
   * the set or a cached copy that the next call returns again.
   */
  head(layer: number, head: number): Float32Array;
}

/** Views into the set's layer arrays (no copy). */
export function readerOf(a: AttentionSet): HeadReader {
  return { layers: a.layers, headsPerLayer: a.headsPerLayer, seq: a.seq, causal: a.causal, head: (l, h) => headView(a, l, h) };
}

export function isAttentionSet(a: AttentionSet | HeadReader): a is AttentionSet {
  return Array.isArray((a as AttentionSet).data);
}

/** Every analysis entry point takes either shape; this normalises to the reader. */
export function asReader(a: AttentionSet | HeadReader): HeadReader {
  return isAttentionSet(a) ? readerOf(a) : a;
}

/** Throws a RangeError naming the head when (layer, head) is outside the reader. */
export function checkHead(r: HeadReader, layer: number, head: number): void {
  if (!Number.isInteger(layer) || layer < 0 || layer >= r.layers || !Number.isInteger(head) || head < 0 || head >= r.headsPerLayer) {
    throw new RangeError(`no head L${layer}H${head} in a ${r.layers}×${r.headsPerLayer} model`);
  }
}
