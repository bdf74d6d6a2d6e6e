import type * as vscode from 'vscode';
import type { PanelState, RequestMap, RequestMethod, SessionData } from '../protocol';

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
}

/** Where panel sessions come from (the engine + analysis in the extension; fakes in tests). */
export interface SessionSource {
  build(req: BuildRequest): Promise<SessionData>;
  request<M extends RequestMethod>(method: M, params: RequestMap[M]['params']): Promise<RequestMap[M]['result']>;
  dispose(): void;
}
