// The residual stream of a decoder, read off its graph: the unembedding that turns the final hidden state
// into logits, the final norm before it, what sums into that norm's input (embeddings, every attention
// layer's output projection, every MLP, biases), and where each attention layer's output joins the stream.
// Nothing here runs a model: it plans what to fetch (dla.ts, ablationCut.ts, routes) and says why when the
// graph has no such path. Generic by construction: norms are recognised as ops or as their decomposed
// arithmetic (finalNorm.ts), never by node names.
import type { onnx } from 'onnx-proto';
import { nbitsColumnReader, nbitsShape } from './nbits';
import { indexGraph, num, weightOf, type GraphIndex } from './weights';
import type { ValuePlan } from './values';
import { findNorm, type FinalNorm } from './finalNorm';

export type { FinalNorm, NormKind } from './finalNorm';

export interface Unembedding {
  /**
   * W_U as stored: 'dv' = [d, V] (x · W), 'vd' = [V, d] (a tied embedding table, x · Wᵀ); 'columns' = a packed
   * 4/8-bit MatMulNBits head, whose columns are dequantised on demand into `columns` (`load`; `data` is empty).
   */
  data: Float32Array;
  layout: 'dv' | 'vd' | 'columns';
  columns?: Map<number, Float32Array>;
  load?: (tokens: number[]) => Promise<void>;
  d: number;
  vocab: number;
  bias?: Float32Array;
  /** The tensor the unembedding reads (the final norm's output). */
  input: string;
}

export type LeafKind = 'embedding' | 'attention' | 'mlp' | 'bias' | 'other';

/** One term of the sum that enters the final norm. */
export interface Leaf {
  kind: LeafKind;
  /** The tensor (activations) or, for a constant, its name in the graph. */
  tensor: string;
  /** Constant terms (biases): their value, broadcast over tokens. */
  constant?: Float32Array;
  /** Attention layer (index into the attention layers) the term belongs to, by graph order; −1 before the first. */
  layer: number;
  label: string;
}

/** Per attention layer: where its output projection joins the residual stream. */
export interface ResidualLayer {
  /** The output projection's output (the heads' sum through W_O, before any bias). */
  proj?: string;
  /** Gemm's C: a bias inside `proj` itself (its heads sum to proj − innerBias). */
  innerBias?: Float32Array;
  /** Every constant the attention output carries into the stream besides its heads (innerBias and bias Adds). */
  bias?: Float32Array;
  /** The residual stream before this layer's attention output is added (the layer's input for pre-norm blocks). */
  input?: string;
  /** The stream right after the attention output is added. */
  mid?: string;
}

export interface ResidualPlan {
  norm: FinalNorm;
  unembed: Unembedding;
  layers: ResidualLayer[];
  leaves: Leaf[];
  d: number;
}

/** Ops that only move or relabel data between the final norm and the logits. */
const MOVE = new Set(['Reshape', 'Identity', 'Cast', 'Flatten', 'Squeeze', 'Unsqueeze']);
const isConst = (g: GraphIndex, t: string): boolean => weightOf(g, t) !== undefined;

