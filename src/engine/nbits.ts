// Weights of a com.microsoft MatMulNBits node (4- or 8-bit blocks with scales and zero points) as a float32
// [K, N] matrix, the W of y = x·W. The runtime itself dequantises: the node is run on the K × K identity, so
// row k of its output is W's row k exactly as onnxruntime reads the packed blocks (layout, zero-point
// defaults, g_idx) — no second reading of the format to drift from the kernel.
import { valueInfo, ownModel } from './valueInfo';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { inlineConstant } from './initializers';

type Long = { toNumber(): number };
const num = (v: number | Long | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());
const FLOAT = onnx.TensorProto.DataType.FLOAT;

/** K and N of a MatMulNBits node (its required attributes), or undefined. */
export function nbitsShape(node: onnx.INodeProto): { K: number; N: number } | undefined {
  const attr = (name: string) => (node.attribute ?? []).find((a) => a.name === name);
  const K = num(attr('K')?.i),
    N = num(attr('N')?.i);
  return K > 0 && N > 0 ? { K, N } : undefined;
}

/**
 * W [K × N] of `node`, whose constant inputs are in `constants` (initializers and Constant outputs by name;
 * external data is read from `modelDir`). Undefined when an input is not a constant.
 */
export async function nbitsWeight(
  node: onnx.INodeProto,
  constants: Map<string, onnx.ITensorProto>,
  modelDir?: string,
): Promise<{ data: Float32Array; rows: number; cols: number } | undefined> {
  const shape = nbitsShape(node);
  if (!shape) return undefined;
  const { K, N } = shape;
  // B, scales, zero_points, g_idx (not the bias: W alone is wanted).
  const weights = (node.input ?? []).slice(1, 5);
  const inits: onnx.TensorProto[] = [];
  const inputs: string[] = ['x'];
  for (let i = 0; i < weights.length; i++) {
    const name = weights[i];
    if (!name) {
      inputs.push('');
      continue;
    }
    const t = constants.get(name);
    if (!t) return undefined;
    inits.push(inlineConstant(t, `w${i}`, modelDir));
    inputs.push(`w${i}`);
  }
  while (inputs.length && inputs[inputs.length - 1] === '') inputs.pop();
  const scaleType = constants.get(weights[1] ?? '')?.dataType ?? FLOAT;
  const { bytes, y } = dequantModel(node, inputs, inits, scaleType);
  const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  try {
    const eye = new Float32Array(K * K);
    for (let k = 0; k < K; k++) eye[k * K + k] = 1;
    const out = await session.run({ x: new ort.Tensor('float32', eye, [K, K]) });
    return { data: out[y].data as Float32Array, rows: K, cols: N };
  } finally {
    await session.release();
  }
}

/** The model that runs `node` (its constant inputs `inputs` = `inits`) on a float32 input x, with float32 output `y`. */
function dequantModel(node: onnx.INodeProto, inputs: string[], inits: onnx.TensorProto[], scaleType: number): { bytes: Uint8Array; y: string } {
  const nodes: onnx.NodeProto[] = [];
  let x = 'x';
  if (scaleType !== FLOAT) {
    // fp16 scales mean fp16 activations: feed the identity as float and cast (1 and 0 are exact in fp16).
    nodes.push(
      onnx.NodeProto.create({
        opType: 'Cast',
        input: ['x'],
        output: ['xh'],
        attribute: [onnx.AttributeProto.create({ name: 'to', i: scaleType, type: onnx.AttributeProto.AttributeType.INT })],
      }),
    );
    x = 'xh';
  }
  nodes.push(
    onnx.NodeProto.create({
      opType: 'MatMulNBits',
      domain: 'com.microsoft',
      input: [x, ...inputs.slice(1)],
      output: ['y'],
      attribute: node.attribute as onnx.AttributeProto[],
    }),
  );
  let y = 'y';
  if (scaleType !== FLOAT) {
    nodes.push(
      onnx.NodeProto.create({
        opType: 'Cast',
        input: ['y'],
        output: ['yf'],
        attribute: [onnx.AttributeProto.create({ name: 'to', i: FLOAT, type: onnx.AttributeProto.AttributeType.INT })],
      }),
    );
    y = 'yf';
  }
  const bytes = ownModel({ name: 'nbits-weight', node: nodes, initializer: inits, input: [valueInfo('x', FLOAT)], output: [valueInfo(y, FLOAT)] }, [
    { domain: '', version: 17 },
    { domain: 'com.microsoft', version: 1 },
  ]);
  return { bytes, y };
}

/**
 * A reader of some of W's columns (W [K, N] of `node`, column n = output feature n), for a 4-bit unembedding
 * whose whole float32 matrix (vocabulary × d) would not be worth holding: MatMulNBits stores its weights per
 * output column (B [N, blocks, blob], scales and zero points per column), so the columns wanted are cut out
 * into a smaller node (N = their count) that the runtime dequantises on the identity, as nbitsWeight does.
 * Holds a copy of the packed weights (an eighth of float32 at 4 bits). Undefined when an input is not a constant.
 */
export function nbitsColumnReader(
  node: onnx.INodeProto,
  constants: Map<string, onnx.ITensorProto>,
  modelDir?: string,
): ((cols: number[]) => Promise<Float32Array>) | undefined {
  const shape = nbitsShape(node);
  if (!shape) return undefined;
  const { K, N } = shape;
  const named = (node.input ?? []).slice(1, 5);
  const parts = named.map((name, i) => {
    if (!name) return undefined;
    const t = constants.get(name);
    return t ? inlineConstant(t, `w${i}`, modelDir) : null;
  });
  if (parts.some((p) => p === null)) return undefined;
  // B, scales, zero points: one block of entries per output column; g_idx (per input row) is shared.
  const perColumn = (t: onnx.TensorProto | undefined, i: number) =>
    i !== 3 && t && t.rawData && t.rawData.length % N === 0 ? t.rawData.length / N : undefined;
  return async (cols) => {
    const inits: onnx.TensorProto[] = [];
    parts.forEach((t, i) => {
      if (!t) return;
      const row = perColumn(t, i);
      if (row === undefined) {
        inits.push(t);
        return;
      }
      const raw = new Uint8Array(cols.length * row);
      cols.forEach((c, k) => raw.set(t.rawData.subarray(c * row, (c + 1) * row), k * row));
      const dims = (t.dims ?? []).map(num);
      dims[0] = dims.length === 1 ? (dims[0] / N) * cols.length : cols.length;
      inits.push(onnx.TensorProto.create({ ...t, dims, rawData: raw }));
    });
    const sub = onnx.NodeProto.create({
      ...node,
      input: ['x', ...inits.map((t) => t.name ?? '')],
      attribute: (node.attribute ?? []).map((a) =>
        a.name === 'N' ? onnx.AttributeProto.create({ name: 'N', i: cols.length, type: onnx.AttributeProto.AttributeType.INT }) : a,
      ),
    });
    // Inputs by position: keep empty slots for omitted optional ones.
    sub.input = ['x', ...parts.map((t, i) => (t ? `w${i}` : ''))];
    while (sub.input.length && sub.input[sub.input.length - 1] === '') sub.input.pop();
    const w = await nbitsWeight(sub, new Map(inits.map((t) => [t.name ?? '', t])), modelDir);
    if (!w) throw new Error('the packed unembedding could not be read');
    // [K, count] → [count, K]: one contiguous column per token.
    const out = new Float32Array(cols.length * K);
    for (let k = 0; k < K; k++) for (let c = 0; c < cols.length; c++) out[c * K + k] = w.data[k * cols.length + c];
    return out;
  };
}
