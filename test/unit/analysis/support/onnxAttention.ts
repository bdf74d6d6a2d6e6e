// Run an ONNX model that has no attention outputs and read its attention anyway: decode the graph
// with onnx-proto, add every Softmax node's output as a graph output (a ValueInfoProto with only a
// name), re-encode and run with onnxruntime-node. Test-only: the engine owns the real path.
import { readFileSync } from 'node:fs';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import type { AttentionSet } from '../../../../src/engine/types';

export interface SoftmaxSession {
  session: ort.InferenceSession;
  softmaxOutputs: string[];
  inputName: string;
}

export async function openWithSoftmaxOutputs(modelPath: string): Promise<SoftmaxSession> {
  const model = onnx.ModelProto.decode(readFileSync(modelPath));
  const graph = model.graph;
  if (!graph) throw new Error(`${modelPath}: no graph`);
  const softmaxOutputs = (graph.node ?? [])
    .filter((nd) => nd.opType === 'Softmax')
    .map((nd) => (nd.output ?? [])[0])
    .filter((x): x is string => !!x);
  const existing = new Set((graph.output ?? []).map((o) => o.name));
  for (const name of softmaxOutputs) if (!existing.has(name)) (graph.output ??= []).push(onnx.ValueInfoProto.create({ name }));
  const buffer = onnx.ModelProto.encode(model).finish();
  const session = await ort.InferenceSession.create(buffer);
  return { session, softmaxOutputs, inputName: session.inputNames[0] };
}

/** Batch 1, causal model: run ids and return the attention as the engine's AttentionSet. */
export async function runAttention(s: SoftmaxSession, ids: number[], causal: boolean): Promise<AttentionSet> {
  const input = new ort.Tensor('int64', BigInt64Array.from(ids.map((x) => BigInt(x))), [1, ids.length]);
  const out = await s.session.run({ [s.inputName]: input }, s.softmaxOutputs);
  const data: Float32Array[] = [];
  let heads = 0;
  for (const name of s.softmaxOutputs) {
    const t = out[name];
    const [, h, q, k] = t.dims as number[];
    if (q !== ids.length || k !== ids.length) throw new Error(`${name}: dims ${t.dims.join('×')} for ${ids.length} tokens`);
    heads = h;
    data.push(Float32Array.from(t.data as Float32Array));
  }
  return { layers: data.length, headsPerLayer: heads, seq: ids.length, causal, data };
}
