// Exact head ablation that reruns only what the head can change. Zero-ablating head h of layer l (its
// probabilities × 0) sets its merged output z_h to 0, so the residual stream right after layer l's attention
// becomes c_l − z_h W_O^h — exactly, since the output projection is linear. So each ablation feeds that
// stream, built from the clean run, to a cut copy of the graph that starts there: layer l's MLP and every
// layer above, the final norm and the logits. Layer l's attention and everything below are skipped.
//
// One session holds the cut copy for every layer, with the weights once: the layers between consecutive cut
// points ("segments") sit in If nodes that run only when the chosen start layer is at or below them
// (ONNX Runtime runs every node of a graph, but only the taken branch of an If). Tensors the segments read
// besides the stream (masks, rotary tables, shapes) are rebuilt from the graph inputs by the graph's own
// nodes; a graph where something else crosses from one layer to the next (a parallel attention + MLP block
// reading the layer's input twice) is refused, and head effects fall back to the gated whole graph.
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { EngineError } from './errors';
import { feedTensor } from './feeds';
import { cosineGap, effectBatch, measureEffects, type EffectMethod, type EffectRun } from './effects';
import { decodeModel, elemTypes, readModelBytes, type GraphPlan } from './onnx-graph';
import { attentionSourceIndex, type LoadedModel } from './loaded-model';
import { indexGraph } from './weights';

const FLOAT = onnx.TensorProto.DataType.FLOAT;
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

