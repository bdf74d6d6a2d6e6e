// Reads an ONNX file defensively, finds where attention probabilities live, and (when the model does
// not already output them) makes them graph outputs in memory. Nothing here touches onnxruntime, so
// it runs on hostile bytes without native code involved; every refusal is an EngineError.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { EngineError, EXPORT_ADVICE } from './errors';
import { kernelContext } from './kernels/context';
import { findKernels } from './kernels/plan';
import type { KernelPlan } from './kernels/types';

type Long = { toNumber(): number };
const num = (v: number | Long | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

/** protobuf (and so ONNX without external data) cannot hold more than 2 GiB in one message. */
export const MAX_MODEL_BYTES = 2 ** 31 - 1;

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

/**
 * Read the file, with size checks before any decoding. `spare` bytes of room are left after it (not part of
 * the returned view), so appendMessage can add outputs without copying the whole model.
 */
export function readModelBytes(modelPath: string, spare = 0): Buffer {
  let st: fs.Stats;
  try {
    st = fs.statSync(modelPath);
  } catch {
    throw new EngineError('file-not-found', `Model file not found: ${modelPath}. Point the model setting at an existing .onnx file.`, { path: modelPath });
  }
  if (!st.isFile()) throw new EngineError('file-not-found', `${modelPath} is not a file. Give the path of the .onnx file itself (or a folder holding model.onnx).`);
  if (st.size === 0) throw new EngineError('empty-file', `The model file ${modelPath} is empty (0 bytes); the download or export probably failed. Export it again.`);
  if (st.size > MAX_MODEL_BYTES) {
    throw new EngineError('model-too-large', `${modelPath} is ${(st.size / 2 ** 30).toFixed(1)} GiB; a single ONNX protobuf is limited to 2 GiB. Export with external data (torch.onnx.export(..., external_data=True) or onnx.save(..., save_as_external_data=True)).`, { bytes: st.size });
  }
  if (!spare) return fs.readFileSync(modelPath);
  const buf = Buffer.allocUnsafe(st.size + spare);
  const fd = fs.openSync(modelPath, 'r');
  try {
    let at = 0;
    while (at < st.size) {
      const got = fs.readSync(fd, buf, at, st.size - at, at);
      if (got === 0) break;
      at += got;
    }
    return buf.subarray(0, at);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * `original` followed by `extra` (protobuf merges an appended message into the model). Written into the room
 * readModelBytes left after the model when there is enough — no copy of a model that may be gigabytes — else
 * concatenated. A later append overwrites an earlier one's room: use each result before appending again.
 */
export function appendMessage(original: Uint8Array, extra: Uint8Array): Uint8Array {
  const end = original.byteOffset + original.length;
  if (end + extra.length <= original.buffer.byteLength) {
    const whole = new Uint8Array(original.buffer, original.byteOffset, original.length + extra.length);
    whole.set(extra, original.length);
    return whole;
  }
  return Buffer.concat([original, extra]);
}

/** Decode guarded: hostile bytes become not-onnx / corrupt-model, never a crash. */
export function decodeModel(bytes: Uint8Array, label: string): onnx.ModelProto {
  const looksLikeOnnx = bytes.length > 0 && bytes[0] === 0x08; // field 1 (ir_version), varint
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    if (looksLikeOnnx) {
      throw new EngineError('corrupt-model', `${label} starts like an ONNX model but cannot be decoded (${(e as Error).message}); it is probably truncated or damaged. Copy or export it again and compare its size with the original.`);
    }
    throw notOnnx(bytes, label);
  }
  if (!model.graph || num(model.irVersion) <= 0 || num(model.irVersion) > 100) {
    if (looksLikeOnnx && num(model.irVersion) > 0) {
      throw new EngineError('corrupt-model', `${label} has an ONNX header but no graph; it is probably truncated or damaged. Export it again.`);
    }
    throw notOnnx(bytes, label);
  }
  if ((model.graph.node ?? []).length === 0) throw new EngineError('corrupt-model', `${label} decodes as ONNX but its graph has no nodes. Export the model again.`);
  return model;
}

function notOnnx(bytes: Uint8Array, label: string): EngineError {
  const head = Buffer.from(bytes.subarray(0, 4)).toString('latin1');
  let hint = 'Give an .onnx file exported with torch.onnx.export or optimum-cli export onnx.';
  if (head.startsWith('PK')) hint = 'It looks like a zip/PyTorch checkpoint (.pt/.bin); convert it with torch.onnx.export first.';
  else if (head.startsWith('{')) hint = 'It looks like JSON (a tokenizer.json or config.json?); the model setting needs the .onnx file.';
  else if (head.startsWith('GGUF')) hint = 'It is a GGUF file (llama.cpp); Headlight needs ONNX.';
  return new EngineError('not-onnx', `${label} is not an ONNX model. ${hint}`);
}

const ELEM_BITS: Record<number, number> = {
  1: 32, 2: 8, 3: 8, 4: 16, 5: 16, 6: 32, 7: 64, 9: 8, 10: 16, 11: 64, 12: 32, 13: 64, 14: 64, 15: 128, 16: 16,
  17: 8, 18: 8, 19: 8, 20: 8, 21: 4, 22: 4, 23: 4,
};

/** Every initializer must hold the bytes its dims declare; external data must stay inside the model's folder. */
function checkTensor(t: onnx.ITensorProto, modelDir: string, label: string): { external: boolean } {
  const dims = (t.dims ?? []).map(num);
  const name = t.name || '(unnamed)';
  if (dims.some((d) => d < 0 || !Number.isFinite(d))) throw new EngineError('corrupt-model', `Tensor ${name} in ${label} has a negative dimension; the file is damaged. Export it again.`);
  const count = dims.reduce((a, b) => a * b, 1);
  const bits = ELEM_BITS[t.dataType ?? 0];
  const bytes = bits === undefined ? undefined : Math.ceil((count * bits) / 8);
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    const kv = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    const loc = kv.get('location') ?? '';
    const resolved = path.resolve(modelDir, loc);
    const rel = path.relative(modelDir, resolved);
    if (!loc || path.isAbsolute(loc) || rel.startsWith('..') || path.isAbsolute(rel) || loc.includes('\0')) {
      throw new EngineError('external-data-outside', `Tensor ${name} in ${label} points its external data at "${loc}", outside the model's folder. Headlight only reads external data files that sit beside the model (or below it). Re-save the model with onnx.save(..., save_as_external_data=True, location="model.onnx.data").`, { tensor: name, location: loc });
    }
    let st: fs.Stats;
    try {
      // realpath: a symlink inside the folder must not lead outside it either.
      const real = fs.realpathSync(resolved);
      const realRel = path.relative(fs.realpathSync(modelDir), real);
      if (realRel.startsWith('..') || path.isAbsolute(realRel)) {
        throw new EngineError('external-data-outside', `Tensor ${name} in ${label}: external data "${loc}" is a link leading outside the model's folder. Copy the data file next to the model.`, { tensor: name, location: loc });
      }
      st = fs.statSync(real);
    } catch (e) {
      if (e instanceof EngineError) throw e;
      throw new EngineError('external-data-missing', `Tensor ${name} in ${label} needs the external data file "${loc}", which is not in ${modelDir}. Copy it next to the model file.`, { tensor: name, location: loc });
    }
    const offset = Number(kv.get('offset') ?? 0);
    const length = kv.has('length') ? Number(kv.get('length')) : bytes;
    if (!Number.isFinite(offset) || offset < 0 || (length !== undefined && (!Number.isFinite(length) || offset + length > st.size)) || (bytes !== undefined && offset + bytes > st.size)) {
      throw new EngineError('tensor-size-mismatch', `Tensor ${name} in ${label} declares ${bytes ?? length} bytes at offset ${offset} of "${loc}", but that file has only ${st.size} bytes. The data file is truncated or belongs to another export.`, { tensor: name });
    }
    return { external: true };
  }
  if (bytes === undefined) return { external: false }; // strings and unknown types: nothing to measure
  const raw = t.rawData?.length ?? 0;
  const typed = (t.floatData?.length ?? 0) + (t.int32Data?.length ?? 0) + (t.int64Data?.length ?? 0) + (t.doubleData?.length ?? 0) + (t.uint64Data?.length ?? 0);
  const ok = raw > 0 ? raw === bytes : typed > 0 ? typed === count || typed === 2 * count || typed === Math.ceil(count / 2) : count === 0;
  if (!ok) {
    throw new EngineError('tensor-size-mismatch', `Tensor ${name} in ${label} declares shape [${dims.join(', ')}] (${bytes} bytes) but holds ${raw || typed} ${raw ? 'bytes' : 'values'}. The file is damaged or was edited; export it again.`, { tensor: name, declaredBytes: bytes });
  }
  return { external: false };
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
    throw new EngineError('unsupported-input', `${label} has input(s) ${unknown.map((u) => `"${u.name}"`).join(', ')} that Headlight does not know how to fill. It feeds input_ids, attention_mask, token_type_ids, position_ids and empty past_key_values.*; export the model with only those inputs.`, { inputs: unknown.map((u) => u.name).join(',') });
  }
  if (!specs.some((s) => s.role === 'ids')) throw new EngineError('unsupported-input', `${label} has no input_ids input. Export a language model whose first input is input_ids.`);
  return specs;
}

