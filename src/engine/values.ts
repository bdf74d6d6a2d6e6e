// Value-weighted attention (Kobayashi et al. 2020, "Attention is not only a weight"): what token j sends to
// query i through head h is α_ij · v_j W_O^h, so its size is α_ij · ‖v_j W_O^h‖. A token can take a large
// weight and send almost nothing (special tokens, whose value vectors are small). Here the graph is read to
// find each layer's value tensor (the second input of the MatMul its probabilities feed) and, where it can be
// identified, the output projection W_O (the first MatMul with a constant [heads·d_head, d] weight after the
// heads are merged); the run fetches the values and ‖v_j W_O^h‖ is computed per head and key — or ‖v_j‖
// where W_O cannot be found, and the result says which.
import { symbolicDims, valueInfo, ownModel } from './valueInfo';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import type { KernelPlan } from './kernels/types';
import { nbitsWeight } from './nbits';
import { indexGraph, matmulWeight } from './weights';

export interface ValuePlan {
  /**
   * Per attention layer: the value tensor the probabilities multiply ([1, heads, n, d_head]); for a fused
   * kernel its attention name (the worker reads its values off the kept run through the kernel's plan).
   */
  values: string[];
  /** Per layer: W_O as [heads·d_head rows × d columns], row-major, when found. */
  wo: (Float32Array | undefined)[];
  woCols: number[];
  /** Per layer: the tensor W_O multiplies (every head's output, merged), when found, else ''. */
  merged: string[];
  /**
   * Per layer: W_O's own output (the heads' sum through the projection, before any bias Add), when found,
   * else '': where direct logit attribution splits a layer into heads and the cut ablations find the stream.
   */
  proj: string[];
}

/** Ops between the heads' context and the output projection that only move data. */
const MOVE = new Set(['Transpose', 'Reshape', 'Flatten', 'Identity', 'Cast']);

/**
 * The value tensors and output projections of `attention` (probability tensors in layer order, or the
 * attention names of fused kernels, whose merged output is where the walk to W_O starts).
 */
