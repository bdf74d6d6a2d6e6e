// The cut copy of a model's graph (see ablationCut.ts): one graph that starts at any layer's residual stream
// right after its attention, CUT_X, and runs layer l's MLP and every layer above to the logits. The layers
// between consecutive cut points ("segments") sit in If nodes that run only when the chosen start layer,
// CUT_START, is at or below them (ONNX Runtime runs every node of a graph, but only the taken branch of an If),
// so one session holds every layer's cut with the weights once. Tensors the segments read besides the stream
// (masks, rotary tables, shapes) are rebuilt from the graph inputs by the graph's own nodes; a graph where
// something else crosses from one layer to the next is refused.
import { valueInfo } from './valueInfo';
import { onnx } from 'onnx-proto';
import { elemTypes, type GraphPlan } from './onnxGraph';
import { indexGraph, type GraphIndex } from './weights';

export const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

export const CUT_X = 'headlight.cut.x';
export const CUT_START = 'headlight.cut.start';
const CUT_TARGETS = 'headlight.cut.targets';
const CUT_LOGP = 'headlight.cut.logp';

export interface CutGraph {
  bytes: Uint8Array;
  /** Per model layer: the stream right after its attention output is added (what CUT_X replaces). */
  cuts: string[];
  /** Causal LMs: log p(target) per position; else the output compared by 1 − cosine. */
  logp?: { targets: string; output: string };
  output?: string;
  /** Nodes the cut copy holds, and how many of them sit in the per-layer If branches. */
  nodes: number;
}

/** Ops that read only an activation's shape, never its values. */
const SHAPE_ONLY = new Set(['Shape', 'Size']);

const intAttr = (name: string, v: number) => onnx.AttributeProto.create({ name, i: v, type: onnx.AttributeProto.AttributeType.INT });

/**
 * The cut copy of `model` for cut points `cuts` (one per layer, in graph order), or why the graph cannot be cut
 * there. `ids`: the ids input (tensors computed from the token embeddings may not leak past a cut point).
 */
export function planCut(model: onnx.ModelProto, plan: GraphPlan, cuts: string[], causal: boolean): CutGraph | { refused: string } {
  const g = indexGraph(model);
  // Initializers stay shared by name; Constant nodes are nodes the cut copy must hold (g.inits has both).
  const init = new Set((model.graph?.initializer ?? []).map((t) => t.name ?? ''));
  const L = cuts.length;
  const out = plan.logitsOutput && causal ? plan.logitsOutput : (plan.logitsOutput ?? plan.mainOutput);
  if (!out) return { refused: 'the model has no output to measure' };
  const at = cuts.map((c) => g.producer.get(c)?.index ?? -1);
  if (at.some((i, l) => i < 0 || (l > 0 && i <= at[l - 1]))) return { refused: "the layers' residual streams are not in graph order" };
  const seg = cutSegments(g, cuts, out);
  if ('refused' in seg) return seg;
  const outer = outerReads(g, init, cuts, seg);
  if ('refused' in outer) return outer;
  const outerNodes = outerBuilders(g, init, plan, seg.inSegment, outer);
  if ('refused' in outerNodes) return outerNodes;
  const types = elemTypes(model, [...cuts, out]);
  if (types.slice(0, L).some((t) => t !== FLOAT)) return { refused: 'the residual stream is not float32' };
  // Assemble: outer nodes, then one If per layer below the last, then the last segment inline, then log p.
  const body = layerBranches(g, cuts, seg.segments, outerNodes);
  const graph = model.graph!;
  const inputs = [
    ...((graph.input ?? []).filter((i) => g.graphInputs.has(i.name ?? '')) as onnx.ValueInfoProto[]),
    valueInfo(CUT_X, FLOAT, ['headlight_sets', 'headlight_seq', 'headlight_d']),
    valueInfo(CUT_START, INT64, []),
  ];
  const outputs: onnx.ValueInfoProto[] = [];
  const result: CutGraph = { bytes: new Uint8Array(), cuts, nodes: body.nodes.length + body.inBranches };
  if (plan.logitsOutput && causal) {
    appendLogp(body, out, types[L] !== FLOAT);
    inputs.push(valueInfo(CUT_TARGETS, INT64, ['headlight_sets', 'headlight_seq']));
    outputs.push(valueInfo(CUT_LOGP, FLOAT, ['headlight_sets', 'headlight_seq']));
    result.logp = { targets: CUT_TARGETS, output: CUT_LOGP };
  } else {
    outputs.push(valueInfo(out, types[L] ?? FLOAT));
    result.output = out;
  }
  const cutModel = onnx.ModelProto.create({
    irVersion: model.irVersion,
    opsetImport: model.opsetImport,
    producerName: 'headlight-cut',
    graph: onnx.GraphProto.create({
      name: 'headlight.cut',
      node: body.nodes,
      initializer: [...((graph.initializer ?? []) as onnx.TensorProto[]), ...body.extraInits],
      input: inputs,
      output: outputs,
    }),
  });
  result.bytes = onnx.ModelProto.encode(cutModel).finish();
  return result;
}

