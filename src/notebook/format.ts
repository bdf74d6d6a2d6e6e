// The Headlight notebook output (MIME application/vnd.headlight.attention+json): what a Python cell emits
// (python/headlight), what the renderer draws and what the extension host analyses. Pure — no Node, DOM or
// vscode API — so the renderer (browser) and the host read an output the same way. Spec: docs/notebooks.md.
import { parseTokens, type DumpTokens } from '../dump/tokenList';
import { halfTable } from '../core/half';

export const NOTEBOOK_MIME = 'application/vnd.headlight.attention+json';
/** The output format this build reads; the Python helper writes it as `version`. */
export const FORMAT_VERSION = 1;
/** An output's JSON larger than this is refused before it is parsed (a 12 × 12-head, 256-token output is ≤ 10 MB). */
export const MAX_OUTPUT_BYTES = 64_000_000;
/** layers × heads × n² of one output: 2^28 weights is 1 GiB as float32, the most the analysis is handed at once. */
export const MAX_WEIGHTS = 2 ** 28;
/** headlight.maxTokens' ceiling: the views and the analysis are sized for it. */
export const MAX_TOKENS = 8192;

export type AttentionDType = 'float16' | 'log8';
export type AttentionLayout = 'full' | 'lower';

/** Attention carried in the output itself. */
export interface InlineAttention {
  dtype: AttentionDType;
  /** `lower`: each head's row i holds keys 0…i only (causal models: the rest is exactly 0). */
  layout: AttentionLayout;
  compression: 'zlib' | 'none';
  /** base64 of the (compressed) bytes: heads layer-major, rows in order. */
  data: string;
}

/** Attention too large for the notebook, written as an attention dump (docs/dump-format.md) beside it. */
export interface DumpPointer {
  /** As the helper wrote it: relative to the kernel's working folder (normally the notebook's), or absolute. */
  path: string;
  /** Where it was written, absolute, for a notebook moved away from its kernel's folder. */
  absolutePath?: string;
}

export interface NotebookOutput extends DumpTokens {
  layers: number;
  headsPerLayer: number;
  seq: number;
  /** The model's numbers of the layers / heads sent (a subset), when not 0…L−1 / 0…H−1. */
  layerNumbers?: number[];
  headNumbers?: number[];
  attention?: InlineAttention;
  dump?: DumpPointer;
}

/** A refusal with a message that says what is wrong with the output and what to do. */
export class OutputError extends Error {
  override readonly name = 'OutputError';
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/** The size check that comes before JSON.parse: an output of `bytes` bytes is read, or refused with this message. */
export function oversizeMessage(bytes: number): string | undefined {
  if (bytes <= MAX_OUTPUT_BYTES) return undefined;
  const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
  return (
    `This Headlight output is ${mb(bytes)}; outputs up to ${mb(MAX_OUTPUT_BYTES)} are read inline. ` +
    `Write larger attention to a dump file instead: headlight.show(..., dump="attention-dump") puts the attention beside the notebook and keeps only its path in the output (docs/notebooks.md).`
  );
}

function numbering(v: unknown, count: number, what: string): number[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length !== count || !v.every((x) => Number.isSafeInteger(x) && x >= 0) || new Set(v).size !== v.length) {
    throw new OutputError(
      `"${what}" must list ${count} distinct model ${what === 'layers' ? 'layer' : 'head'} numbers, one per ${what === 'layers' ? 'layer' : 'head'} sent`,
    );
  }
  return v as number[];
}

