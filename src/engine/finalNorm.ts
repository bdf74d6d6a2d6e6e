// The final norm of a decoder, the one whose output the unembedding reads (residual.ts), recognised as an op
// (LayerNormalization, SimplifiedLayerNormalization, RMSNormalization, Skip*LayerNormalization) or as its
// decomposed arithmetic (ReduceMean of x or of x², a division or a reciprocal square root), never by node
// names; with how to rebuild its input and its per-token scale from fetched tensors.
import { onnx } from 'onnx-proto';
import { num, weightOf, type GraphIndex } from './weights';

export type NormKind = 'layernorm' | 'rmsnorm' | 'none';

export interface FinalNorm {
  kind: NormKind;
  /** How it appears in the graph, for the status line: "LayerNormalization", "decomposed RMSNorm", … */
  label: string;
  /** The residual stream entering the norm; for Skip*LayerNormalization the two summed inputs. */
  inputs: string[];
  /**
   * What a run fetches to rebuild `inputs`: an input made by adding a constant (an MLP's bias) is read before
   * the Add and the constant added back — fetching the Add's output would stop ONNX Runtime folding that bias
   * into a fused norm, and move the logits by ~1e-6.
   */
  reads: { name: string; bias?: Float32Array }[];
  /** Skip*LayerNormalization's bias, added to the sum before normalising. */
  inputBias?: Float32Array;
  gamma?: Float32Array;
  beta?: Float32Array;
  /**
   * Each token's scale is recomputed from the input with this epsilon: 1/√(var + ε) (LayerNorm; mean of squares
   * for RMSNorm), or 1/(√var + ε) where a decomposed norm adds it after the root. (Fetching the graph's own
   * normalised tensor instead would stop the runtime fusing the norm and move the logits by ~1e-6.)
   */
  epsilon: number;
  epsilonAfterRoot?: boolean;
}

/** Ops a decomposed norm is made of (between its input and the normalised tensor). */
const NORM_OPS = new Set(['ReduceMean', 'Sub', 'Pow', 'Mul', 'Add', 'Sqrt', 'Div', 'Reciprocal', 'Cast', 'Identity', 'Neg']);

const attrF = (n: onnx.INodeProto, name: string, dflt: number): number => {
  const a = (n.attribute ?? []).find((x) => x.name === name);
  return a ? (a.type === onnx.AttributeProto.AttributeType.FLOAT ? (a.f ?? dflt) : num(a.i)) : dflt;
};

const isConst = (g: GraphIndex, t: string): boolean => weightOf(g, t) !== undefined;

/** How to read each of `inputs`: before an Add of a constant [d] (or scalar) vector, with the constant to add back. */
function readsOf(g: GraphIndex, inputs: string[]): FinalNorm['reads'] {
  return inputs.map((name) => {
    const p = g.producer.get(name)?.node;
    if (p?.opType !== 'Add' || p.domain) return { name };
    const [a, b] = p.input ?? [];
    const ca = weightOf(g, a),
      cb = weightOf(g, b);
    if (!ca === !cb) return { name };
    return { name: ca ? b : a, bias: (ca ?? cb)!.data };
  });
}

/** The final norm whose output the unembedding reads, fused or decomposed; kind 'none' when the stream enters directly. */
export function findNorm(g: GraphIndex, h: string, d: number): FinalNorm | { refused: string } {
  const p = g.producer.get(h)?.node;
  if (!p) return { refused: 'nothing computes the unembedding input' };
  const op = p.opType ?? '';
  const vec: Vec = (name) => {
    if (!name) return undefined;
    const w = weightOf(g, name);
    return w && w.data.length === d ? w.data : undefined;
  };
  const norm = fusedNorm(g, p, vec) ?? decomposedNorm(g, h, vec);
  if (norm) return norm;
  // No norm at all: the stream itself enters the unembedding (then it must be a sum: the stream's last Add).
  if (op === 'Add' && !p.domain && !isConst(g, p.input?.[0] ?? '') && !isConst(g, p.input?.[1] ?? '')) {
    return { kind: 'none', label: 'no final norm', inputs: [h], reads: readsOf(g, [h]), epsilon: 0 };
  }
  return { refused: `the unembedding reads a ${op} of the residual stream, neither a norm nor the stream itself` };
}

/** A constant vector of the hidden size by name, or undefined. */
type Vec = (name: string | undefined) => Float32Array | undefined;

/** The final norm as one op (LayerNormalization and its variants, Skip*LayerNormalization), or undefined when `p` is none. */
function fusedNorm(g: GraphIndex, p: onnx.INodeProto, vec: Vec): FinalNorm | { refused: string } | undefined {
  const op = p.opType ?? '';
  if (op === 'LayerNormalization' || op === 'SimplifiedLayerNormalization' || op === 'RMSNormalization') {
    const axis = attrF(p, 'axis', -1);
    if (axis !== -1) return { refused: `the final ${op} normalises over axis ${axis}, not the hidden size` };
    const gamma = vec(p.input?.[1]);
    if (!gamma) return { refused: `the final ${op}'s scale is not a constant of the hidden size` };
    const kind: NormKind = op === 'LayerNormalization' ? 'layernorm' : 'rmsnorm';
    return {
      kind,
      label: op,
      inputs: [p.input?.[0] ?? ''],
      reads: readsOf(g, [p.input?.[0] ?? '']),
      gamma,
      beta: kind === 'layernorm' ? vec(p.input?.[2]) : undefined,
      epsilon: attrF(p, 'epsilon', 1e-5),
    };
  }
  if ((op === 'SkipLayerNormalization' || op === 'SkipSimplifiedLayerNormalization') && p.domain === 'com.microsoft') {
    const simplified = op === 'SkipSimplifiedLayerNormalization';
    const gamma = vec(p.input?.[2]);
    if (!gamma) return { refused: `the final ${op}'s scale is not a constant of the hidden size` };
    const beta = simplified ? undefined : vec(p.input?.[3]);
    const inputBias = vec(p.input?.[simplified ? 3 : 4]);
    const inputs = [p.input?.[0] ?? '', p.input?.[1] ?? ''];
    return {
      kind: simplified ? 'rmsnorm' : 'layernorm',
      label: op,
      inputs,
      reads: readsOf(g, inputs),
      gamma,
      beta,
      inputBias,
      epsilon: attrF(p, 'epsilon', 1e-12),
    };
  }
  return undefined;
}

