// Messages between the session pipeline and its analysis worker. Attention buffers are moved (transfer
// lists) into the worker and back, never copied or serialised.
import type { AttentionSet, Token } from '../engine/types';
import type { HeadReport, ProbeHeadScore } from '../analysis';

/** Shape of the attention a stream will deliver (heads arrive one message at a time). */
export interface StreamShape { layers: number; headsPerLayer: number; seq: number; causal: boolean }

/**
 * Streams: for kept (bounded-memory) runs the heads are recomputed by the engine and fed here a few at
 * a time, in the order the job needs them (`streamOrder`); the worker drops each after use.
 */
export type StreamJob =
  | { kind: 'analyze'; tokens: Token[]; probe?: ProbeHeadScore[]; thumbSize: number }
  | { kind: 'flow'; token: number };

export type AnalysisRequest =
  | { id: number; type: 'analyze'; attention: AttentionSet; tokens: Token[]; probe?: ProbeHeadScore[]; thumbSize: number }
  | { id: number; type: 'score-probe'; attention: AttentionSet; ids: number[]; T: number }
  | { id: number; type: 'stream-begin'; stream: number; shape: StreamShape; job: StreamJob }
  | { id: number; type: 'stream-heads'; stream: number; heads: [number, number][]; data: Float32Array[] }
  | { id: number; type: 'stream-end'; stream: number };

export type AnalysisResponse =
  | { id: number; type: 'analyzed'; attention: AttentionSet; reports: HeadReport[]; thumbnails: Uint8Array[]; ms: number }
  | { id: number; type: 'probe-scored'; attention: AttentionSet; scores: ProbeHeadScore[] }
  | { id: number; type: 'stream-ok' }
  | { id: number; type: 'stream-analyzed'; reports: HeadReport[]; thumbnails: Uint8Array[]; ms: number }
  | { id: number; type: 'stream-flow'; token: number; layers: Float32Array[] }
  | { id: number; type: 'error'; message: string; attention?: AttentionSet };

export function buffersOf(a: AttentionSet): ArrayBuffer[] {
  return a.data.map((d) => d.buffer as ArrayBuffer);
}

/** The order a stream job reads heads in: analysis layer-major from L0H0, the pathway from the last layer down. */
export function streamOrder(shape: StreamShape, job: StreamJob['kind']): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < shape.layers; i++) {
    const layer = job === 'flow' ? shape.layers - 1 - i : i;
    for (let head = 0; head < shape.headsPerLayer; head++) out.push([layer, head]);
  }
  return out;
}
