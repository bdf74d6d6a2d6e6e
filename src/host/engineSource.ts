import * as vscode from 'vscode';
import { EngineClient, isEngineError } from '../engine';
import { SessionPipeline } from '../session/pipeline';
import type { AttentionSource } from '../session/attentionSource';
import type { RequestMap, RequestMethod, SessionData, WireEffects } from '../protocol';
import { effectsEstimateMs, type BuiltSession, type HeadEffects } from '../session/pipeline';
import { scopeHeads, type EffectScope } from '../session/effectsOrder';
import type { ModelRef } from '../engine';
import { toWireEffects } from '../session/effectsWire';
import { AUTO_EFFECTS_MS, type BuildRequest, type CompareRequest, type SessionSource } from './sessionSource';
import { chosenModel } from './modelChoice';
import { log } from './log';

/** Sessions from the real engine: a cancellable progress notification around pipeline.build. */
export class EngineSessionSource implements SessionSource {
  /**
   * One engine worker for the panel and Compare Models…: its session cache loads a model used by both
   * once. Builds on the panel's channel supersede each other; Compare's builds have no channel.
   */
  private readonly pipeline = new SessionPipeline(new EngineClient());
  /**
   * The attention behind the session the panel shows (only the latest is kept): in bounded-memory mode
   * a kept engine run whose heads are recomputed on request, else the attention in memory.
   */
  private current: { id: number; source: AttentionSource; built?: BuiltSession; model?: ModelRef; effects?: HeadEffects } | undefined;

  constructor(private readonly extensionPath: string) {}

