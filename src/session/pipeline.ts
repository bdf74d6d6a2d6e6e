// selection text → engine (worker) → analysis → SessionData. No vscode import: the extension, the CLI,
// the benchmark and the webview harness all build sessions through this one path.
import * as fs from 'node:fs';
import type { EngineClient, EngineResult, ModelRef } from '../engine';
import type { HeadReport, ProbeHeadScore } from '../analysis';
import type { SyntaxContext, SyntaxInfo } from '../analysis/syntax/types';
import type { EffectRun, ProbePlan } from '../engine';
import { EngineError } from '../core/errors';
import { AnalysisClient } from './analysisClient';
import type { SessionData } from '../protocol';
import { previewSession, THUMB_SIZE, toSessionData } from './wire';
import { KeptSource, memorySource, pumpHeads, type AttentionSource } from './attentionSource';
import { attachDla } from './dlaWire';
import { effectOrder } from './effectsOrder';
import { withRoutes } from './routesSource';

const PROBE_SEED = 20220308; // fixed: model-level roles must not change between runs

/**
 * What became of the model-level repeat probe for a build. Never a reason to fail an explain: a probe that
 * cannot fit the model, fails, is cancelled or runs out of memory leaves the text-only roles and says why.
 */
export interface ProbeOutcome {
  status: 'measured' | 'not-measurable' | 'failed';
  scores?: ProbeHeadScore[];
  plan?: ProbePlan;
  /** One sentence for the panel, the CLI and the report. */
  note: string;
}

/** "a random 31-token sequence of ordinary tokens (ids 72, 101, 33, …) repeated twice after `<|endoftext|>`". */
export function describeProbe(plan: ProbePlan, draws = 1): string {
  const r = plan.ids.slice(plan.bos ? 1 : 0, (plan.bos ? 1 : 0) + plan.T);
  const shown = r.slice(0, 6).join(', ') + (r.length > 6 ? ', …' : '');
  const bos = plan.bos
    ? ` after \`${plan.bos.text}\`${plan.bos.from === 'convention' ? " (prepended by the family's convention; the tokenizer's template adds none)" : ''}`
    : ' with no BOS (the tokenizer defines none)';
  const what =
    draws > 1
      ? `${draws} random ${plan.T}-token sequences of ordinary tokens (the first: ids ${shown}), each repeated twice${bos}, averaged`
      : `a random ${plan.T}-token sequence of ordinary tokens (ids ${shown}) repeated twice${bos}`;
  return what;
}

/** Independent probe draws per model: their mean is what the roles read. */
export const PROBE_DRAWS = 8;

/** The per-head mean of several draws' scores (every numeric field; same heads in the same order). */
export function averageProbeScores(draws: ProbeHeadScore[][]): ProbeHeadScore[] {
  return draws[0].map((first, k) => {
    const out = { ...first };
    for (const key of Object.keys(first) as (keyof ProbeHeadScore)[]) {
      if (typeof first[key] !== 'number' || key === 'layer' || key === 'head' || key === 'T' || key === 'rows') continue;
      let s = 0,
        c = 0;
      for (const d of draws) {
        const v = d[k][key] as number;
        if (Number.isFinite(v)) {
          s += v;
          c++;
        }
      }
      (out as Record<string, unknown>)[key] = c ? s / c : NaN;
    }
    return out;
  });
}

/** What removing each head does to the output (engine/effects.ts), per head in layer-major order. */
export interface HeadEffects {
  method: EffectRun['method'];
  /** Per head: the mean over positions with a next token (nats for Δ loss), and the per-position values (NaN at the end). */
  heads: { layer: number; head: number; meanDelta: number; perToken: Float32Array }[];
  /** Per position: the unablated loss of the next token (causal LMs). */
  baseLoss?: Float32Array;
  ms: number;
  /** Why the ablations reran the whole graph rather than a cut copy from the head's layer up (none: they did not). */
  cutNote?: string;
}

