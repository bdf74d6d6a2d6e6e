// Turns the engine's result and the analysis' reports into what the webview draws (src/protocol/wire.ts).
// No vscode import: the CLI, the benchmark and the webview test harness build the same sessions.
import type { AttentionSet, Predictions, Token } from '../engine/types';
import type { SyntaxInfo } from '../analysis/syntax/types';
import { asReader, attentionPathway, checkHead, METRICS, valueWeightedReader, type HeadReader, type HeadReport } from '../analysis';
import type { FlowData, HeadMatrix, MetricInfo, SessionData, WireHead, WireToken, RequestMap, RequestMethod } from '../protocol';

export const THUMB_SIZE = 48;

/** Routes follow the residual stream of a model run: attention alone (a dump, a materialised run) has none. */
export const ROUTES_NEED_A_RUN =
  "Routes follow the model's residual stream, which only an explanation run in the panel keeps: attention alone (an attention dump) does not have it.";

export function wireTokens(tokens: Token[], syntax?: SyntaxInfo): WireToken[] {
  return tokens.map((t, i) => {
    const s = syntax?.tokenSyntax[i];
    return { text: t.text, start: t.start, end: t.end, special: t.special, ...(s ? { syntax: s } : {}) };
  });
}

/** The panel's line about the syntax roles when there is a caveat (unknown language read as prose, parse errors); else none. */
export function syntaxNote(syntax: SyntaxInfo): string | undefined {
  if (!syntax.note) return undefined;
  const from = syntax.mode === 'code' ? `Syntax roles from the ${syntax.language} parse` : 'Syntax roles from English word classes';
  return `${from}: ${syntax.note}.`;
}

/** Each relation's gold edges as [dependent, gold] pairs (relations with none left out). */
export function wireRelations(syntax: SyntaxInfo): NonNullable<SessionData['relations']> {
  return syntax.relations.flatMap((r) => {
    const edges: [number, number][] = [];
    r.gold.forEach((g, d) => {
      if (g >= 0) edges.push([d, g]);
    });
    return edges.length ? [{ name: r.name, edges }] : [];
  });
}

/** What the syntax roles were read from, for the command line's JSON. */
export function syntaxSummary(syntax: SyntaxInfo): { mode: 'code' | 'prose'; language: string; partial: boolean; note?: string } {
  return { mode: syntax.mode, language: syntax.language, partial: syntax.partial, ...(syntax.note ? { note: syntax.note } : {}) };
}

export function wireHeads(reports: HeadReport[]): WireHead[] {
  return reports.map((r) => ({
    layer: r.layer,
    head: r.head,
    id: r.id,
    metrics: { ...r.metrics },
    notes: Object.fromEntries(Object.entries(r.notes).filter(([, v]) => typeof v === 'string')),
    roles: r.roles.map((role) => ({
      name: role.name,
      score: role.score,
      threshold: role.threshold,
      evidence: role.evidence.sentence,
      source: role.source,
      ...(role.offset !== undefined ? { offset: role.offset } : {}),
      ...(role.evidence.example
        ? { example: { query: role.evidence.example.query, key: role.evidence.example.key, weight: role.evidence.example.weight } }
        : {}),
    })),
  }));
}

export const METRIC_INFO: MetricInfo[] = METRICS.map((m) => ({ key: m.key, label: m.label, definition: m.definition }));

/** One head quantised to bytes: weight ≈ byte/255 (error ≤ 0.002, plenty for drawing). */
export function headMatrix(attention: AttentionSet | HeadReader, layer: number, head: number): HeadMatrix {
  const att = asReader(attention);
  checkHead(att, layer, head);
  const A = att.head(layer, head);
  const out = new Uint8Array(A.length);
  for (let i = 0; i < A.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, A[i])) * 255);
  return { layer, head, seq: att.seq, data: out };
}

/**
 * A head shrunk to size×size by averaging blocks (a thumbnail must show structure — diagonals, columns —
 * so each thumbnail is scaled to its own maximum and lifted with a square root so faint patterns show).
 */
export function thumbnail(attention: AttentionSet | HeadReader, layer: number, head: number, size = THUMB_SIZE): Uint8Array {
  const att = asReader(attention);
  return thumbnailOf(att.head(layer, head), att.seq, size, undefined, att.causal);
}

/**
 * The thumbnail of one head matrix already in hand (n×n, row-major). With `weights` (value norms), of its
 * value-weighted matrix (analysis/valueWeighted.ts) read on the fly: the same float32 values summed in the
 * same order, without materialising a second n×n matrix per head. `causal`: a row is read only up to the
 * diagonal (the rest is the mask's zeros, as everywhere else in the analysis) — half the reads.
 */
