// Direct logit attribution (DLA): what each head writes straight onto the logit of the token that actually
// follows, read from the explain's own run. The residual stream entering the final norm is a sum of terms
// (residual.ts); with the norm's per-token scale frozen at the clean run's value (TransformerLens'
// decomposition), the logit of token t at position i is linear in each term:
//   logit_t(i) = Σ_terms s_i ⟨term(i), ĝ_t⟩ + ⟨β, w_t⟩ + b_t,   ĝ_t = γ ⊙ w_t (minus its mean for LayerNorm),
// w_t = W_U[:, t], s_i = 1 / σ_i. A head's term is z_h(i) W_O^h, its merged output slice through its rows of
// W_O, so DLA_h(i) = s_i ⟨z_h(i) W_O^h, ĝ_{t_i}⟩ — O(n·d) captured per layer, no attention matrix needed.
// The logit difference to the model's top alternative (the best other token) uses w_t − w_alt.
import { symbolicDims, valueInfo, ownModel } from './valueInfo';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import type { ResidualPlan } from './residual';
import type { ValuePlan } from './values';
import type { DlaResult } from './types';

export interface DlaPlan {
  residual: ResidualPlan;
  /** Per attention layer: the merged heads' tensor feeding W_O and W_O itself ([H·dh, d]). */
  layers: { merged: string; wo: Float32Array; rows: number }[];
  /** Tensors the explain's run fetches for DLA (merged per layer, the norm's input and normalised output). */
  fetches: string[];
}

/** A DLA plan when every layer's W_O and merged input were found, else the reason there is none. */
export function planDla(residual: ResidualPlan | { refused: string }, values: ValuePlan | undefined, layers: number): DlaPlan | { refused: string } {
  if ('refused' in residual) return { refused: `the path from the residual stream to the logits was not found (${residual.refused})` };
  const out: DlaPlan['layers'] = [];
  for (let l = 0; l < layers; l++) {
    const wo = values?.wo[l],
      merged = values?.merged?.[l],
      cols = values?.woCols[l] ?? 0;
    if (!wo || !merged || cols !== residual.d) return { refused: `layer ${l}'s output projection (W_O, the matrix after the heads merge) was not found` };
    out.push({ merged, wo, rows: wo.length / cols });
  }
  const norm = residual.norm;
  const fetches = [...new Set([...out.map((x) => x.merged), ...norm.reads.map((r) => r.name)])];
  return { residual, layers: out, fetches };
}

export type Fetched = Record<string, { data: ArrayLike<number>; dims: readonly number[] }>;

/** x entering the final norm, [n × d] float64 (Skip*LayerNormalization: input + skip + bias). */
export function normInput(plan: ResidualPlan, fetched: Fetched, n: number): Float64Array {
  const d = plan.d;
  const x = new Float64Array(n * d);
  for (const { name, bias } of plan.norm.reads) {
    const t = fetched[name];
    if (!t || t.data.length !== n * d) throw new Error(`the final norm's input ${name} has ${t?.data.length} values, expected ${n} × ${d}`);
    for (let k = 0; k < n * d; k++) x[k] += t.data[k] + (bias ? bias[bias.length === 1 ? 0 : k % d] : 0);
  }
  const b = plan.norm.inputBias;
  if (b) for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) x[i * d + c] += b[c];
  return x;
}

/** 1/σ_i per token, frozen at the clean run: recomputed from the norm's input (float64) with its epsilon; 1 without a norm. */
export function normScales(plan: ResidualPlan, x: Float64Array, n: number): Float64Array {
  const d = plan.d,
    norm = plan.norm;
  const s = new Float64Array(n).fill(1);
  if (norm.kind === 'none') return s;
  const centred = norm.kind === 'layernorm';
  for (let i = 0; i < n; i++) {
    let mu = 0;
    if (centred) {
      for (let c = 0; c < d; c++) mu += x[i * d + c];
      mu /= d;
    }
    let xx = 0;
    for (let c = 0; c < d; c++) {
      const xc = x[i * d + c] - mu;
      xx += xc * xc;
    }
    s[i] = norm.epsilonAfterRoot ? 1 / (Math.sqrt(xx / d) + norm.epsilon) : 1 / Math.sqrt(xx / d + norm.epsilon);
  }
  return s;
}

/** A packed (MatMulNBits) unembedding's columns for `tokens`, read before unembedColumn / directions need them. */
export async function prepareUnembedding(plan: ResidualPlan, tokens: ArrayLike<number>): Promise<void> {
  await plan.unembed.load?.(Array.from(tokens));
}

