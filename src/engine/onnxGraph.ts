// Reads an ONNX file defensively (modelBytes.ts), finds where attention probabilities live, and (when the
// model does not already output them) makes them graph outputs in memory. Nothing here touches onnxruntime,
// so it runs on hostile bytes without native code involved; every refusal is an EngineError.
import { valueInfo } from './valueInfo';
import { onnx } from 'onnx-proto';
import { EngineError, EXPORT_ADVICE } from '../core/errors';
import { kernelContext } from './kernels/context';
import { findKernels } from './kernels/plan';
import type { KernelPlan } from './kernels/types';
import { appendMessage, checkTensor } from './modelBytes';
import { num } from './weights';

// The file readers and the type walk live in their own modules; importers read them from here.
export { appendMessage, decodeModel, MAX_MODEL_BYTES, readModelBytes } from './modelBytes';
export { elemTypes } from './elemTypes';

export type InputRole = 'ids' | 'mask' | 'token-type' | 'position' | 'past' | 'use-cache-branch';
export interface InputSpec {
  name: string;
  role: InputRole;
  /** ONNX TensorProto.DataType of the input. */
  elemType: number;
  /** Fixed sizes as numbers, symbolic ones as their name (or '' when unnamed). */
  dims: (number | string)[];
}

export interface GraphPlan {
  inputs: InputSpec[];
  /** Names of outputs that carry attention, in layer order. */
  attentionOutputs: string[];
  /** true when `attentionOutputs` were added by us (Softmax outputs) rather than exported by the user. */
  rewritten: boolean;
  /** Rows of the token embedding (the Gather on input_ids), if found. */
  vocabRows?: number;
  /** Rows of the position table (another rank-2 Gather table not indexed by ids/token types), if found. */
  positionRows?: number;
  /** The model keeps tensors in external files (then ORT needs the model's folder). */
  externalData: boolean;
  opset: number;
  /**
   * The language-model head's output ([batch, seq, vocab] next-token logits), when the graph has one: an
   * output named like logits, or a rank-3 output whose last dimension is the embedding's row count.
   */
  logitsOutput?: string;
  /** The first output (logits or hidden states): what a head's effect is measured on without logits. */
  mainOutput?: string;
  /**
   * Fused attention kernels by their attention name (kernels/plan.ts): those entries of attentionOutputs
   * name no tensor; the kernel's plan says how its heads are recomputed.
   */
  kernels: Map<string, KernelPlan>;
}

function valueRank(v: onnx.IValueInfoProto | undefined): number | undefined {
  const shape = v?.type?.tensorType?.shape;
  return shape ? (shape.dim ?? []).length : undefined;
}

function dimsOf(v: onnx.IValueInfoProto): (number | string)[] {
  return (v.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue != null && num(d.dimValue) > 0 ? num(d.dimValue) : ''));
}

function classifyInputs(graph: onnx.IGraphProto, label: string): InputSpec[] {
  const inits = new Set((graph.initializer ?? []).map((t) => t.name));
  const real = (graph.input ?? []).filter((i) => !inits.has(i.name));
  const specs: InputSpec[] = [];
  const unknown: onnx.IValueInfoProto[] = [];
  for (const v of real) {
    const name = v.name ?? '';
    const lower = name.toLowerCase();
    let role: InputRole | undefined;
    if (lower === 'input_ids' || lower === 'input' || lower === 'ids' || lower === 'tokens') role = 'ids';
    else if (lower.includes('attention_mask') || lower === 'mask' || lower === 'input_mask') role = 'mask';
    else if (lower.includes('token_type') || lower.includes('segment_ids')) role = 'token-type';
    else if (lower.includes('position_ids')) role = 'position';
    else if (lower.startsWith('past')) role = 'past';
    else if (lower === 'use_cache_branch') role = 'use-cache-branch';
    if (role) specs.push({ name, role, elemType: v.type?.tensorType?.elemType ?? 7, dims: dimsOf(v) });
    else unknown.push(v);
  }
  // An ids input under another name: accept exactly one leftover integer input.
  if (!specs.some((s) => s.role === 'ids') && unknown.length === 1 && [6, 7].includes(unknown[0].type?.tensorType?.elemType ?? 0)) {
    const v = unknown.pop()!;
    specs.push({ name: v.name ?? '', role: 'ids', elemType: v.type?.tensorType?.elemType ?? 7, dims: dimsOf(v) });
  }
  if (unknown.length) {
    throw new EngineError(
      'unsupported-input',
      `${label} has input(s) ${unknown.map((u) => `"${u.name}"`).join(', ')} that Headlight does not know how to fill. It feeds input_ids, attention_mask, token_type_ids, position_ids and empty past_key_values.*; export the model with only those inputs.`,
      { inputs: unknown.map((u) => u.name).join(',') },
    );
  }
  if (!specs.some((s) => s.role === 'ids'))
    throw new EngineError('unsupported-input', `${label} has no input_ids input. Export a language model whose first input is input_ids.`);
  return specs;
}

