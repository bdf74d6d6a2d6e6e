// selection text → engine (worker) → analysis → SessionData. No vscode import: the extension, the CLI,
// the benchmark and the webview harness all build sessions through this one path.
import * as fs from 'node:fs';
import type { EngineClient, EngineResult, ModelRef } from '../engine';
import type { HeadReport, ProbeHeadScore } from '../analysis';
import type { SyntaxContext, SyntaxInfo } from '../analysis/syntax/types';
import { EngineError } from '../core/errors';
import { AnalysisClient } from './analysisClient';
import type { SessionData } from '../protocol';
import { previewSession, THUMB_SIZE, toSessionData } from './wire';
import { KeptSource, memorySource, pumpHeads, type AttentionSource } from './attentionSource';
import { attachDla } from './dlaWire';
import { effectOrder } from './effectsOrder';
import { withRoutes } from './routesSource';
import { runRepeatProbe, type ProbeOutcome } from './repeatProbe';
import { runHeadEffects, type EffectOptions, type HeadEffects } from './headEffects';

// Split into repeatProbe.ts and headEffects.ts; re-exported so the pipeline stays the one import for builds, their probe and effects.
export { averageProbeScores, describeProbe, PROBE_DRAWS, type ProbeOutcome } from './repeatProbe';
export { effectsEstimateMs, type EffectOptions, type HeadEffects } from './headEffects';

/** A model file's cache key: path, mtime and size (like the engine's session cache), so a replaced file is measured anew. */
function modelFileKey(modelPath: string): string {
  try {
    const st = fs.statSync(modelPath);
    return `${modelPath}:${st.mtimeMs}:${st.size}`;
  } catch {
    return modelPath;
  }
}

export interface BuildOptions {
  id: number;
  title: string;
  text: string;
  model: ModelRef;
  maxTokens?: number;
  truncate?: boolean;
  signal?: AbortSignal;
  /** Supersede a running build on the same channel (one panel = one channel). */
  channel?: string;
  /**
   * Bounded memory (default false): where the model allows it, no head's attention is materialised
   * beyond a chunk at a time — the analysis is streamed, and `source` recomputes heads on request.
   * Then `result.attention.data` is empty; read attention through `source`.
   */
  keep?: boolean;
  /** Streamed analysis: called as heads are handed to the analysis (for a progress message). */
  onProgress?: (headsDone: number, heads: number) => void;
  /**
   * Kept runs of at least PREVIEW_FROM_TOKENS tokens, and the first kept run on a causal model (whose repeat
   * probe runs after it): called once the model has run, with a session the panel can paint (`analysing`,
   * no heads yet) and the source that answers its head requests — so the arcs show while the probe and the
   * analysis run.
   */
  onPreview?: (session: SessionData, source: AttentionSource) => void;
  /**
   * Where the text came from — the document's languageId, its text and the selection's offset in it — for
   * the syntax roles (a parse for code, a tagger for prose). Absent: no syntax roles.
   */
  syntax?: SyntaxContext;
}

/** Below this the whole analysis takes well under a second: one complete paint is better than two. */
export const PREVIEW_FROM_TOKENS = 512;

export interface BuiltSession {
  session: SessionData;
  result: EngineResult;
  reports: HeadReport[];
  /** The model-level repeat probe: measured, not measurable on this model, or failed (and retried next time). */
  probe?: ProbeOutcome;
  /** Answers the panel's head and pathway requests for this session; dispose() frees a kept run. */
  source: AttentionSource;
  timings: { engineMs: number; probeMs: number; analysisMs: number; wireMs: number };
  /** The parse / tagging the syntax roles were scored against, when the build had a syntax context. */
  syntax?: SyntaxInfo;
}

/**
 * A request the build makes after the first paint, awaited later: a failure becomes the note `noteOf` makes of it
 * (cancellation still rejects), and a build that fails before awaiting it leaves no unhandled rejection behind.
 */
