// The worker's side of information-flow routes (src/analysis/routes.ts): what a kept explain keeps for them
// (every layer's residual stream before and after its attention output joins, the final stream, the values
// and their ‖v_j W_O^h‖), and each step's distances for the tracer — attention weights recomputed from the
// kept run, ⟨W_O^h y, v_j⟩ for every head and key on ONNX Runtime.
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { traceRoutes as trace, type AttentionRow, type MlpRow, type RouteSteps } from '../analysis/routes';
import type { RouteGraph } from '../protocol';
import { EngineError } from './errors';
import { normInput } from './dla';
import { dlaPlanOf } from './dlaRun';
import { attentionSourceIndex, type LoadedModel } from './loaded-model';
import { recomputeHeads, type Captured } from './recompute';
import { halfToFloat32 } from './half';

/** A stash bigger than this is not kept (routes then say to explain a shorter selection). */
export const ROUTE_STASH_BYTES = 256 * 2 ** 20;

export interface RouteStash {
  n: number;
  d: number;
  /** Per layer: the stream at the layer's input and right after its attention output joins, [n × d]. */
  inputs: Float32Array[];
  mids: Float32Array[];
  /** The stream entering the final norm, [n × d]. */
  final: Float64Array;
  /** Per layer: the values, expanded to one per query head, [H × n × dh]. */
  values: Float32Array[];
  /** Per layer: ‖v_j W_O^h‖ [H × n]. */
  norms: Float32Array[];
}

interface RoutePlan {
  inputs: string[];
  mids: string[];
  values: string[];
  wo: Float32Array[];
  rows: number[];
  bias: (Float32Array | undefined)[];
}

/** What routes need from a run, in model layer order, or why this graph has no routes. */
export function routePlan(m: LoadedModel): RoutePlan | { refused: string } {
  const dla = dlaPlanOf(m);
  if ('refused' in dla) return { refused: `Routes follow the residual stream to the logits, which was not found: ${dla.refused}` };
  const order = m.attention.map((_, l) => attentionSourceIndex(m, l));
  const layers = order.map((k) => dla.residual.layers[k]);
  if (layers.some((x) => !x?.input || !x.mid)) return { refused: 'a layer\'s attention output was not found joining the residual stream' };
  const values = order.map((k) => m.values?.values[k] ?? '');
  if (values.some((v) => !v)) return { refused: 'a layer\'s value tensor was not found' };
  return { inputs: layers.map((x) => x.input!), mids: layers.map((x) => x.mid!), values, wo: dla.layers.map((x) => x.wo), rows: dla.layers.map((x) => x.rows), bias: layers.map((x) => x.bias) };
}

/** Tensors a kept explain fetches for routes ([] where there are none). */
export function routeFetches(m: LoadedModel): string[] {
  const p = routePlan(m);
  const dla = dlaPlanOf(m);
  return 'refused' in p || 'refused' in dla ? [] : [...new Set([...p.inputs, ...p.mids, ...p.values, ...dla.fetches])];
}

const f32 = (t: ort.Tensor): Float32Array => (t.type === 'float16' ? halfToFloat32(t.data as Uint16Array) : t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>));

/** The stash from a kept explain's fetched tensors and value norms ([L × H × n]), or why none is kept. */
export function makeStash(m: LoadedModel, fetched: Record<string, ort.Tensor>, n: number, valueNorms: Float32Array | undefined): RouteStash | { refused: string } {
  const p = routePlan(m);
  const dla = dlaPlanOf(m);
  if ('refused' in p) return p;
  if ('refused' in dla) return dla;
  if (!valueNorms) return { refused: 'the values\' norms through W_O were not computed' };
  const d = dla.residual.d, H = m.headsPerLayer, L = m.layers;
  const bytes = 4 * n * d * (3 * L + 2);
  if (bytes > ROUTE_STASH_BYTES) return { refused: `keeping the streams for routes would take ${(bytes / 2 ** 20).toFixed(0)} MB at ${n} tokens; explain a shorter selection` };
  const need = (name: string) => {
    const t = fetched[name];
    if (!t) throw new EngineError('inference-failed', `routes: ${name} was not fetched`);
    return t;
  };
  const values = p.values.map((name) => {
    const t = need(name);
    const dims = t.dims.map(Number);
    const dh = dims[dims.length - 1];
    const kv = (t.data as ArrayLike<number>).length / (n * dh);
    const v = f32(t);
    if (!Number.isInteger(kv) || H % kv !== 0) throw new EngineError('inference-failed', `routes: the values ${name} have ${kv} heads for ${H} query heads`);
    if (kv === H) return v;
    // Grouped-query values: query head h reads value head h / (H / kv) (HF's repeat_kv order).
    const out = new Float32Array(H * n * dh), per = H / kv;
    for (let h = 0; h < H; h++) out.set(v.subarray(Math.floor(h / per) * n * dh, (Math.floor(h / per) + 1) * n * dh), h * n * dh);
    return out;
  });
  const fetchedDla: Record<string, { data: ArrayLike<number>; dims: readonly number[] }> = {};
  for (const name of dla.fetches) fetchedDla[name] = { data: f32(need(name)), dims: need(name).dims };
  return {
    n, d, values,
    inputs: p.inputs.map((nm) => f32(need(nm))), mids: p.mids.map((nm) => f32(need(nm))),
    final: normInput(dla.residual, fetchedDla, n),
    norms: Array.from({ length: L }, (_, l) => valueNorms.subarray(l * H * n, (l + 1) * H * n)),
  };
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;
let dotSession: Promise<ort.InferenceSession> | undefined;
/** ⟨W_O^h y_r, v_j^h⟩ for every head h, key j and row r: v [H, n, dh], w [H, dh, d], y [m, d] → [H, n, m]. */
function dots(): Promise<ort.InferenceSession> {
  const info = (name: string, rank: number) => onnx.ValueInfoProto.create({ name, type: onnx.TypeProto.create({ tensorType: onnx.TypeProto.Tensor.create({
    elemType: FLOAT, shape: onnx.TensorShapeProto.create({ dim: Array.from({ length: rank }, (_, k) => onnx.TensorShapeProto.Dimension.create({ dimParam: `${name}${k}` })) }),
  }) }) });
  const node = (opType: string, input: string[], output: string, perm?: number[]) => onnx.NodeProto.create({ opType, input, output: [output], name: output,
    attribute: perm ? [onnx.AttributeProto.create({ name: 'perm', ints: perm, type: onnx.AttributeProto.AttributeType.INTS })] : [] });
  return (dotSession ??= ort.InferenceSession.create(onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 8, producerName: 'headlight', opsetImport: [{ domain: '', version: 13 }],
    graph: onnx.GraphProto.create({ name: 'route-dots', node: [node('Transpose', ['y'], 'yt', [1, 0]), node('MatMul', ['w', 'yt'], 'u'), node('MatMul', ['v', 'u'], 'out')],
      input: [info('v', 3), info('w', 3), info('y', 2)], output: [info('out', 3)] }),
  })).finish(), { logSeverityLevel: 3 }));
}