const PASS_THROUGH = new Set(['Cast', 'Reshape', 'Unsqueeze', 'Squeeze', 'Identity', 'Flatten']);
/** Ops between an arange and a position lookup that keep it a position (past length added, batch expanded). */
const POSITION_OFFSET = new Set(['Add', 'Sub', 'Expand', 'Slice']);

/** Inspect a decoded model: refuse fused attention, validate tensors, find attention and embeddings. */
export function planGraph(model: onnx.ModelProto, modelDir: string, label: string): GraphPlan {
  const graph = model.graph!;
  const opset = Math.max(0, ...(model.opsetImport ?? []).filter((o) => !o.domain || o.domain === 'ai.onnx').map((o) => num(o.version)));
  if (opset > 0 && opset < 13)
    throw new EngineError(
      'unsupported-input',
      `${label} uses opset ${opset}; Headlight needs opset 13 or newer (Softmax over the last axis). Export again with opset_version=14 or later.`,
      { opset },
    );
  const nodes = graph.node ?? [];
  const { tables, externalData } = checkConstants(graph, modelDir, label);
  // Fused attention kernels first (refused here, with the reason, when they cannot be read): a kernel that
  // cannot be read usually also brings inputs of its own, and the kernel is the real reason.
  const kernels = findKernels(model, kernelContext(model, label, modelDir));
  const inputs = classifyInputs(graph, label);
  fillPastHeadSize(
    inputs,
    kernels.map((k) => k.plan),
  );
  checkPastLength(inputs, label);
  const { vocabRows, positionRows } = embeddingRows(
    nodes,
    tables,
    inputs,
    kernels.map((k) => k.plan),
  );
  // The user's own attention outputs win; else every attention Softmax, and the fused kernels.
  const declared = declaredAttention(graph);
  if (declared)
    return {
      inputs,
      attentionOutputs: declared,
      rewritten: false,
      vocabRows,
      positionRows,
      externalData,
      opset,
      kernels: new Map(),
      ...outputsOf(graph, vocabRows, declared),
    };
  const sources = attentionSources(graph, kernels, label);
  const kernelMap = new Map(kernels.map((k) => [k.plan.source, k.plan]));
  return {
    inputs,
    attentionOutputs: sources,
    rewritten: true,
    vocabRows,
    positionRows,
    externalData,
    opset,
    kernels: kernelMap,
    ...outputsOf(graph, vocabRows, sources),
  };
}

/** Every initializer and Constant checked (checkTensor); their dims by name, and whether any is external. */
function checkConstants(graph: onnx.IGraphProto, modelDir: string, label: string): { tables: Map<string, number[]>; externalData: boolean } {
  let externalData = false;
  const tables = new Map<string, number[]>(); // constant name -> dims
  for (const t of graph.initializer ?? []) {
    if (checkTensor(t, modelDir, label).external) externalData = true;
    tables.set(t.name ?? '', (t.dims ?? []).map(num));
  }
  for (const n of graph.node ?? []) {
    if (n.opType !== 'Constant') continue;
    const t = (n.attribute ?? []).find((a) => a.name === 'value')?.t;
    if (t) {
      if (checkTensor(t, modelDir, label).external) externalData = true;
      tables.set(n.output?.[0] ?? '', (t.dims ?? []).map(num));
    }
  }
  return { tables, externalData };
}