export async function planValues(
  model: onnx.ModelProto,
  attention: string[],
  kernels: ReadonlyMap<string, KernelPlan> = new Map(),
  modelDir?: string,
): Promise<ValuePlan> {
  // One reader of constant weights (weights.ts): Identity, Cast (float16), Transpose (no constant folding).
  const g = indexGraph(model, modelDir);
  const consumers = g.consumers;
  const plan: ValuePlan = { values: [], wo: [], woCols: [], merged: [], proj: [] };
  for (const src of attention) {
    const kernel = kernels.get(src);
    let at: string | undefined;
    if (kernel) {
      plan.values.push(src);
      at = kernel.output;
    } else {
      // The probabilities may be cast first (a float64 softmax in a float32 model, Gemma-style).
      let probs = src;
      for (let k = 0; k < 2; k++) {
        const c = consumers.get(probs) ?? [];
        if (c.length === 1 && (c[0].opType === 'Cast' || c[0].opType === 'Identity')) probs = c[0].output?.[0] ?? '';
      }
      const mm = (consumers.get(probs) ?? []).find((n) => n.opType === 'MatMul' && n.input?.[0] === probs);
      plan.values.push(mm?.input?.[1] ?? '');
      at = mm?.output?.[0];
    }
    let wo: Float32Array | undefined,
      cols = 0,
      merged = '',
      proj = '';
    for (let step = 0; at && step < 6 && !wo; step++) {
      const next: onnx.INodeProto[] = consumers.get(at) ?? [];
      if (next.length !== 1) break;
      const n = next[0];
      if (MOVE.has(n.opType ?? '')) {
        at = n.output?.[0];
        continue;
      }
      if (n.opType === 'MatMul' || n.opType === 'Gemm') {
        // Rows must be the input features (heads · d_head); matmulWeight reads Gemm's transB layout.
        const w = matmulWeight(g, n);
        if (w) [wo, cols, merged, proj] = [w.data, w.cols, at, n.output?.[0] ?? ''];
      } else if (n.opType === 'MatMulNBits' && n.domain === 'com.microsoft') {
        // 4/8-bit weights (the onnxruntime-genai builder's o_proj): dequantised by the runtime itself.
        const w = await nbitsWeight(n, g.inits, modelDir);
        if (w) [wo, cols, merged, proj] = [w.data, w.cols, at, n.output?.[0] ?? ''];
      }
      break;
    }
    plan.wo.push(wo);
    plan.woCols.push(cols);
    plan.merged.push(merged);
    plan.proj.push(proj);
  }
  return plan;
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

/**
 * A six-node graph for one layer's norms, run by onnxruntime: a JS loop cost 1.9 s per 1,024-token
 * explain of a 12 × 12-head model, on the explain's own path; this costs 24 ms. Input v [H, n, dh] and, with W_O, w [H, dh, d]: G_h = W_O^h W_O^hᵀ, then vᵀ G v per key — dh² per
 * key instead of dh·d. Output [H, n]. Symbolic dims, so one session serves every layer and length.
 */
function normGraph(withWo: boolean): Uint8Array {
  const node = (opType: string, input: string[], output: string, attribute: onnx.AttributeProto[] = []) =>
    onnx.NodeProto.create({ opType, input, output: [output], attribute, name: output });
  const nodes = withWo
    ? [
        node('Transpose', ['w'], 'wT', [onnx.AttributeProto.create({ name: 'perm', ints: [0, 2, 1], type: onnx.AttributeProto.AttributeType.INTS })]),
        node('MatMul', ['w', 'wT'], 'G'),
        node('MatMul', ['v', 'G'], 'vG'),
        node('Mul', ['v', 'vG'], 'sq'),
      ]
    : [node('Mul', ['v', 'v'], 'sq')];
  nodes.push(
    node('ReduceSum', ['sq', 'axis'], 's', [onnx.AttributeProto.create({ name: 'keepdims', i: 0, type: onnx.AttributeProto.AttributeType.INT })]),
    node('Relu', ['s'], 's0'), // float rounding can leave a tiny negative vᵀGv
    node('Sqrt', ['s0'], 'out'),
  );
  return ownModel({
    name: 'value-norms',
    node: nodes,
    initializer: [onnx.TensorProto.create({ name: 'axis', dataType: INT64, dims: [1], int64Data: [2] })],
    input: [valueInfo('v', FLOAT, symbolicDims('d', 3)), ...(withWo ? [valueInfo('w', FLOAT, symbolicDims('d', 3))] : [])],
    output: [valueInfo('out', FLOAT, symbolicDims('d', 2))],
  });
}

const sessions = new Map<boolean, Promise<ort.InferenceSession>>();
function normSession(withWo: boolean): Promise<ort.InferenceSession> {
  let s = sessions.get(withWo);
  if (!s) sessions.set(withWo, (s = ort.InferenceSession.create(normGraph(withWo), { logSeverityLevel: 3 })));
  return s;
}

/**
 * ‖v_j W_O^h‖ (or ‖v_j‖ without W_O) for every head and key of one layer. `v` is [H, n, dh] row-major;
 * W_O^h = rows h·dh … (h+1)·dh of `wo` ([H·dh, cols]). Returns [H × n].
 */
export async function valueNorms(v: Float32Array, H: number, n: number, dh: number, wo: Float32Array | undefined, cols: number): Promise<Float32Array> {
  const withWo = wo !== undefined && wo.length === H * dh * cols;
  const feeds: Record<string, ort.Tensor> = { v: new ort.Tensor('float32', v, [H, n, dh]) };
  if (withWo) feeds.w = new ort.Tensor('float32', wo, [H, dh, cols]);
  const out = await (await normSession(withWo)).run(feeds);
  return out.out.data as Float32Array;
}

export interface ValueNorms {
  /** [layers × heads × n]: ‖v_j W_O^h‖ (or ‖v_j‖) per layer, head and key. */
  data: Float32Array;
  /** 'value·W_O' where every layer's output projection was found, 'value' where none was, 'mixed' otherwise. */
  weighting: 'value·W_O' | 'value' | 'mixed';
}

/**
 * Norms for every layer from the fetched value tensors (`fetched[name]` = data and dims). Undefined when a
 * layer's value tensor is missing or not [.., n, d_head] with a head count that maps onto the query heads.
 */
export async function allValueNorms(
  plan: ValuePlan,
  layerSources: number[],
  H: number,
  n: number,
  fetched: Record<string, { data: Float32Array; dims: readonly number[] }>,
): Promise<ValueNorms | undefined> {
  const out = new Float32Array(layerSources.length * H * n);
  let withWo = 0;
  for (let l = 0; l < layerSources.length; l++) {
    const k = layerSources[l];
    const t = fetched[plan.values[k]];
    if (!t) return undefined;
    const d = t.dims.map(Number);
    const dh = d[d.length - 1];
    if (d[d.length - 2] !== n || d.length < 3) return undefined;
    const hv = d.slice(0, -2).reduce((a, b) => a * b, 1);
    if (hv < 1 || H % hv !== 0) return undefined;
    // Grouped-query values ([kv, n, dh]): query head h reads value head h / (H / kv), as HF's repeat_kv lays them out.
    const per = H / hv;
    const v =
      per === 1
        ? t.data
        : (() => {
            const r = new Float32Array(H * n * dh);
            for (let h = 0; h < H; h++) r.set(t.data.subarray(Math.floor(h / per) * n * dh, (Math.floor(h / per) + 1) * n * dh), h * n * dh);
            return r;
          })();
    const wo = plan.wo[k];
    if (wo && wo.length === H * dh * plan.woCols[k]) withWo++;
    out.set(await valueNorms(v, H, n, dh, wo, plan.woCols[k]), l * H * n);
  }
  return { data: out, weighting: withWo === layerSources.length ? 'value·W_O' : withWo === 0 ? 'value' : 'mixed' };
}