function packedColumn(plan: ResidualPlan, t: number): Float32Array {
  const col = plan.unembed.columns?.get(t);
  if (!col) throw new Error(`column ${t} of the packed unembedding was not prepared`);
  return col;
}

/** Column t of W_U (float64, length d). */
export function unembedColumn(plan: ResidualPlan, t: number, out = new Float64Array(plan.d)): Float64Array {
  const u = plan.unembed,
    d = plan.d;
  if (u.layout === 'columns') out.set(packedColumn(plan, t));
  else if (u.layout === 'vd') for (let c = 0; c < d; c++) out[c] = u.data[t * d + c];
  else for (let c = 0; c < d; c++) out[c] = u.data[c * u.vocab + t];
  return out;
}

/**
 * Per-token directions [n × d] (float32 for the runtime): s_i · ĝ for the target of position i, ĝ from
 * w_a − w_b when `minus` is given (a logit difference); zeros where a position has no target (−1).
 */
export function directions(plan: ResidualPlan, scales: Float64Array, targets: ArrayLike<number>, minus?: ArrayLike<number>): Float32Array {
  const d = plan.d,
    n = targets.length,
    u = plan.unembed;
  const gamma = plan.norm.gamma,
    centred = plan.norm.kind === 'layernorm';
  const w = new Float64Array(n * d);
  const live = (i: number) => targets[i] >= 0 && (!minus || minus[i] >= 0);
  // W_U's columns for every position at once: a [d, V] matrix is read row by row (each row once, its n
  // entries close together), a [V, d] table token by token (each a contiguous row).
  const add = (ts: ArrayLike<number>, sign: number) => {
    if (u.layout === 'columns') {
      for (let i = 0; i < n; i++)
        if (live(i)) {
          const col = packedColumn(plan, ts[i]);
          for (let c = 0; c < d; c++) w[i * d + c] += sign * col[c];
        }
    } else if (u.layout === 'vd') {
      for (let i = 0; i < n; i++) if (live(i)) for (let c = 0, o = ts[i] * d; c < d; c++) w[i * d + c] += sign * u.data[o + c];
    } else {
      for (let c = 0; c < d; c++) {
        const row = c * u.vocab;
        for (let i = 0; i < n; i++) if (live(i)) w[i * d + c] += sign * u.data[row + ts[i]];
      }
    }
  };
  add(targets, 1);
  if (minus) add(minus, -1);
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    if (!live(i)) continue;
    let mean = 0;
    for (let c = 0; c < d; c++) {
      const g = w[i * d + c] * (gamma ? gamma[c] : 1);
      w[i * d + c] = g;
      mean += g;
    }
    mean = centred ? mean / d : 0;
    for (let c = 0; c < d; c++) out[i * d + c] = scales[i] * (w[i * d + c] - mean);
  }
  return out;
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

/**
 * The per-layer DLA graph: z [n, H, dh] → transposed [H, n, dh] · W_O [H, dh, d] = each head's output [H, n, d],
 * then its row-wise dot with two direction sets [n, d] → two [H, n] outputs. n·H·dh·d multiply-adds per layer:
 * one output projection's worth, on ONNX Runtime's threads.
 */
function dlaGraph(): Uint8Array {
  const attr = (name: string, v: number | number[]) =>
    Array.isArray(v)
      ? onnx.AttributeProto.create({ name, ints: v, type: onnx.AttributeProto.AttributeType.INTS })
      : onnx.AttributeProto.create({ name, i: v, type: onnx.AttributeProto.AttributeType.INT });
  const node = (opType: string, input: string[], output: string, attribute: onnx.AttributeProto[] = []) =>
    onnx.NodeProto.create({ opType, input, output: [output], attribute, name: output });
  return ownModel({
    name: 'dla',
    node: [
      node('Transpose', ['z'], 'zt', [attr('perm', [1, 0, 2])]),
      node('MatMul', ['zt', 'w'], 'o'),
      node('Mul', ['o', 'a'], 'oa'),
      node('ReduceSum', ['oa', 'axis'], 'ya', [attr('keepdims', 0)]),
      node('Mul', ['o', 'b'], 'ob'),
      node('ReduceSum', ['ob', 'axis'], 'yb', [attr('keepdims', 0)]),
    ],
    initializer: [onnx.TensorProto.create({ name: 'axis', dataType: INT64, dims: [1], int64Data: [2] })],
    input: [
      valueInfo('z', FLOAT, symbolicDims('z', 3)),
      valueInfo('w', FLOAT, symbolicDims('w', 3)),
      valueInfo('a', FLOAT, symbolicDims('a', 2)),
      valueInfo('b', FLOAT, symbolicDims('b', 2)),
    ],
    output: [valueInfo('ya', FLOAT, symbolicDims('ya', 2)), valueInfo('yb', FLOAT, symbolicDims('yb', 2))],
  });
}

