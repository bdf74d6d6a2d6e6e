// What the worker holds for one loaded model, and the shape checks every run's attention goes through.
import type * as ort from 'onnxruntime-node';
import { EngineError } from '../core/errors';
import type { GraphPlan } from './onnxGraph';
import type { LayerSlice } from './recomputeGraph';
import type { KernelPlan } from './kernels/types';

export interface LoadedModel {
  key: string;
  modelPath: string;
  plan: GraphPlan;
  session: ort.InferenceSession;
  /** Outputs of the exported model itself (what a plain run fetches). */
  originalOutputs: string[];
  /** Attention outputs whose probe shape was attention (see attentionHeads), in layer order. */
  attention: string[];
  /** Execution providers the session was created with (normalised, e.g. ['cpu']). */
  executionProviders: string[];
  layers: number;
  headsPerLayer: number;
  causal: boolean;
  /**
   * Bounded-memory mode (recomputeGraph.ts): the session fetches each layer's score inputs and a
   * per-layer slice session recomputes the probabilities on demand. Undefined: the session fetches
   * the probabilities themselves (`attention` outputs), and `recomputeRefusal` says why.
   */
  recompute?: RecomputeState;
  recomputeRefusal?: string;
  /** Run-time dims of the attention tensors between batch and [q, k] (e.g. [heads] or [kv, groups]); undefined when heads ride the batch axis. */
  headAxes?: number[];
  /** Value tensors and output projections per entry of plan.attentionOutputs (values.ts). */
  values?: import('./values').ValuePlan;
  /** Direct logit attribution's plan (dla.ts: final norm, unembedding, each layer's merged heads and W_O), or why none. */
  dla?: import('./dla').DlaPlan | { refused: string };
  /** Routes' plan (routesRun.ts: each layer's join with the stream, its terms through W_O or a head slice), or why none. */
  routes?: import('./routesPlan').RoutePlan | { refused: string };
  /** Outputs of the next-token reduction appended to the main graph (nextTokenGraph.ts), when it could be. */
  nextToken?: import('./nextTokenGraph').NextTokenOutputs;
}

/** How one layer's probabilities are recomputed: a slice cut out of the graph, or a copy of its fused kernel. */
export type SliceEntry =
  { kind: 'cut'; source: string; slice: LayerSlice; session: ort.InferenceSession } | { kind: 'kernel'; source: string; kernel: KernelPlan };

export interface RecomputeState {
  captures: string[];
  /** One per entry of `attention` (same order). */
  slices: SliceEntry[];
  /** A slice computes one head when fed one head of Q and Kᵀ (checked on the load probe). */
  perHead: boolean;
  /** Kernel slice sessions by SliceRun.key: layers with the same kernel and head counts share one. */
  kernelSessions: Map<string, Promise<ort.InferenceSession>>;
}

/**
 * Heads of one attention tensor if its run-time dims are attention over n tokens, else undefined.
 * Batch 1 and trailing [n, n] are required; what stands between is the head axis, possibly split:
 * [1, heads, n, n] (most exports), [1, kv_heads, groups, n, n] (GQA without repeating K/V: query head
 * kv*groups + g, the order of HF's repeat_kv, is exactly the row-major flattening), or [heads, n, n]
 * (heads folded into the batch axis, batch 1).
 */
export function attentionHeads(dims: readonly number[], n: number): number | undefined {
  const d = dims.map(Number);
  if (d.length < 3 || d.length > 5 || d[d.length - 1] !== n || d[d.length - 2] !== n) return undefined;
  if (d.length === 3) return d[0] >= 1 ? d[0] : undefined;
  if (d[0] !== 1) return undefined;
  const heads = d.slice(1, -2).reduce((a, b) => a * b, 1);
  return heads >= 1 ? heads : undefined;
}

/** `heads` heads of attention over n tokens in `t`, as a Float32Array that owns its buffer. */
export function checkLayer(heads: number, name: string, t: { dims: readonly number[]; data: unknown } | undefined, n: number): Float32Array {
  if (!t || attentionHeads(t.dims, n) !== heads) {
    throw new EngineError('inference-failed', `Attention output ${name} has shape [${t?.dims.join(', ')}], expected [1, ${heads}, ${n}, ${n}].`);
  }
  const d = t.data;
  const f = d instanceof Float32Array ? d : Float32Array.from(d as ArrayLike<number>);
  // Own the whole buffer so it can be transferred (ORT may hand out views into a larger one).
  return f.byteOffset === 0 && f.byteLength === f.buffer.byteLength && f.buffer instanceof ArrayBuffer ? f : f.slice();
}

/** Index into plan.attentionOutputs of the tensor behind model.attention[layer] (a float32 cast copy names its source). */
export function attentionSourceIndex(model: LoadedModel, layer: number): number {
  const name = model.attention[layer];
  const m = /^headlight\.attention\.(\d+)$/.exec(name);
  return m ? Number(m[1]) : model.plan.attentionOutputs.indexOf(name);
}