const info = (name: string, elemType: number, dims?: (number | string)[]): onnx.ValueInfoProto => onnx.ValueInfoProto.create({
  name, type: onnx.TypeProto.create({ tensorType: onnx.TypeProto.Tensor.create({
    elemType, ...(dims ? { shape: onnx.TensorShapeProto.create({ dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) }) } : {}),
  }) }),
});
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
  const out = plan.logitsOutput && causal ? plan.logitsOutput : plan.logitsOutput ?? plan.mainOutput;
  if (!out) return { refused: 'the model has no output to measure' };
  const at = cuts.map((c) => g.producer.get(c)?.index ?? -1);
  if (at.some((i, l) => i < 0 || (l > 0 && i <= at[l - 1]))) return { refused: 'the layers\' residual streams are not in graph order' };
  // Forward closures from each cut point, backward closure of each next cut point (and of the output).
  const desc = (from: string): Set<number> => {
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
  };
  const anc = (to: string): Set<number> => {
    const seen = new Set<number>();
    const stack = [to];
    while (stack.length) {
      const p = g.producer.get(stack.pop()!);
      if (!p || seen.has(p.index)) continue;
      seen.add(p.index);
      stack.push(...(p.node.input ?? []).filter(Boolean));
    }
    return seen;
  };
  const ends = [...cuts.slice(1), out];
  const segments: number[][] = [];
  const inSegment = new Map<number, number>();
  for (let l = 0; l < L; l++) {
    const d = desc(cuts[l]), a = anc(ends[l]);
    const seg = [...d].filter((k) => a.has(k)).sort((x, y) => x - y);
    for (const k of seg) if (!inSegment.has(k)) inSegment.set(k, l);
    segments.push(seg.filter((k) => inSegment.get(k) === l));
  }
  // Everything after the first cut that the output needs must sit in a segment.
  const needed = anc(out);
  for (const k of desc(cuts[0])) if (needed.has(k) && !inSegment.has(k)) return { refused: `${g.nodes[k].opType} ${g.nodes[k].name || ''} reads a layer's stream outside the residual path (a parallel attention + MLP block?)` };
  // What each segment reads from outside itself: the previous cut, constants, graph inputs, or tensors the
  // graph builds outside every segment (masks, positions, shapes), rebuilt in the cut copy.
  const produced = (seg: number[]) => new Set(seg.flatMap((k) => g.nodes[k].output ?? []));
  const outer = new Set<string>();
  for (let l = 0; l < L; l++) {
    const mine = produced(segments[l]);
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
  // The outer nodes: what those tensors are built from. Values computed from the token embeddings would
  // mean a layer reads the input stream again (only shapes may be read).
  const embeddings = new Set<string>();
  const idsName = plan.inputs.find((s) => s.role === 'ids')?.name;
  for (const n of g.nodes) if (n.opType === 'Gather' && (n.input?.[1] === idsName)) embeddings.add(n.output?.[0] ?? '');
  const outerNodes = new Set<number>();
  const stack = [...outer];
  const valueOf = new Set<string>(); // tensors whose values the outer nodes read
  for (const x of outer) valueOf.add(x);
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
  const types = elemTypes(model, [...cuts, out]);
  if (types.slice(0, L).some((t) => t !== FLOAT)) return { refused: 'the residual stream is not float32' };
  // Assemble: outer nodes, then one If per layer below the last, then the last segment inline, then log p.
  const copy = (n: onnx.INodeProto, rename: Map<string, string>): onnx.NodeProto => onnx.NodeProto.create({
    ...(n as onnx.NodeProto), input: (n.input ?? []).map((x) => rename.get(x) ?? x),
  });
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
    const thenG = onnx.GraphProto.create({ name: `headlight.cut.layer${l}`, node: segments[l].map((k) => copy(g.nodes[k], rename)), output: [info(cuts[l + 1], FLOAT)] });
    const elseG = onnx.GraphProto.create({ name: `headlight.cut.skip${l}`, node: [onnx.NodeProto.create({ opType: 'Identity', name: `headlight.cut.keep.${l}`, input: [y], output: [`headlight.cut.kept.${l}`] })], output: [info(`headlight.cut.kept.${l}`, FLOAT)] });
    inBranches += segments[l].length;
    nodes.push(onnx.NodeProto.create({ opType: 'If', name: `headlight.cut.if.${l}`, input: [`headlight.cut.run.${l}`], output: [next], attribute: [
      onnx.AttributeProto.create({ name: 'then_branch', g: thenG, type: onnx.AttributeProto.AttributeType.GRAPH }),
      onnx.AttributeProto.create({ name: 'else_branch', g: elseG, type: onnx.AttributeProto.AttributeType.GRAPH }),
    ] }));
    y = next;
  }
  nodes.push(...segments[L - 1].map((k) => copy(g.nodes[k], new Map([[cuts[L - 1], y]]))));
  const graph = model.graph!;
  const inputs = [...(graph.input ?? []).filter((i) => g.graphInputs.has(i.name ?? '')) as onnx.ValueInfoProto[], info(CUT_X, FLOAT, ['headlight_sets', 'headlight_seq', 'headlight_d']), info(CUT_START, INT64, [])];
  const outputs: onnx.ValueInfoProto[] = [];
  const result: CutGraph = { bytes: new Uint8Array(), cuts, nodes: nodes.length + inBranches };
  if (plan.logitsOutput && causal) {
    let x = out;
    if (types[L] !== FLOAT) {
      nodes.push(onnx.NodeProto.create({ opType: 'Cast', name: 'headlight.cut.logits.cast', input: [out], output: ['headlight.cut.logits.f32'], attribute: [intAttr('to', FLOAT)] }));
      x = 'headlight.cut.logits.f32';
    }
    extraInits.push(onnx.TensorProto.create({ name: 'headlight.cut.axis2', dataType: INT64, dims: [1], int64Data: [2] }));
    inputs.push(info(CUT_TARGETS, INT64, ['headlight_sets', 'headlight_seq']));
    nodes.push(
      onnx.NodeProto.create({ opType: 'LogSoftmax', name: 'headlight.cut.logsoftmax', input: [x], output: ['headlight.cut.logprobs'], attribute: [intAttr('axis', -1)] }),
      onnx.NodeProto.create({ opType: 'Unsqueeze', name: 'headlight.cut.targets.unsq', input: [CUT_TARGETS, 'headlight.cut.axis2'], output: ['headlight.cut.targets3'] }),
      onnx.NodeProto.create({ opType: 'GatherElements', name: 'headlight.cut.gather', input: ['headlight.cut.logprobs', 'headlight.cut.targets3'], output: ['headlight.cut.logp3'], attribute: [intAttr('axis', 2)] }),
      onnx.NodeProto.create({ opType: 'Squeeze', name: 'headlight.cut.logp.sq', input: ['headlight.cut.logp3', 'headlight.cut.axis2'], output: [CUT_LOGP] }),
    );
    outputs.push(info(CUT_LOGP, FLOAT, ['headlight_sets', 'headlight_seq']));
    result.logp = { targets: CUT_TARGETS, output: CUT_LOGP };
  } else {
    outputs.push(info(out, types[L] ?? FLOAT));
    result.output = out;
  }
  const cutModel = onnx.ModelProto.create({
    irVersion: model.irVersion, opsetImport: model.opsetImport, producerName: 'headlight-cut',
    graph: onnx.GraphProto.create({ name: 'headlight.cut', node: nodes, initializer: [...(graph.initializer ?? []) as onnx.TensorProto[], ...extraInits], input: inputs, output: outputs }),
  });
  result.bytes = onnx.ModelProto.encode(cutModel).finish();
  return result;
}