function late(request: Promise<Partial<EngineResult>>, noteOf: (why: string) => Partial<EngineResult>): Promise<Partial<EngineResult>> {
  const p = request.catch((e: unknown) => {
    if (e instanceof EngineError && e.code === 'cancelled') throw e;
    return noteOf(e instanceof Error ? e.message : String(e));
  });
  p.catch(() => undefined);
  return p;
}

/** The finished session on the wire, with the explain's DLA attached. */
function finalSession(
  o: BuildOptions,
  model: SessionData['model'],
  result: EngineResult,
  analysed: { reports: HeadReport[]; thumbnails: Uint8Array[] },
  outcome: ProbeOutcome | undefined,
  syntax: SyntaxInfo | undefined,
): SessionData {
  return attachDla(
    toSessionData({
      id: o.id,
      title: o.title,
      text: o.text,
      model,
      tokens: result.tokens,
      attention: result.attention,
      reports: analysed.reports,
      truncatedFrom: result.truncatedFrom,
      thumbnails: analysed.thumbnails,
      probeNote: outcome && outcome.status !== 'measured' ? outcome.note : undefined, // a measured probe speaks in the evidence
      predictions: result.predictions,
      predictionsNote: result.predictionsNote,
      valueNorms: result.valueNorms,
      valueNormsNote: result.valueNormsNote,
      syntax,
    }),
    result,
  );
}

export class SessionPipeline {
  /** Model-level probe outcomes, per model file (path + mtime + size, like the engine's session cache). */
  private readonly probes = new Map<string, Promise<ProbeOutcome>>();
  /** Model files whose probe has finished (measured or not measurable): their builds need not wait on it. */
  private readonly probed = new Set<string>();

  /** Analysis and thumbnails run in their own worker: never on the caller's (the extension host's) thread. */
  readonly analysis: AnalysisClient;

  constructor(
    readonly engine: EngineClient,
    analysis?: AnalysisClient,
  ) {
    this.analysis = analysis ?? new AnalysisClient();
  }

  /** The build in flight per channel: a new build on the channel aborts it, whatever stage it is in. */
  private readonly builds = new Map<string, AbortController>();

  async build(options: BuildOptions): Promise<BuiltSession> {
    let o = options;
    let mine: AbortController | undefined;
    if (o.channel) {
      // The engine's channel supersedes one engine request; a build makes many (the explain, then the
      // streamed heads), so the pipeline supersedes whole builds and the engine sees their signal.
      this.builds.get(o.channel)?.abort();
      mine = new AbortController();
      this.builds.set(o.channel, mine);
      o = { ...o, signal: o.signal ? AbortSignal.any([o.signal, mine.signal]) : mine.signal };
    }
    try {
      return await this.buildOnce(o);
    } finally {
      if (o.channel && this.builds.get(o.channel) === mine) this.builds.delete(o.channel);
    }
  }

  private async buildOnce(o: BuildOptions): Promise<BuiltSession> {
    const t0 = performance.now();
    const result = await this.engine.explain(o.text, o.model, {
      maxTokens: o.maxTokens,
      truncate: o.truncate,
      signal: o.signal,
      channel: o.channel,
      keep: o.keep,
    });
    const kept = result.kept;
    const { layers, headsPerLayer, seq, causal } = result.attention;
    const keptSource = kept
      ? withRoutes(
          new KeptSource(this.engine, this.analysis, kept.handle, { layers, headsPerLayer, seq, causal }, result.valueNorms?.data),
          this.engine,
          result,
        )
      : undefined;
    const model = { name: result.model.name, kind: result.model.kind, layers: result.model.layers, headsPerLayer: result.model.headsPerLayer };
    try {
      this.previewIfDue(o, result, model, keptSource);
      const lateNorms = this.lateValueNorms(result, o.signal);
      const t1 = performance.now();
      const outcome = await this.probe(o.model, result, o.signal);
      const t2 = performance.now();
      if (o.signal?.aborted) throw new EngineError('cancelled', 'The request was cancelled.');
      const { syntax, syntaxFailed } = await this.readSyntax(result, o.syntax);
      // A kept run's DLA is asked for once the engine has streamed every head: it then overlaps the last heads' analysis.
      let lateDla: Promise<Partial<EngineResult>> | undefined;
      const analysed = await this.analyseHeads(o, result, outcome?.scores, syntax, () => {
        lateDla = this.lateDla(result, o.signal);
      });
      if (lateDla) {
        Object.assign(result, await lateDla);
        delete result.dlaPending;
      }
      if (lateNorms) {
        Object.assign(result, await lateNorms);
        delete result.valueNormsPending;
        keptSource?.setValueNorms(result.valueNorms?.data);
      }
      const t3 = performance.now();
      const session = finalSession(o, model, result, analysed, outcome, syntax);
      if (syntaxFailed) session.syntaxNote = syntaxFailed;
      const t4 = performance.now();
      // In memory: after the analysis, whose worker moved the attention there and back.
      const source: AttentionSource = keptSource ?? withRoutes(memorySource(result.attention, result.valueNorms?.data), this.engine, result);
      return {
        session,
        result,
        reports: analysed.reports,
        probe: outcome,
        source,
        timings: { engineMs: t1 - t0, probeMs: t2 - t1, analysisMs: t3 - t2, wireMs: t4 - t3 },
        ...(syntax ? { syntax } : {}),
      };
    } catch (e) {
      keptSource?.dispose();
      throw e;
    }
  }

