// Measure Head Effects from the panel: zero-ablate heads of the panel's session (through the session source)
// with a progress indicator, streaming each group's results into the panel while it still shows that session.
import * as vscode from 'vscode';
import type { SessionData } from '../protocol';
import type { AttentionPanel } from '../panel/attentionPanel';
import { isEngineError } from '../core/errors';
import type { EffectScope } from '../session/effectsOrder';
import type { SessionSource } from './sessionSource';
import { pickEffectScope } from './effectScope';
import { log } from './log';

export class EffectsRunner {
  /** Effects being measured, per session id (a second ask while one runs waits for it). */
  private running: { sessionId: number; done: Promise<void> } | undefined;

  /** `shows(panel, id)`: the panel is still the controller's and still shows session `id` (else results are dropped). */
  constructor(
    private readonly source: SessionSource,
    private readonly shows: (panel: AttentionPanel, sessionId: number) => boolean,
  ) {}

  /**
   * `auto`: every head, started by the explain because it is cheap; asked for (button, palette) without a
   * `scope`, the user picks which heads (effectScope.ts). The source must have measureEffects.
   */
  async measure(panel: AttentionPanel, session: SessionData, auto: boolean, scope?: EffectScope): Promise<void> {
    if (this.running?.sessionId === session.id) return this.running.done;
    if (!auto && !scope) {
      scope = await pickEffectScope(session);
      if (!scope || !this.shows(panel, session.id)) return;
      if (this.running?.sessionId === session.id) return this.running.done;
    }
    const id = session.id;
    panel.post({ type: 'session/effects', sessionId: id, status: 'measuring', message: vscode.l10n.t('Measuring what removing each head does…') });
    const done = this.run(panel, session, auto, scope);
    this.running = { sessionId: id, done };
    return done;
  }

  private async run(panel: AttentionPanel, session: SessionData, auto: boolean, scope: EffectScope | undefined): Promise<void> {
    const id = session.id;
    const total = session.model.layers * session.model.headsPerLayer;
    try {
      // Asked for: a cancellable notification. Measured on its own because it is cheap: the status bar only,
      // so no toast pops up (or takes a click) while the user works in the editor.
      const location = auto ? vscode.ProgressLocation.Window : vscode.ProgressLocation.Notification;
      const effects = await vscode.window.withProgress(
        { location, cancellable: !auto, title: vscode.l10n.t('Headlight: measuring head effects') },
        (progress, token) => {
          let last = 0;
          return this.source.measureEffects!(
            id,
            token,
            (d, t) => {
              if (t) progress.report({ message: vscode.l10n.t('{0} of {1} heads', d, t), increment: ((d - last) / t) * 100 });
              last = d;
            },
            {
              scope,
              // Each group into the catalog as it lands: the heads that matter most come first.
              onPartial: (sofar) => {
                if (this.shows(panel, id))
                  panel.post({
                    type: 'session/effects',
                    sessionId: id,
                    status: 'measuring',
                    effects: sofar,
                    message: vscode.l10n.t('Measuring what removing each head does: {0} of {1} heads so far…', sofar.measured ?? 0, total),
                  });
              },
            },
          );
        },
      );
      if (this.shows(panel, id)) panel.post({ type: 'session/effects', sessionId: id, status: 'done', effects });
    } catch (err) {
      const cancelled = isEngineError(err) && err.code === 'cancelled';
      const message = cancelled
        ? vscode.l10n.t('Measuring head effects was cancelled; run “Measure Head Effects” to measure them.')
        : err instanceof Error
          ? err.message
          : String(err);
      if (!cancelled) log().error('Head effects failed:', message);
      if (this.shows(panel, id)) panel.post({ type: 'session/effects', sessionId: id, status: 'failed', message });
    } finally {
      if (this.running?.sessionId === id) this.running = undefined; // asked again: the rest are measured
    }
  }
}