let session: Promise<ort.InferenceSession> | undefined;
function dlaSession(): Promise<ort.InferenceSession> {
  return (session ??= ort.InferenceSession.create(dlaGraph(), { logSeverityLevel: 3 }));
}

export type { DlaResult };

/**
 * DLA of every head at every position from one run's fetched tensors. `alternatives[i]`: the model's best
 * token other than ids[i + 1] (its top prediction where that differs from the actual token, else the
 * runner-up); −1 where unknown (then `diff` is NaN there).
 */
export async function computeDla(plan: DlaPlan, fetched: Fetched, ids: ArrayLike<number>, alternatives: Int32Array, headsPerLayer: number): Promise<DlaResult> {
  const t0 = performance.now();
  const n = ids.length,
    d = plan.residual.d,
    H = headsPerLayer;
  const targets = Int32Array.from({ length: n }, (_, i) => (i + 1 < n ? ids[i + 1] : -1));
  await prepareUnembedding(plan.residual, [...targets, ...alternatives]);
  const x = normInput(plan.residual, fetched, n);
  const s = normScales(plan.residual, x, n);
  const dirA = directions(plan.residual, s, targets);
  const dirB = directions(
    plan.residual,
    s,
    targets,
    Int32Array.from(alternatives, (a, i) => (targets[i] < 0 ? -1 : a)),
  );
  const L = plan.layers.length;
  const actual = new Float32Array(L * H * n),
    diff = new Float32Array(L * H * n);
  const sess = await dlaSession();
  const a = new ort.Tensor('float32', dirA, [n, d]),
    b = new ort.Tensor('float32', dirB, [n, d]);
  for (let l = 0; l < L; l++) {
    const { merged, wo, rows } = plan.layers[l];
    const z = fetched[merged];
    const dh = rows / H;
    if (!z || z.data.length !== n * rows || !Number.isInteger(dh))
      throw new Error(`layer ${l}'s merged head outputs ${merged} have ${z?.data.length} values, expected ${n} × ${rows}`);
    const zf = z.data instanceof Float32Array ? z.data : Float32Array.from(z.data);
    const out = await sess.run({ z: new ort.Tensor('float32', zf, [n, H, dh]), w: new ort.Tensor('float32', wo, [H, dh, d]), a, b });
    actual.set(out.ya.data as Float32Array, l * H * n);
    diff.set(out.yb.data as Float32Array, l * H * n);
  }
  for (let l = 0; l < L; l++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < n; i++) {
        const k = (l * H + h) * n + i;
        if (targets[i] < 0) {
          actual[k] = NaN;
          diff[k] = NaN;
        } else if (alternatives[i] < 0) diff[k] = NaN;
      }
    }
  }
  return { actual, diff, targets, alternatives, norm: plan.residual.norm.label, ms: performance.now() - t0 };
}

/** The best token other than the actual next one, from the top-k predictions ([n × k] ids, best first). */
export function alternativesFrom(topIds: Int32Array, k: number, ids: ArrayLike<number>): Int32Array {
  const n = ids.length;
  const out = new Int32Array(n).fill(-1);
  for (let i = 0; i + 1 < n; i++) {
    for (let r = 0; r < k; r++) {
      const t = topIds[i * k + r];
      if (t !== ids[i + 1]) {
        out[i] = t;
        break;
      }
    }
  }
  return out;
}

export interface Component {
  kind: 'embedding' | 'head' | 'attention bias' | 'mlp' | 'bias' | 'norm bias' | 'unembedding bias' | 'other';
  label: string;
  layer: number;
  head?: number;
  /** Per position: the term's contribution to the target's logit. */
  values: Float64Array;
}

/** Every tensor `decompose` reads: the DLA fetches plus every non-constant term of the stream. */
export function decompositionFetches(plan: DlaPlan): string[] {
  return [...new Set([...plan.fetches, ...plan.residual.leaves.filter((lf) => !lf.constant).map((lf) => lf.tensor)])];
}

