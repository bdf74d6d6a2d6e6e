// Bounded-memory attention: instead of fetching every head's n×n probabilities from the model run, fetch
// the small tensors they are computed from (the score MatMul's inputs — Q and Kᵀ after rotary — plus
// whatever masks and scales the graph mixes in) and recompute one layer or head at a time with a tiny
// model cut out of the user's own graph. The slice holds the graph's own nodes between that MatMul and
// the Softmax, so masking, scaling and normalising are exactly what the model does — no pattern of
// "how attention is usually written" is assumed beyond "a MatMul feeds the Softmax's input".
import { valueInfo } from './valueInfo';
import { onnx } from 'onnx-proto';
import { appendMessage, elemTypes } from './onnxGraph';
import type { KernelPlan } from './kernels/types';

/** One attention source (a Softmax output) and the model that recomputes it from captured tensors. */
export interface LayerSlice {
  /** The Softmax output in the user's graph. */
  source: string;
  /** The score MatMul's inputs: Q [.., n, d] and Kᵀ [.., d, n] (both captured). */
  q: string;
  k: string;
  /** Tensors of the main run this slice reads (q and k included), in a stable order. */
  captures: string[];
  /**
   * The slice model's inputs in0, in1, … are these tensors of the main run: the captures, then graph
   * inputs of the user's model the slice reads too (ids for a Shape, the attention mask…).
   */
  inputs: string[];
  /** The slice model (ONNX bytes, canonical tensor names): one float32 output `output`. */
  bytes: Uint8Array;
  output: string;
  nodes: number;
}

export interface RecomputePlan {
  /** Slices cut out of the graph for the Softmax sources, in source order. */
  layers: LayerSlice[];
  /** The fused kernels among the sources (their slices are built around the kernel: kernels/). */
  kernels: KernelPlan[];
  /** Every captured tensor over all layers (deduplicated, e.g. one causal mask shared by all layers). */
  captures: string[];
  captureTypes: number[];
}

/** Ops that do real work on activations: a slice never contains one (besides its MatMul and Softmax). */
const HEAVY = new Set([
  'MatMul',
  'Gemm',
  'Conv',
  'ConvTranspose',
  'Einsum',
  'Softmax',
  'LogSoftmax',
  'LayerNormalization',
  'SimplifiedLayerNormalization',
  'RMSNormalization',
  'BatchNormalization',
  'InstanceNormalization',
  'MatMulInteger',
  'QLinearMatMul',
  'Attention',
]);
/** Ops with subgraphs: never followed into. */
const CONTROL = new Set(['If', 'Loop', 'Scan']);
/** Initializers up to this size are copied into a slice; larger ones stay in the main graph (their consumer is captured). */
const SMALL_INIT_BYTES = 64 * 1024;
/** A slice bigger than this is a sign the walk escaped the attention block: refuse rather than copy the model. */
const MAX_SLICE_NODES = 200;
/** Steps walked back from a Softmax input to find its score MatMul. */
const MAX_SCORE_DEPTH = 12;

type Long = { toNumber(): number };
const num = (v: number | Long | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());
const ELEM_BYTES: Record<number, number> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2 };

function tensorBytes(t: onnx.ITensorProto): number {
  const count = (t.dims ?? []).map(num).reduce((a, b) => a * b, 1);
  return count * (ELEM_BYTES[t.dataType ?? 0] ?? 8);
}

/**
 * A recompute plan for `sources` (the Softmax outputs the engine found, in layer order), or a reason
 * why this graph cannot be sliced (then the engine fetches the probabilities themselves).
 */