/** Indices of the nodes downstream of tensor `from`. */
function descendants(g: GraphIndex, from: string): Set<number> {
  const seen = new Set<number>();
  const stack = [from];
  while (stack.length) {
    for (const c of g.consumers.get(stack.pop()!) ?? []) {
      const k = g.producer.get(c.output?.[0] ?? '')?.index ?? g.nodes.indexOf(c);
      if (seen.has(k)) continue;
      seen.add(k);
      stack.push(...(c.output ?? []).filter(Boolean));
    }
  }
  return seen;
}

/** Indices of the nodes tensor `to` is computed from. */
function ancestors(g: GraphIndex, to: string): Set<number> {
  const seen = new Set<number>();
  const stack = [to];
  while (stack.length) {
    const p = g.producer.get(stack.pop()!);
    if (!p || seen.has(p.index)) continue;
    seen.add(p.index);
    stack.push(...(p.node.input ?? []).filter(Boolean));
  }
  return seen;
}

interface Segments {
  /** Per layer: the nodes between its cut point and the next one (or the output), in graph order. */
  segments: number[][];
  /** Node index → the layer whose segment holds it (the lowest, when several reach it). */
  inSegment: Map<number, number>;
}

/**
 * Each layer's segment: forward closure of its cut point met with the backward closure of the next cut point
 * (and of the output). Refused when the output needs a node after the first cut that no segment holds.
 */
function cutSegments(g: GraphIndex, cuts: string[], out: string): Segments | { refused: string } {
  const ends = [...cuts.slice(1), out];
  const segments: number[][] = [];
  const inSegment = new Map<number, number>();
  for (let l = 0; l < cuts.length; l++) {
    const d = descendants(g, cuts[l]),
      a = ancestors(g, ends[l]);
    const seg = [...d].filter((k) => a.has(k)).sort((x, y) => x - y);
    for (const k of seg) if (!inSegment.has(k)) inSegment.set(k, l);
    segments.push(seg.filter((k) => inSegment.get(k) === l));
  }
  // Everything after the first cut that the output needs must sit in a segment.
  const needed = ancestors(g, out);
  for (const k of descendants(g, cuts[0]))
    if (needed.has(k) && !inSegment.has(k))
      return { refused: `${g.nodes[k].opType} ${g.nodes[k].name || ''} reads a layer's stream outside the residual path (a parallel attention + MLP block?)` };
  return { segments, inSegment };
}

/**
 * What the segments read from outside themselves besides the previous cut, constants and graph inputs:
 * tensors the graph builds outside every segment (masks, positions, shapes), rebuilt in the cut copy.
 * Refused when a segment reads a tensor computed in another layer.
 */
function outerReads(g: GraphIndex, init: Set<string>, cuts: string[], { segments, inSegment }: Segments): Set<string> | { refused: string } {
  const outer = new Set<string>();
  for (let l = 0; l < cuts.length; l++) {
    const mine = new Set(segments[l].flatMap((k) => g.nodes[k].output ?? []));
    for (const k of segments[l]) {
      for (const x of g.nodes[k].input ?? []) {
        if (!x || mine.has(x) || x === cuts[l] || init.has(x) || g.graphInputs.has(x)) continue;
        const p = g.producer.get(x);
        if (!p) return { refused: `${x} has no producer` };
        if (inSegment.has(p.index)) return { refused: `${x}, computed in layer ${inSegment.get(p.index)}, is read in layer ${l} beside the residual stream` };
        outer.add(x);
      }
    }
  }
  return outer;
}

/**
 * The outer nodes: what the `outer` tensors are built from. Values computed from a layer's stream or the token
 * embeddings would mean a layer reads the input stream again (only shapes may be read), so they are refused.
 */
function outerBuilders(
  g: GraphIndex,
  init: Set<string>,
  plan: GraphPlan,
  inSegment: Map<number, number>,
  outer: Set<string>,
): Set<number> | { refused: string } {
  const embeddings = new Set<string>();
  const idsName = plan.inputs.find((s) => s.role === 'ids')?.name;
  for (const n of g.nodes) if (n.opType === 'Gather' && n.input?.[1] === idsName) embeddings.add(n.output?.[0] ?? '');
  const outerNodes = new Set<number>();
  const stack = [...outer];
  const valueOf = new Set<string>(outer); // tensors whose values the outer nodes read
  while (stack.length) {
    const t = stack.pop()!;
    const p = g.producer.get(t);
    if (!p || outerNodes.has(p.index)) continue;
    if (inSegment.has(p.index)) return { refused: `${t} is rebuilt from a layer's stream` };
    if (embeddings.has(t) && valueOf.has(t)) return { refused: `the token embeddings are read again beside the residual stream (${t})` };
    outerNodes.add(p.index);
    const shapeOnly = SHAPE_ONLY.has(p.node.opType ?? '');
    for (const x of p.node.input ?? []) {
      if (!x || init.has(x) || g.graphInputs.has(x)) continue;
      if (!shapeOnly) valueOf.add(x);
      stack.push(x);
    }
  }
  // Values read through the outer nodes must not come from the embeddings either (only their shapes).
  for (const k of outerNodes) {
    const n = g.nodes[k];
    if (SHAPE_ONLY.has(n.opType ?? '')) continue;
    for (const x of n.input ?? []) if (embeddings.has(x)) return { refused: `the token embeddings are read again beside the residual stream (${x})` };
  }
  return outerNodes;
}