/** Walk back from the logits to the MatMul / Gemm with a constant [d, V] (or tied [V, d]) weight. */
function findUnembedding(g: GraphIndex, logits: string, vocabRows: number | undefined): Unembedding | { refused: string } {
  let t = logits;
  let bias: Float32Array | undefined;
  for (let step = 0; step < 8; step++) {
    const p = g.producer.get(t)?.node;
    if (!p) return { refused: 'nothing computes the logits' };
    const op = p.opType ?? '';
    if (op === 'MatMulNBits' && p.domain === 'com.microsoft') return packedUnembedding(g, p, bias, vocabRows);
    if (p.domain && op !== 'FusedMatMul') return { refused: `the logits come from a ${p.domain}.${op} node` };
    if (MOVE.has(op)) {
      t = p.input?.[0] ?? '';
      continue;
    }
    if (op === 'Add') {
      const [a, b] = p.input ?? [];
      const ca = weightOf(g, a),
        cb = weightOf(g, b);
      if (ca || cb) {
        bias = (ca ?? cb)!.data;
        t = ca ? b : a;
        continue;
      }
      return { refused: 'the logits are a sum of two computed tensors' };
    }
    if (op === 'MatMul' || op === 'Gemm') {
      const name = p.input?.[1] ?? '';
      const transB = op === 'Gemm' && (p.attribute ?? []).some((x) => x.name === 'transB' && num(x.i) === 1);
      // A tied head reads the embedding table through Transpose: keep the table's own [V, d] layout (no copy).
      const tp = g.producer.get(name)?.node;
      const tied = tp?.opType === 'Transpose' ? weightOf(g, tp.input?.[0] ?? '') : undefined;
      const w = tied ?? weightOf(g, name);
      if (!w || w.dims.length !== 2) return { refused: 'the unembedding weight is not a constant matrix in the graph' };
      const vd = Boolean(tied) !== transB; // a Transpose and Gemm's transB cancel out
      const [d, vocab] = vd ? [w.dims[1], w.dims[0]] : w.dims;
      if (vocabRows !== undefined && vocab !== vocabRows && vocab < vocabRows)
        return { refused: `the unembedding has ${vocab} columns for ${vocabRows} token ids` };
      const c = op === 'Gemm' ? p.input?.[2] : undefined;
      if (c) {
        const cb = weightOf(g, c);
        if (!cb) return { refused: 'the unembedding adds a computed tensor' };
        bias = bias ? bias.map((v, i) => v + cb.data[i]) : cb.data;
      }
      if (bias && bias.length !== vocab) return { refused: 'the unembedding bias is not one value per token' };
      let input = p.input?.[0] ?? '';
      for (let k = 0; k < 4; k++) {
        const q = g.producer.get(input)?.node;
        if (q && MOVE.has(q.opType ?? '')) input = q.input?.[0] ?? '';
        else break;
      }
      return { data: w.data, layout: vd ? 'vd' : 'dv', d, vocab, ...(bias ? { bias } : {}), input };
    }
    return { refused: `the logits come from a ${op} node, not a matrix product` };
  }
  return { refused: 'the logits are too far from a matrix product' };
}

/** A 4/8-bit MatMulNBits LM head (the onnxruntime-genai builder's): its columns read on demand. */
function packedUnembedding(
  g: GraphIndex,
  p: onnx.INodeProto,
  bias: Float32Array | undefined,
  vocabRows: number | undefined,
): Unembedding | { refused: string } {
  const shape = nbitsShape(p);
  const read = nbitsColumnReader(p, g.inits, g.dir);
  if (!shape || !read) return { refused: 'the unembedding is a MatMulNBits whose packed weights are not constants in the graph' };
  if (p.input?.[5]) {
    const b = weightOf(g, p.input[5]);
    if (!b) return { refused: 'the unembedding adds a computed tensor' };
    bias = bias ? bias.map((v, i) => v + b.data[i]) : b.data;
  }
  const { K: d, N: vocab } = shape;
  if (vocabRows !== undefined && vocab < vocabRows) return { refused: `the unembedding has ${vocab} columns for ${vocabRows} token ids` };
  if (bias && bias.length !== vocab) return { refused: 'the unembedding bias is not one value per token' };
  const columns = new Map<number, Float32Array>();
  const load = async (tokens: number[]) => {
    const want = [...new Set(tokens.filter((t) => t >= 0 && t < vocab && !columns.has(t)))];
    if (!want.length) return;
    const data = await read(want);
    want.forEach((t, k) => columns.set(t, data.subarray(k * d, (k + 1) * d)));
  };
  let input = p.input?.[0] ?? '';
  for (let k = 0; k < 4; k++) {
    const q = g.producer.get(input)?.node;
    if (q && MOVE.has(q.opType ?? '')) input = q.input?.[0] ?? '';
    else break;
  }
  return { data: new Float32Array(0), layout: 'columns', columns, load, d, vocab, ...(bias ? { bias } : {}), input };
}

/** Where layer l's projection joins the stream: through bias Adds to the first Add with a computed operand. */
function joinOf(g: GraphIndex, proj: string, projNode: onnx.INodeProto | undefined): ResidualLayer {
  let innerBias: Float32Array | undefined;
  if (projNode?.opType === 'Gemm' && projNode.input?.[2]) {
    innerBias = weightOf(g, projNode.input[2])?.data;
    if (!innerBias) return { proj };
  }
  let bias = innerBias;
  let t = proj;
  for (let step = 0; step < 6; step++) {
    const next = g.consumers.get(t) ?? [];
    if (next.length !== 1) return { proj };
    const n = next[0];
    if (n.domain) return { proj };
    if (MOVE.has(n.opType ?? '')) {
      t = n.output?.[0] ?? '';
      continue;
    }
    if (n.opType !== 'Add') return { proj };
    const other = n.input?.[0] === t ? (n.input?.[1] ?? '') : (n.input?.[0] ?? '');
    const c = weightOf(g, other);
    if (c) {
      // the projection's bias
      const prev = bias;
      bias = Float32Array.from(
        { length: Math.max(c.data.length, prev?.length ?? 0) },
        (_, i) => (prev ? prev[prev.length === 1 ? 0 : i] : 0) + c.data[c.data.length === 1 ? 0 : i],
      );
      t = n.output?.[0] ?? '';
      continue;
    }
    return { proj, ...(innerBias ? { innerBias } : {}), ...(bias ? { bias } : {}), input: other, mid: n.output?.[0] ?? '' };
  }
  return { proj };
}