export function thumbnailOf(A: Float32Array, n: number, size = THUMB_SIZE, weights?: ArrayLike<number>, causal = false): Uint8Array {
  const s = Math.min(size, n);
  const acc = new Float64Array(s * s);
  // Block edges: block c covers columns (and rows) [edge[c], edge[c + 1]). One add per weight, no
  // per-weight index arithmetic: this pass runs over every head (144 × n² weights).
  const edge = new Int32Array(s + 1);
  for (let c = 0; c <= s; c++) edge[c] = Math.min(n, Math.ceil((c * n) / s));
  for (let r = 0; r < s; r++) {
    // Four rows at a time: four independent add chains where one row alone is one chain, whose latency
    // bound the pass. Each row's sums keep their order and reach acc in row order: the same floats.
    let i = edge[r];
    if (weights) {
      for (; i + 4 <= edge[r + 1]; i += 4) weightedRows4(A, n, i, weights, causal, edge, s, acc, r * s);
      for (; i < edge[r + 1]; i++) weightedRow(A, n, i, weights, causal, edge, s, acc, r * s);
      continue;
    }
    for (; i + 4 <= edge[r + 1]; i += 4) blockRows4(A, n, i, causal, edge, s, acc, r * s);
    for (; i < edge[r + 1]; i++) blockRow(A, n, i, causal, edge, s, acc, r * s);
  }
  let max = 0;
  for (let r = 0; r < s; r++) {
    for (let c = 0; c < s; c++) {
      const b = r * s + c;
      acc[b] /= Math.max(1, (edge[r + 1] - edge[r]) * (edge[c + 1] - edge[c]));
      if (acc[b] > max) max = acc[b];
    }
  }
  const out = new Uint8Array(size * size); // always size², smaller inputs sit top-left
  if (max <= 0) return out;
  for (let r = 0; r < s; r++) for (let c = 0; c < s; c++) out[r * size + c] = Math.round(Math.sqrt(acc[r * s + c] / max) * 255);
  return out;
}

/** Row i of the value-weighted matrix (each product scaled to the row's sum, as float32), its block sums added to acc[out + c]. */
function weightedRow(
  A: Float32Array,
  n: number,
  i: number,
  weights: ArrayLike<number>,
  causal: boolean,
  edge: Int32Array,
  s: number,
  acc: Float64Array,
  out: number,
): void {
  const row = i * n;
  const end = causal ? i + 1 : n;
  let rs = 0;
  for (let j = 0; j < end; j++) rs += A[row + j] * weights[j];
  if (rs <= 0) return;
  const inv = 1 / rs;
  for (let c = 0; c < s && edge[c] < end; c++) {
    let sum = 0;
    for (let j = edge[c], e = Math.min(edge[c + 1], end); j < e; j++) sum += Math.fround(A[row + j] * weights[j] * inv);
    acc[out + c] += sum;
  }
}

/** Rows i..i+3 of the value-weighted matrix: what weightedRow does four times, side by side (see blockRows4). */
function weightedRows4(
  A: Float32Array,
  n: number,
  i: number,
  w: ArrayLike<number>,
  causal: boolean,
  edge: Int32Array,
  s: number,
  acc: Float64Array,
  out: number,
): void {
  const r0 = i * n,
    r1 = r0 + n,
    r2 = r1 + n,
    r3 = r2 + n;
  const e0 = causal ? i + 1 : n,
    e3 = causal ? i + 4 : n;
  let q0 = 0,
    q1 = 0,
    q2 = 0,
    q3 = 0;
  for (let j = 0; j < e0; j++) {
    const wj = w[j];
    q0 += A[r0 + j] * wj;
    q1 += A[r1 + j] * wj;
    q2 += A[r2 + j] * wj;
    q3 += A[r3 + j] * wj;
  }
  for (let j = e0; j < e3; j++) {
    if (j < e0 + 1) q1 += A[r1 + j] * w[j];
    if (j < e0 + 2) q2 += A[r2 + j] * w[j];
    q3 += A[r3 + j] * w[j];
  }
  // A row whose sum is not positive adds nothing (as weightedRow returns early); its sums are still formed.
  const v0 = 1 / q0,
    v1 = 1 / q1,
    v2 = 1 / q2,
    v3 = 1 / q3;
  for (let c = 0; c < s && edge[c] < e3; c++) {
    const j1 = edge[c + 1];
    const jc = Math.min(j1, e0);
    let s0 = 0,
      s1 = 0,
      s2 = 0,
      s3 = 0,
      j = edge[c];
    for (; j < jc; j++) {
      const wj = w[j];
      s0 += Math.fround(A[r0 + j] * wj * v0);
      s1 += Math.fround(A[r1 + j] * wj * v1);
      s2 += Math.fround(A[r2 + j] * wj * v2);
      s3 += Math.fround(A[r3 + j] * wj * v3);
    }
    if (j1 > e0) {
      for (let k = j, e = Math.min(j1, e0 + 1); k < e; k++) s1 += Math.fround(A[r1 + k] * w[k] * v1);
      for (let k = j, e = Math.min(j1, e0 + 2); k < e; k++) s2 += Math.fround(A[r2 + k] * w[k] * v2);
      for (let k = j, e = Math.min(j1, e0 + 3); k < e; k++) s3 += Math.fround(A[r3 + k] * w[k] * v3);
    }
    if (!(q0 <= 0)) acc[out + c] += s0;
    if (!(q1 <= 0)) acc[out + c] += s1;
    if (!(q2 <= 0)) acc[out + c] += s2;
    if (!(q3 <= 0)) acc[out + c] += s3;
  }
}

