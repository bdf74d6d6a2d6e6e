// The worker's side of information-flow routes (src/analysis/routes.ts): what a kept explain keeps for them
// (every layer's residual stream before and after its attention output joins, the final stream, the values
// and their ‖v_j W_O^h‖), and each step's distances for the tracer — attention weights recomputed from the
// kept run, ⟨W_O^h y, v_j⟩ for every head and key on ONNX Runtime.
import { symbolicDims, valueInfo, ownModel } from './valueInfo';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { traceRoutes as trace, type AttentionRow, type MlpRow, type RouteSteps } from '../analysis/routes';
import type { RouteGraph } from '../protocol';
import { EngineError } from '../core/errors';
import { attentionSourceIndex, type LoadedModel } from './loadedModel';
import { headOutputs } from './headSlice';
import type { RouteLayer, RoutePlan } from './routesPlan';
import { feedTensor } from './feeds';
import { recomputeHeads, type Captured } from './recompute';
import { halfToFloat32 } from '../core/half';

/** A stash bigger than this is not kept (routes then say to explain a shorter selection). */
export const ROUTE_STASH_BYTES = 256 * 2 ** 20;

export interface RouteStash {
  n: number;
  d: number;
  /** Per model layer: the stream at the layer's input and right after its attention output joins, [n × d]. */
  inputs: Float32Array[];
  mids: Float32Array[];
  final: Float32Array;
  layers: RouteLayer[];
  /** W_O layers: the values, one per query head [H × n × dh], and ‖v_j W_O^h‖ [H × n]. */
  values: (Float32Array | undefined)[];
  norms: (Float32Array | undefined)[];
  /** Slice layers: the run's tensors the slice reads, and what each head sends from each key once computed [H × n × d]. */
  captures: Record<string, ort.Tensor>;
  outputs: (Float32Array | undefined)[];
}

/** The plan in model layer order, or why there is none. */
function planOf(m: LoadedModel): RoutePlan | { refused: string } {
  const p = m.routes;
  if (!p) return { refused: 'this model was loaded without reading its residual stream' };
  if ('refused' in p) return p;
  const order = m.attention.map((_, l) => attentionSourceIndex(m, l));
  if (order.some((k) => k < 0 || !p.layers[k])) return { refused: 'its layers could not be matched to the attention the engine reads' };
  return { ...p, inputs: order.map((k) => p.inputs[k]), mids: order.map((k) => p.mids[k]), layers: order.map((k) => p.layers[k]) };
}

/** Tensors an explain fetches for routes ([] where there are none). */
export function routeFetches(m: LoadedModel): string[] {
  const p = planOf(m);
  return 'refused' in p ? [] : p.fetches;
}

/** Why a model has no routes (undefined: it has). */
export function routeRefusal(m: LoadedModel): string | undefined {
  const p = planOf(m);
  return 'refused' in p ? p.refused : undefined;
}

const f32 = (t: ort.Tensor): Float32Array =>
  t.type === 'float16' ? halfToFloat32(t.data as Uint16Array) : t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);

/**
 * The stash from an explain's fetched tensors and value norms ([L × H × n]), or why none is kept. `values`: the
 * values the worker already read as float32 (a fused kernel's come only from there).
 */
