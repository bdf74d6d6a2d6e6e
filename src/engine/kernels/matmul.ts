// x · W (+ b) on onnxruntime's threads, for value vectors a kernel computes internally (com.microsoft
// Attention's V): a plain JS loop over 1,024 × 768 × 768 would take about a second. One session with symbolic
// dims serves every layer and length.
import { valueInfo, ownModel } from '../valueInfo';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';

const FLOAT = onnx.TensorProto.DataType.FLOAT;
let session: Promise<ort.InferenceSession> | undefined;

function graph(): Uint8Array {
  return ownModel({
    name: 'matmul-add',
    node: [
      onnx.NodeProto.create({ opType: 'MatMul', input: ['x', 'w'], output: ['xw'] }),
      onnx.NodeProto.create({ opType: 'Add', input: ['xw', 'b'], output: ['y'] }),
    ],
    input: [valueInfo('x', FLOAT, ['rows', 'in']), valueInfo('w', FLOAT, ['in', 'cols']), valueInfo('b', FLOAT, ['cols'])],
    output: [valueInfo('y', FLOAT, ['rows', 'cols'])],
  });
}

/** x [rows × inDim] · w [inDim × cols] + b (zeros when absent), float32, row-major. */
export async function matmulRows(x: Float32Array, rows: number, inDim: number, w: Float32Array, cols: number, b?: Float32Array): Promise<Float32Array> {
  const s = await (session ??= ort.InferenceSession.create(graph(), { logSeverityLevel: 3 }));
  const out = await s.run({
    x: new ort.Tensor('float32', x, [rows, inDim]),
    w: new ort.Tensor('float32', w, [inDim, cols]),
    b: new ort.Tensor('float32', b ? Float32Array.from(b) : new Float32Array(cols), [cols]),
  });
  return out.y.data as Float32Array;
}
