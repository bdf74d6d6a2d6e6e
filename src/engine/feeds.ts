// Input feeds: ids, mask, token types, positions and an empty KV cache, as the graph's inputs declare them,
// and the plain run of the main session.
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { EngineError } from '../core/errors';
import type { InputSpec } from './onnxGraph';
import type { LoadedModel } from './loadedModel';

export function feedTensor(spec: InputSpec, n: number, ids: number[], mask?: number[]): ort.Tensor {
  const intTensor = (values: number[], dims: number[]) =>
    spec.elemType === 6
      ? new ort.Tensor('int32', Int32Array.from(values), dims)
      : new ort.Tensor(
          'int64',
          BigInt64Array.from(values, (v) => BigInt(v)),
          dims,
        );
  switch (spec.role) {
    case 'ids':
      return intTensor(ids, [1, n]);
    case 'mask':
      return intTensor(mask ?? new Array<number>(n).fill(1), [1, n]);
    case 'token-type':
      return intTensor(new Array<number>(n).fill(0), [1, n]);
    case 'position':
      return intTensor(
        Array.from({ length: n }, (_, i) => i),
        [1, n],
      );
    case 'use-cache-branch':
      return new ort.Tensor('bool', new Uint8Array([0]), [1]);
    case 'past': {
      // Empty cache: batch 1, the symbolic sequence dim 0, fixed dims as exported.
      const dims = spec.dims.map((d, i) => (typeof d === 'number' ? d : /batch/i.test(d) || i === 0 ? 1 : 0));
      if (dims.every((d) => d !== 0)) dims[dims.length - 2] = 0;
      if (spec.elemType === 10) return new ort.Tensor('float16', new Uint16Array(0), dims);
      return new ort.Tensor('float32', new Float32Array(0), dims);
    }
  }
}

export async function runSession(model: LoadedModel, ids: number[], fetch: string[], mask?: number[]): Promise<ort.InferenceSession.OnnxValueMapType> {
  const n = ids.length;
  const feeds: Record<string, ort.Tensor> = {};
  for (const spec of model.plan.inputs) feeds[spec.name] = feedTensor(spec, n, ids, mask);
  try {
    return await model.session.run(feeds, fetch);
  } catch (e) {
    throw new EngineError(
      'inference-failed',
      `ONNX Runtime failed while running ${path.basename(model.modelPath)} on ${n} tokens: ${(e as Error).message.split('\n')[0]}`,
    );
  }
}