/** Reads an output's JSON (already parsed) into its parts, checking everything that can be checked before decoding. */
export function parseOutput(v: unknown): NotebookOutput {
  if (!isObj(v)) throw new OutputError('A Headlight output is a JSON object with "text", "tokens" and "attention" (or "dump").');
  if (v.version !== undefined && (!Number.isSafeInteger(v.version) || (v.version as number) < 1))
    throw new OutputError('"version" must be a positive integer.');
  if (typeof v.version === 'number' && v.version > FORMAT_VERSION) {
    throw new OutputError(
      `This output was written in format ${v.version} by a newer headlight helper; this Headlight reads format ${FORMAT_VERSION}. Update the Headlight extension.`,
    );
  }
  let toks: DumpTokens;
  try {
    toks = parseTokens(v, 'this output');
  } catch (e) {
    throw new OutputError(e instanceof Error ? e.message : String(e));
  }
  const hasAtt = v.attention !== undefined,
    hasDump = v.dump !== undefined;
  if (hasAtt === hasDump)
    throw new OutputError('A Headlight output carries either "attention" (inline) or "dump" (a file beside the notebook), exactly one of them.');
  const shape = v.shape;
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every(isCount)) {
    throw new OutputError(`"shape" must be [layers, heads, tokens] (three positive integers); got ${JSON.stringify(shape)?.slice(0, 80)}.`);
  }
  const [L, H, n] = shape;
  if (n !== toks.tokens.length)
    throw new OutputError(`The attention covers ${n} tokens but the output lists ${toks.tokens.length}: every token needs one row and one column.`);
  if (n > MAX_TOKENS) throw new OutputError(`${n} tokens is more than Headlight draws (${MAX_TOKENS}); send a shorter text.`);
  if (L * H * n * n > MAX_WEIGHTS) {
    throw new OutputError(
      `${L} layers × ${H} heads × ${n}² = ${(L * H * n * n).toExponential(2)} weights is more than one output can hold (${MAX_WEIGHTS.toExponential(2)}); send fewer layers (headlight.show(..., layers=[…])) or a shorter text.`,
    );
  }
  const out: NotebookOutput = { ...toks, layers: L, headsPerLayer: H, seq: n };
  const ln = numbering(v.layers, L, 'layers'),
    hn = numbering(v.heads, H, 'heads');
  if (ln) out.layerNumbers = ln;
  if (hn) out.headNumbers = hn;
  if (hasAtt) {
    const a = v.attention;
    if (!isObj(a)) throw new OutputError('"attention" must be an object {"dtype", "layout", "compression", "data"}.');
    if (a.dtype !== 'float16' && a.dtype !== 'log8')
      throw new OutputError(`"attention.dtype" must be "float16" or "log8"; got ${JSON.stringify(a.dtype)?.slice(0, 40)}.`);
    if (a.layout !== 'full' && a.layout !== 'lower')
      throw new OutputError(`"attention.layout" must be "full" or "lower"; got ${JSON.stringify(a.layout)?.slice(0, 40)}.`);
    if (a.compression !== 'zlib' && a.compression !== 'none')
      throw new OutputError(`"attention.compression" must be "zlib" or "none"; got ${JSON.stringify(a.compression)?.slice(0, 40)}.`);
    if (typeof a.data !== 'string') throw new OutputError('"attention.data" must be a base64 string.');
    if (a.layout === 'lower' && toks.causal === false)
      throw new OutputError('"layout": "lower" stores only keys up to each query (a causal model), but the output says "causal": false.');
    out.attention = { dtype: a.dtype, layout: a.layout, compression: a.compression, data: a.data };
    // A lower-triangle layout is causal by construction; the analysis needs to know it.
    if (a.layout === 'lower') out.causal = true;
  } else {
    const d = v.dump;
    if (!isObj(d) || typeof d.path !== 'string' || !d.path) throw new OutputError('"dump" must be an object with a non-empty "path".');
    if (d.absolutePath !== undefined && typeof d.absolutePath !== 'string') throw new OutputError('"dump.absolutePath" must be a string when given.');
    out.dump = { path: d.path, ...(typeof d.absolutePath === 'string' ? { absolutePath: d.absolutePath } : {}) };
  }
  return out;
}

/** Weights stored per head: n² (full) or n(n+1)/2 (lower). */
export function storedPerHead(n: number, layout: AttentionLayout): number {
  return layout === 'lower' ? (n * (n + 1)) / 2 : n * n;
}

/** Bytes the decoded (decompressed) data must have. */
export function expectedBytes(o: Pick<NotebookOutput, 'layers' | 'headsPerLayer' | 'seq'>, a: Pick<InlineAttention, 'dtype' | 'layout'>): number {
  return o.layers * o.headsPerLayer * storedPerHead(o.seq, a.layout) * (a.dtype === 'float16' ? 2 : 1);
}

let log8: Float32Array | undefined;
/**
 * log8, one byte per weight: code 0 is 0; codes 143…255 are 2^((c − 255) / 16), sixteen per octave from 1 down to
 * 2^−7 (every weight ≥ 0.0078 within ±2.2 % of itself); codes 75…142 are 2^(−7 + (c − 143) / 4), four per octave
 * down to 2^−24 (±9 %; weights below 6e-8 become 0). A linear byte would zero everything below 0.002 (all of a
 * 500-key broad row); the coarse low end is what lets a 12 × 12-head, 256-token bidirectional output fit 10 MB.
 * Each decoded row is renormalised to sum to 1 (see headOf).
 */
