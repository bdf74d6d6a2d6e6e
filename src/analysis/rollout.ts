// Attention rollout (Abnar & Zuidema 2020) and the pathway of one token back through the layers.
// Per layer Â = (1 − α)·mean_heads(A) + α·I with rows renormalised (α = 0.5 in the paper, for the
// residual stream); rollout = Â_{L−1} ⋯ Â_0. Note: this is rollout, not the paper's max-flow
// "attention flow", which needs a graph max-flow per pair and is far slower.
import type { AttentionSet } from '../core/attention';
import { asReader, type HeadReader } from './heads';

export interface RolloutOptions {
  /** Weight of the identity (residual) term; 0.5 as in Abnar & Zuidema. 0 = raw mean attention. */
  residual?: number;
}

export interface Pathway {
  token: number;
  /**
   * perLayer[l][j] = share of the chosen token's representation after the last layer that traces
   * back to token j at the input of layer l: e_t · Â_{L−1} ⋯ Â_l. perLayer[0] is the rollout row;
   * perLayer[L−1] is the last layer's (residual-mixed) attention row. Each sums to 1.
   */
  perLayer: Float64Array[];
}

/**
 * acc[base(k) + c] += A[r, c] and rowSum[k] += Σ_c A[r, c] for the rows r = rows[k] (every row when `rows`
 * is undefined), keys in order, only up to the diagonal in causal models. base(k) is k·n, or r(r+1)/2 in a
 * packed lower triangle (`packed`: a causal LayerSums). The one accumulation behind both PathwayBuilder.feed
 * and LayerSums: sharing it is what makes their pathways bit-identical. The head sums are float32 (heads add
 * up to at most H; the pathway itself is float64): half the memory, so a 4,096-token Flow cache fits.
 */
function addRows(
  A: Float32Array,
  n: number,
  causal: boolean,
  rows: readonly number[] | undefined,
  acc: Float32Array,
  rowSum: Float64Array,
  packed = false,
): void {
  const m = rows ? rows.length : n;
  for (let k = 0; k < m; k++) {
    const r = rows ? rows[k] : k;
    const end = causal ? r + 1 : n; // zeros above the diagonal in causal models
    const base = r * n;
    const ab = packed ? (r * (r + 1)) / 2 : k * n;
    let s = rowSum[k];
    for (let c = 0; c < end; c++) {
      const a = A[base + c];
      acc[ab + c] += a;
      s += a;
    }
    rowSum[k] = s;
  }
}

/**
 * The pathway built head by head, in the order it needs them (last layer first, heads in order), so a
 * caller that gets heads one at a time — recomputed by the engine, read from a dump — never holds more
 * than one. v ← v · Â_layer without forming Â: only rows with v[r] ≠ 0 are summed over heads (into
 * `acc`, rows × n), in the same order as a head-inner loop, so every source gives bit-identical results.
 */
export class PathwayBuilder {
  private v: Float64Array;
  private readonly perLayer: Float64Array[];
  private layer: number;
  private head = 0;
  private rows: number[] = [];
  private acc = new Float32Array(0);
  private rowSum = new Float64Array(0);
  private readonly alpha: number;

  constructor(
    private readonly shape: Pick<HeadReader, 'layers' | 'headsPerLayer' | 'seq' | 'causal'>,
    readonly token: number,
    options: RolloutOptions = {},
  ) {
    const n = shape.seq;
    if (!Number.isInteger(token) || token < 0 || token >= n) throw new RangeError(`token ${token} outside 0..${n - 1}`);
    this.alpha = options.residual ?? 0.5;
    this.v = new Float64Array(n);
    this.v[token] = 1;
    this.perLayer = new Array<Float64Array>(shape.layers);
    this.layer = shape.layers - 1;
    this.beginLayer();
  }

  /** The next head to feed, or undefined when the pathway is complete. */
  next(): [number, number] | undefined {
    return this.layer >= 0 ? [this.layer, this.head] : undefined;
  }

  /** Feed the head `next()` named (n×n, row-major). */
  feed(A: Float32Array): void {
    if (this.layer < 0) throw new RangeError('the pathway is already complete');
    const n = this.shape.seq;
    if (A.length !== n * n) throw new RangeError(`head of ${A.length} weights, expected ${n * n}`);
    addRows(A, n, this.shape.causal, this.rows, this.acc, this.rowSum);
    if (++this.head === this.shape.headsPerLayer) this.endLayer();
  }

