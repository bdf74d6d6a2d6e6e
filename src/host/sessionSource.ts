import type * as vscode from 'vscode';
import type { PanelState, RequestMap, RequestMethod, SessionData, WireEffects } from '../protocol';
import type { SyntaxContext } from '../analysis/syntax/types';
import type { EffectScope } from '../session/effectsOrder';
import type { ModelRef } from '../engine';

/** Head effects are measured with every explain (and both sides of a comparison) when the estimate is below this; else on request (Measure Head Effects). */
export const AUTO_EFFECTS_MS = 2000;

/** A model to run, with the name the user knows it by. */
export type NamedModel = ModelRef & { name: string };

/** Compare Models…: one text through two models. */
export interface CompareRequest {
  text: string;
  title: string;
  a: NamedModel;
  b: NamedModel;
}

export interface BuildRequest {
  text: string;
  title: string;
  id: number;
  token: vscode.CancellationToken;
  state: PanelState;
  /**
   * Long selections: called with a first-paint session (`analysing`, no heads yet) as soon as the model
   * has run; build() still resolves with the complete session.
   */
  onPreview?: (session: SessionData) => void;
  /** The document around the selection (languageId, text, the selection's offset) for the syntax roles. */
  syntax?: SyntaxContext;
}

/** Where panel sessions come from (the engine + analysis in the extension; fakes in tests). */
export interface SessionSource {
  build(req: BuildRequest): Promise<SessionData>;
  request<M extends RequestMethod>(method: M, params: RequestMap[M]['params']): Promise<RequestMap[M]['result']>;
  /**
   * Zero-ablate heads of the session's model on its tokens (absent: this source cannot): `scope` says which
   * (default every head, largest |DLA| first); `onPartial` gets every head measured so far after each group.
   * Heads measured by earlier calls on the same session stay in the result.
   */
  measureEffects?(
    sessionId: number,
    token: vscode.CancellationToken,
    onProgress: (done: number, total: number) => void,
    opts?: { scope?: EffectScope; onPartial?: (sofar: WireEffects) => void },
  ): Promise<WireEffects>;
  /**
   * Compare Models…: the text through model A, then model B (never both at once: two models would double the
   * peak memory), each with its head effects when they are cheap to measure; the sessions only, nothing is kept
   * for later requests. Rejects with a `cancelled` engine error when the user cancels.
   */
  compare(req: CompareRequest): Promise<{ a: SessionData; b: SessionData }>;
  /** Rough cost of measureEffects in ms, from the session's own model run (undefined: unknown). */
  effectsEstimateMs?(sessionId: number): number | undefined;
  dispose(): void;
}