export interface EffectOptions {
  signal?: AbortSignal;
  /** Called after each group of heads: heads done, of all. */
  onProgress?: (done: number, total: number) => void;
  /** Which heads, in which order (default: every head, by |DLA| where the explain has it — effectsOrder.ts). */
  heads?: [number, number][];
  /** Called after each group with every head measured so far (the panel streams them into the catalog). */
  onPartial?: (sofar: HeadEffects) => void;
}

/** A model file's cache key: path, mtime and size (like the engine's session cache), so a replaced file is measured anew. */
function modelFileKey(modelPath: string): string {
  try {
    const st = fs.statSync(modelPath);
    return `${modelPath}:${st.mtimeMs}:${st.size}`;
  } catch {
    return modelPath;
  }
}

/**
 * Rough cost of measuring every head's effect, from the explain's own model run: half a plain run per
 * head. On cut copies (ablationCut.ts) it is about right — 0.55 of a plain run per head on average on the
 * GPT-2-small shape at 128 tokens (0.85 for a layer-0 head, 0.3 for a last-layer one); on the gated whole
 * graph it errs low (0.84–0.93), so the 2 s automatic bound lets through runs of up to about 4 s.
 */
export function effectsEstimateMs(result: EngineResult): number {
  return result.stats.runMs * result.model.layers * result.model.headsPerLayer * 0.5;
}