const norm2 = (a: ArrayLike<number>, o: number, d: number, b?: ArrayLike<number>, ob = 0): number => {
  let s = 0;
  for (let c = 0; c < d; c++) { const x = a[o + c] - (b ? b[ob + c] : 0); s += x * x; }
  return s;
};

/** Where a layer's attention weights come from: recomputed from a kept run, or a copy of the materialised run. */
export type AttentionFrom = { kind: 'kept'; cap: Captured } | { kind: 'memory'; attention: Float32Array[] };

/** The route behind `token`'s prediction. */
export async function traceRoutes(m: LoadedModel, from: AttentionFrom, stash: RouteStash, token: number, threshold: number): Promise<RouteGraph> {
  const t0 = performance.now();
  const p = routePlan(m);
  if ('refused' in p) throw new EngineError('routes-unavailable', p.refused);
  const { n, d } = stash, H = m.headsPerLayer, L = m.layers;
  if (!Number.isInteger(token) || token < 0 || token >= n) throw new EngineError('bad-request', `No token ${token} in a ${n}-token explanation.`);
  let layerCache: { layer: number; heads: Float32Array[] } | undefined;
  const attentionOf = async (l: number) => {
    if (layerCache?.layer !== l) {
      const heads = from.kind === 'kept' ? await recomputeHeads(m, from.cap, Array.from({ length: H }, (_, h) => [l, h] as const))
        : Array.from({ length: H }, (_, h) => from.attention[l].subarray(h * n * n, (h + 1) * n * n));
      layerCache = { layer: l, heads };
    }
    return layerCache.heads;
  };
  const steps: RouteSteps = {
    layers: L, heads: H,
    mlp: async (l, rows) => rows.map((i): MlpRow => {
      const y = l + 1 < L ? stash.inputs[l + 1] : stash.final, x = stash.mids[l];
      return { y: Math.sqrt(norm2(y, i * d, d)), residual: Math.sqrt(norm2(y, i * d, d, x, i * d)), mlp: Math.sqrt(norm2(x, i * d, d)) };
    }),
    attention: async (l, rows): Promise<AttentionRow[]> => {
      if (!rows.length) return [];
      const A = await attentionOf(l);
      const m_ = rows.length, y = stash.mids[l], x = stash.inputs[l], b = p.bias[l];
      const Y = new Float32Array(m_ * d);
      rows.forEach((i, r) => Y.set(y.subarray(i * d, (i + 1) * d), r * d));
      const dh = p.rows[l] / H;
      const out = await (await dots()).run({
        v: new ort.Tensor('float32', stash.values[l], [H, n, dh]), w: new ort.Tensor('float32', p.wo[l], [H, dh, d]), y: new ort.Tensor('float32', Y, [m_, d]),
      });
      const dot = out.out.data as Float32Array; // [H, n, m]
      const norms = stash.norms[l];
      return rows.map((i, r): AttentionRow => {
        const yy = norm2(y, i * d, d);
        const terms = new Float64Array(H * n);
        for (let h = 0; h < H; h++) {
          const a = A[h];
          for (let j = 0; j < n; j++) {
            const al = a[i * n + j];
            const u = norms[h * n + j];
            terms[h * n + j] = al === 0 ? Math.sqrt(yy) : Math.sqrt(Math.max(0, yy - 2 * al * dot[(h * n + j) * m_ + r] + al * al * u * u));
          }
        }
        let bias = NaN;
        if (b) { let s = 0; for (let c = 0; c < d; c++) { const z = y[i * d + c] - b[c]; s += z * z; } bias = Math.sqrt(s); }
        return { y: Math.sqrt(yy), residual: Math.sqrt(norm2(y, i * d, d, x, i * d)), bias, terms, keys: n };
      });
    },
  };
  const g = await trace(token, steps, threshold);
  return { ...g, via: 'value·W_O', ms: performance.now() - t0 };
}
