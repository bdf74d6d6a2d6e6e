// Which fused attention kernels Headlight reads, which it refuses and why. A read kernel becomes an attention
// source like a Softmax (a synthetic name in GraphPlan.attentionOutputs) with a KernelPlan saying how to
// recompute its heads; a refused one stops the load with a message naming the node, the op, the reason and
// the exports that work.
import type { onnx } from 'onnx-proto';
import { EngineError, EXPORT_ADVICE } from '../../core/errors';
import type { KernelContext } from './context';
import { GQA_ATTRIBUTES, planGqa } from './gqa';
import { MHA_ATTRIBUTES, planMha } from './mha';
import { MS_ATTENTION_ATTRIBUTES, planMsAttention } from './msAttention';
import { ONNX_ATTENTION_ATTRIBUTES, planOnnxAttention } from './onnxAttention';
import type { KernelPlan, KernelPlanResult } from './types';

const MS = 'com.microsoft';
const isOnnx = (n: onnx.INodeProto) => !n.domain || n.domain === 'ai.onnx';

type Planner = (n: onnx.INodeProto, ctx: KernelContext, source: string, label: string) => KernelPlanResult;
const READ: { op: string; onnxDomain: boolean; attributes: string[]; plan: Planner }[] = [
  { op: 'Attention', onnxDomain: true, attributes: ONNX_ATTENTION_ATTRIBUTES, plan: planOnnxAttention },
  { op: 'GroupQueryAttention', onnxDomain: false, attributes: GQA_ATTRIBUTES, plan: planGqa },
  { op: 'MultiHeadAttention', onnxDomain: false, attributes: MHA_ATTRIBUTES, plan: planMha },
  { op: 'Attention', onnxDomain: false, attributes: MS_ATTENTION_ATTRIBUTES, plan: planMsAttention },
];

/** Fused attention ops Headlight cannot read, with the reason (all in the com.microsoft domain). */
const REFUSED: Record<string, string> = {
  PackedAttention: 'onnxruntime has no CPU kernel for it (it runs on CUDA over sequences packed without padding)',
  PackedMultiHeadAttention: 'onnxruntime has no CPU kernel for it (it runs on CUDA over sequences packed without padding)',
  DecoderMaskedMultiHeadAttention:
    'it attends from one new token at a time over a key/value cache (a decoding step), so no pass over the whole text exists to read',
  DecoderMaskedSelfAttention: 'it attends from one new token at a time over a key/value cache (a decoding step), so no pass over the whole text exists to read',
  PagedAttention: 'it reads a paged key/value cache in float16/bfloat16 only and has no float32 CPU path',
  DecoderAttention: 'it is the decoder half of an encoder–decoder model (self- and cross-attention over a beam cache), which Headlight does not read',
  LongformerAttention: 'onnxruntime has no CPU kernel for it (sliding windows with global tokens run on CUDA only)',
  SparseAttention: 'onnxruntime has no CPU kernel for it (block-sparse attention runs on CUDA only)',
  QAttention: 'it computes attention on int8-quantized activations and never forms float probabilities',
  QOrderedAttention: 'it computes attention on int8-quantized activations in a CUDA layout and never forms float probabilities',
};

/** Attention name of the i-th fused kernel (no such tensor exists in the graph). */
export const kernelSourceName = (i: number): string => `headlight.kernel.${i}`;

export interface FoundKernel {
  /** Index of the node in graph.node (its place in layer order). */
  index: number;
  plan: KernelPlan;
}

const nodeLabel = (n: onnx.INodeProto) => `${n.domain ? `${n.domain}.` : ''}${n.opType} node "${n.name || n.output?.[0] || 'unnamed'}"`;

/**
 * Every fused attention node of the main graph, planned; throws `fused-attention` for a kernel that cannot be
 * read, naming it and saying why.
 */
export function findKernels(model: onnx.ModelProto, ctx: KernelContext): FoundKernel[] {
  const found: FoundKernel[] = [];
  (model.graph?.node ?? []).forEach((n, index) => {
    const op = n.opType ?? '';
    const label = nodeLabel(n);
    const why = n.domain === MS ? REFUSED[op] : undefined;
    if (why) {
      throw new EngineError('fused-attention', `${ctx.label} computes attention in a fused ${label}, which Headlight cannot read: ${why}. ${EXPORT_ADVICE}`, {
        op,
        node: n.name ?? '',
      });
    }
    const reader = READ.find((r) => r.op === op && (r.onnxDomain ? isOnnx(n) : n.domain === MS));
    if (!reader) return;
    const unknown = (n.attribute ?? []).map((a) => a.name ?? '').filter((a) => !reader.attributes.includes(a));
    if (unknown.length) {
      throw new EngineError(
        'fused-attention',
        `${ctx.label}: ${label} has attribute(s) ${unknown.join(', ')} that Headlight does not know, so it cannot promise to reproduce that kernel's probabilities. ${EXPORT_ADVICE}`,
        { op, node: n.name ?? '' },
      );
    }
    const plan = reader.plan(n, ctx, kernelSourceName(found.length), label);
    if ('refused' in plan) throw new EngineError('fused-attention', `${ctx.label}: ${plan.refused}. ${EXPORT_ADVICE}`, { op, node: n.name ?? '' });
    found.push({ index, plan });
  });
  return found;
}