/** Heads per engine request: a group is one cancellation point and one progress step. */
const EFFECT_GROUP = 16;
/** Streamed into the panel: a group per update (the cut copy batches a layer's heads within one: 2 or 3 per run). */
const EFFECT_STREAM_GROUP = 6;

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
      // A long selection paints before its analysis; so does any kept run whose model's repeat probe has not run
      // yet (the first explain on a model: eight probe runs must not stand between the run and the first paint).
      const probeDue = result.model.kind === 'causal' && !this.probed.has(modelFileKey(o.model.modelPath));
      if (keptSource && o.onPreview && (seq >= PREVIEW_FROM_TOKENS || probeDue)) {
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
      // After the first paint: a kept run's value norms (asked now, so the engine measures them before the first heads).
      // Never a reason to fail the explain: value weighting is then unavailable, and the panel says why.
      const lateNorms =
        kept && result.valueNormsPending
          ? this.engine.valueNorms(kept.handle, { signal: o.signal }).catch((e: unknown) => {
              if (e instanceof EngineError && e.code === 'cancelled') throw e;
              return { valueNormsNote: `measuring them failed (${e instanceof Error ? e.message : String(e)})` };
            })
          : undefined;
      lateNorms?.catch(() => undefined); // awaited below; a build that fails first must not leave it unhandled
      const t1 = performance.now();
      const outcome = await this.probe(o.model, result, o.signal);
      const probe = outcome?.scores;
      const t2 = performance.now();
      if (o.signal?.aborted) throw new EngineError('cancelled', 'The request was cancelled.');
      // The syntax roles' gold edges: parsed once per build, in the analysis worker (grammars load there on first use).
      let syntax: SyntaxInfo | undefined, syntaxFailed: string | undefined;
      if (o.syntax) {
        try {
          syntax = await this.analysis.syntax(result.tokens, o.syntax);
        } catch (e) {
          syntaxFailed = `No syntax roles: reading the text's syntax failed (${e instanceof Error ? e.message : String(e)}).`;
        }
      }
      let analysed: { reports: HeadReport[]; thumbnails: Uint8Array[] };
      if (kept) {
        // Streamed: the engine recomputes heads a chunk at a time and the analysis worker drops each after use.
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
          await pumpHeads(this.engine, this.analysis, kept.handle, shape, 'analyze', stream, { signal: o.signal, onProgress: o.onProgress });
        } catch (e) {
          await this.analysis.streamAnalyzed(stream).catch(() => undefined); // frees the half-fed stream
          throw e;
        }
        analysed = await this.analysis.streamAnalyzed(stream);
      } else {
        const a = await this.analysis.analyze(result.attention, result.tokens, probe, THUMB_SIZE, syntax);
        result.attention = a.attention; // moved to the worker and back
        analysed = a;
      }
      const reports = analysed.reports;
      if (lateNorms) {
        Object.assign(result, await lateNorms);
        delete result.valueNormsPending;
        keptSource?.setValueNorms(result.valueNorms?.data);
      }
      const t3 = performance.now();
      const session = attachDla(
        toSessionData({
          id: o.id,
          title: o.title,
          text: o.text,
          model,
          tokens: result.tokens,
          attention: result.attention,
          reports,
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
      if (syntaxFailed) session.syntaxNote = syntaxFailed;
      const t4 = performance.now();
      // In memory: after the analysis, whose worker moved the attention there and back.
      const source: AttentionSource = keptSource ?? withRoutes(memorySource(result.attention, result.valueNorms?.data), this.engine, result);
      return {
        session,
        result,
        reports,
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
    const p = this.runEffects(model, ids, heads, opts);
    this.effectsCache.set(key, p);
    while (this.effectsCache.size > 8) this.effectsCache.delete(this.effectsCache.keys().next().value as string);
    p.catch(() => this.effectsCache.delete(key)); // cancelled or failed: measured again when asked again
    return p;
  }

  private async runEffects(model: ModelRef, ids: number[], all: [number, number][], opts: EffectOptions): Promise<HeadEffects> {
    const t0 = performance.now();
    const n = ids.length;
    const out: HeadEffects = { method: 'zero-ablation: Δ loss of the next token (nats)', heads: [], ms: 0 };
    opts.onProgress?.(0, all.length);
    // Streamed: small groups, so the catalog fills in while the rest are measured.
    const size = opts.onPartial ? EFFECT_STREAM_GROUP : EFFECT_GROUP;
    for (let k = 0; k < all.length; k += size) {
      if (opts.signal?.aborted) throw new EngineError('cancelled', 'Measuring head effects was cancelled.');
      const group = all.slice(k, k + size);
      const run = await this.engine.effects(model, ids, group, { signal: opts.signal });
      out.method = run.method;
      if (run.cut) out.cutNote = run.cut;
      if (run.base && !out.baseLoss) out.baseLoss = Float32Array.from(run.base, (v) => -v);
      run.deltas.forEach((d, b) => {
        let s = 0,
          c = 0;
        for (let i = 0; i < n; i++)
          if (Number.isFinite(d[i])) {
            s += d[i];
            c++;
          }
        out.heads.push({ layer: group[b][0], head: group[b][1], meanDelta: c ? s / c : NaN, perToken: d });
      });
      opts.onProgress?.(Math.min(all.length, k + group.length), all.length);
      if (opts.onPartial) opts.onPartial({ ...out, heads: [...out.heads], ms: performance.now() - t0 });
    }
    out.ms = performance.now() - t0;
    return out;
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
      p = this.runProbe(model);
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

  private async runProbe(model: ModelRef): Promise<ProbeOutcome> {
    let plan: ProbePlan | undefined;
    try {
      plan = await this.engine.probePlan(model, PROBE_SEED);
      if (plan.reason)
        return {
          status: 'not-measurable',
          plan,
          note: `Induction and duplicate-token are not measurable on this model: ${plan.reason}. Roles come from the text alone.`,
        };
      // Several independent draws, averaged: one sequence's score spreads by ±0.1 on a real head (measured on
      // the answer-key models), enough to flip a head near the threshold with the seed.
      const draws: ProbeHeadScore[][] = [];
      for (let d = 0; d < PROBE_DRAWS; d++) {
        const pd = d === 0 ? plan : await this.engine.probePlan(model, PROBE_SEED + d);
        const r = await this.engine.runIds(pd.ids, model);
        draws.push((await this.analysis.scoreProbe(r.attention, pd.ids, pd.T)).scores);
      }
      const scores = averageProbeScores(draws);
      const about = describeProbe(plan, PROBE_DRAWS);
      for (const s of scores) s.about = about;
      return { status: 'measured', scores, plan, note: `Model-level roles measured on ${about}.` };
    } catch (e) {
      const why = e instanceof EngineError ? e.message : ((e as Error)?.message ?? String(e));
      return {
        status: 'failed',
        plan,
        note: `The model's repeat probe failed (${why}); roles come from the text alone, and the probe is tried again on the next explain.`,
      };
    }
  }
}
