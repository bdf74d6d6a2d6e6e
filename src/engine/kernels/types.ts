// What the engine knows about one fused attention kernel (ONNX Attention-23/24, com.microsoft
// GroupQueryAttention / MultiHeadAttention / Attention): which tensors of the main run to keep, how to feed
// a few of its heads to a one-node copy of the kernel that outputs their probabilities, and where its values
// and merged output are. Built once per node at load (kernels/plan.ts); used by recompute.ts, values and gates.
import type * as ort from 'onnxruntime-node';

export type KernelOp = 'onnx-attention' | 'gqa' | 'mha' | 'ms-attention';

/** A tensor of the main run by name: a kept (captured) tensor or a graph input the run was fed. */
export type TensorLookup = (name: string) => ort.Tensor;

/** One run of a kernel's slice: feeds for heads [h0, h0 + count) and the slice model they fit. */
export interface SliceRun {
  /** Identifies the slice model (same key, same bytes): sessions are cached by it across layers. */
  key: string;
  build(): Uint8Array;
  feeds: Record<string, ort.Tensor>;
  /** Fixes the slice's probabilities [count, S, T] in place where the kernel leaves entries undefined. */
  post?(probs: Float32Array, count: number, S: number, T: number): void;
}

export interface KernelPlan {
  op: KernelOp;
  /** e.g. `com.microsoft.GroupQueryAttention node "attn_0"`: for messages. */
  label: string;
  /** The attention source name this kernel stands for in GraphPlan.attentionOutputs (no such tensor exists). */
  source: string;
  /** The kernel's output (every head's output, merged or [B, H, S, dv]): where a head is gated, and what W_O reads. */
  output: string;
  /** 'bsd': output [B, S, H·dv]; 'bhsd': [B, H, S, dv]. */
  outputLayout: 'bsd' | 'bhsd';
  /** Tensors of the main run the slices and values read (neither graph inputs nor constants). */
  captures: string[];
  /** Query heads and key/value heads, read off the kept tensors (4D inputs carry them only at run time). */
  counts(get: TensorLookup): { H: number; Hkv: number };
  /**
   * Heads [h0, h0 + count) over key heads [kv0, kv0 + kv): either inside one group (kv = 1) or whole
   * groups (count = kv · H / Hkv, h0 a multiple of the group size). Output `out`: float32 [1, count, S, T].
   */
  run(get: TensorLookup, h0: number, count: number, kv0: number, kv: number): SliceRun;
  /** Every key/value head's value vectors as float32 [Hkv, T, dv], for value weighting. */
  values(get: TensorLookup): Promise<{ data: Float32Array; dims: number[] } | undefined>;
  /** Head size of the kernel's key cache when the graph declares it (an empty past must have it). */
  headSize?: number;
  /** Graph inputs feeding the kernel's past key/value (filled with an empty cache). */
  pastInputs: string[];
  /** Rows of a rotary cache the kernel reads: the longest sequence it can position. */
  positionRows?: number;
}

export type KernelPlanResult = KernelPlan | { refused: string };