/**
 * Rows of the token embedding and of the position table, the limits on vocabulary and length.
 * Embedding tables: Gather(data = rank-2 constant, indices traced back through reshapes/casts).
 * A position table is one indexed by the position input or by an in-graph arange (Range or a CumSum of
 * the mask, maybe offset by the past length): a learned table or a rotary cos/sin cache. A T5-style
 * bucket table (indexed by clipped, log-bucketed distances) or a table indexed by anything else is not
 * a limit on the sequence.
 */
function embeddingRows(
  nodes: onnx.INodeProto[],
  tables: Map<string, number[]>,
  inputs: InputSpec[],
  kernels: KernelPlan[],
): { vocabRows?: number; positionRows?: number } {
  let vocabRows: number | undefined;
  let positionRows: number | undefined;
  const producer = new Map<string, onnx.INodeProto>();
  for (const n of nodes) for (const o of n.output ?? []) producer.set(o, n);
  const inputRole = new Map(inputs.map((s) => [s.name, s.role]));
  const traceRole = (name: string): InputRole | 'range' | 'other' => {
    for (let depth = 0; depth < 8; depth++) {
      const r = inputRole.get(name);
      if (r) return r;
      const p = producer.get(name);
      if (p?.opType === 'Range' || p?.opType === 'CumSum') return 'range'; // an arange, or positions counted along the mask
      if (!p || !(PASS_THROUGH.has(p.opType ?? '') || POSITION_OFFSET.has(p.opType ?? ''))) return 'other';
      name = p.input?.[0] ?? '';
    }
    return 'other';
  };
  const gathers: { dims: number[]; role: InputRole | 'range' | 'other' }[] = [];
  for (const n of nodes) {
    if (n.opType !== 'Gather') continue;
    const dims = tables.get(n.input?.[0] ?? '');
    if (!dims || dims.length !== 2) continue;
    gathers.push({ dims, role: traceRole(n.input?.[1] ?? '') });
  }
  // A table sliced to the sequence length (`pos_table[:T]`, a rotary cache `cos[:T]`): rows bound the length too.
  for (const n of nodes) {
    if (n.opType !== 'Slice') continue;
    const dims = tables.get(n.input?.[0] ?? '');
    const ends = n.input?.[2] ?? '';
    if (dims && dims.length === 2 && dims[0] >= 8 && ends && !tables.has(ends) && traceRole(ends) !== 'ids')
      positionRows = Math.max(positionRows ?? 0, dims[0]);
  }
  for (const g of gathers) {
    if (g.role === 'ids') vocabRows = Math.max(vocabRows ?? 0, g.dims[0]);
    // Any width: a learned table is d_model wide, a rotary cos/sin cache head_dim (or half) wide.
    else if (g.role === 'position' || g.role === 'range') positionRows = Math.max(positionRows ?? 0, g.dims[0]);
  }
  // The optimizer's fused embedding (com.microsoft EmbedLayerNormalization: ids, segment ids, word, position
  // and segment tables) and rotary caches read by a kernel bound the vocabulary and the length too.
  for (const n of nodes) {
    if (n.opType !== 'EmbedLayerNormalization') continue;
    const word = tables.get(n.input?.[2] ?? ''),
      pos = tables.get(n.input?.[3] ?? '');
    if (word?.length === 2) vocabRows = Math.max(vocabRows ?? 0, word[0]);
    if (pos?.length === 2) positionRows = Math.max(positionRows ?? 0, pos[0]);
  }
  for (const k of kernels) if (k.positionRows) positionRows = Math.max(positionRows ?? 0, k.positionRows);
  // A RotaryEmbedding op's cos cache (com.microsoft: input 2; ONNX opset 23: input 1) has a row per position.
  for (const n of nodes) {
    if (n.opType !== 'RotaryEmbedding') continue;
    const cache = tables.get(n.input?.[n.domain === 'com.microsoft' ? 2 : 1] ?? '');
    if (cache && cache.length === 2) positionRows = Math.max(positionRows ?? 0, cache[0]);
  }
  return { vocabRows, positionRows };
}