interface CutBody {
  nodes: onnx.NodeProto[];
  extraInits: onnx.TensorProto[];
  /** Nodes inside the If branches (not in `nodes`). */
  inBranches: number;
}

const copyNode = (n: onnx.INodeProto, rename: Map<string, string>): onnx.NodeProto =>
  onnx.NodeProto.create({
    ...(n as onnx.NodeProto),
    input: (n.input ?? []).map((x) => rename.get(x) ?? x),
  });

/**
 * The cut copy's nodes: the outer nodes, then one If per layer below the last (its segment when CUT_START is
 * at or below it, else the stream passed through), then the last segment inline.
 */
function layerBranches(g: GraphIndex, cuts: string[], segments: number[][], outerNodes: Set<number>): CutBody {
  const L = cuts.length;
  const nodes: onnx.NodeProto[] = [...outerNodes].sort((a, b) => a - b).map((k) => g.nodes[k] as onnx.NodeProto);
  const extraInits: onnx.TensorProto[] = [];
  let y = CUT_X;
  let inBranches = 0;
  for (let l = 0; l < L - 1; l++) {
    const rename = new Map([[cuts[l], y]]);
    const lk = `headlight.cut.layer.${l}`;
    extraInits.push(onnx.TensorProto.create({ name: lk, dataType: INT64, dims: [], int64Data: [l] }));
    nodes.push(onnx.NodeProto.create({ opType: 'LessOrEqual', name: `headlight.cut.cond.${l}`, input: [CUT_START, lk], output: [`headlight.cut.run.${l}`] }));
    const next = `headlight.cut.y.${l + 1}`;
    const thenG = onnx.GraphProto.create({
      name: `headlight.cut.layer${l}`,
      node: segments[l].map((k) => copyNode(g.nodes[k], rename)),
      output: [valueInfo(cuts[l + 1], FLOAT)],
    });
    const elseG = onnx.GraphProto.create({
      name: `headlight.cut.skip${l}`,
      node: [onnx.NodeProto.create({ opType: 'Identity', name: `headlight.cut.keep.${l}`, input: [y], output: [`headlight.cut.kept.${l}`] })],
      output: [valueInfo(`headlight.cut.kept.${l}`, FLOAT)],
    });
    inBranches += segments[l].length;
    nodes.push(
      onnx.NodeProto.create({
        opType: 'If',
        name: `headlight.cut.if.${l}`,
        input: [`headlight.cut.run.${l}`],
        output: [next],
        attribute: [
          onnx.AttributeProto.create({ name: 'then_branch', g: thenG, type: onnx.AttributeProto.AttributeType.GRAPH }),
          onnx.AttributeProto.create({ name: 'else_branch', g: elseG, type: onnx.AttributeProto.AttributeType.GRAPH }),
        ],
      }),
    );
    y = next;
  }
  nodes.push(...segments[L - 1].map((k) => copyNode(g.nodes[k], new Map([[cuts[L - 1], y]]))));
  return { nodes, extraInits, inBranches };
}

/** Appends log p(CUT_TARGETS) per position, read from the logits `out` (cast to float first when `cast`). */
function appendLogp(body: CutBody, out: string, cast: boolean): void {
  const { nodes, extraInits } = body;
  let x = out;
  if (cast) {
    nodes.push(
      onnx.NodeProto.create({
        opType: 'Cast',
        name: 'headlight.cut.logits.cast',
        input: [out],
        output: ['headlight.cut.logits.f32'],
        attribute: [intAttr('to', FLOAT)],
      }),
    );
    x = 'headlight.cut.logits.f32';
  }
  extraInits.push(onnx.TensorProto.create({ name: 'headlight.cut.axis2', dataType: INT64, dims: [1], int64Data: [2] }));
  nodes.push(
    onnx.NodeProto.create({
      opType: 'LogSoftmax',
      name: 'headlight.cut.logsoftmax',
      input: [x],
      output: ['headlight.cut.logprobs'],
      attribute: [intAttr('axis', -1)],
    }),
    onnx.NodeProto.create({
      opType: 'Unsqueeze',
      name: 'headlight.cut.targets.unsq',
      input: [CUT_TARGETS, 'headlight.cut.axis2'],
      output: ['headlight.cut.targets3'],
    }),
    onnx.NodeProto.create({
      opType: 'GatherElements',
      name: 'headlight.cut.gather',
      input: ['headlight.cut.logprobs', 'headlight.cut.targets3'],
      output: ['headlight.cut.logp3'],
      attribute: [intAttr('axis', 2)],
    }),
    onnx.NodeProto.create({ opType: 'Squeeze', name: 'headlight.cut.logp.sq', input: ['headlight.cut.logp3', 'headlight.cut.axis2'], output: [CUT_LOGP] }),
  );
}