/** Traced back through scaling and reshapes to a Gather on a constant table: an embedding lookup. */
function isEmbedding(g: GraphIndex, t: string, ids: string | undefined): 'token' | 'position' | undefined {
  for (let step = 0; step < 6; step++) {
    const p = g.producer.get(t)?.node;
    if (!p || p.domain) return undefined;
    const op = p.opType ?? '';
    if (op === 'Gather') {
      // The table itself, maybe shared (Identity) or stored in half precision (Cast).
      let tn = p.input?.[0] ?? '';
      for (let k = 0; k < 3 && !g.inits.has(tn); k++) {
        const q = g.producer.get(tn)?.node;
        if (q?.opType === 'Identity' || q?.opType === 'Cast') tn = q.input?.[0] ?? '';
        else break;
      }
      const table = g.inits.get(tn);
      if (!table || (table.dims ?? []).length !== 2) return undefined;
      let idx = p.input?.[1] ?? '';
      for (let k = 0; k < 6; k++) {
        const q = g.producer.get(idx)?.node;
        if (q && MOVE.has(q.opType ?? '')) idx = q.input?.[0] ?? '';
        else break;
      }
      return idx === ids ? 'token' : 'position';
    }
    if (MOVE.has(op)) {
      t = p.input?.[0] ?? '';
      continue;
    }
    if (op === 'Mul' || op === 'Div') {
      const [a, b] = p.input ?? [];
      if (isConst(g, b)) {
        t = a;
        continue;
      }
      if (isConst(g, a) && op === 'Mul') {
        t = b;
        continue;
      }
    }
    return undefined;
  }
  return undefined;
}

/** The terms of the sum `roots` (Adds and Sums expanded down to computed tensors and constants), in graph order. */
function expandLeaves(g: GraphIndex, roots: string[], limit: number): { tensor: string; constant?: Float32Array }[] | undefined {
  const out: { tensor: string; constant?: Float32Array; at: number }[] = [];
  const stack = [...roots];
  while (stack.length) {
    if (out.length > limit) return undefined;
    const t = stack.pop()!;
    const c = weightOf(g, t);
    if (c) {
      out.push({ tensor: t, constant: c.data, at: -1 });
      continue;
    }
    const p = g.producer.get(t);
    if (p && !p.node.domain && (p.node.opType === 'Add' || p.node.opType === 'Sum')) {
      stack.push(...(p.node.input ?? []).filter(Boolean));
      continue;
    }
    // Identity, Cast, Reshape… between the stream and the norm (an exported last_hidden_state): the same values.
    if (p && !p.node.domain && MOVE.has(p.node.opType ?? '')) {
      stack.push(p.node.input?.[0] ?? '');
      continue;
    }
    out.push({ tensor: t, at: p?.index ?? -1 });
  }
  return out.sort((a, b) => a.at - b.at);
}

/**
 * The residual plan of a causal LM, or why there is none. `attention` lists the layers' probability tensors
 * (their graph position orders the terms into layers); `values` gives each layer's output projection.
 */
