// selection text → engine (worker) → analysis → SessionData. No vscode import: the extension, the CLI,
// the benchmark and the webview harness all build sessions through this one path.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineClient, type EngineResult, type ModelRef } from '../engine';
import { makeRepeatProbe, type HeadReport, type ProbeHeadScore } from '../analysis';
import { EngineError } from '../engine/errors';
import { AnalysisClient } from './analysisClient';
import type { SessionData } from '../protocol';
import { previewSession, THUMB_SIZE, toSessionData } from './wire';
import { KeptSource, memorySource, pumpHeads, type AttentionSource } from './attentionSource';

/** Repeat-probe length: [BOS] + 2·64 tokens, as in the induction literature's 50–60-token probes. */
export const PROBE_T = 64;
const PROBE_SEED = 20220308; // fixed: model-level roles must not change between runs

/**
 * How many token ids the repeat probe draws from: the whole vocabulary, unless the model's card.json
 * (beside model.onnx) says `probe.maxId` — a model trained on repeats of a sub-range (our headlight-mini:
 * ids below 512) is probed in the range it learned, as its card documents.
 */
export function probeVocabSize(modelPath: string, vocabSize: number): number {
  try {
    const card = JSON.parse(fs.readFileSync(path.join(path.dirname(modelPath), 'card.json'), 'utf8')) as { probe?: { maxId?: unknown } };
    const maxId = card.probe?.maxId;
    if (typeof maxId === 'number' && Number.isInteger(maxId) && maxId >= 16 && maxId < vocabSize) return maxId;
  } catch { /* no card, or not ours: the whole vocabulary */ }
  return vocabSize;
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
   * Kept runs of at least PREVIEW_FROM_TOKENS tokens: called once the model has run, with a session
   * the panel can paint (`analysing`, no heads yet) and the source that answers its head requests —
   * so a long selection shows its arcs while the analysis streams.
   */
  onPreview?: (session: SessionData, source: AttentionSource) => void;
}

/** Below this the whole analysis takes well under a second: one complete paint is better than two. */
export const PREVIEW_FROM_TOKENS = 512;

export interface BuiltSession {
  session: SessionData;
  result: EngineResult;
  reports: HeadReport[];
  /** Answers the panel's head and pathway requests for this session; dispose() frees a kept run. */
  source: AttentionSource;
  timings: { engineMs: number; probeMs: number; analysisMs: number; wireMs: number };
}

export class SessionPipeline {
  /** Model-level probe scores, per model file (path + mtime + size, like the engine's session cache). */
  private readonly probes = new Map<string, Promise<ProbeHeadScore[] | undefined>>();

  /** Analysis and thumbnails run in their own worker: never on the caller's (the extension host's) thread. */
  readonly analysis: AnalysisClient;

  constructor(readonly engine: EngineClient, analysis?: AnalysisClient) {
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
    const result = await this.engine.explain(o.text, o.model, { maxTokens: o.maxTokens, truncate: o.truncate, signal: o.signal, channel: o.channel, keep: o.keep });
    const kept = result.kept;
    const { layers, headsPerLayer, seq, causal } = result.attention;
    const keptSource = kept ? new KeptSource(this.engine, this.analysis, kept.handle, { layers, headsPerLayer, seq, causal }) : undefined;
    const model = { name: result.model.name, kind: result.model.kind, layers: result.model.layers, headsPerLayer: result.model.headsPerLayer };
    try {
      if (keptSource && o.onPreview && seq >= PREVIEW_FROM_TOKENS) {
        o.onPreview(previewSession({ id: o.id, title: o.title, text: o.text, model, tokens: result.tokens, truncatedFrom: result.truncatedFrom }), keptSource);
      }
      const t1 = performance.now();
      const probe = await this.probe(o.model, result);
      const t2 = performance.now();
      if (o.signal?.aborted) throw new EngineError('cancelled', 'The request was cancelled.');
      let analysed: { reports: HeadReport[]; thumbnails: Uint8Array[] };
      if (kept) {
        // Streamed: the engine recomputes heads a chunk at a time and the analysis worker drops each after use.
        const shape = { layers, headsPerLayer, seq, causal };
        const stream = await this.analysis.streamBegin(shape, { kind: 'analyze', tokens: result.tokens, probe, thumbSize: THUMB_SIZE, flowCache: keptSource?.flowCacheKey });
        try {
          await pumpHeads(this.engine, this.analysis, kept.handle, shape, 'analyze', stream, { signal: o.signal, onProgress: o.onProgress });
        } catch (e) {
          await this.analysis.streamAnalyzed(stream).catch(() => undefined); // frees the half-fed stream
          throw e;
        }
        analysed = await this.analysis.streamAnalyzed(stream);
      } else {
        const a = await this.analysis.analyze(result.attention, result.tokens, probe, THUMB_SIZE);
        result.attention = a.attention; // moved to the worker and back
        analysed = a;
      }
      const reports = analysed.reports;
      const t3 = performance.now();
      const session = toSessionData({
        id: o.id, title: o.title, text: o.text,
        model, tokens: result.tokens, attention: result.attention, reports, truncatedFrom: result.truncatedFrom, thumbnails: analysed.thumbnails,
      });
      const t4 = performance.now();
      // In memory: after the analysis, whose worker moved the attention there and back.
      const source: AttentionSource = keptSource ?? memorySource(result.attention);
      return { session, result, reports, source, timings: { engineMs: t1 - t0, probeMs: t2 - t1, analysisMs: t3 - t2, wireMs: t4 - t3 } };
    } catch (e) {
      keptSource?.dispose();
      throw e;
    }
  }

  async dispose(): Promise<void> {
    await Promise.all([this.engine.dispose(), this.analysis.dispose()]);
  }

  /**
   * The repeat probe (random tokens repeated twice) for causal models, run once per model file. Bidirectional
   * models see the whole sequence at once, so "attend to the token after the earlier copy" is no evidence of
   * induction there: their roles come from the text alone.
   */
  private probe(model: ModelRef, sample: EngineResult): Promise<ProbeHeadScore[] | undefined> {
    if (sample.model.kind !== 'causal') return Promise.resolve(undefined);
    let key: string;
    try {
      const st = fs.statSync(model.modelPath);
      key = `${model.modelPath}:${st.mtimeMs}:${st.size}`;
    } catch {
      key = model.modelPath;
    }
    let p = this.probes.get(key);
    if (!p) {
      const bos = sample.tokens[0]?.special ? sample.tokens[0].id : undefined;
      const specialIds = [...new Set(sample.tokens.filter((t) => t.special).map((t) => t.id))];
      const ids = makeRepeatProbe({ size: probeVocabSize(model.modelPath, sample.model.vocabSize), specialIds, bosId: bos }, PROBE_T, PROBE_SEED);
      // No build's signal: the probe is shared by every build on this model (a superseded build must not
      // cancel the one its successor waits on); it is a short run.
      p = this.engine.runIds(ids, model).then(async (r) => (await this.analysis.scoreProbe(r.attention, ids, PROBE_T)).scores);
      this.probes.set(key, p);
      p.catch(() => this.probes.delete(key)); // a cancelled or failed probe is retried next time
    }
    return p;
  }
}