/**
 * The whole logit, term by term (float64, in JS: for tests and small models): embeddings, every head (its
 * attention leaf split through W_O), each attention layer's remaining bias, every MLP, every constant, the
 * norm's β and the unembedding's bias. Their sum is the model's logit for `targets[i]` at position i when the
 * decomposition is complete (the exact-decomposition test holds it to the exported logits).
 */
export function decompose(plan: DlaPlan, fetched: Fetched, targets: ArrayLike<number>, headsPerLayer: number): Component[] {
  const r = plan.residual,
    d = r.d,
    n = targets.length,
    H = headsPerLayer;
  const x = normInput(r, fetched, n);
  const s = normScales(r, x, n);
  const dirs = directions(r, s, targets);
  const dot = (get: (i: number, c: number) => number) => {
    const v = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      if (targets[i] < 0) {
        v[i] = NaN;
        continue;
      }
      let acc = 0;
      for (let c = 0; c < d; c++) acc += get(i, c) * dirs[i * d + c];
      v[i] = acc;
    }
    return v;
  };
  const out: Component[] = [];
  for (const lf of r.leaves) {
    if (lf.constant) {
      const k = lf.constant;
      if (k.length !== d && k.length !== 1) throw new Error(`constant term ${lf.tensor} has ${k.length} values for a hidden size of ${d}`);
      out.push({
        kind: lf.kind === 'bias' && lf.label.startsWith('attention') ? 'attention bias' : 'bias',
        label: lf.label,
        layer: lf.layer,
        values: dot((_, c) => k[k.length === 1 ? 0 : c]),
      });
      continue;
    }
    const t = fetched[lf.tensor];
    if (!t) throw new Error(`term ${lf.tensor} was not fetched`);
    const per = t.data.length === n * d;
    if (!per && t.data.length !== d) throw new Error(`term ${lf.tensor} has ${t.data.length} values, expected ${n} × ${d}`);
    if (lf.kind !== 'attention') {
      out.push({
        kind: lf.kind === 'embedding' ? 'embedding' : lf.kind === 'mlp' ? 'mlp' : 'other',
        label: lf.label,
        layer: lf.layer,
        values: dot((i, c) => t.data[per ? i * d + c : c]),
      });
      continue;
    }
    out.push(...headComponents(plan, fetched, lf.layer, n, H, dot));
  }
  out.push(...outputBiases(r, targets));
  return out;
}

/** A term's contribution to each position's target logit, from its value at (position, feature). */
type Dot = (get: (i: number, c: number) => number) => Float64Array;

/** An attention leaf's terms: each head's z_h W_O^h from the merged input, then what the projection holds beyond them (its own bias, Gemm's C). */
function headComponents(plan: DlaPlan, fetched: Fetched, layer: number, n: number, H: number, dot: Dot): Component[] {
  const d = plan.residual.d;
  const out: Component[] = [];
  const { merged, wo, rows } = plan.layers[layer];
  const z = fetched[merged];
  const dh = rows / H;
  for (let h = 0; h < H; h++) {
    const o = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      for (let k = h * dh; k < (h + 1) * dh; k++) {
        const zk = z.data[i * rows + k];
        if (zk === 0) continue;
        for (let c = 0; c < d; c++) o[i * d + c] += zk * wo[k * d + c];
      }
    }
    out.push({ kind: 'head', label: `L${layer}H${h}`, layer, head: h, values: dot((i, c) => o[i * d + c]) });
  }
  const inner = plan.residual.layers[layer]?.innerBias;
  if (inner) out.push({ kind: 'attention bias', label: `attention bias L${layer} (in the projection)`, layer, values: dot((_, c) => inner[c]) });
  return out;
}

/** The terms added after the stream: the final norm's β (through each target's unembedding column) and the unembedding's bias. */
function outputBiases(r: ResidualPlan, targets: ArrayLike<number>): Component[] {
  const d = r.d,
    n = targets.length;
  const out: Component[] = [];
  const beta = r.norm.beta,
    ub = r.unembed.bias;
  const w = new Float64Array(d);
  if (beta) {
    const v = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      if (targets[i] < 0) {
        v[i] = NaN;
        continue;
      }
      unembedColumn(r, targets[i], w);
      let a = 0;
      for (let c = 0; c < d; c++) a += beta[c] * w[c];
      v[i] = a;
    }
    out.push({ kind: 'norm bias', label: 'final norm β', layer: -1, values: v });
  }
  if (ub)
    out.push({
      kind: 'unembedding bias',
      label: 'unembedding bias',
      layer: -1,
      values: Float64Array.from({ length: n }, (_, i) => (targets[i] < 0 ? NaN : ub[targets[i]])),
    });
  return out;
}