export function makeStash(
  m: LoadedModel,
  fetched: Record<string, ort.Tensor>,
  n: number,
  valueNorms: Float32Array | undefined,
  values: Record<string, { data: Float32Array; dims: readonly number[] }> = {},
): RouteStash | { refused: string } {
  const p = planOf(m);
  if ('refused' in p) return p;
  const H = m.headsPerLayer,
    L = m.layers;
  const need = (name: string) => {
    const t = fetched[name];
    if (!t) throw new EngineError('inference-failed', `routes: ${name} was not fetched`);
    return t;
  };
  const final = f32(need(p.final));
  const d = final.length / n;
  const bytes = 4 * n * d * (3 * L + 1);
  if (bytes > ROUTE_STASH_BYTES)
    return { refused: `keeping the streams for routes would take ${(bytes / 2 ** 20).toFixed(0)} MB at ${n} tokens; explain a shorter selection` };
  const valueData = p.layers.map((ly) => {
    if (ly.kind !== 'wo') return undefined;
    const read = values[ly.values];
    const t = read ? undefined : need(ly.values);
    const dims = (read ? read.dims : t!.dims).map(Number);
    const dh = dims[dims.length - 1];
    const v = read ? read.data : f32(t!);
    const kv = v.length / (n * dh);
    if (!Number.isInteger(kv) || H % kv !== 0)
      throw new EngineError('inference-failed', `routes: the values ${ly.values} have ${kv} heads for ${H} query heads`);
    if (kv === H) return v;
    // Grouped-query values: query head h reads value head h / (H / kv) (HF's repeat_kv order).
    const out = new Float32Array(H * n * dh),
      per = H / kv;
    for (let h = 0; h < H; h++) out.set(v.subarray(Math.floor(h / per) * n * dh, (Math.floor(h / per) + 1) * n * dh), h * n * dh);
    return out;
  });
  if (p.layers.some((ly) => ly.kind === 'wo') && !valueNorms) return { refused: "the values' norms through W_O were not computed" };
  const captures: Record<string, ort.Tensor> = {};
  for (const ly of p.layers) if (ly.kind === 'slice') for (const nm of ly.slice.captures) captures[nm] = need(nm);
  return {
    n,
    d,
    final,
    layers: p.layers,
    values: valueData,
    captures,
    outputs: p.layers.map(() => undefined),
    inputs: p.inputs.map((nm) => f32(need(nm))),
    mids: p.mids.map((nm) => f32(need(nm))),
    norms: p.layers.map((ly, l) => (ly.kind === 'wo' ? valueNorms!.subarray(l * H * n, (l + 1) * H * n) : undefined)),
  };
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;
let dotSession: Promise<ort.InferenceSession> | undefined;
/** ⟨W_O^h y_r, v_j^h⟩ for every head h, key j and row r: v [H, n, dh], w [H, dh, d], y [m, d] → [H, n, m]. */
function dots(): Promise<ort.InferenceSession> {
  const node = (opType: string, input: string[], output: string, perm?: number[]) =>
    onnx.NodeProto.create({
      opType,
      input,
      output: [output],
      name: output,
      attribute: perm ? [onnx.AttributeProto.create({ name: 'perm', ints: perm, type: onnx.AttributeProto.AttributeType.INTS })] : [],
    });
  return (dotSession ??= ort.InferenceSession.create(
    ownModel({
      name: 'route-dots',
      node: [node('Transpose', ['y'], 'yt', [1, 0]), node('MatMul', ['w', 'yt'], 'u'), node('MatMul', ['v', 'u'], 'out')],
      input: [valueInfo('v', FLOAT, symbolicDims('v', 3)), valueInfo('w', FLOAT, symbolicDims('w', 3)), valueInfo('y', FLOAT, symbolicDims('y', 2))],
      output: [valueInfo('out', FLOAT, symbolicDims('out', 3))],
    }),
    { logSeverityLevel: 3 },
  ));
}

const norm2 = (a: ArrayLike<number>, o: number, d: number, b?: ArrayLike<number>, ob = 0): number => {
  let s = 0;
  for (let c = 0; c < d; c++) {
    const x = a[o + c] - (b ? b[ob + c] : 0);
    s += x * x;
  }
  return s;
};

/** Where a layer's attention weights come from: recomputed from a kept run, or a copy of the materialised run. */
export type AttentionFrom = { kind: 'kept'; cap: Captured } | { kind: 'memory'; attention: Float32Array[] };

/** The route behind `token`'s prediction. */
export async function traceRoutes(
  m: LoadedModel,
  from: AttentionFrom,
  stash: RouteStash,
  token: number,
  threshold: number,
  ids: number[],
): Promise<RouteGraph> {
  const t0 = performance.now();
  const { n, d } = stash,
    H = m.headsPerLayer,
    L = m.layers;
  if (!Number.isInteger(token) || token < 0 || token >= n) throw new EngineError('bad-request', `No token ${token} in a ${n}-token explanation.`);
  const attentionOf = layerAttention(m, from, n);
  const steps: RouteSteps = {
    layers: L,
    heads: H,
    mlp: async (l, rows) =>
      rows.map((i): MlpRow => {
        const y = l + 1 < L ? stash.inputs[l + 1] : stash.final,
          x = stash.mids[l];
        return { y: Math.sqrt(norm2(y, i * d, d)), residual: Math.sqrt(norm2(y, i * d, d, x, i * d)), mlp: Math.sqrt(norm2(x, i * d, d)) };
      }),
    attention: async (l, rows): Promise<AttentionRow[]> => {
      if (!rows.length) return [];
      const A = await attentionOf(l);
      const m_ = rows.length,
        y = stash.mids[l];
      const Y = new Float32Array(m_ * d);
      rows.forEach((i, r) => Y.set(y.subarray(i * d, (i + 1) * d), r * d));
      const { dot, norms } = await headTerms(m, stash, ids, l, Y, m_);
      return attentionRows(stash, H, l, rows, A, dot, norms);
    },
  };
  const g = await trace(token, steps, threshold);
  return { ...g, via: stash.layers.every((ly) => ly.kind === 'wo') ? 'value·W_O' : 'head outputs read off a slice of the graph', ms: performance.now() - t0 };
}

/** A layer's per-head attention weights, the last layer's kept: the trace asks for rows of one layer at a time. */
function layerAttention(m: LoadedModel, from: AttentionFrom, n: number): (l: number) => Promise<Float32Array[]> {
  const H = m.headsPerLayer;
  let layerCache: { layer: number; heads: Float32Array[] } | undefined;
  return async (l: number) => {
    if (layerCache?.layer !== l) {
      const heads =
        from.kind === 'kept'
          ? await recomputeHeads(
              m,
              from.cap,
              Array.from({ length: H }, (_, h) => [l, h] as const),
            )
          : Array.from({ length: H }, (_, h) => from.attention[l].subarray(h * n * n, (h + 1) * n * n));
      layerCache = { layer: l, heads };
    }
    return layerCache.heads;
  };
}

/** Per head, key and row: ⟨y_row, u_hj⟩ [H, n, m] and ‖u_hj‖ [H, n], through W_O or the head slice. */
async function headTerms(
  m: LoadedModel,
  stash: RouteStash,
  ids: number[],
  l: number,
  Y: Float32Array,
  m_: number,
): Promise<{ dot: Float32Array; norms: Float32Array }> {
  const { n, d } = stash,
    H = m.headsPerLayer;
  const ly = stash.layers[l];
  if (ly.kind === 'wo') {
    const dh = ly.rows / H;
    const out = await (
      await dots()
    ).run({
      v: new ort.Tensor('float32', stash.values[l]!, [H, n, dh]),
      w: new ort.Tensor('float32', ly.wo, [H, dh, d]),
      y: new ort.Tensor('float32', Y, [m_, d]),
    });
    return { dot: out.out.data as Float32Array, norms: stash.norms[l]! };
  }
  let u = stash.outputs[l];
  if (!u) {
    const feeds: Record<string, ort.Tensor> = { ...stash.captures };
    for (const spec of m.plan.inputs) if (ly.slice.feeds.includes(spec.name)) feeds[spec.name] = feedTensor(spec, n, ids);
    const r = await headOutputs(ly.slice, [1, ...(m.headAxes ?? [H]), n, n], H, n, feeds);
    if (r.d !== d) throw new EngineError('inference-failed', `routes: layer ${l}'s head outputs have ${r.d} features, the stream ${d}`);
    stash.outputs[l] = u = r.data;
  }
  const dot = new Float32Array(H * n * m_),
    norms = new Float32Array(H * n);
  for (let h = 0; h < H; h++) {
    for (let j = 0; j < n; j++) {
      const o = (h * n + j) * d;
      norms[h * n + j] = Math.sqrt(norm2(u, o, d));
      for (let r = 0; r < m_; r++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += u[o + c] * Y[r * d + c];
        dot[(h * n + j) * m_ + r] = s;
      }
    }
  }
  return { dot, norms };
}

/** Layer `l`'s attention rows for the trace: the stream's norm without each head-key term, the residual and the bias. */
function attentionRows(stash: RouteStash, H: number, l: number, rows: number[], A: Float32Array[], dot: Float32Array, norms: Float32Array): AttentionRow[] {
  const { n, d } = stash;
  const m_ = rows.length,
    y = stash.mids[l],
    x = stash.inputs[l];
  const ly = stash.layers[l];
  const b = ly.kind === 'wo' ? ly.bias : undefined;
  return rows.map((i, r): AttentionRow => {
    const yy = norm2(y, i * d, d);
    const terms = new Float64Array(H * n),
      termNorms = new Float64Array(H * n);
    for (let h = 0; h < H; h++) {
      const a = A[h];
      for (let j = 0; j < n; j++) {
        const al = a[i * n + j];
        const u = norms[h * n + j];
        termNorms[h * n + j] = al * u;
        terms[h * n + j] = al === 0 ? Math.sqrt(yy) : Math.sqrt(Math.max(0, yy - 2 * al * dot[(h * n + j) * m_ + r] + al * al * u * u));
      }
    }
    let bias = NaN,
      biasNorm = NaN;
    if (b) {
      let s = 0;
      for (let c = 0; c < d; c++) {
        const z = y[i * d + c] - b[c];
        s += z * z;
      }
      bias = Math.sqrt(s);
      biasNorm = Math.sqrt(norm2(b, 0, d));
    }
    return {
      y: Math.sqrt(yy),
      residual: Math.sqrt(norm2(y, i * d, d, x, i * d)),
      bias,
      terms,
      keys: n,
      residualNorm: Math.sqrt(norm2(x, i * d, d)),
      biasNorm,
      termNorms,
    };
  });
}