export function planRecompute(
  model: onnx.ModelProto,
  allSources: string[],
  kernelMap: ReadonlyMap<string, KernelPlan> = new Map(),
): RecomputePlan | { refused: string } {
  const graph = model.graph!;
  const sources = allSources.filter((s) => !kernelMap.has(s));
  const kernels = allSources.filter((s) => kernelMap.has(s)).map((s) => kernelMap.get(s)!);
  const nodes = graph.node ?? [];
  const producer = new Map<string, { node: onnx.INodeProto; index: number }>();
  nodes.forEach((n, index) => {
    for (const o of n.output ?? []) if (o) producer.set(o, { node: n, index });
  });
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const graphInputs = new Set((graph.input ?? []).map((i) => i.name ?? '').filter((nm) => !inits.has(nm)));

  // Two passes: a tensor every layer reads (the causal mask the graph builds once from the input's
  // shape) is captured once from the main run instead of being rebuilt by every slice for every head.
  const slice = (shared: Set<string>): (LayerSlice & { coreInputs: string[] })[] | { refused: string } => {
    const out: (LayerSlice & { coreInputs: string[] })[] = [];
    for (const source of sources) {
      const s = sliceOne(model, source, producer, inits, graphInputs, shared);
      if ('refused' in s) return { refused: `${source}: ${s.refused}` };
      out.push(s);
    }
    return out;
  };
  const first = sources.length ? slice(new Set()) : [];
  if ('refused' in first) return first;
  const readers = new Map<string, number>();
  for (const l of first) for (const t of l.coreInputs) readers.set(t, (readers.get(t) ?? 0) + 1);
  const shared = new Set([...readers].filter(([t, c]) => c > 1 && !inits.has(t) && !graphInputs.has(t)).map(([t]) => t));
  const layers = shared.size ? slice(shared) : first;
  if ('refused' in layers) return layers;
  const captures = [...new Set([...layers.flatMap((l) => l.captures), ...kernels.flatMap((k) => k.captures)])];
  const types = elemTypes(model, captures);
  // Half-precision scores: ORT's CPU kernels run fp16 ops through inserted fp32 Casts, and where it
  // rounds back to fp16 depends on the graph around them, so a cut-out block differs from the whole
  // graph by fp16 rounding (~1e-3). Exact equality matters more than memory here.
  const qk = new Set(layers.flatMap((l) => [l.q, l.k]));
  const low = captures.find(
    (nm, i) => qk.has(nm) && types[i] !== undefined && types[i] !== onnx.TensorProto.DataType.FLOAT && types[i] !== onnx.TensorProto.DataType.DOUBLE,
  );
  if (low) return { refused: `scores are computed in reduced precision (${low}); their rounding cannot be reproduced outside the graph` };
  const unknown = captures.filter((_, i) => types[i] === undefined);
  if (unknown.length) return { refused: `element type of ${unknown.slice(0, 3).join(', ')} is unknown` };
  return { layers, kernels, captures, captureTypes: types as number[] };
}

type Produced = { node: onnx.INodeProto; index: number };

function sliceOne(
  model: onnx.ModelProto,
  source: string,
  producer: Map<string, Produced>,
  inits: Map<string, onnx.ITensorProto>,
  graphInputs: Set<string>,
  shared: Set<string>,
): (LayerSlice & { coreInputs: string[] }) | { refused: string } {
  const softmax = producer.get(source);
  if (!softmax || softmax.node.opType !== 'Softmax') return { refused: 'not a Softmax output' };
  const matmul = findScoreMatMul(softmax, producer);
  if (!matmul) return { refused: 'no MatMul feeds the Softmax through elementwise ops' };
  const [q, k] = matmul.node.input ?? [];
  if (!q || !k || inits.has(q) || inits.has(k)) return { refused: 'the score MatMul multiplies by a constant' };
  const path = findCore(model, source, matmul, softmax);
  if ('refused' in path) return path;
  const gathered = gatherSliceInputs(model, path.core, path.downstream, q, k, producer, inits, graphInputs, shared);
  if ('refused' in gathered) return gathered;
  const built = buildSliceModel(model, source, gathered, inits);
  if ('refused' in built) return built;
  return {
    source,
    q,
    k,
    captures: built.captureList,
    inputs: built.inputs,
    output: 'out',
    nodes: built.nodes,
    coreInputs: gathered.coreInputs,
    bytes: built.bytes,
  };
}

/** Step 1 of a slice — the score MatMul: the nearest MatMul behind the Softmax's input, through light ops only. */
function findScoreMatMul(softmax: Produced, producer: Map<string, Produced>): Produced | undefined {
  let matmul: Produced | undefined;
  let frontier = [softmax.node.input?.[0] ?? ''];
  for (let depth = 0; depth < MAX_SCORE_DEPTH && !matmul && frontier.length; depth++) {
    const next: string[] = [];
    for (const t of frontier) {
      const p = producer.get(t);
      if (!p) continue;
      if (p.node.opType === 'MatMul') {
        matmul = p;
        break;
      }
      if (HEAVY.has(p.node.opType ?? '') || CONTROL.has(p.node.opType ?? '') || p.node.domain) continue;
      next.push(...(p.node.input ?? []).filter(Boolean));
    }
    frontier = next;
  }
  return matmul;
}

/**
 * Step 2 — the core: node indices that lie on a path from the MatMul's output to the Softmax's output,
 * and every tensor downstream of the MatMul up to the Softmax.
 */