export interface CutState {
  session: ort.InferenceSession;
  graph: CutGraph;
  /** Per model layer: the merged heads feeding W_O, W_O ([rows = H·dh, d]). */
  merged: string[];
  wo: Float32Array[];
  rows: number[];
  d: number;
  batches: boolean;
  /** The last clean run, by its ids: every cut stream, every layer's merged heads, and the clean log p (or output). */
  clean?: { ids: string; cuts: Float32Array[]; merged: Float32Array[]; base: Float32Array };
}

const states = new WeakMap<LoadedModel, Promise<CutState | { refused: string }>>();

/** The cut session for `model` (made on first use, cached with the model), or why the graph cannot be cut. */
export function cutState(model: LoadedModel): Promise<CutState | { refused: string }> {
  let s = states.get(model);
  if (!s) states.set(model, (s = makeCutState(model)));
  return s;
}

async function makeCutState(model: LoadedModel): Promise<CutState | { refused: string }> {
  const dla = model.dla;
  if (!dla || 'refused' in dla) return { refused: dla && 'refused' in dla ? dla.refused : 'no residual plan' };
  const order = model.attention.map((_, l) => attentionSourceIndex(model, l));
  const layers = order.map((k) => ({ res: dla.residual.layers[k], dl: dla.layers[k] }));
  if (layers.some((x) => !x.res?.mid || !x.dl)) return { refused: 'a layer\'s attention output was not found joining the residual stream' };
  const bytes = readModelBytes(model.modelPath);
  const proto = decodeModel(bytes, path.basename(model.modelPath));
  const cut = planCut(proto, model.plan, layers.map((x) => x.res.mid!), model.causal);
  if ('refused' in cut) return cut;
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(cut.bytes, {
      logSeverityLevel: 3, executionProviders: [...model.executionProviders], graphOptimizationLevel: 'all',
      ...(model.plan.externalData ? { extra: { session: { model_external_initializers_file_folder_path: path.dirname(model.modelPath) } } } : {}),
    });
  } catch (e) {
    return { refused: `ONNX Runtime refused the cut copy: ${(e as Error).message.split('\n')[0]}` };
  }
  return { session, graph: cut, merged: layers.map((x) => x.dl.merged), wo: layers.map((x) => x.dl.wo), rows: layers.map((x) => x.dl.rows), d: dla.residual.d, batches: true };
}