  /**
   * Feed a whole layer at once from its LayerSums (what feeding its heads one by one would add up, in
   * the same order — so the pathway is bit-identical). `next()` must name head 0 of `sums.layer`.
   */
  feedLayer(sums: LayerSums): void {
    if (this.layer !== sums.layer || this.head !== 0) throw new RangeError(`the pathway needs L${this.layer}H${this.head}, not layer ${sums.layer}`);
    const n = this.shape.seq;
    const { rows, acc, rowSum } = this;
    for (let k = 0; k < rows.length; k++) {
      const r = rows[k];
      acc.set(sums.row(r), k * n); // a packed row stops at the diagonal: the rest stays 0 (beginLayer)
      rowSum[k] = sums.rowSum[r];
    }
    this.endLayer();
  }

  result(): Pathway {
    if (this.layer >= 0) throw new RangeError(`the pathway still needs L${this.layer}H${this.head}`);
    return { token: this.token, perLayer: this.perLayer };
  }

  private beginLayer(): void {
    const n = this.shape.seq;
    this.rows = [];
    for (let r = 0; r < n; r++) if (this.v[r] !== 0) this.rows.push(r);
    const m = this.rows.length;
    if (this.acc.length < m * n) this.acc = new Float32Array(n * n); // grows once to n² at most
    this.acc.fill(0, 0, m * n);
    this.rowSum = new Float64Array(m);
    this.head = 0;
  }

  private endLayer(): void {
    const n = this.shape.seq;
    const H = this.shape.headsPerLayer;
    const alpha = this.alpha;
    const out = new Float64Array(n);
    const { rows, acc, rowSum, v } = this;
    for (let k = 0; k < rows.length; k++) {
      const r = rows[k];
      const vr = v[r];
      const end = this.shape.causal ? r + 1 : n;
      // Row r of Â = ((1 − α)·Σ_h A_h[r,:]/H + α·e_r) / ((1 − α)·rowSum/H + α).
      const denom = (1 - alpha) * (rowSum[k] / H) + alpha;
      if (denom === 0) continue;
      const w = (vr * (1 - alpha)) / (H * denom);
      const ab = k * n;
      for (let c = 0; c < end; c++) out[c] += w * acc[ab + c];
      out[r] += (vr * alpha) / denom;
    }
    this.perLayer[this.layer] = out;
    this.v = out;
    this.layer--;
    if (this.layer >= 0) this.beginLayer();
  }
}

/**
 * Σ over a layer's heads of A_h and each row's running total, accumulated head by head in the order
 * PathwayBuilder.feed adds them: a pathway from these is bit-identical to one fed heads. A causal layer keeps
 * only the lower triangle (row r: r + 1 keys), packed: n(n+1)/2 float32 — 268 MB for 8 layers at 4,096 tokens.
 */
export class LayerSums {
  readonly sum: Float32Array;
  readonly rowSum: Float64Array;
  private heads = 0;

  constructor(
    readonly layer: number,
    private readonly n: number,
    private readonly causal: boolean,
    private readonly headsPerLayer: number,
  ) {
    this.sum = new Float32Array(LayerSums.entries(n, causal));
    this.rowSum = new Float64Array(n);
  }

  /** Float32 entries one layer's sums hold. */
  static entries(n: number, causal: boolean): number {
    return causal ? (n * (n + 1)) / 2 : n * n;
  }

  get complete(): boolean {
    return this.heads === this.headsPerLayer;
  }

  /** Row r's sums over its visible keys (r + 1 of them in a causal layer, else n). */
  row(r: number): Float32Array {
    return this.causal ? this.sum.subarray((r * (r + 1)) / 2, ((r + 1) * (r + 2)) / 2) : this.sum.subarray(r * this.n, (r + 1) * this.n);
  }

  add(A: Float32Array): void {
    addRows(A, this.n, this.causal, undefined, this.sum, this.rowSum, this.causal);
    this.heads++;
  }
}

/** The chosen token's row propagated from the last layer down to the first: O(L · heads · n²). */
export function attentionPathway(attention: AttentionSet | HeadReader, token: number, options: RolloutOptions = {}): Pathway {
  const att = asReader(attention);
  const b = new PathwayBuilder(att, token, options);
  for (let want = b.next(); want; want = b.next()) b.feed(att.head(want[0], want[1]));
  return b.result();
}

/** Full rollout matrix R = Â_{L−1} ⋯ Â_0 (row-major n×n). O(L · n³): for small inputs and tests. */
export function rolloutMatrix(attention: AttentionSet | HeadReader, options: RolloutOptions = {}): Float64Array {
  const att = asReader(attention);
  const n = att.seq;
  const R = new Float64Array(n * n);
  for (let t = 0; t < n; t++) {
    const p = attentionPathway(att, t, options);
    R.set(p.perLayer[0] ?? unit(n, t), t * n);
  }
  return R;
}

function unit(n: number, t: number): Float64Array {
  const v = new Float64Array(n);
  v[t] = 1;
  return v;
}