function findCore(
  model: onnx.ModelProto,
  source: string,
  matmul: Produced,
  softmax: Produced,
): { core: Set<number>; downstream: Set<string> } | { refused: string } {
  const downstream = new Set<string>(matmul.node.output ?? []);
  const onPath: number[] = [];
  for (let i = matmul.index + 1; i <= softmax.index; i++) {
    const n = (model.graph!.node ?? [])[i];
    if ((n.input ?? []).some((x) => downstream.has(x))) {
      for (const o of n.output ?? []) downstream.add(o);
      onPath.push(i);
    }
  }
  // Keep only those that also reach the Softmax (walk back from it within `onPath`).
  const needed = new Set<string>([source]);
  const core = new Set<number>([matmul.index]);
  for (let idx = onPath.length - 1; idx >= 0; idx--) {
    const n = (model.graph!.node ?? [])[onPath[idx]];
    if ((n.output ?? []).some((o) => needed.has(o))) {
      core.add(onPath[idx]);
      for (const x of n.input ?? []) if (downstream.has(x) || x === (matmul.node.output ?? [])[0]) needed.add(x);
    }
  }
  if (!core.has(softmax.index)) return { refused: 'the Softmax does not depend on the MatMul' };
  for (const i of core) {
    const op = (model.graph!.node ?? [])[i].opType ?? '';
    if (i !== matmul.index && i !== softmax.index && (HEAVY.has(op) || CONTROL.has(op))) return { refused: `a ${op} sits between the scores and the Softmax` };
  }
  return { core, downstream };
}

/** What a slice holds and reads: its node indices, the captured tensors, graph inputs fed through, small constants copied in. */
interface SliceInputs {
  inSlice: Set<number>;
  captures: Set<string>;
  feeds: Set<string>;
  copiedInits: Set<string>;
  coreInputs: string[];
}

/**
 * Step 3 — everything else the core reads: light producers are pulled in (masks built from shapes, scale
 * constants), heavy results and large constants are captured from the main run.
 */
function gatherSliceInputs(
  model: onnx.ModelProto,
  core: Set<number>,
  downstream: Set<string>,
  q: string,
  k: string,
  producer: Map<string, Produced>,
  inits: Map<string, onnx.ITensorProto>,
  graphInputs: Set<string>,
  shared: Set<string>,
): SliceInputs | { refused: string } {
  const inSlice = new Set<number>(core);
  const produced = (): Set<string> => new Set([...inSlice].flatMap((i) => (model.graph!.node ?? [])[i].output ?? []));
  const captures = new Set<string>([q, k]);
  const feeds = new Set<string>();
  const copiedInits = new Set<string>();
  const stack: string[] = [];
  for (const i of core) for (const x of (model.graph!.node ?? [])[i].input ?? []) if (x && x !== q && x !== k && !downstream.has(x)) stack.push(x);
  const coreInputs = [...new Set(stack)];
  const visited = new Set<string>();
  let outSet = produced();
  while (stack.length) {
    const t = stack.pop()!;
    if (visited.has(t) || outSet.has(t) || captures.has(t)) continue;
    visited.add(t);
    const init = inits.get(t);
    if (init) {
      // A large constant stays in the main graph: capture what its consumer makes of it instead.
      if (tensorBytes(init) <= SMALL_INIT_BYTES) copiedInits.add(t);
      else return { refused: `large constant ${t} read directly by the attention scores` };
      continue;
    }
    if (graphInputs.has(t)) {
      feeds.add(t);
      continue;
    }
    if (shared.has(t)) {
      captures.add(t);
      continue;
    }
    const p = producer.get(t);
    if (!p) return { refused: `no producer for ${t}` };
    if (capturedFromMainRun(p.node, inits, graphInputs)) {
      captures.add(t); // computed in the main run; the slice reads the result
      continue;
    }
    inSlice.add(p.index);
    if (inSlice.size > MAX_SLICE_NODES) return { refused: `the attention block has more than ${MAX_SLICE_NODES} nodes` };
    outSet = produced();
    for (const x of p.node.input ?? []) if (x) stack.push(x);
  }
  return { inSlice, captures, feeds, copiedInits, coreInputs };
}