export function log8Table(): Float32Array {
  if (log8) return log8;
  const t = new Float32Array(256);
  for (let c = 1; c < 256; c++) t[c] = c >= 143 ? 2 ** ((c - 255) / 16) : 2 ** (-7 + (c - 143) / 4);
  return (log8 = t);
}

/** One head's n × n matrix (row-major [query][key]) out of the decoded bytes. */
export function headOf(
  raw: Uint8Array,
  o: Pick<NotebookOutput, 'headsPerLayer' | 'seq'>,
  a: Pick<InlineAttention, 'dtype' | 'layout'>,
  layer: number,
  head: number,
  out = new Float32Array(o.seq * o.seq),
): Float32Array {
  const n = o.seq,
    per = storedPerHead(n, a.layout);
  const first = (layer * o.headsPerLayer + head) * per;
  const table = a.dtype === 'float16' ? halfTable() : log8Table();
  // float16 is little-endian (what numpy writes on every platform Headlight runs on, and what the helper forces).
  const f16 = a.dtype === 'float16';
  let k = first;
  for (let i = 0; i < n; i++) {
    const row = i * n,
      end = a.layout === 'lower' ? i + 1 : n;
    let sum = 0;
    for (let j = 0; j < end; j++, k++) sum += out[row + j] = f16 ? table[raw[2 * k] | (raw[2 * k + 1] << 8)] : table[raw[k]];
    for (let j = end; j < n; j++) out[row + j] = 0;
    // log8 rounds every weight of a uniform row the same way (1/200 → −7 %); the row's own sum undoes that. A row
    // further than log8's tolerance from 1 is left as it is, for headProblem to refuse. float16 stays bit-exact.
    if (!f16 && sum > 0 && Math.abs(sum - 1) <= LOG8_ROW_TOLERANCE) {
      const inv = 1 / sum;
      for (let j = 0; j < end; j++) out[row + j] = Math.fround(out[row + j] * inv);
    }
  }
  return out;
}

/** log8's rounding (±9 % below 0.0078) can move a row's sum this far from 1 before it is renormalised. */
const LOG8_ROW_TOLERANCE = 0.1;

/** How far a decoded row may sum from 1: the helper checks 1 ± 0.01 before encoding, plus each dtype's rounding. */
export function rowTolerance(dtype: AttentionDType): number {
  return dtype === 'float16' ? 0.02 : LOG8_ROW_TOLERANCE;
}

/** Human name of head (layer, head) with the model's numbering when the output sent a subset. */
export function headName(o: Pick<NotebookOutput, 'layerNumbers' | 'headNumbers'>, layer: number, head: number): string {
  return `L${o.layerNumbers?.[layer] ?? layer}H${o.headNumbers?.[head] ?? head}`;
}

/**
 * What is wrong with one decoded head, or undefined: a weight that is not a finite number in [0, 1], a row that
 * does not sum to 1, or weight above the diagonal of a causal model's head.
 */
export function headProblem(A: Float32Array, o: NotebookOutput, layer: number, head: number, tolerance: number): string | undefined {
  const n = o.seq;
  const tok = (i: number) => JSON.stringify(o.tokens[i].text.slice(0, 24));
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let j = 0; j < n; j++) {
      const w = A[i * n + j];
      if (!Number.isFinite(w))
        return `${headName(o, layer, head)}, row ${i} (token ${tok(i)}): weight ${j} is ${w}. Attention weights must be finite numbers; check the model ran without overflow (NaN often means a fully masked row).`;
      if (w < 0 || w > 1 + tolerance)
        return `${headName(o, layer, head)}, row ${i} (token ${tok(i)}): weight ${j} is ${w}, outside [0, 1]. Send attention probabilities (after the softmax), not scores.`;
      if (o.causal && j > i && w !== 0)
        return `${headName(o, layer, head)}, row ${i} (token ${tok(i)}): it gives weight ${w} to the later token ${j}, but the output says the model is causal.`;
      sum += w;
    }
    if (Math.abs(sum - 1) > tolerance)
      return `${headName(o, layer, head)}, row ${i} (token ${tok(i)}): the weights sum to ${sum.toFixed(4)}; each query's attention must sum to 1 (± ${tolerance}). Send attention probabilities (after the softmax), one row per query.`;
  }
  return undefined;
}