/** The final norm as arithmetic ending at `h`, or undefined when `h` is neither a norm nor scaled by a constant. */
function decomposedNorm(g: GraphIndex, h: string, vec: Vec): FinalNorm | { refused: string } | undefined {
  // Decomposed: [Add β] ← Mul γ ← normalised, where normalised is built from ReduceMean over x (or x²).
  let t = h,
    beta: Float32Array | undefined,
    gamma: Float32Array | undefined;
  const prodOf = (x: string) => g.producer.get(x)?.node;
  let q = prodOf(t);
  if (q?.opType === 'Add' && !q.domain) {
    const [a, b] = q.input ?? [];
    const va = vec(a),
      vb = vec(b);
    if (va || vb) {
      beta = va ?? vb;
      t = va ? b : a;
      q = prodOf(t);
    }
  }
  if (q?.opType === 'Mul' && !q.domain) {
    const [a, b] = q.input ?? [];
    const va = vec(a),
      vb = vec(b);
    if (va || vb) {
      gamma = va ?? vb;
      t = va ? b : a;
    }
  }
  const found = decomposedInput(g, t);
  if (found) {
    return {
      kind: found.centred ? 'layernorm' : 'rmsnorm',
      label: `decomposed ${found.centred ? 'LayerNorm' : 'RMSNorm'}`,
      inputs: [found.x],
      reads: readsOf(g, [found.x]),
      gamma,
      beta,
      epsilon: found.eps,
      ...(found.afterRoot ? { epsilonAfterRoot: true } : {}),
    };
  }
  if (beta || gamma) return { refused: 'the unembedding reads a scaled tensor that is not a recognisable norm' };
  return undefined;
}

/**
 * The input x of a decomposed norm whose normalised output is `out`: a ReduceMean over x (LayerNorm: x − mean(x)
 * is normalised) or over x² (RMSNorm), everything between x and `out` built from NORM_OPS and constants.
 */
function decomposedInput(g: GraphIndex, out: string): { x: string; centred: boolean; eps: number; afterRoot: boolean } | undefined {
  const seen = new Set<string>();
  let frontier = [out];
  const means: onnx.INodeProto[] = [];
  // ε: a scalar added to the mean of squares (inside the root) or to the root itself.
  let eps = 0,
    afterRoot = false;
  for (let depth = 0; depth < 10 && frontier.length; depth++) {
    const next: string[] = [];
    for (const t of frontier) {
      if (seen.has(t)) continue;
      seen.add(t);
      const p = g.producer.get(t)?.node;
      if (!p || p.domain || !NORM_OPS.has(p.opType ?? '')) continue;
      if (p.opType === 'ReduceMean') means.push(p);
      if (p.opType === 'Add') {
        const [a, b] = p.input ?? [];
        const c = weightOf(g, a) ?? weightOf(g, b);
        const other = g.producer.get(weightOf(g, a) ? b : a)?.node.opType;
        if (c && c.data.length === 1 && (other === 'ReduceMean' || other === 'Sqrt')) {
          eps = c.data[0];
          afterRoot = other === 'Sqrt';
        }
      }
      for (const i of p.input ?? []) if (i && !isConst(g, i)) next.push(i);
    }
    frontier = next;
  }
  const squareOf = (t: string): string | undefined => {
    const p = g.producer.get(t)?.node;
    if (p?.opType === 'Pow') {
      const e = weightOf(g, p.input?.[1] ?? '');
      return e && e.data.length === 1 && e.data[0] === 2 ? p.input?.[0] : undefined;
    }
    if (p?.opType === 'Mul' && p.input?.[0] === p.input?.[1]) return p.input?.[0];
    return undefined;
  };
  for (const m of means) {
    const inp = m.input?.[0] ?? '';
    const sq = squareOf(inp);
    if (sq === undefined) {
      // mean(x): a LayerNorm if x − mean(x) is formed
      const centred = (g.consumers.get(m.output?.[0] ?? '') ?? []).some((c) => c.opType === 'Sub' && c.input?.[0] === inp);
      if (centred) return { x: inp, centred: true, eps, afterRoot };
      continue;
    }
    const sp = g.producer.get(sq)?.node;
    if (sp?.opType === 'Sub') {
      const meanNode = g.producer.get(sp.input?.[1] ?? '')?.node;
      if (meanNode?.opType === 'ReduceMean' && meanNode.input?.[0] === sp.input?.[0]) return { x: sp.input?.[0] ?? '', centred: true, eps, afterRoot };
    }
    // RMSNorm: mean(x²), and x itself reaches the output
    if (seen.has(sq)) return { x: sq, centred: false, eps, afterRoot };
  }
  return undefined;
}