/** Whether a slice reads this node's output from the main run rather than recomputing it (heavy work, large constants, activations' shapes). */
function capturedFromMainRun(node: onnx.INodeProto, inits: Map<string, onnx.ITensorProto>, graphInputs: Set<string>): boolean {
  const op = node.opType ?? '';
  const readsLargeInit = (node.input ?? []).some((x) => {
    const c = inits.get(x);
    return c !== undefined && tensorBytes(c) > SMALL_INIT_BYTES;
  });
  const readsActivations = op === 'Shape' || op === 'Size';
  return HEAVY.has(op) || CONTROL.has(op) || !!node.domain || readsLargeInit || (readsActivations && !graphInputs.has(node.input?.[0] ?? ''));
}

/** Step 4 — the slice model: the user's own nodes, in their graph order (so still topologically sorted). */
function buildSliceModel(
  model: onnx.ModelProto,
  source: string,
  { inSlice, captures, feeds, copiedInits }: SliceInputs,
  inits: Map<string, onnx.ITensorProto>,
): { captureList: string[]; inputs: string[]; nodes: number; bytes: Uint8Array } | { refused: string } {
  const types = elemTypes(model, [...captures, ...feeds, source]);
  const typeOf = new Map([...captures, ...feeds, source].map((nm, i) => [nm, types[i]]));
  const captureList = [...captures];
  const feedList = [...feeds];
  for (const nm of [...captureList, ...feedList]) if (typeOf.get(nm) === undefined) return { refused: `element type of ${nm} is unknown` };
  const srcType = typeOf.get(source);
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const needsCast = srcType !== undefined && srcType !== FLOAT;
  const output = needsCast ? `${source}.headlight.float` : source;
  const sliceNodes = [...inSlice].sort((a, b) => a - b).map((i) => (model.graph!.node ?? [])[i]);
  if (needsCast) {
    sliceNodes.push(
      onnx.NodeProto.create({
        opType: 'Cast',
        name: 'headlight.slice.cast',
        input: [source],
        output: [output],
        attribute: [onnx.AttributeProto.create({ name: 'to', i: FLOAT, type: onnx.AttributeProto.AttributeType.INT })],
      }),
    );
  }
  // Canonical names (in0…, t0…, out): layers whose blocks are the same computation get byte-identical
  // slices, and the engine runs them all on one session (one memory arena instead of one per layer).
  const inputs = [...captureList, ...feedList];
  const rename = new Map<string, string>(inputs.map((nm, i) => [nm, `in${i}`]));
  rename.set(output, 'out');
  const nameOf = (nm: string): string => {
    if (!nm) return nm; // an omitted optional input stays omitted
    let r = rename.get(nm);
    if (r === undefined) rename.set(nm, (r = `t${rename.size}`));
    return r;
  };
  const nodesOut = sliceNodes.map((n, i) =>
    onnx.NodeProto.create({
      opType: n.opType,
      domain: n.domain,
      attribute: n.attribute as onnx.AttributeProto[],
      name: `n${i}`,
      input: (n.input ?? []).map(nameOf),
      output: (n.output ?? []).map(nameOf),
    }),
  );
  const sliceGraph = onnx.GraphProto.create({
    name: 'headlight.slice',
    node: nodesOut,
    initializer: [...copiedInits].map((nm) => onnx.TensorProto.create({ ...inits.get(nm)!, name: nameOf(nm) })),
    input: inputs.map((nm) => valueInfo(rename.get(nm)!, typeOf.get(nm)!)),
    output: [valueInfo('out', FLOAT)],
  });
  const sliceModel = onnx.ModelProto.create({
    irVersion: model.irVersion,
    opsetImport: model.opsetImport,
    producerName: 'headlight',
    graph: sliceGraph,
  });
  return { captureList, inputs, nodes: sliceNodes.length, bytes: onnx.ModelProto.encode(sliceModel).finish() };
}

/**
 * Append graph outputs for `names`, declared with their own element types (bool masks, int64 shapes
 * and float activations alike), to the original bytes — the same protobuf-merge trick as
 * addGraphOutputs, so the user's graph is otherwise untouched.
 */
export function addCaptureOutputs(original: Uint8Array, names: string[], types: number[], existing: string[]): Uint8Array {
  const extra = onnx.ModelProto.encode(
    onnx.ModelProto.create({
      graph: onnx.GraphProto.create({
        output: names
          .filter((nm) => !existing.includes(nm))
          .map((name) =>
            onnx.ValueInfoProto.create({
              name,
              type: onnx.TypeProto.create({ tensorType: onnx.TypeProto.Tensor.create({ elemType: types[names.indexOf(name)] }) }),
            }),
          ),
      }),
    }),
  ).finish();
  return appendMessage(original, extra);
}