/** Row i's block sums added to acc[out + c] (the rows of a block left over by blockRows4). */
function blockRow(A: Float32Array, n: number, i: number, causal: boolean, edge: Int32Array, s: number, acc: Float64Array, out: number): void {
  const row = i * n;
  const end = causal ? i + 1 : n;
  for (let c = 0; c < s && edge[c] < end; c++) {
    let sum = 0;
    for (let j = row + edge[c], e = row + Math.min(edge[c + 1], end); j < e; j++) sum += A[j];
    acc[out + c] += sum;
  }
}

/**
 * Rows i..i+3's block sums added to acc[out + c], row by row: what blockRow does four times, the four
 * chains side by side. Causal rows see i+1..i+4 keys: the block on the diagonal has a tail of up to three
 * keys that only the later rows read; a row adds 0 to the blocks past its end (acc is unchanged by it).
 */
function blockRows4(A: Float32Array, n: number, i: number, causal: boolean, edge: Int32Array, s: number, acc: Float64Array, out: number): void {
  const r0 = i * n,
    r1 = r0 + n,
    r2 = r1 + n,
    r3 = r2 + n;
  const e0 = causal ? i + 1 : n,
    e3 = causal ? i + 4 : n;
  for (let c = 0; c < s && edge[c] < e3; c++) {
    const j1 = edge[c + 1];
    const jc = Math.min(j1, e0);
    let s0 = 0,
      s1 = 0,
      s2 = 0,
      s3 = 0,
      j = edge[c];
    for (; j < jc; j++) {
      s0 += A[r0 + j];
      s1 += A[r1 + j];
      s2 += A[r2 + j];
      s3 += A[r3 + j];
    }
    if (j1 > e0) {
      for (let k = j, e = Math.min(j1, e0 + 1); k < e; k++) s1 += A[r1 + k];
      for (let k = j, e = Math.min(j1, e0 + 2); k < e; k++) s2 += A[r2 + k];
      for (let k = j, e = Math.min(j1, e0 + 3); k < e; k++) s3 += A[r3 + k];
    }
    acc[out + c] += s0;
    acc[out + c] += s1;
    acc[out + c] += s2;
    acc[out + c] += s3;
  }
}

export function flowData(att: AttentionSet | HeadReader, token: number): FlowData {
  const p = attentionPathway(att, token);
  return { token, layers: p.perLayer.map((v) => Float32Array.from(v)) };
}

export interface SessionInput {
  id: number;
  title: string;
  text: string;
  model: SessionData['model'];
  tokens: Token[];
  attention: AttentionSet | HeadReader;
  reports: HeadReport[];
  truncatedFrom?: number;
  /** What became of the model-level repeat probe, when one was due (causal models). */
  probeNote?: string;
  /** Next-token predictions (causal LMs), or why there are none. */
  predictions?: Predictions;
  predictionsNote?: string;
  valueNorms?: SessionData['valueNorms'];
  valueNormsNote?: string;
  valueThumbnails?: Uint8Array[];
  /** Thumbnails already made while reading each head once (dumps); computed from `attention` otherwise. */
  thumbnails?: Uint8Array[];
  /** The parse / tagging the syntax roles came from: per-token `syntax` and the session's syntaxNote. */
  syntax?: SyntaxInfo;
}