export function planResidual(
  model: onnx.ModelProto,
  logits: string | undefined,
  attention: string[],
  values: ValuePlan | undefined,
  opts: { vocabRows?: number; ids?: string; dir?: string } = {},
): ResidualPlan | { refused: string } {
  const { vocabRows, ids, dir } = opts;
  if (!logits) return { refused: 'the model has no language-model head output (logits)' };
  const g = indexGraph(model, dir);
  const unembed = findUnembedding(g, logits, vocabRows);
  if ('refused' in unembed) return unembed;
  const norm = findNorm(g, unembed.input, unembed.d);
  if ('refused' in norm) return norm;
  const layers: ResidualLayer[] = attention.map((_, l) => {
    const proj = values?.proj?.[l];
    return proj ? joinOf(g, proj, g.producer.get(proj)?.node) : {};
  });
  // Terms of the stream: bounded so a graph whose norm input is not a residual sum cannot make us walk it all.
  const terms = expandLeaves(g, norm.inputs, 16 * (attention.length + 4));
  if (!terms) return { refused: "the final norm's input is not a sum of a bounded number of terms" };
  const softmaxAt = attention.map((a) => g.producer.get(a)?.index ?? -1);
  const layerOf = (t: string) => {
    const at = g.producer.get(t)?.index ?? -1;
    let l = -1;
    softmaxAt.forEach((s, k) => {
      if (s >= 0 && s < at) l = Math.max(l, k);
    });
    return l;
  };
  const projLayer = new Map(layers.map((x, l) => [x.proj ?? '', l]));
  const leaves: Leaf[] = terms.map((t) => {
    if (t.constant) return { kind: 'bias', tensor: t.tensor, constant: t.constant, layer: -1, label: `constant ${t.tensor}` };
    const pl = projLayer.get(t.tensor);
    if (pl !== undefined) return { kind: 'attention', tensor: t.tensor, layer: pl, label: `attention L${pl}` };
    const emb = isEmbedding(g, t.tensor, ids);
    if (emb) return { kind: 'embedding', tensor: t.tensor, layer: -1, label: `${emb} embedding` };
    const l = layerOf(t.tensor);
    // Before the first layer and not a table lookup: an input term computed in the graph (sinusoidal positions).
    return { kind: l >= 0 ? 'mlp' : 'other', tensor: t.tensor, layer: l, label: l >= 0 ? `MLP L${l}` : `input term computed in the graph (${t.tensor})` };
  });
  // A bias folded into an attention leaf (Gemm's C, an Add of a constant): label the constants by the join.
  for (const lf of leaves) {
    if (lf.kind !== 'bias') continue;
    const adder = (g.consumers.get(lf.tensor) ?? []).find((n) => n.opType === 'Add');
    const other = adder ? (adder.input?.[0] === lf.tensor ? adder.input?.[1] : adder.input?.[0]) : undefined;
    const pl = other !== undefined ? projLayer.get(other) : undefined;
    const ml = other !== undefined ? layerOf(other) : -1;
    lf.layer = pl ?? ml;
    lf.label = pl !== undefined ? `attention bias L${pl}` : ml >= 0 ? `MLP bias L${ml}` : `bias ${lf.tensor}`;
  }
  return { norm, unembed, layers, leaves, d: unembed.d };
}

/** Where a layer's attention output joins the stream, found from its probabilities alone (no W_O needed). */
export interface AttentionJoin {
  /** The stream before and after the join. */
  input: string;
  mid: string;
  /** The operand computed from the probabilities (the layer's attention output as it is added). */
  branch: string;
}

/**
 * For each probability tensor: the first Add downstream of it whose one operand descends from the
 * probabilities and whose other is a computed tensor that does not (the residual stream); undefined where
 * the walk finds none within reach.
 */
export function attentionJoins(g: GraphIndex, sources: string[]): (AttentionJoin | undefined)[] {
  return sources.map((src) => {
    const desc = new Set<string>([src]);
    const start = g.producer.get(src)?.index ?? -1;
    if (start < 0) return undefined;
    for (let k = start + 1; k < g.nodes.length && k < start + 400; k++) {
      const n = g.nodes[k];
      const ins = n.input ?? [];
      if (!ins.some((x) => desc.has(x))) continue;
      if (n.opType === 'Add' && !n.domain) {
        const [a, b] = ins;
        const da = desc.has(a),
          db = desc.has(b);
        const other = da ? b : a;
        if (da !== db && !isConst(g, other)) return { input: other, mid: n.output?.[0] ?? '', branch: da ? a : b };
      }
      for (const o of n.output ?? []) desc.add(o);
    }
    return undefined;
  });
}

/** The stream after the last layer: from its attention join on through the Adds that carry it (the last MLP), to what reads it. */
export function finalStream(g: GraphIndex, lastMid: string): string {
  let t = lastMid;
  for (let step = 0; step < 4; step++) {
    const adds = (g.consumers.get(t) ?? []).filter(
      (n) => n.opType === 'Add' && !n.domain && !isConst(g, n.input?.[0] === t ? (n.input?.[1] ?? '') : (n.input?.[0] ?? '')),
    );
    if (adds.length !== 1) return t;
    t = adds[0].output?.[0] ?? t;
  }
  return t;
}