/** A tensor repeated `sets` times along its first (batch) axis. */
function repeatBatch(t: ort.Tensor, sets: number): ort.Tensor {
  if (sets === 1) return t;
  const dims = [...t.dims];
  dims[0] = sets;
  const src = t.data as ArrayLike<number | bigint>;
  const Ctor = (src as object).constructor as new (k: number) => { set(a: ArrayLike<number | bigint>, o: number): void };
  const data = new Ctor(src.length * sets);
  for (let b = 0; b < sets; b++) data.set(src, b * src.length);
  return new ort.Tensor(t.type, data as never, dims);
}

function graphFeeds(model: LoadedModel, ids: number[], sets: number): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  for (const spec of model.plan.inputs) {
    const one = feedTensor(spec, ids.length, ids);
    out[spec.name] = spec.role === 'use-cache-branch' ? one : repeatBatch(one, sets);
  }
  return out;
}

/** Head h's output through its rows of W_O, z_h W_O^h ([n × d]), on ONNX Runtime. */
let matmul: Promise<ort.InferenceSession> | undefined;
async function headOutput(z: Float32Array, rows: number, wo: Float32Array, d: number, n: number, h: number, dh: number): Promise<Float32Array> {
  matmul ??= ort.InferenceSession.create(onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 8, producerName: 'headlight', opsetImport: [{ domain: '', version: 13 }],
    graph: onnx.GraphProto.create({ name: 'head-output', node: [onnx.NodeProto.create({ opType: 'MatMul', name: 'mm', input: ['z', 'w'], output: ['o'] })],
      input: [info('z', FLOAT, ['n', 'k']), info('w', FLOAT, ['k', 'd'])], output: [info('o', FLOAT, ['n', 'd'])] }),
  })).finish(), { logSeverityLevel: 3 });
  const zh = new Float32Array(n * dh);
  for (let i = 0; i < n; i++) zh.set(z.subarray(i * rows + h * dh, i * rows + (h + 1) * dh), i * dh);
  const r = await (await matmul).run({ z: new ort.Tensor('float32', zh, [n, dh]), w: new ort.Tensor('float32', wo.subarray(h * dh * d, (h + 1) * dh * d), [dh, d]) });
  return r.o.data as Float32Array;
}

