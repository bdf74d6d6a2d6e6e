// Messages between the session pipeline and its analysis worker. Attention buffers are moved (transfer
// lists) into the worker and back, never copied or serialised.
import type { AttentionSet, Token } from '../engine/types';
import type { HeadReport, ProbeHeadScore } from '../analysis';
import { LayerSums } from '../analysis/rollout';
import type { SyntaxContext, SyntaxInfo } from '../analysis/syntax/types';
import { transferList } from '../core/transfer';

/** Shape of the attention a stream will deliver (heads arrive one message at a time). */
export interface StreamShape {
  layers: number;
  headsPerLayer: number;
  seq: number;
  causal: boolean;
}

/**
 * Streams: for kept (bounded-memory) runs the heads are recomputed by the engine and fed here a few at
 * a time, in the order the job needs them (`streamOrder`); the worker drops each after use.
 */
export type StreamJob =
  | { kind: 'analyze'; tokens: Token[]; probe?: ProbeHeadScore[]; thumbSize: number; syntax?: SyntaxInfo }
  /**
   * One token's pathway. `valueNorms`: over value-weighted heads (engine/values.ts), rows renormalised.
   * `flowCache`: also keep each layer's head sums under this key (when they fit FLOW_CACHE_BYTES), so the next
   * token's pathway needs no head again — built by the first Flow, not by every explain.
   */
  | { kind: 'flow'; token: number; valueNorms?: Float32Array; flowCache?: number }
  /** Every head's value-weighted thumbnail: made when the Heads view first shows value weighting. */
  | { kind: 'value-thumbs'; thumbSize: number; valueNorms: Float32Array };

export type AnalysisRequest =
  | { id: number; type: 'analyze'; attention: AttentionSet; tokens: Token[]; probe?: ProbeHeadScore[]; thumbSize: number; syntax?: SyntaxInfo }
  /** Parse (code) or tag (prose) the tokens' text once, before their heads are analysed (grammars load on first use). */
  | { id: number; type: 'syntax'; tokens: Token[]; context: SyntaxContext }
  | { id: number; type: 'score-probe'; attention: AttentionSet; ids: number[]; T: number }
  | { id: number; type: 'stream-begin'; stream: number; shape: StreamShape; job: StreamJob }
  | { id: number; type: 'stream-heads'; stream: number; heads: [number, number][]; data: Float32Array[] }
  | { id: number; type: 'stream-end'; stream: number }
  /** A pathway from a kept flow cache; answered `flow-miss` when there is none (then stream the heads). */
  | { id: number; type: 'flow-cached'; key: number; token: number }
  | { id: number; type: 'flow-drop'; key: number };

export type AnalysisResponse =
  | { id: number; type: 'analyzed'; attention: AttentionSet; reports: HeadReport[]; thumbnails: Uint8Array[]; ms: number }
  | { id: number; type: 'probe-scored'; attention: AttentionSet; scores: ProbeHeadScore[] }
  | { id: number; type: 'syntax-built'; syntax: SyntaxInfo }
  | { id: number; type: 'stream-ok' }
  | { id: number; type: 'stream-analyzed'; reports: HeadReport[]; thumbnails: Uint8Array[]; ms: number }
  | { id: number; type: 'stream-thumbs'; thumbnails: Uint8Array[] }
  | { id: number; type: 'stream-flow'; token: number; layers: Float32Array[] }
  | { id: number; type: 'flow-miss' }
  | { id: number; type: 'error'; message: string; attention?: AttentionSet };

/**
 * Per-layer head sums for Flow are kept only while they fit (analysis/rollout.ts LayerSums): float32, the lower
 * triangle of a causal model — 25 MB for 12 layers at 1,024 tokens, 268 MB for 8 layers at 4,096.
 */
export const FLOW_CACHE_BYTES = 320 * 2 ** 20;
export function flowCacheFits(shape: StreamShape): boolean {
  return shape.layers * LayerSums.entries(shape.seq, shape.causal) * 4 <= FLOW_CACHE_BYTES;
}

export function buffersOf(a: AttentionSet): ArrayBuffer[] {
  return transferList(a.data);
}

/** The order a stream job reads heads in: layer-major from L0H0, the pathway from the last layer down. */
export function streamOrder(shape: StreamShape, job: StreamJob['kind']): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < shape.layers; i++) {
    const layer = job === 'flow' ? shape.layers - 1 - i : i;
    for (let head = 0; head < shape.headsPerLayer; head++) out.push([layer, head]);
  }
  return out;
}
