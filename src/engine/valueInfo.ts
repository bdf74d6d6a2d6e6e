// One ValueInfo builder for the small graphs Headlight writes (head slices, cut copies, gates, DLA, routes, value
// norms): a tensor of `elemType` with `dims` (numbers fixed, strings symbolic; [] a scalar), or with no shape at all.
import { onnx } from 'onnx-proto';

export const valueInfo = (name: string, elemType: number, dims?: (number | string)[]): onnx.ValueInfoProto =>
  onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType,
        ...(dims ? { shape: onnx.TensorShapeProto.create({ dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) }) } : {}),
      }),
    }),
  });

/** `rank` symbolic dims named `${prefix}0`, `${prefix}1`, …: a tensor whose shape the runtime reads off the feed. */
export const symbolicDims = (prefix: string, rank: number): string[] => Array.from({ length: rank }, (_, k) => `${prefix}${k}`);
