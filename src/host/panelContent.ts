// What the one Headlight panel shows, as the host sees it, and the only place that changes it. It replaces
// three flags that stood for one state (`external`, `comparing`, `explained`) and could disagree.
import type { ExplainedRange } from '../editor/tokenHighlighter';
import type { RequestMap, RequestMethod } from '../protocol';

/** A session that did not come from the engine (an attention dump, a notebook output): answers the panel's requests itself. */
export interface ExternalSource {
  request<M extends RequestMethod>(method: M, params: RequestMap[M]['params']): Promise<RequestMap[M]['result']>;
  dispose(): void;
}

/**
 * - `empty`: no panel, a panel not filled yet, or one whose dump an explain (still running) let go of;
 * - `session`: an engine session of an editor range; `explained` links the editor and the panel's tokens;
 * - `dump`: a session built elsewhere, whose `source` answers the panel's requests for `sessionId`;
 * - `compare`: two sessions side by side (Compare Models…): it carries all it draws, so no requests follow.
 */
export type PanelContent =
  { kind: 'empty' } | { kind: 'session'; explained: ExplainedRange } | { kind: 'dump'; sessionId: number; source: ExternalSource } | { kind: 'compare' };

const EMPTY: PanelContent = { kind: 'empty' };

/** The transitions between contents. Leaving a dump disposes its source (its reader holds the dump's memory). */
export class ShownContent {
  private now: PanelContent = EMPTY;

  get value(): PanelContent {
    return this.now;
  }

  /**
   * An explain starts. A dump's source is let go of at once; a session or a comparison stays what the panel
   * shows (under its loading message) until the new session arrives.
   */
  explainStarted(): void {
    if (this.now.kind === 'dump') this.set(EMPTY);
  }

  session(explained: ExplainedRange): void {
    this.set({ kind: 'session', explained });
  }

  dump(sessionId: number, source: ExternalSource): void {
    this.set({ kind: 'dump', sessionId, source });
  }

  compare(): void {
    this.set({ kind: 'compare' });
  }

  /** The panel closed, or the controller is disposed. */
  clear(): void {
    this.set(EMPTY);
  }

  private set(next: PanelContent): void {
    if (this.now.kind === 'dump' && this.now !== next) this.now.source.dispose();
    this.now = next;
  }
}
