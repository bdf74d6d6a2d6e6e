// A notebook output → the panel's SessionData, with the panel's analysis: inline attention is decoded here
// and analysed in the analysis worker (src/session/analysisWorker.ts, off the host's thread); attention in a
// dump file goes through the attention-dump path (src/session/dump.ts) exactly as `headlight explain --dump`
// does. No vscode import: the unit tests and the host share it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { createHash } from 'node:crypto';
import type { AnalysisClient } from '../session/analysisClient';
import { buildDumpSessionAsync } from '../session/dump';
import { THUMB_SIZE, toSessionData } from '../session/wire';
import type { AttentionDump } from '../dump/attentionDump';
import type { AttentionSet } from '../core/attention';
import type { SessionData } from '../protocol';
import {
  expectedBytes,
  headName,
  headOf,
  headProblem,
  oversizeMessage,
  OutputError,
  parseOutput,
  rowTolerance,
  type DumpPointer,
  type InlineAttention,
  type NotebookOutput,
} from './format';

export interface AnalysedOutput {
  /** sha-1 of the output's JSON text: names it in later requests. */
  key: string;
  output: NotebookOutput;
  session: SessionData;
  /** Answers head/matrix and flow/rollout: the decoded attention, or the open dump (the caller closes it). */
  attention: AttentionSet | AttentionDump;
  /** The dump file's resolved path, for outputs that point to one. */
  dumpPath?: string;
}

export interface AnalyseOptions {
  id: number;
  title: string;
  analysis: AnalysisClient;
  /** Where an output's dump is on this machine (relative paths are the notebook's folder's), or why it cannot be read. */
  resolveDump(d: DumpPointer): string;
  signal?: AbortSignal;
}

export function outputKey(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

/** JSON text → the parsed output, refusing oversized text before parsing it. */
export function readOutput(text: string): NotebookOutput {
  const big = oversizeMessage(Buffer.byteLength(text, 'utf8'));
  if (big) throw new OutputError(big);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new OutputError(`This Headlight output is not valid JSON (${e instanceof Error ? e.message.slice(0, 120) : String(e)}).`);
  }
  return parseOutput(v);
}

/** base64 (+ zlib) → the stored bytes, never inflating past what the shape says (a zip bomb stops there). */
export function inlineBytes(o: NotebookOutput, a: InlineAttention): Uint8Array {
  const want = expectedBytes(o, a);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(a.data)) throw new OutputError('"attention.data" is not base64.');
  const packed = Buffer.from(a.data, 'base64');
  let raw: Buffer;
  if (a.compression === 'zlib') {
    try {
      raw = zlib.inflateSync(packed, { maxOutputLength: want + 1 });
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw new OutputError(
        /larger than|maxOutputLength|Cannot create a Buffer/i.test(msg)
          ? `"attention.data" decompresses to more than the ${want} bytes its shape needs.`
          : `"attention.data" is not zlib data (${msg}).`,
      );
    }
  } else raw = packed;
  if (raw.length !== want) {
    throw new OutputError(
      `"attention.data" holds ${raw.length} bytes; ${o.layers} layers × ${o.headsPerLayer} heads × ${o.seq} tokens in ${a.dtype} (${a.layout}) is ${want} bytes.`,
    );
  }
  return new Uint8Array(raw.buffer, raw.byteOffset, raw.length);
}

/** The decoded attention as the analysis takes it: every head checked (finite, in [0, 1], rows summing to 1). */
export function attentionOf(o: NotebookOutput, a: InlineAttention, raw: Uint8Array): AttentionSet {
  const n = o.seq,
    H = o.headsPerLayer;
  const data = Array.from({ length: o.layers }, () => new Float32Array(H * n * n));
  for (let l = 0; l < o.layers; l++) for (let h = 0; h < H; h++) headOf(raw, o, a, l, h, data[l].subarray(h * n * n, (h + 1) * n * n));
  // As the dump reader decides (src/dump/attentionDump.ts): when the output does not say, a decoder's layer-0 head 0
  // is exactly zero above the diagonal.
  const causal = o.causal ?? looksCausal(data[0], n);
  const checked = { ...o, causal };
  for (let l = 0; l < o.layers; l++) {
    for (let h = 0; h < H; h++) {
      const problem = headProblem(data[l].subarray(h * n * n, (h + 1) * n * n), checked, l, h, rowTolerance(a.dtype));
      if (problem) throw new OutputError(problem);
    }
  }
  return { layers: o.layers, headsPerLayer: H, seq: n, causal, data };
}