  /**
   * A long selection paints before its analysis; so does any kept run whose model's repeat probe has not run
   * yet (the first explain on a model: eight probe runs must not stand between the run and the first paint).
   */
  private previewIfDue(o: BuildOptions, result: EngineResult, model: SessionData['model'], keptSource: AttentionSource | undefined): void {
    const probeDue = result.model.kind === 'causal' && !this.probed.has(modelFileKey(o.model.modelPath));
    if (!keptSource || !o.onPreview || !(result.attention.seq >= PREVIEW_FROM_TOKENS || probeDue)) return;
    o.onPreview(
      attachDla(
        previewSession({
          id: o.id,
          title: o.title,
          text: o.text,
          model,
          tokens: result.tokens,
          truncatedFrom: result.truncatedFrom,
          predictions: result.predictions,
          predictionsNote: result.predictionsNote,
          valueNorms: result.valueNorms,
          valueNormsNote: result.valueNormsNote,
        }),
        result,
      ),
      keptSource,
    );
  }

  /**
   * After the first paint: a kept run's value norms (asked now, so the engine measures them before the first heads).
   * Never a reason to fail the explain: value weighting is then unavailable, and the panel says why.
   */
  private lateValueNorms(result: EngineResult, signal: AbortSignal | undefined): Promise<Partial<EngineResult>> | undefined {
    const kept = result.kept;
    if (!kept || !result.valueNormsPending) return undefined;
    return late(this.engine.valueNorms(kept.handle, { signal }), (why) => ({ valueNormsNote: `measuring them failed (${why})` }));
  }

  /** After the heads: a kept run's direct logit attribution (never a reason to fail the explain: the panel says why there is none). */
  private lateDla(result: EngineResult, signal: AbortSignal | undefined): Promise<Partial<EngineResult>> | undefined {
    const kept = result.kept;
    if (!kept || !result.dlaPending) return undefined;
    return late(this.engine.dla(kept.handle, { signal }), (why) => ({ dlaNote: `Direct logit attribution failed: ${why}.` }));
  }

  /** The syntax roles' gold edges: parsed once per build, in the analysis worker (grammars load there on first use). */
  private async readSyntax(result: EngineResult, context: SyntaxContext | undefined): Promise<{ syntax?: SyntaxInfo; syntaxFailed?: string }> {
    if (!context) return {};
    try {
      return { syntax: await this.analysis.syntax(result.tokens, context) };
    } catch (e) {
      return { syntaxFailed: `No syntax roles: reading the text's syntax failed (${e instanceof Error ? e.message : String(e)}).` };
    }
  }