const PASS_THROUGH = new Set(['Cast', 'Reshape', 'Unsqueeze', 'Squeeze', 'Identity', 'Flatten']);
/** Ops between an arange and a position lookup that keep it a position (past length added, batch expanded). */
const POSITION_OFFSET = new Set(['Add', 'Sub', 'Expand', 'Slice']);

/** Inspect a decoded model: refuse fused attention, validate tensors, find attention and embeddings. */
export function planGraph(model: onnx.ModelProto, modelDir: string, label: string): GraphPlan {
  const graph = model.graph!;
  const opset = Math.max(0, ...(model.opsetImport ?? []).filter((o) => !o.domain || o.domain === 'ai.onnx').map((o) => num(o.version)));
  if (opset > 0 && opset < 13) throw new EngineError('unsupported-input', `${label} uses opset ${opset}; Headlight needs opset 13 or newer (Softmax over the last axis). Export again with opset_version=14 or later.`, { opset });
  const nodes = graph.node ?? [];

  let externalData = false;
  const tables = new Map<string, number[]>(); // constant name -> dims
  for (const t of graph.initializer ?? []) {
    if (checkTensor(t, modelDir, label).external) externalData = true;
    tables.set(t.name ?? '', (t.dims ?? []).map(num));
  }
  const producer = new Map<string, onnx.INodeProto>();
  const consumers = new Map<string, onnx.INodeProto[]>();
  for (const n of nodes) {
    for (const o of n.output ?? []) producer.set(o, n);
    for (const i of n.input ?? []) consumers.set(i, [...(consumers.get(i) ?? []), n]);
    if (n.opType === 'Constant') {
      const t = (n.attribute ?? []).find((a) => a.name === 'value')?.t;
      if (t) {
        if (checkTensor(t, modelDir, label).external) externalData = true;
        tables.set(n.output?.[0] ?? '', (t.dims ?? []).map(num));
      }
    }
  }

  // Fused attention kernels first (refused here, with the reason, when they cannot be read): a kernel that
  // cannot be read usually also brings inputs of its own, and the kernel is the real reason.
  const kernels = findKernels(model, kernelContext(model, label, modelDir));
  const inputs = classifyInputs(graph, label);
  const inputRole = new Map(inputs.map((s) => [s.name, s.role]));
  fillPastHeadSize(inputs, kernels.map((k) => k.plan));
  checkPastLength(inputs, label);

  // Embedding tables: Gather(data = rank-2 constant, indices traced back through reshapes/casts).
  // A position table is one indexed by the position input or by an in-graph arange (Range or a CumSum of
  // the mask, maybe offset by the past length): a learned table or a rotary cos/sin cache. A T5-style
  // bucket table (indexed by clipped, log-bucketed distances) or a table indexed by anything else is not
  // a limit on the sequence.
  let vocabRows: number | undefined;
  let positionRows: number | undefined;
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
    if (dims && dims.length === 2 && dims[0] >= 8 && ends && !tables.has(ends) && traceRole(ends) !== 'ids') positionRows = Math.max(positionRows ?? 0, dims[0]);
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
    const word = tables.get(n.input?.[2] ?? ''), pos = tables.get(n.input?.[3] ?? '');
    if (word?.length === 2) vocabRows = Math.max(vocabRows ?? 0, word[0]);
    if (pos?.length === 2) positionRows = Math.max(positionRows ?? 0, pos[0]);
  }
  for (const k of kernels) if (k.plan.positionRows) positionRows = Math.max(positionRows ?? 0, k.plan.positionRows);
  // A RotaryEmbedding op's cos cache (com.microsoft: input 2; ONNX opset 23: input 1) has a row per position.
  for (const n of nodes) {
    if (n.opType !== 'RotaryEmbedding') continue;
    const cache = tables.get(n.input?.[n.domain === 'com.microsoft' ? 2 : 1] ?? '');
    if (cache && cache.length === 2) positionRows = Math.max(positionRows ?? 0, cache[0]);
  }
  const kernelMap = new Map(kernels.map((k) => [k.plan.source, k.plan]));

  // The user's own attention outputs win: rank-4 outputs named like attention.
  const valueInfo = new Map<string, onnx.IValueInfoProto>();
  for (const v of [...(graph.valueInfo ?? []), ...(graph.output ?? [])]) valueInfo.set(v.name ?? '', v);
  const declared = (graph.output ?? []).filter((o) => /attn|attention/i.test(o.name ?? '') && valueRank(o) !== undefined && valueRank(o) === 4);
  if (declared.length) {
    const names = declared.map((o) => o.name ?? '');
    // attn.0, attentions.11 …: sort by the layer number in the name, else keep graph order.
    const idx = (s: string) => Number(/(\d+)(?!.*\d)/.exec(s)?.[1] ?? NaN);
    if (names.every((s) => Number.isFinite(idx(s)))) names.sort((a, b) => idx(a) - idx(b));
    return { inputs, attentionOutputs: names, rewritten: false, vocabRows, positionRows, externalData, opset, kernels: new Map(), ...outputsOf(graph, vocabRows, names) };
  }

  // Otherwise: every Softmax of the main graph whose rank is 3 or more (or unknown), in node order
  // (ONNX requires nodes in topological order, so this is layer order). No structural pattern is
  // demanded: exports differ (Where vs Add masks, Trilu or Range/LessOrEqual causal masks, K/V
  // repeated by Expand+Reshape or Tile for GQA, per-head scores stacked, softmax in another float
  // type between Casts), and the run-time probe in session.ts keeps only outputs whose trailing two
  // dims are [n, n] with batch 1: [1, heads, n, n], GQA's grouped [1, kv_heads, groups, n, n], or
  // heads folded into batch [heads, n, n].
  // Fused kernels stand in the same list, in node order, under their synthetic names.
  const softmaxOuts: string[] = [];
  const kernelAt = new Map(kernels.map((k) => [k.index, k.plan.source]));
  nodes.forEach((n, i) => {
    const kernel = kernelAt.get(i);
    if (kernel) { softmaxOuts.push(kernel); return; }
    if (n.opType !== 'Softmax') return;
    const out = n.output?.[0] ?? '';
    const rank = valueRank(valueInfo.get(out));
    if (rank === undefined || rank >= 3) softmaxOuts.push(out);
  });
  if (softmaxOuts.length === 0) {
    const inSub = nodes.some((n) => (n.attribute ?? []).some((a) => a.g || (a.graphs ?? []).length));
    const msOps = [...new Set(nodes.filter((n) => n.domain === 'com.microsoft').map((n) => n.opType))];
    const why = msOps.length
      ? `It contains ONNX Runtime contrib ops (${msOps.slice(0, 4).join(', ')}) but no attention kernel Headlight knows and no Softmax. ${EXPORT_ADVICE}`
      : inSub
        ? `Its Softmax may sit inside If/Loop subgraphs (e.g. an optimum "merged" decoder), which Headlight does not search. Export without merging (optimum-cli export onnx --no-post-process).`
        : `Headlight looks for Softmax nodes over [batch, heads, query, key] scores (MatMul(Q, Kᵀ) → Softmax → MatMul with V) or rank-4 outputs named attn*/attention*. ${EXPORT_ADVICE}`;
    throw new EngineError('no-attention', `${label} has no attention Headlight can read. ${why}`);
  }
  return { inputs, attentionOutputs: softmaxOuts, rewritten: true, vocabRows, positionRows, externalData, opset, kernels: kernelMap, ...outputsOf(graph, vocabRows, softmaxOuts) };
}

