// One ValueInfo builder (and one model wrapper, ownModel) for the small graphs Headlight writes (head slices, cut copies, gates, DLA, routes, value
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

/** A model of Headlight's own (ONNX opset 13 unless `opsets` says otherwise), encoded: the one wrapper its small graphs share. */
export const ownModel = (graph: onnx.IGraphProto, opsets: onnx.IOperatorSetIdProto[] = [{ domain: '', version: 13 }]): Uint8Array =>
  onnx.ModelProto.encode(
    onnx.ModelProto.create({ irVersion: 8, producerName: 'headlight', opsetImport: opsets, graph: onnx.GraphProto.create(graph) }),
  ).finish();