function looksCausal(A: Float32Array, n: number): boolean {
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (A[i * n + j] !== 0) return false;
  return true;
}

/** Heads named with the model's numbers when the output sent a subset, and a note saying so. */
function numbered(o: NotebookOutput, s: SessionData): SessionData {
  if (!o.layerNumbers && !o.headNumbers) return s;
  const heads = s.heads.map((hd) => ({ ...hd, id: headName(o, hd.layer, hd.head) }));
  const ln = o.layerNumbers ? `layers ${o.layerNumbers.join(', ')}` : 'every layer';
  const hn = o.headNumbers ? `heads ${o.headNumbers.join(', ')}` : 'every head';
  const note = `This output holds ${ln} and ${hn} of ${o.model ?? 'the model'}: the catalog names heads by the model's numbers; Arcs' menus count the ones sent, from 0.`;
  return { ...s, heads, notice: s.notice ? `${s.notice} ${note}` : note };
}

export async function analyseOutput(text: string, opts: AnalyseOptions): Promise<AnalysedOutput> {
  const key = outputKey(text);
  const o = readOutput(text);
  if (o.dump) return analyseDump(key, o, o.dump, opts);
  const a = o.attention!;
  const attention = attentionOf(o, a, inlineBytes(o, a));
  const modelName = o.model ?? 'notebook output';
  // The same reading of the text as an attention dump's: its language's grammar, else English prose.
  const syntax = await opts.analysis.syntax(o.tokens, { language: o.language ?? 'plaintext', text: o.text, offset: 0 });
  const r = await opts.analysis.analyze(attention, o.tokens, undefined, THUMB_SIZE, syntax);
  const session = toSessionData({
    id: opts.id,
    title: opts.title,
    text: o.text,
    tokens: o.tokens,
    attention: r.attention,
    reports: r.reports,
    thumbnails: r.thumbnails,
    syntax,
    model: { name: modelName, kind: r.attention.causal ? 'causal' : 'bidirectional', layers: o.layers, headsPerLayer: o.headsPerLayer },
  });
  return { key, output: o, session: numbered(o, session), attention: r.attention };
}

async function analyseDump(key: string, o: NotebookOutput, d: DumpPointer, opts: AnalyseOptions): Promise<AnalysedOutput> {
  const file = opts.resolveDump(d);
  if (!fs.existsSync(file)) {
    throw new OutputError(
      `The attention of this output is in a dump file that is not there: ${d.path}${d.absolutePath ? ` (written at ${d.absolutePath})` : ''}. Run the cell again, or put the dump back beside the notebook.`,
    );
  }
  const built = await buildDumpSessionAsync(file, { id: opts.id, title: opts.title, syntax: true, ...(opts.signal ? { signal: opts.signal } : {}) });
  const dump = built.dump;
  // The output keeps the tokens (the renderer shows them without the host); a dump rewritten since disagrees.
  if (dump.layers !== o.layers || dump.headsPerLayer !== o.headsPerLayer || dump.seq !== o.seq || dump.text !== o.text) {
    dump.close();
    throw new OutputError(
      `The dump at ${path.basename(file)} no longer matches this output (it holds ${dump.layers} × ${dump.headsPerLayer} heads over ${dump.seq} tokens; the output says ${o.layers} × ${o.headsPerLayer} over ${o.seq}). Run the cell again.`,
    );
  }
  return { key, output: o, session: numbered(o, built.session), attention: dump, dumpPath: file };
}