/** Rank-4 outputs named like attention (the user's own), in layer order; undefined when there are none. */
function declaredAttention(graph: onnx.IGraphProto): string[] | undefined {
  const declared = (graph.output ?? []).filter((o) => /attn|attention/i.test(o.name ?? '') && valueRank(o) !== undefined && valueRank(o) === 4);
  if (!declared.length) return undefined;
  const names = declared.map((o) => o.name ?? '');
  // attn.0, attentions.11 …: sort by the layer number in the name, else keep graph order.
  const idx = (s: string) => Number(/(\d+)(?!.*\d)/.exec(s)?.[1] ?? NaN);
  if (names.every((s) => Number.isFinite(idx(s)))) names.sort((a, b) => idx(a) - idx(b));
  return names;
}

/**
 * Every Softmax of the main graph whose rank is 3 or more (or unknown), in node order
 * (ONNX requires nodes in topological order, so this is layer order). No structural pattern is
 * demanded: exports differ (Where vs Add masks, Trilu or Range/LessOrEqual causal masks, K/V
 * repeated by Expand+Reshape or Tile for GQA, per-head scores stacked, softmax in another float
 * type between Casts), and the run-time probe in session.ts keeps only outputs whose trailing two
 * dims are [n, n] with batch 1: [1, heads, n, n], GQA's grouped [1, kv_heads, groups, n, n], or
 * heads folded into batch [heads, n, n].
 * Fused kernels stand in the same list, in node order, under their synthetic names.
 */
function attentionSources(graph: onnx.IGraphProto, kernels: { index: number; plan: KernelPlan }[], label: string): string[] {
  const nodes = graph.node ?? [];
  const valueInfo = new Map<string, onnx.IValueInfoProto>();
  for (const v of [...(graph.valueInfo ?? []), ...(graph.output ?? [])]) valueInfo.set(v.name ?? '', v);
  const softmaxOuts: string[] = [];
  const kernelAt = new Map(kernels.map((k) => [k.index, k.plan.source]));
  nodes.forEach((n, i) => {
    const kernel = kernelAt.get(i);
    if (kernel) {
      softmaxOuts.push(kernel);
      return;
    }
    if (n.opType !== 'Softmax') return;
    const out = n.output?.[0] ?? '';
    const rank = valueRank(valueInfo.get(out));
    if (rank === undefined || rank >= 3) softmaxOuts.push(out);
  });
  if (softmaxOuts.length === 0) throw noAttention(nodes, label);
  return softmaxOuts;
}

/** Why a graph with neither a Softmax nor a known kernel has no attention Headlight can read. */
function noAttention(nodes: onnx.INodeProto[], label: string): EngineError {
  const inSub = nodes.some((n) => (n.attribute ?? []).some((a) => a.g || (a.graphs ?? []).length));
  const msOps = [...new Set(nodes.filter((n) => n.domain === 'com.microsoft').map((n) => n.opType))];
  const why = msOps.length
    ? `It contains ONNX Runtime contrib ops (${msOps.slice(0, 4).join(', ')}) but no attention kernel Headlight knows and no Softmax. ${EXPORT_ADVICE}`
    : inSub
      ? `Its Softmax may sit inside If/Loop subgraphs (e.g. an optimum "merged" decoder), which Headlight does not search. Export without merging (optimum-cli export onnx --no-post-process).`
      : `Headlight looks for Softmax nodes over [batch, heads, query, key] scores (MatMul(Q, Kᵀ) → Softmax → MatMul with V) or rank-4 outputs named attn*/attention*. ${EXPORT_ADVICE}`;
  return new EngineError('no-attention', `${label} has no attention Headlight can read. ${why}`);
}

/**
 * Headlight runs a text without a cache: every past input gets length 0. A past declared with a fixed, non-zero
 * length (the second-to-last dimension) cannot take that, and would contradict the mask if it were filled.
 */
function checkPastLength(inputs: InputSpec[], label: string): void {
  for (const spec of inputs) {
    const len = spec.dims[spec.dims.length - 2];
    if (spec.role === 'past' && typeof len === 'number' && len > 0) {
      throw new EngineError(
        'unsupported-input',
        `${label} declares its cache input "${spec.name}" with a fixed past length of ${len}. ` +
          `Headlight runs the selection in one pass with an empty cache (length 0), which that declaration forbids, and a cache of ${len} would not match attention_mask. ` +
          `Export with a dynamic past length (dynamic_axes in torch.onnx.export; the onnxruntime-genai builder's default).`,
        { input: spec.name, past: len },
      );
    }
  }
}