  /** Every head's report and thumbnail: streamed from a kept run, or the whole attention handed to the worker. */
  private async analyseHeads(
    o: BuildOptions,
    result: EngineResult,
    probe: ProbeHeadScore[] | undefined,
    syntax: SyntaxInfo | undefined,
    onEngineDone?: () => void,
  ): Promise<{ reports: HeadReport[]; thumbnails: Uint8Array[] }> {
    const kept = result.kept;
    if (!kept) {
      const a = await this.analysis.analyze(result.attention, result.tokens, probe, THUMB_SIZE, syntax);
      result.attention = a.attention; // moved to the worker and back
      return a;
    }
    // Streamed: the engine recomputes heads a chunk at a time and the analysis worker drops each after use.
    const { layers, headsPerLayer, seq, causal } = result.attention;
    const shape = { layers, headsPerLayer, seq, causal };
    // Only what the first views show: value-weighted thumbnails and the Flow cache are made on first use (KeptSource).
    const stream = await this.analysis.streamBegin(shape, {
      kind: 'analyze',
      tokens: result.tokens,
      probe,
      thumbSize: THUMB_SIZE,
      ...(syntax ? { syntax } : {}),
    });
    try {
      await pumpHeads(this.engine, this.analysis, kept.handle, shape, 'analyze', stream, { signal: o.signal, onProgress: o.onProgress, onEngineDone });
    } catch (e) {
      await this.analysis.streamAnalyzed(stream).catch(() => undefined); // frees the half-fed stream
      throw e;
    }
    return this.analysis.streamAnalyzed(stream);
  }

  async dispose(): Promise<void> {
    await Promise.all([this.engine.dispose(), this.analysis.dispose()]);
  }

  /** Effects already measured, per model file and token ids (a session asks once; Compare and the panel share). */
  private readonly effectsCache = new Map<string, Promise<HeadEffects>>();

  /**
   * Zero-ablate every head of the model on the explained tokens, a group of heads per engine request
   * (cancellable between groups, progress counted in heads). Cached per model file and ids.
   */
  measureEffects(model: ModelRef, result: EngineResult, opts: EffectOptions = {}): Promise<HeadEffects> {
    const ids = result.tokens.map((t) => t.id);
    const heads = opts.heads ?? effectOrder(result);
    const key = `${modelFileKey(model.modelPath)}:${ids.join(',')}:${heads.join(';')}`;
    const hit = this.effectsCache.get(key);
    if (hit) return hit;
    const p = runHeadEffects(this.engine, model, ids, heads, opts);
    this.effectsCache.set(key, p);
    while (this.effectsCache.size > 8) this.effectsCache.delete(this.effectsCache.keys().next().value as string);
    p.catch(() => this.effectsCache.delete(key)); // cancelled or failed: measured again when asked again
    return p;
  }

  /**
   * The repeat probe (random ordinary tokens repeated twice) for causal models, run once per model file.
   * Bidirectional models see the whole sequence at once, so "attend to the token after the earlier copy" is no
   * evidence of induction there: their roles come from the text alone.
   */
  private async probe(model: ModelRef, sample: EngineResult, signal?: AbortSignal): Promise<ProbeOutcome | undefined> {
    if (sample.model.kind !== 'causal') return undefined;
    const key = modelFileKey(model.modelPath);
    let p = this.probes.get(key);
    if (!p) {
      // No build's signal: the probe is shared by every build on this model (a superseded build must not
      // cancel the one its successor waits on); it is a short run.
      p = runRepeatProbe(this.engine, this.analysis, model);
      this.probes.set(key, p);
      // A failed probe is retried on the next explain; a model too small for one stays so.
      void p.then((o) => {
        if (o.status === 'failed') this.probes.delete(key);
        else this.probed.add(key);
      });
    }
    if (!signal) return p;
    // This build may be cancelled while the shared probe runs: stop waiting, the probe goes on for the next.
    return Promise.race([
      p,
      new Promise<never>((_, reject) => {
        const stop = () => reject(new EngineError('cancelled', 'The request was cancelled.'));
        if (signal.aborted) stop();
        signal.addEventListener('abort', stop, { once: true });
        void p.finally(() => signal.removeEventListener('abort', stop));
      }),
    ]);
  }
}