async function runCut(model: LoadedModel, st: CutState, ids: number[], start: number, x: Float32Array, sets: number): Promise<Float32Array> {
  const n = ids.length;
  const feeds = graphFeeds(model, ids, sets);
  feeds[CUT_X] = new ort.Tensor('float32', x, [sets, n, st.d]);
  feeds[CUT_START] = new ort.Tensor('int64', BigInt64Array.from([BigInt(start)]), []);
  if (st.graph.logp) {
    const t = new BigInt64Array(sets * n);
    for (let b = 0; b < sets; b++) for (let i = 0; i + 1 < n; i++) t[b * n + i] = BigInt(ids[i + 1]);
    feeds[st.graph.logp.targets] = new ort.Tensor('int64', t, [sets, n]);
  }
  const fetch = st.graph.logp?.output ?? st.graph.output!;
  try {
    const out = await st.session.run(feeds, [fetch]);
    const t = out[fetch];
    return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);
  } catch (e) {
    throw new EngineError('inference-failed', `ONNX Runtime failed while ablating heads of ${path.basename(model.modelPath)} from layer ${start} on ${n} tokens: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** The clean run: every cut stream and merged heads from the model's own session, and the clean output through the cut copy. */
async function cleanRun(model: LoadedModel, st: CutState, ids: number[]): Promise<NonNullable<CutState['clean']>> {
  const key = ids.join(',');
  if (st.clean?.ids === key) return st.clean;
  const n = ids.length;
  const feeds: Record<string, ort.Tensor> = {};
  for (const spec of model.plan.inputs) feeds[spec.name] = feedTensor(spec, n, ids);
  let outs: ort.InferenceSession.OnnxValueMapType;
  try {
    outs = await model.session.run(feeds, [...new Set([...st.graph.cuts, ...st.merged])]);
  } catch (e) {
    throw new EngineError('inference-failed', `ONNX Runtime failed on the clean run of ${path.basename(model.modelPath)} (${n} tokens): ${(e as Error).message.split('\n')[0]}`);
  }
  const f32 = (name: string) => { const t = outs[name]; return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>); };
  const cuts = st.graph.cuts.map(f32), merged = st.merged.map(f32);
  // The clean output through the same last segment the ablations end in: their differences carry no graph-to-graph rounding.
  const L = cuts.length;
  const base = await runCut(model, st, ids, L - 1, cuts[L - 1], 1);
  st.clean = { ids: key, cuts, merged, base };
  return st.clean;
}

/**
 * Head effects through the cut copy: each head (never a whole layer: [l, −1] goes to the gated graph) ablated on
 * its own, consecutive heads of one layer batched along the batch axis. Same result shape as measureEffects.
 */
export async function measureEffectsCut(model: LoadedModel, st: CutState, ids: number[], heads: [number, number][]): Promise<EffectRun> {
  const n = ids.length, d = st.d, H = model.headsPerLayer;
  const clean = await cleanRun(model, st, ids);
  const method: EffectMethod = st.graph.logp ? 'zero-ablation: Δ loss of the next token (nats)' : 'zero-ablation: 1 − cosine of the output per token';
  let batch = st.batches ? effectBatch(model, n) : 1;
  const deltas: Float32Array[] = [];
  for (let k = 0; k < heads.length;) {
    const layer = heads[k][0];
    let count = 1;
    while (k + count < heads.length && count < batch && heads[k + count][0] === layer) count++;
    const group = heads.slice(k, k + count);
    const dh = st.rows[layer] / H;
    const x = new Float32Array(count * n * d);
    for (let b = 0; b < count; b++) {
      const o = await headOutput(clean.merged[layer], st.rows[layer], st.wo[layer], d, n, group[b][1], dh);
      const c = clean.cuts[layer];
      for (let q = 0; q < n * d; q++) x[b * n * d + q] = c[q] - o[q];
    }
    let out: Float32Array;
    try {
      out = await runCut(model, st, ids, layer, x, count);
    } catch (e) {
      if (count === 1) throw e;
      st.batches = false; // an export that pins batch 1: one set per run from now on
      batch = 1;
      continue;
    }
    const per = out.length / count;
    for (let b = 0; b < count; b++) {
      const row = out.subarray(b * per, (b + 1) * per);
      if (st.graph.logp) deltas.push(Float32Array.from({ length: n }, (_, i) => (i + 1 < n ? clean.base[i] - row[i] : NaN)));
      else deltas.push(cosineGap(clean.base, row, n));
    }
    k += count;
  }
  const result: EffectRun = { method, deltas, batch };
  if (st.graph.logp) result.base = Float64Array.from(clean.base, (v, i) => (i + 1 < n ? v : NaN));
  else result.output = st.graph.output;
  return result;
}

/** Every ablation request: the cut copy where the graph allows it and every request is a single head, else the gated whole graph. */
export async function measureHeadEffects(model: LoadedModel, ids: number[], heads: [number, number][]): Promise<EffectRun & { cut?: string }> {
  for (const [l, h] of heads) {
    if (!Number.isInteger(l) || l < 0 || l >= model.layers || !Number.isInteger(h) || h < -1 || h >= model.headsPerLayer) {
      throw new EngineError('bad-request', `No head L${l}H${h} in a ${model.layers}×${model.headsPerLayer} model.`);
    }
  }
  const st = heads.every(([, h]) => h >= 0) ? await cutState(model) : { refused: 'whole layers are ablated on the gated graph' };
  if ('refused' in st) return { ...(await measureEffects(model, ids, heads)), cut: st.refused };
  return measureEffectsCut(model, st, ids, heads);
}

