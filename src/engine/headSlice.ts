// What each head sends from each key, for graphs whose output projection cannot be read as a matrix (a head
// selected by Gather and written by Concat, as in the planted model): the layer's attention output is linear
// in its probabilities P, so feeding P = the identity for head h alone (every query attends only to itself,
// through that head) gives, at row j, exactly what head h sends from key j, u_hj — after subtracting the
// output at P = 0 (biases). The slice is the user's own nodes between P and the join with the residual
// stream; every other tensor they read is captured from the explain's run. One run per head per layer, each
// as costly as the layer's own mixing: meant for the small graphs that need it.
import { valueInfo } from './valueInfo';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { elemTypes } from './onnxGraph';
import type { GraphIndex } from './weights';

export interface HeadSlice {
  /** The probabilities the slice is fed (in0) and the tensors of the run it reads (in1…), by name in the user's graph. */
  probs: string;
  captures: string[];
  /** Graph inputs the slice reads (ids for a Shape…), fed as the run fed them. */
  feeds: string[];
  bytes: Uint8Array;
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;
/** Initializers up to this size are copied into a slice; a larger one means the walk left the attention block. */
const SMALL_INIT_BYTES = 4 * 2 ** 20;

/** The slice from `probs` to `branch` (attentionJoins), or why there is none. */
export function planHeadSlice(g: GraphIndex, probs: string, branch: string): HeadSlice | { refused: string } {
  const start = g.producer.get(probs)?.index ?? -1;
  const end = g.producer.get(branch)?.index ?? -1;
  if (start < 0 || end < start) return { refused: 'the attention output does not follow its probabilities' };
  const core = sliceCore(g, probs, branch, start, end);
  if (core.length > 60) return { refused: `${core.length} nodes between a layer's probabilities and its output` };
  const reads = sliceReads(g, probs, core);
  if ('refused' in reads) return reads;
  const { captures, feeds, inits, constants } = reads;
  const types = elemTypes(g.model, [probs, ...captures, ...feeds, branch]);
  if (types.some((t) => t === undefined)) return { refused: 'an element type inside the attention output is unknown' };
  const nodes = [...constants, ...core.map((k) => g.nodes[k] as onnx.NodeProto)];
  let out = branch;
  if (types[types.length - 1] !== FLOAT) {
    nodes.push(
      onnx.NodeProto.create({
        opType: 'Cast',
        name: 'headlight.slice.out',
        input: [branch],
        output: ['headlight.slice.out'],
        attribute: [onnx.AttributeProto.create({ name: 'to', i: FLOAT, type: onnx.AttributeProto.AttributeType.INT })],
      }),
    );
    out = 'headlight.slice.out';
  }
  const model = onnx.ModelProto.create({
    irVersion: g.model.irVersion,
    opsetImport: g.model.opsetImport,
    producerName: 'headlight',
    graph: onnx.GraphProto.create({
      name: 'headlight.head-output',
      node: nodes,
      initializer: inits,
      input: [probs, ...captures, ...feeds].map((nm, i) => valueInfo(nm, types[i]!)),
      output: [valueInfo(out, FLOAT)],
    }),
  });
  return { probs, captures, feeds, bytes: onnx.ModelProto.encode(model).finish() };
}

/** The nodes between `probs` (at node `start`) and `branch` (at `end`) that lie on a path from one to the other, in graph order. */
function sliceCore(g: GraphIndex, probs: string, branch: string, start: number, end: number): number[] {
  const desc = new Set([probs]);
  const onPath: number[] = [];
  for (let k = start + 1; k <= end; k++) {
    const n = g.nodes[k];
    if ((n.input ?? []).some((x) => desc.has(x))) {
      for (const o of n.output ?? []) desc.add(o);
      onPath.push(k);
    }
  }
  // Keep the nodes that reach the branch.
  const need = new Set([branch]);
  const core: number[] = [];
  for (let q = onPath.length - 1; q >= 0; q--) {
    const n = g.nodes[onPath[q]];
    if (!(n.output ?? []).some((o) => need.has(o))) continue;
    core.unshift(onPath[q]);
    for (const x of n.input ?? []) if (x) need.add(x);
  }
  return core;
}

/** What the core reads besides `probs`: tensors captured from the run, graph inputs fed, small constants copied in. */
function sliceReads(
  g: GraphIndex,
  probs: string,
  core: number[],
): { captures: string[]; feeds: string[]; inits: onnx.TensorProto[]; constants: onnx.NodeProto[] } | { refused: string } {
  const produced = new Set(core.flatMap((k) => g.nodes[k].output ?? []));
  const realInit = new Set((g.model.graph?.initializer ?? []).map((t) => t.name ?? ''));
  const captures: string[] = [],
    feeds: string[] = [],
    inits: onnx.TensorProto[] = [],
    constants: onnx.NodeProto[] = [];
  for (const k of core) {
    for (const x of g.nodes[k].input ?? []) {
      if (
        !x ||
        x === probs ||
        produced.has(x) ||
        captures.includes(x) ||
        feeds.includes(x) ||
        inits.some((t) => t.name === x) ||
        constants.some((c) => c.output?.[0] === x)
      )
        continue;
      const p = g.producer.get(x)?.node;
      if (realInit.has(x)) {
        const t = g.inits.get(x)!;
        const bytes = Number((t.dims ?? []).reduce((a: number, b) => a * Number(b), 1)) * 4;
        if (bytes > SMALL_INIT_BYTES) return { refused: `a ${(bytes / 2 ** 20).toFixed(0)} MB constant inside the attention output` };
        inits.push(t as onnx.TensorProto);
      } else if (p?.opType === 'Constant') constants.push(p as onnx.NodeProto);
      else if (g.graphInputs.has(x)) feeds.push(x);
      else captures.push(x);
    }
  }
  return { captures, feeds, inits, constants };
}

const sessions = new WeakMap<HeadSlice, Promise<ort.InferenceSession>>();

/**
 * u_hj for every head and key, [H × n × d]: the slice fed the identity through one head at a time, minus its
 * output at zero probabilities. `probDims` is the probabilities' run-time layout ([1, …head axes, n, n]).
 */
export async function headOutputs(
  slice: HeadSlice,
  probDims: number[],
  H: number,
  n: number,
  tensors: Record<string, ort.Tensor>,
): Promise<{ data: Float32Array; d: number }> {
  let s = sessions.get(slice);
  if (!s) sessions.set(slice, (s = ort.InferenceSession.create(slice.bytes, { logSeverityLevel: 3 })));
  const session = await s;
  const feeds: Record<string, ort.Tensor> = {};
  for (const nm of [...slice.captures, ...slice.feeds]) {
    if (!tensors[nm]) throw new Error(`the run did not keep ${nm}`);
    feeds[nm] = tensors[nm];
  }
  const size = probDims.reduce((a, b) => a * b, 1);
  const run = async (head: number): Promise<Float32Array> => {
    const p = new Float32Array(size);
    if (head >= 0) for (let i = 0; i < n; i++) p[(head * n + i) * n + i] = 1; // head-major: [.., head, i, j]
    const out = await session.run({ ...feeds, [slice.probs]: new ort.Tensor('float32', p, probDims) });
    return Float32Array.from(Object.values(out)[0].data as Float32Array);
  };
  const zero = await run(-1);
  const d = zero.length / n;
  const data = new Float32Array(H * n * d);
  for (let h = 0; h < H; h++) {
    const o = await run(h);
    for (let q = 0; q < n * d; q++) data[h * n * d + q] = o[q] - zero[q];
  }
  return { data, d };
}