/**
 * An empty key/value cache needs its head size; the onnxruntime-genai builder declares it symbolic. The
 * kernel reading the cache knows it (its query width over its heads).
 */
function fillPastHeadSize(inputs: InputSpec[], plans: KernelPlan[]): void {
  for (const p of plans) {
    if (p.headSize === undefined) continue;
    for (const spec of inputs) {
      if (spec.role !== 'past' || !p.pastInputs.includes(spec.name)) continue;
      const last = spec.dims.length - 1;
      if (last >= 0 && typeof spec.dims[last] !== 'number') spec.dims[last] = p.headSize;
    }
  }
}

/** The LM head's logits output and the model's main output (see GraphPlan). */
function outputsOf(graph: onnx.IGraphProto, vocabRows: number | undefined, attention: string[]): { logitsOutput?: string; mainOutput?: string } {
  const outs = (graph.output ?? []).filter((o) => !attention.includes(o.name ?? '') && !/^present/i.test(o.name ?? ''));
  const dims = (o: onnx.IValueInfoProto) => o.type?.tensorType?.shape?.dim ?? [];
  const float = (o: onnx.IValueInfoProto) => [onnx.TensorProto.DataType.FLOAT, onnx.TensorProto.DataType.FLOAT16].includes(o.type?.tensorType?.elemType ?? 0);
  const rank3 = outs.filter((o) => dims(o).length === 3 && float(o));
  const logits = rank3.find((o) => /logits/i.test(o.name ?? '')) ?? (vocabRows ? rank3.find((o) => num(dims(o)[2]?.dimValue) === vocabRows) : undefined);
  return { logitsOutput: logits?.name ?? undefined, mainOutput: (rank3[0] ?? outs[0])?.name ?? undefined };
}

/** Name of the float32 copy of the i-th attention source (see addGraphOutputs). */
export const attentionOutputName = (i: number): string => `headlight.attention.${i}`;

const FLOAT = onnx.TensorProto.DataType.FLOAT;

/**
 * Add outputs without re-encoding the whole model: protobuf merges a repeated embedded message
 * field, so appending `ModelProto{ graph: { node: [...], output: [...] } }` to the original bytes
 * extends graph.node and graph.output and keeps every other byte (including fields onnx-proto's
 * older schema does not know) exactly as the user exported it. Returns a new buffer and the name to
 * fetch for each source; the user's file is never touched.
 *
 * A float32 source becomes a graph output as it is (unless it already is one). Any other type (fp16
 * models, a double softmax between Casts) goes through an appended Cast(to=FLOAT) whose output is
 * fetched instead: a graph output declared FLOAT over a non-float tensor makes ORT refuse the model.
 * Not everything is cast: ORT keeps a float→float Cast that feeds a graph output (checked with
 * optimizedModelFilePath), and that copy would double the memory of the largest tensors we fetch.
 * `castAll` is the fallback when a type was guessed wrong. Appended nodes come last, so the graph
 * stays topologically sorted.
 */
export function addGraphOutputs(
  original: Uint8Array,
  sources: string[],
  types: (number | undefined)[],
  existing: string[],
  castAll = false,
): { bytes: Uint8Array; outputs: string[] } {
  const cast = sources.map((_, i) => castAll || (types[i] !== undefined && types[i] !== FLOAT));
  const outputs = sources.map((src, i) => (cast[i] ? attentionOutputName(i) : src));
  const declare = outputs.filter((o) => !existing.includes(o));
  const extra = onnx.ModelProto.encode(
    onnx.ModelProto.create({
      graph: onnx.GraphProto.create({
        node: sources.flatMap((src, i) =>
          cast[i]
            ? [
                onnx.NodeProto.create({
                  opType: 'Cast',
                  name: `headlight.cast.${i}`,
                  input: [src],
                  output: [outputs[i]],
                  attribute: [onnx.AttributeProto.create({ name: 'to', i: FLOAT, type: onnx.AttributeProto.AttributeType.INT })],
                }),
              ]
            : [],
        ),
        output: declare.map((name) => valueInfo(name, FLOAT)),
      }),
    }),
  ).finish();
  return { bytes: appendMessage(original, extra), outputs };
}