export function toSessionData(input: SessionInput, thumbSize = THUMB_SIZE): SessionData {
  const att = asReader(input.attention);
  let thumbnails = input.thumbnails;
  if (!thumbnails) {
    thumbnails = [];
    for (let l = 0; l < att.layers; l++) for (let h = 0; h < att.headsPerLayer; h++) thumbnails.push(thumbnail(att, l, h, thumbSize));
  } else if (thumbnails.length !== att.layers * att.headsPerLayer) {
    throw new RangeError(`${thumbnails.length} thumbnails for ${att.layers * att.headsPerLayer} heads`);
  }
  return {
    id: input.id,
    title: input.title,
    text: input.text,
    model: input.model,
    tokens: wireTokens(input.tokens, input.syntax),
    heads: wireHeads(input.reports),
    metrics: METRIC_INFO,
    thumbSize,
    thumbnails,
    ...(input.syntax && syntaxNote(input.syntax) ? { syntaxNote: syntaxNote(input.syntax) } : {}),
    ...(input.syntax ? { relations: wireRelations(input.syntax) } : {}),
    ...(input.truncatedFrom !== undefined ? { truncatedFrom: input.truncatedFrom } : {}),
    ...(input.probeNote !== undefined ? { probeNote: input.probeNote } : {}),
    ...wirePredictions(input),
  };
}

function wirePredictions(
  input: Pick<SessionInput, 'predictions' | 'predictionsNote' | 'valueNorms' | 'valueNormsNote' | 'valueThumbnails'>,
): Partial<SessionData> {
  const p = input.predictions;
  return {
    ...(p
      ? { predictions: { k: p.k, topText: p.topText, topP: p.topP, actualP: p.actualP, loss: p.loss } }
      : input.predictionsNote !== undefined
        ? { predictionsNote: input.predictionsNote }
        : {}),
    ...(input.valueNorms ? { valueNorms: input.valueNorms } : input.valueNormsNote !== undefined ? { valueNormsNote: input.valueNormsNote } : {}),
    ...(input.valueThumbnails ? { valueThumbnails: input.valueThumbnails } : {}),
  };
}

/** A first-paint session: everything but the per-head analysis (heads and thumbnails follow). */
export function previewSession(input: Omit<SessionInput, 'reports' | 'thumbnails' | 'attention'>, thumbSize = THUMB_SIZE): SessionData {
  return {
    id: input.id,
    title: input.title,
    text: input.text,
    model: input.model,
    tokens: wireTokens(input.tokens),
    heads: [],
    metrics: METRIC_INFO,
    thumbSize,
    thumbnails: [],
    analysing: true,
    ...(input.truncatedFrom !== undefined ? { truncatedFrom: input.truncatedFrom } : {}),
    ...wirePredictions(input),
  };
}

/** Every head's value-weighted thumbnail (layer-major), from any attention source with value norms. */
export function valueThumbnailsOf(att: HeadReader, valueNorms: Float32Array | undefined, size = THUMB_SIZE): RequestMap['heads/valueThumbnails']['result'] {
  if (!valueNorms) throw new Error(noValueNorms('there are no value-weighted thumbnails'));
  const thumbnails: Uint8Array[] = [];
  for (let l = 0; l < att.layers; l++)
    for (let h = 0; h < att.headsPerLayer; h++) thumbnails.push(thumbnailOf(att.head(l, h), att.seq, size, headNorms(valueNorms, att, l, h), att.causal));
  return { thumbSize: size, thumbnails };
}

/** One head's key norms out of the engine's [layers × heads × n]. */
export function headNorms(all: Float32Array, shape: { headsPerLayer: number; seq: number }, layer: number, head: number): Float32Array {
  const n = shape.seq,
    k = layer * shape.headsPerLayer + head;
  return all.subarray(k * n, (k + 1) * n);
}

/** Why a value-weighted answer cannot be given. */
export function noValueNorms(so: string): string {
  return `This explanation has no value norms, so ${so}.`;
}

/** The panel's requests, answered from any attention source (a live result or a dump's reader). */
export function answerPanelRequest<M extends RequestMethod>(
  att: AttentionSet | HeadReader,
  method: M,
  params: RequestMap[M]['params'],
  valueNorms?: Float32Array,
): RequestMap[M]['result'] {
  if (method === 'routes/trace') throw new Error(ROUTES_NEED_A_RUN);
  if (method === 'head/matrix') {
    const p = params as RequestMap['head/matrix']['params'];
    return headMatrix(att, p.layer, p.head);
  }
  if (method === 'heads/valueThumbnails') return valueThumbnailsOf(asReader(att), valueNorms);
  const p = params as RequestMap['flow/rollout']['params'];
  if (!Number.isInteger(p.token) || p.token < 0 || p.token >= att.seq) throw new RangeError(`No token ${p.token} in this explanation.`);
  if (p.weighting === 'value') {
    if (!valueNorms) throw new Error(noValueNorms('Flow can only follow the attention weights'));
    return flowData(valueWeightedReader(asReader(att), valueNorms), p.token);
  }
  return flowData(att, p.token);
}