  async build(req: BuildRequest): Promise<SessionData> {
    const model = chosenModel(this.extensionPath);
    const maxTokens = vscode.workspace.getConfiguration('headlight').get<number>('maxTokens') ?? 1024;
    const run = (truncate: boolean, limit = maxTokens) =>
      vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          cancellable: true,
          title: vscode.l10n.t('Headlight: explaining {0} characters with {1}', req.text.length.toLocaleString(), model.name),
        },
        async (progress, token) => {
          const ac = new AbortController();
          const abort = () => ac.abort();
          const subs = [token.onCancellationRequested(abort), req.token.onCancellationRequested(abort)];
          try {
            progress.report({ message: truncate ? `first ${limit} tokens…` : 'tokenizing and running the model…' });
            // Long selections: the heads are recomputed and analysed a chunk at a time; say how far it is.
            let last = 0;
            const onProgress = (done: number, total: number) => {
              if (done === 0 || Date.now() - last < 500) return;
              last = Date.now();
              progress.report({ message: `analysing heads: ${done} of ${total}…` });
            };
            // First paint before the analysis: the panel can already ask for head matrices.
            const onPreview =
              req.onPreview &&
              ((session: SessionData, source: AttentionSource) => {
                this.current?.source.dispose();
                this.current = { id: req.id, source };
                req.onPreview?.(session);
              });
            const built = await this.pipeline.build({
              id: req.id,
              title: req.title,
              text: req.text,
              model,
              maxTokens: limit,
              truncate,
              signal: ac.signal,
              channel: 'panel',
              keep: true,
              onProgress,
              onPreview,
              ...(req.syntax ? { syntax: req.syntax } : {}),
            });
            const t = built.timings;
            log().info(
              `${model.name}: ${built.session.tokens.length} tokens; engine ${t.engineMs.toFixed(0)} ms, probe ${t.probeMs.toFixed(0)} ms, analysis ${t.analysisMs.toFixed(0)} ms, wire ${t.wireMs.toFixed(0)} ms`,
            );
            if (this.current?.source !== built.source) this.current?.source.dispose();
            this.current = { id: req.id, source: built.source, built, model };
            return built.session;
          } finally {
            for (const s of subs) s.dispose();
          }
        },
      );
    try {
      return await run(false);
    } catch (err) {
      // Never a silent cut: say how long the selection is and offer the first N tokens.
      if (isEngineError(err) && (err.code === 'too-many-tokens' || err.code === 'too-many-positions')) {
        const count = Number(err.details?.tokens ?? NaN);
        const limit = err.code === 'too-many-positions' ? Number(err.details?.positions ?? maxTokens) : maxTokens;
        const why = err.code === 'too-many-positions' ? `${model.name} has ${limit} positions` : `the limit (headlight.maxTokens) is ${limit}`;
        const action = `Explain the first ${limit} tokens`;
        const pick = await vscode.window.showWarningMessage(
          `Headlight: the selection is ${Number.isFinite(count) ? count.toLocaleString() : 'more than ' + limit} tokens; ${why}.`,
          action,
          'Cancel',
        );
        if (pick === action && !req.token.isCancellationRequested) return run(true, limit);
        throw new vscode.CancellationError();
      }
      throw err;
    }
  }

  async request<M extends RequestMethod>(method: M, params: RequestMap[M]['params']): Promise<RequestMap[M]['result']> {
    const cur = this.current;
    if (!cur || cur.id !== params.sessionId) throw new Error('That explanation is no longer loaded; explain the selection again.');
    return cur.source.request(method, params);
  }

  async measureEffects(
    sessionId: number,
    token: vscode.CancellationToken,
    onProgress: (done: number, total: number) => void,
    opts: { scope?: EffectScope; onPartial?: (sofar: WireEffects) => void } = {},
  ): Promise<WireEffects> {
    const cur = this.current;
    if (!cur?.built || !cur.model || cur.id !== sessionId) throw new Error('That explanation is no longer loaded; explain the selection again.');
    const built = cur.built;
    const ac = new AbortController();
    const sub = token.onCancellationRequested(() => ac.abort());
    // Heads measured before (another scope) stay; only the new ones are ablated.
    const before = cur.effects;
    const done = new Set((before?.heads ?? []).map((h) => `${h.layer}:${h.head}`));
    const heads = scopeHeads(opts.scope ?? { kind: 'all' }, built.result, built.reports).filter(([l, h]) => !done.has(`${l}:${h}`));
    const merge = (e: HeadEffects): HeadEffects => (before ? { ...e, heads: [...before.heads, ...e.heads], ms: before.ms + e.ms } : e);
    const wire = (e: HeadEffects) => toWireEffects(e, built.reports, built.result.tokens, built.session.text, built.result.model.headsPerLayer);
    try {
      if (!heads.length && before) return wire(before);
      // Every group measured is kept, so a cancelled measurement keeps what it measured (and skips it next time).
      const onPartial = (s: HeadEffects) => {
        if (this.current === cur) cur.effects = merge(s);
        opts.onPartial?.(wire(merge(s)));
      };
      const e = await this.pipeline.measureEffects(cur.model, built.result, { signal: ac.signal, onProgress, heads, onPartial });
      log().info(
        `${built.session.model.name}: head effects of ${e.heads.length} heads on ${built.session.tokens.length} tokens in ${e.ms.toFixed(0)} ms${e.cutNote ? ` (whole graph: ${e.cutNote})` : ' (cut copies)'}`,
      );
      if (this.current === cur) cur.effects = merge(e);
      return wire(merge(e));
    } finally {
      sub.dispose();
    }
  }

  async compare({ text, title, a, b }: CompareRequest): Promise<{ a: SessionData; b: SessionData }> {
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, cancellable: true, title: vscode.l10n.t('Headlight: comparing {0} with {1}', a.name, b.name) },
      async (progress, token) => {
        const ac = new AbortController();
        const sub = token.onCancellationRequested(() => ac.abort());
        try {
          // One after the other: two models at once would double the peak memory on a small machine.
          progress.report({ message: `${a.name}…` });
          // keep: bounded memory; the comparison needs only the sessions, so the kept runs are freed at once.
          const A = await this.pipeline.build({ id: 0, title, text, model: a, signal: ac.signal, keep: true });
          A.source.dispose();
          progress.report({ message: `${b.name}…`, increment: 50 });
          const B = await this.pipeline.build({ id: 0, title, text, model: b, signal: ac.signal, keep: true });
          B.source.dispose();
          // Head effects of both, so the comparison can say what each head does to the output in A and in B —
          // when that is cheap (small models, short selections); a long pair says how to measure them.
          for (const [side, ref] of [
            [A, a],
            [B, b],
          ] as const) {
            if (effectsEstimateMs(side.result) > AUTO_EFFECTS_MS) continue;
            progress.report({ message: vscode.l10n.t('head effects of {0}…', ref.name) });
            const e = await this.pipeline.measureEffects(ref, side.result, { signal: ac.signal });
            side.session = { ...side.session, effects: toWireEffects(e, side.reports, side.result.tokens, text) };
          }
          return { a: A.session, b: B.session };
        } finally {
          sub.dispose();
        }
      },
    );
  }

  effectsEstimateMs(sessionId: number): number | undefined {
    const cur = this.current;
    return cur?.built && cur.id === sessionId ? effectsEstimateMs(cur.built.result) : undefined;
  }

  dispose(): void {
    this.current?.source.dispose();
    this.current = undefined;
    void this.pipeline.dispose();
  }
}