/**
 * Headlight runs a text without a cache: every past input gets length 0. A past declared with a fixed, non-zero
 * length (the second-to-last dimension) cannot take that, and would contradict the mask if it were filled.
 */
function checkPastLength(inputs: InputSpec[], label: string): void {
  for (const spec of inputs) {
    const len = spec.dims[spec.dims.length - 2];
    if (spec.role === 'past' && typeof len === 'number' && len > 0) {
      throw new EngineError('unsupported-input', `${label} declares its cache input "${spec.name}" with a fixed past length of ${len}. ` +
        `Headlight runs the selection in one pass with an empty cache (length 0), which that declaration forbids, and a cache of ${len} would not match attention_mask. ` +
        `Export with a dynamic past length (dynamic_axes in torch.onnx.export; the onnxruntime-genai builder's default).`, { input: spec.name, past: len });
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
// Ops whose output has the element type of one given input (the rest: see elemTypes below).
const SAME_AS_INPUT: Record<string, number> = { Where: 1 };
const BOOL_OPS = new Set(['Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf']);
const INT64_OPS = new Set(['Shape', 'Size', 'ArgMax', 'ArgMin', 'NonZero']);
/**
 * com.microsoft ops whose outputs have their first input's type (projections, norms, activations, rotary and
 * the attention kernels, their present caches included); EmbedLayerNormalization's outputs have its word
 * table's type, but for mask_index (int32).
 */
const MS_SAME_AS_INPUT = new Set(['MatMulNBits', 'RotaryEmbedding', 'SkipLayerNormalization', 'SkipSimplifiedLayerNormalization', 'SimplifiedLayerNormalization',
  'FastGelu', 'BiasGelu', 'Gelu', 'QuickGelu', 'BiasAdd', 'GemmFastGelu', 'GroupQueryAttention', 'MultiHeadAttention', 'Attention', 'BiasSplitGelu']);

/**
 * Element types of `names` (ONNX TensorProto.DataType), or undefined where the graph does not tell:
 * declared value_info/inputs/outputs first, else a walk back through producers (Cast → its `to`,
 * comparisons → bool, shape ops → int64, Where → its X, everything else → its first input's type).
 */
export function elemTypes(model: onnx.ModelProto, names: string[]): (number | undefined)[] {
  const graph = model.graph!;
  const known = new Map<string, number>();
  for (const v of [...(graph.input ?? []), ...(graph.valueInfo ?? []), ...(graph.output ?? [])]) {
    const t = v.type?.tensorType?.elemType;
    if (v.name && t) known.set(v.name, t);
  }
  for (const t of graph.initializer ?? []) if (t.name && t.dataType) known.set(t.name, t.dataType);
  const producer = new Map<string, onnx.INodeProto>();
  for (const n of graph.node ?? []) for (const o of n.output ?? []) producer.set(o, n);
  const attr = (n: onnx.INodeProto, name: string) => (n.attribute ?? []).find((a) => a.name === name);
  const memo = new Map<string, number | undefined>();
  const typeOf = (name: string, depth: number): number | undefined => {
    if (known.has(name)) return known.get(name);
    if (memo.has(name)) return memo.get(name);
    const n = producer.get(name);
    let t: number | undefined;
    if (n && depth < 200) {
      const op = n.opType ?? '';
      if (n.domain === 'com.microsoft' && op === 'EmbedLayerNormalization') {
        t = name === n.output?.[1] ? onnx.TensorProto.DataType.INT32 : typeOf((n.input ?? [])[2] ?? '', depth + 1);
      } else if (n.domain === 'com.microsoft' && MS_SAME_AS_INPUT.has(op)) t = typeOf((n.input ?? [])[0] ?? '', depth + 1);
      else if (n.domain && n.domain !== 'ai.onnx') t = undefined;
      else if (op === 'Cast') t = num(attr(n, 'to')?.i);
      else if (op === 'Constant') t = attr(n, 'value')?.t?.dataType ?? undefined;
      else if (op === 'ConstantOfShape') t = attr(n, 'value')?.t?.dataType ?? FLOAT;
      else if (BOOL_OPS.has(op)) t = onnx.TensorProto.DataType.BOOL;
      else if (INT64_OPS.has(op)) t = onnx.TensorProto.DataType.INT64;
      // Split's every output has its input's type (Q, K, V of a fused qkv projection).
      else if ((n.output ?? [])[0] === name || op === 'Split') t = typeOf((n.input ?? [])[SAME_AS_INPUT[op] ?? 0] ?? '', depth + 1);
    }
    memo.set(name, t || undefined);
    return t || undefined;
  };
  return names.map((nm) => typeOf(nm, 0));
}

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
export function addGraphOutputs(original: Uint8Array, sources: string[], types: (number | undefined)[], existing: string[], castAll = false): { bytes: Uint8Array; outputs: string[] } {
  const cast = sources.map((_, i) => castAll || (types[i] !== undefined && types[i] !== FLOAT));
  const outputs = sources.map((src, i) => (cast[i] ? attentionOutputName(i) : src));
  const declare = outputs.filter((o) => !existing.includes(o));
  const extra = onnx.ModelProto.encode(
    onnx.ModelProto.create({
      graph: onnx.GraphProto.create({
        node: sources.flatMap((src, i) => (cast[i] ? [onnx.NodeProto.create({
          opType: 'Cast', name: `headlight.cast.${i}`, input: [src], output: [outputs[i]],
          attribute: [onnx.AttributeProto.create({ name: 'to', i: FLOAT, type: onnx.AttributeProto.AttributeType.INT })],
        })] : [])),
        output: declare.map((name) => onnx.ValueInfoProto.create({
          name,
          type: onnx.TypeProto.create({ tensorType: onnx.TypeProto.Tensor.create({ elemType: FLOAT }) }),
        })),
      }),
    }),
  ).finish();
  return { bytes: appendMessage(original, extra), outputs };
}
