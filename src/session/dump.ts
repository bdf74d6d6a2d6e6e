// attention dump (files written elsewhere) → analysis → SessionData, with no model run. Each head is read
// from the file once and used for both its report and its thumbnail; the panel's later head/matrix and
// flow/rollout requests read the dump again through the same HeadReader. No vscode import.
import { headAnalyzer, type HeadReport } from '../analysis';
import { buildSyntax } from '../analysis/syntax';
import type { SyntaxInfo } from '../analysis/syntax/types';
import { AttentionDump, type OpenDumpOptions } from '../dump/attentionDump';
import { EngineError } from '../core/errors';
import type { SessionData } from '../protocol';
import { THUMB_SIZE, thumbnailOf, toSessionData } from './wire';

export interface DumpBuildOptions extends OpenDumpOptions {
  id: number;
  title?: string;
  thumbSize?: number;
  /** The syntax roles' parse / tagging of the dump's tokens (buildDumpSessionAsync makes it with `syntax: true`). */
  syntaxInfo?: SyntaxInfo;
}

export interface DumpSession {
  session: SessionData;
  reports: HeadReport[];
  /** Still open: answers the panel's head and flow requests; the caller closes it. */
  dump: AttentionDump;
  /** The parse / tagging the syntax roles were scored against, when asked for. */
  syntax?: SyntaxInfo;
}

export interface DumpProgress {
  done: number;
  total: number;
}

/**
 * The walk over heads, one at a time. Roles come from the text alone: a dump carries no model to run the
 * repeat probe on, so probe-based roles (induction on the probe) are not available.
 */
function* walk(dump: AttentionDump, o: DumpBuildOptions, out: { reports: HeadReport[]; thumbnails: Uint8Array[] }): Generator<DumpProgress> {
  const an = headAnalyzer(dump, dump.tokens, o.syntaxInfo ? { syntax: o.syntaxInfo } : {});
  const total = dump.layers * dump.headsPerLayer;
  for (let l = 0; l < dump.layers; l++) {
    for (let h = 0; h < dump.headsPerLayer; h++) {
      const A = dump.head(l, h);
      out.reports.push(an.analyze(l, h, A));
      out.thumbnails.push(thumbnailOf(A, dump.seq, o.thumbSize ?? THUMB_SIZE, undefined, dump.causal));
      yield { done: out.reports.length, total };
    }
  }
}

function finish(dump: AttentionDump, o: DumpBuildOptions, out: { reports: HeadReport[]; thumbnails: Uint8Array[] }): DumpSession {
  const session = toSessionData(
    {
      id: o.id,
      title: o.title ?? `Attention dump: ${dump.model}`,
      text: dump.text,
      model: { name: dump.model, kind: dump.causal ? 'causal' : 'bidirectional', layers: dump.layers, headsPerLayer: dump.headsPerLayer },
      tokens: dump.tokens,
      attention: dump,
      reports: out.reports,
      thumbnails: out.thumbnails,
      ...(o.syntaxInfo ? { syntax: o.syntaxInfo } : {}),
    },
    o.thumbSize ?? THUMB_SIZE,
  );
  return { session, reports: out.reports, dump, ...(o.syntaxInfo ? { syntax: o.syntaxInfo } : {}) };
}

/** Synchronous build (CLI, tests). */
export function buildDumpSession(p: string, o: DumpBuildOptions): DumpSession {
  const dump = AttentionDump.open(p, o);
  try {
    const out = { reports: [] as HeadReport[], thumbnails: [] as Uint8Array[] };
    for (const _ of walk(dump, o, out)) {
      /* every head */
    }
    return finish(dump, o, out);
  } catch (e) {
    dump.close();
    throw e;
  }
}

/**
 * The same build yielding to the event loop every `sliceMs` (the extension host must stay responsive
 * while a 1,024-head dump is analysed; each head is one sync read + O(n²) work), cancellable.
 */
export async function buildDumpSessionAsync(
  p: string,
  o: DumpBuildOptions & { signal?: AbortSignal; onProgress?: (p: DumpProgress) => void; sliceMs?: number; syntax?: boolean },
): Promise<DumpSession> {
  const dump = AttentionDump.open(p, o);
  try {
    // `syntax`: the panel's and the CLI's reading — tokens.json's "language" parsed with its grammar, else prose.
    if (o.syntax && !o.syntaxInfo)
      o = { ...o, syntaxInfo: await buildSyntax(dump.tokens, { language: dump.language ?? 'plaintext', text: dump.text, offset: 0 }) };
    const out = { reports: [] as HeadReport[], thumbnails: [] as Uint8Array[] };
    const slice = o.sliceMs ?? 30;
    let t = performance.now();
    for (const prog of walk(dump, o, out)) {
      if (performance.now() - t >= slice) {
        o.onProgress?.(prog);
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (o.signal?.aborted) throw new EngineError('cancelled', 'Opening the attention dump was cancelled.');
        t = performance.now();
      }
    }
    return finish(dump, o, out);
  } catch (e) {
    dump.close();
    throw e;
  }
}
