// Entry point: every head of a model on one text → HeadReport[] (layer-major, from 0).
import type { AttentionSet, Token } from '../core/attention';
import { buildContext, type TextContext } from './context';
import { toTargetLists } from './tokenClasses';
import { asReader, type HeadReader } from './heads';
import { measureHead, Scratch } from './measure';
import type { ProbeHeadScore } from './probe';
import { measureRest } from './sinkAware';
import { decideRoles } from './roles';
import type { SyntaxInfo } from './syntax/types';
import { decideSyntaxRoles, prepareSyntax } from './roles/syntax';
import type { HeadReport } from './types';

export interface AnalyzeOptions {
  /** Scores from scoreRepeatProbe on the same model (cached per model by the engine). */
  probe?: ProbeHeadScore[];
  /** k of the top-k concentration metric (default 3). */
  topK?: number;
  /**
   * What a parse (code) or a tagger (prose) says about these tokens (analysis/syntax buildSyntax): adds the
   * syntax roles (ast-parent, def-use, determiner-noun, keyword, sentiment, rare-token, …). Absent: none of them.
   */
  syntax?: SyntaxInfo;
}

/** Heads are read one at a time from `attention` (a dump reader never holds more than its cache). */
export function analyzeHeads(attention: AttentionSet | HeadReader, tokens: Token[], options: AnalyzeOptions = {}): HeadReport[] {
  const r = asReader(attention);
  const an = headAnalyzer(r, tokens, options);
  const reports: HeadReport[] = [];
  for (let layer = 0; layer < r.layers; layer++) {
    for (let head = 0; head < r.headsPerLayer; head++) reports.push(an.analyze(layer, head, r.head(layer, head)));
  }
  return reports;
}

export interface HeadAnalyzer {
  ctx: TextContext;
  /** Report for one head whose matrix the caller already read (so it can reuse it, e.g. for a thumbnail). */
  analyze(layer: number, head: number, A: Float32Array): HeadReport;
}

/** The per-text state (context, scratch buffers) shared by every head; lets callers walk heads at their own pace. */
export function headAnalyzer(
  shape: Pick<HeadReader, 'layers' | 'headsPerLayer' | 'seq' | 'causal'>,
  tokens: Token[],
  options: AnalyzeOptions = {},
): HeadAnalyzer {
  const n = shape.seq;
  if (tokens.length !== n) throw new RangeError(`${tokens.length} tokens but attention covers ${n}`);
  if (options.probe && options.probe.length !== shape.layers * shape.headsPerLayer) {
    throw new RangeError(`probe scores cover ${options.probe.length} heads, the model has ${shape.layers * shape.headsPerLayer}`);
  }
  const topK = options.topK ?? 3;
  const ctx = buildContext(tokens, shape.causal);
  // Where a parse exists, bracket-matching reads the parse's pairs instead of the text heuristic (which stays
  // for prose and unknown languages): `"(" in a string` is no opener to a parser.
  const parsed = options.syntax?.mode === 'code' ? options.syntax.relations.find((r) => r.name === 'bracket-pair') : undefined;
  if (parsed)
    ctx.brackets = toTargetLists(
      n,
      Array.from(parsed.gold, (g, i) => (g >= 0 && g < i - 1 ? [g] : [])),
    );
  const scratch = new Scratch(n, topK);
  const syntax = options.syntax ? prepareSyntax(options.syntax, ctx) : undefined;
  return {
    ctx,
    analyze(layer, head, A) {
      const meas = measureHead(A, ctx, scratch, topK);
      const probe = options.probe?.[layer * shape.headsPerLayer + head];
      if (probe) {
        meas.metrics.probeInduction = probe.induction;
        meas.metrics.probeDuplicate = probe.duplicate;
        meas.metrics.probePrevious = probe.previous;
        delete meas.notes.probeInduction;
        delete meas.notes.probeDuplicate;
        delete meas.notes.probePrevious;
      }
      const rest = measureRest(A, ctx, scratch);
      const { roles, candidates } = decideRoles(A, ctx, meas, probe, rest);
      if (syntax) {
        const more = decideSyntaxRoles(A, ctx, scratch, rest, syntax);
        roles.push(...more.roles);
        roles.sort((a, b) => b.score - a.score);
        candidates.push(...more.candidates);
      }
      return { layer, head, id: `L${layer}H${head}`, metrics: meas.metrics, notes: meas.notes, roles, candidates };
    },
  };
}
