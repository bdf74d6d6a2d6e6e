// The fallback (and the tests' oracle): a copy of the graph in which each fused kernel's own probabilities
// are a tensor named by its attention name — GroupQueryAttention's output_qk with qk_output = 2, ONNX
// Attention's qk_matmul_output with mode 3, MultiHeadAttention's scores through a Softmax. Fetching those
// holds every head's n × n matrix, which is why recompute (kernels/*.ts) is the normal path.
// com.microsoft Attention has no such output.
import { onnx } from 'onnx-proto';
import { EngineError } from '../../core/errors';
import { decodeModel, elemTypes } from '../onnxGraph';
import { attrInt } from './sliceGraph';
import { valueInfo } from '../valueInfo';
import type { KernelPlan } from './types';

export function exposeKernelProbabilities(
  bytes: Uint8Array,
  kernels: ReadonlyMap<string, KernelPlan>,
  label: string,
  why: string,
): { bytes: Uint8Array; model: onnx.ModelProto } {
  const model = decodeModel(bytes, label);
  const nodes = model.graph!.node!;
  for (const [source, k] of kernels) {
    const at = nodes.findIndex((n) => n.output?.[0] === k.output);
    const n = nodes[at];
    if (at < 0) throw new EngineError('inference-failed', `${label}: ${k.label} is no longer in the graph.`);
    const outputs = [...(n.output ?? [])];
    while (outputs.length < 4) outputs.push('');
    const setAttr = (a: onnx.AttributeProto) => {
      n.attribute = [...(n.attribute ?? []).filter((x) => x.name !== a.name), a];
    };
    if (k.op === 'gqa') {
      setAttr(attrInt('qk_output', 2));
      outputs[3] = source;
    } else if (k.op === 'onnx-attention') {
      setAttr(attrInt('qk_matmul_output_mode', 3));
      outputs[3] = source;
    } else if (k.op === 'mha') {
      outputs[3] = `${source}.scores`;
      // onnxruntime cannot infer the type of this optional output: declare it (the query's type).
      const [t] = elemTypes(model, [n.input?.[0] ?? '']);
      (model.graph!.valueInfo ??= []).push(valueInfo(outputs[3], t ?? onnx.TensorProto.DataType.FLOAT));
      nodes.splice(
        at + 1,
        0,
        onnx.NodeProto.create({ opType: 'Softmax', name: `${source}.softmax`, input: [outputs[3]], output: [source], attribute: [attrInt('axis', -1)] }),
      );
    } else {
      throw new EngineError(
        'fused-attention',
        `${label}: ${k.label} outputs no attention probabilities, so Headlight recomputes them head by head${why ? `, and that failed: ${why}` : ''}.`,
        { op: 'Attention' },
      );
    }
    n.output = outputs;
  }
  return { bytes: onnx.ModelProto.encode(model).finish(), model };
}
