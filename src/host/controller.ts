import * as vscode from 'vscode';
import { defaultPanelState, type CompareDiff, type PanelState, type RenderedFormat, type RequestMap, type RequestMethod, type SessionData, type WebviewNotification } from '../protocol';
import { AttentionPanel, type PanelHandlers } from '../panel/attentionPanel';
import { TokenHighlighter, type ExplainedRange } from '../editor/tokenHighlighter';
import { log } from './log';
import { isEngineError } from '../core/errors';
import type { SessionSource } from './sessionSource';
import { pickEffectScope } from './effectScope';
import type { EffectScope } from '../session/effectsOrder';

/** A session that did not come from the engine (an attention dump): answers the panel's requests itself. */
export interface ExternalSource {
  request<M extends RequestMethod>(method: M, params: RequestMap[M]['params']): Promise<RequestMap[M]['result']>;
  dispose(): void;
}

/** Head effects are measured with every explain when the estimate is below this; else on request (Measure Head Effects). */
export const AUTO_EFFECTS_MS = 2000;

/** Context key: true while a Headlight panel exists (package.json's commandPalette when-clauses read it). */
export const PANEL_OPEN_CONTEXT = 'headlight.panelOpen';

/** What "Explain attention" was asked to explain: a document range. */
export interface ExplainTarget {
  document: vscode.TextDocument;
  range: vscode.Range;
}

/**
 * Owns the one Headlight panel (reused across explains), the explained range for editor linking, and
 * the run in flight. Commands call into it; it calls the session source (engine + analysis) and the panel.
 */
export class Controller implements vscode.Disposable, PanelHandlers {
  private panelNow: AttentionPanel | undefined;
  /** The one panel; setting it tells VS Code (context key `headlight.panelOpen`) so Find Head and Export show in the palette. */
  get panel(): AttentionPanel | undefined { return this.panelNow; }
  set panel(p: AttentionPanel | undefined) {
    if (Boolean(p) !== Boolean(this.panelNow)) void vscode.commands.executeCommand('setContext', PANEL_OPEN_CONTEXT, Boolean(p));
    this.panelNow = p;
  }
  explained: ExplainedRange | undefined;
  private run: vscode.CancellationTokenSource | undefined;
  private runSeq = 0;
  private readonly highlighter = new TokenHighlighter();
  /** The external session the panel shows, if any (replaced by the next explain or external session). */
  private external: { id: number; source: ExternalSource } | undefined;
  private readonly disposables: vscode.Disposable[] = [this.highlighter];
  /** True while the panel shows a comparison (compare/data) rather than one session. */
  comparing = false;
  /** Export renders the panel was asked for, by id (answered by export/rendered). */
  private readonly renders = new Map<number, { resolve: (v: Uint8Array | string) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private renderSeq = 0;
  private settingsTimer: NodeJS.Timeout | undefined;

  constructor(private readonly context: vscode.ExtensionContext, readonly source: SessionSource) {
    this.disposables.push(
      vscode.window.onDidChangeTextEditorSelection((e) => this.onEditorSelection(e)),
      // A new model choice re-explains what the panel shows, so the user sees the effect at once.
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (this.panel?.state && !this.external && ['headlight.model', 'headlight.modelPath', 'headlight.tokenizerPath', 'headlight.maxTokens', 'headlight.executionProviders'].some((k) => e.affectsConfiguration(k))) {
          // Select Model writes up to four keys one after another: explain once, after the last of them.
          clearTimeout(this.settingsTimer);
          this.settingsTimer = setTimeout(() => { if (this.panel?.state && !this.external) void this.explainState(this.panel.state); }, 150);
        }
      }),
      { dispose: () => clearTimeout(this.settingsTimer) },
    );
  }

  get extensionUri(): vscode.Uri { return this.context.extensionUri; }
  get highlightedRange(): vscode.Range | undefined { return this.highlighter.lastFocus; }

  static title(doc: vscode.TextDocument, range: vscode.Range): string {
    const name = doc.uri.path.split('/').pop() || doc.uri.toString();
    const a = range.start.line + 1, b = range.end.line + 1;
    return `Attention: ${name}:${a === b ? a : `${a}–${b}`}`;
  }

  /** Explain a range: open or reuse the panel beside the editor, then fill it. */
  async explain(target: ExplainTarget, previous?: PanelState): Promise<void> {
    const { document: doc, range } = target;
    const text = doc.getText(range);
    if (text.trim().length === 0) {
      void vscode.window.showWarningMessage(vscode.l10n.t('Headlight: select some text to explain (the selection is empty or only whitespace).'));
      return;
    }
    const title = Controller.title(doc, range);
    const rangeTuple: PanelState['source']['range'] = [range.start.line, range.start.character, range.end.line, range.end.character];
    const state: PanelState = { ...(previous ?? this.panel?.state ?? defaultPanelState('', rangeTuple)), source: { uri: doc.uri.toString(), range: rangeTuple } };
    const panel = this.showPanel(title, state);
    panel.post({ type: 'session/loading', title, message: `Explaining ${text.length} characters…` });

    this.run?.cancel();
    this.dropExternal();
    const cts = new vscode.CancellationTokenSource();
    this.run = cts;
    const seq = ++this.runSeq;
    try {
      let previewed = false;
      const show = (session: SessionData) => {
        this.explained = {
          uri: doc.uri.toString(), baseOffset: doc.offsetAt(range.start), version: doc.version,
          spans: session.tokens.map((t) => ({ start: t.start, end: t.end })),
        };
        this.comparing = false;
        panel.post({ type: 'session/data', session, state: { ...state, model: session.model.name } });
        this.lastState = panel.state;
      };
      const onPreview = (session: SessionData) => {
        if (cts.token.isCancellationRequested || seq !== this.runSeq) return;
        previewed = true;
        show(session);
      };
      // The syntax roles parse the whole document (a selection may cut a function in half), by its languageId.
      const syntax = { language: doc.languageId, text: doc.getText(), offset: doc.offsetAt(range.start) };
      const session = await this.source.build({ text, title, id: seq, token: cts.token, state, onPreview, syntax });
      if (cts.token.isCancellationRequested || seq !== this.runSeq) return; // superseded
      // After a first paint only the analysis is new: the panel keeps whatever the user did meanwhile.
      if (previewed && panel.session?.id === session.id) {
        const late = { ...(session.valueNorms ? { valueNorms: session.valueNorms } : {}), ...(session.valueNormsNote !== undefined ? { valueNormsNote: session.valueNormsNote } : {}) };
        panel.post({ type: 'session/heads', sessionId: session.id, heads: session.heads, thumbnails: session.thumbnails, ...late });
      }
      else show(session);
      // Cheap (a small model, a short selection): measure what each head does right away.
      const est = this.source.effectsEstimateMs?.(session.id);
      if (est !== undefined && est <= AUTO_EFFECTS_MS) void this.measureEffects(true);
    } catch (err) {
      if (cts.token.isCancellationRequested || seq !== this.runSeq) return;
      if (err instanceof vscode.CancellationError || (isEngineError(err) && err.code === 'cancelled')) {
        panel.post({ type: 'session/error', message: vscode.l10n.t('Cancelled. Select text and run “Explain attention” again.') });
        return;
      }
      const message = err instanceof Error ? err.message : String(err);
      log().error('Explain failed:', err instanceof Error ? err.stack ?? message : message);
      panel.post({ type: 'session/error', message });
      void vscode.window.showErrorMessage(vscode.l10n.t('Headlight: {0}', message), 'Select another model').then((a) => {
        if (a) void vscode.commands.executeCommand('headlight.selectModel');
      });
    } finally {
      if (this.run === cts) this.run = undefined;
      cts.dispose();
    }
  }

  /** Effects being measured, per session id (a second ask while one runs waits for it). */
  private effectsRun: { sessionId: number; done: Promise<void> } | undefined;

  /**
   * Measure Head Effects: zero-ablate heads of the panel's session with a cancellable progress notification,
   * streaming each group's results into the panel. `auto`: every head, started by the explain because it is
   * cheap; asked for (button, palette) without a `scope`, the user picks which heads (effectScope.ts).
   */
  async measureEffects(auto = false, scope?: EffectScope): Promise<void> {
    const panel = this.panel;
    const session = panel?.session;
    if (!panel || !session || this.comparing || !this.source.measureEffects || this.external) {
      if (!auto) void vscode.window.showInformationMessage(vscode.l10n.t('Headlight: explain a selection first; head effects are measured on the panel\'s text and model.'));
      return;
    }
    if (this.effectsRun?.sessionId === session.id) return this.effectsRun.done;
    if (!auto && !scope) {
      scope = await pickEffectScope(session);
      if (!scope || this.panel !== panel || panel.session?.id !== session.id) return;
      if (this.effectsRun?.sessionId === session.id) return this.effectsRun.done;
    }
    const id = session.id;
    const total = session.model.layers * session.model.headsPerLayer;
    panel.post({ type: 'session/effects', sessionId: id, status: 'measuring', message: vscode.l10n.t('Measuring what removing each head does…') });
    const done = (async () => {
      try {
        // Asked for: a cancellable notification. Measured on its own because it is cheap: the status bar only,
        // so no toast pops up (or takes a click) while the user works in the editor.
        const location = auto ? vscode.ProgressLocation.Window : vscode.ProgressLocation.Notification;
        const effects = await vscode.window.withProgress({ location, cancellable: !auto, title: vscode.l10n.t('Headlight: measuring head effects') }, (progress, token) => {
          let last = 0;
          return this.source.measureEffects!(id, token, (d, t) => {
            if (t) progress.report({ message: vscode.l10n.t('{0} of {1} heads', d, t), increment: ((d - last) / t) * 100 });
            last = d;
          }, {
            scope,
            // Each group into the catalog as it lands: the heads that matter most come first.
            onPartial: (sofar) => {
              if (this.panel === panel && panel.session?.id === id) panel.post({ type: 'session/effects', sessionId: id, status: 'measuring', effects: sofar, message: vscode.l10n.t('Measuring what removing each head does: {0} of {1} heads so far…', sofar.measured ?? 0, total) });
            },
          });
        });
        if (this.panel === panel && panel.session?.id === id) panel.post({ type: 'session/effects', sessionId: id, status: 'done', effects });
      } catch (err) {
        const cancelled = isEngineError(err) && err.code === 'cancelled';
        const message = cancelled ? vscode.l10n.t('Measuring head effects was cancelled; run “Measure Head Effects” to measure them.') : err instanceof Error ? err.message : String(err);
        if (!cancelled) log().error('Head effects failed:', message);
        if (this.panel === panel && panel.session?.id === id) panel.post({ type: 'session/effects', sessionId: id, status: 'failed', message });
      } finally {
        if (this.effectsRun?.sessionId === id) this.effectsRun = undefined; // asked again: the rest are measured
      }
    })();
    this.effectsRun = { sessionId: id, done };
    return done;
  }

  /** Explain the range a panel state points at (reload, settings change, Find head with no panel). */
  async explainState(state: PanelState): Promise<void> {
    if (state.source.uri.startsWith('headlight-dump:')) { // an external session: its command reopens it
      await vscode.commands.executeCommand('headlight.openDump', vscode.Uri.parse(state.source.uri));
      return;
    }
    if (state.source.uri.startsWith('headlight-notebook:')) { // a notebook output: found again in its notebook
      await vscode.commands.executeCommand('headlight.openNotebookOutput', state.source.uri);
      return;
    }
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(state.source.uri));
    const [a, b, c, d] = state.source.range;
    await this.explain({ document: doc, range: doc.validateRange(new vscode.Range(a, b, c, d)) }, state);
  }

  /** The last explained panel state, kept after the panel closes so Find head can bring it back. */
  lastState: PanelState | undefined;

  /**
   * Restore a panel after a window reload: reattach, and explain the stored range again — but only once
   * the panel is visible, so a reload with the panel in a background tab runs no model.
   */
  async restore(webviewPanel: vscode.WebviewPanel, state: PanelState | undefined): Promise<void> {
    this.panel?.panel.dispose();
    const panel = this.panel = new AttentionPanel(webviewPanel, this.extensionUri, this, state);
    if (!state) {
      panel.post({ type: 'session/error', message: vscode.l10n.t('Select text and run “Explain Attention” to fill this panel.') });
      return;
    }
    if (!webviewPanel.visible) {
      log().info(`Restored panel for ${state.source.uri}: it explains again when shown.`);
      panel.post({ type: 'session/loading', title: webviewPanel.title, message: vscode.l10n.t('Restored; explains again when shown.') });
      await new Promise<void>((resolve) => {
        const subs = [
          webviewPanel.onDidChangeViewState((e) => { if (e.webviewPanel.visible) done(); }),
          webviewPanel.onDidDispose(() => done()),
        ];
        const done = () => { for (const s of subs) s.dispose(); resolve(); };
      });
      if (this.panel !== panel) return; // closed, or replaced by another explain meanwhile
      if (panel.session) return; // something already filled it
    }
    try {
      log().info(`Restored panel for ${state.source.uri}: explaining again.`);
      await this.explainState(state);
    } catch (err) {
      panel.post({ type: 'session/error', message: vscode.l10n.t('Could not reopen {0}: {1}', state.source.uri, err instanceof Error ? err.message : String(err)) });
    }
  }

  onRequest<M extends RequestMethod>(_panel: AttentionPanel, method: M, params: RequestMap[M]['params']): Promise<RequestMap[M]['result']> {
    if (this.external && params.sessionId === this.external.id) return this.external.source.request(method, params);
    return this.source.request(method, params);
  }

  onNotification(_panel: AttentionPanel, msg: WebviewNotification): void {
    switch (msg.type) {
      case 'token/hover':
        if (this.explained) this.highlighter.highlight(this.explained, msg.index, msg.keys);
        break;
      case 'token/reveal':
        if (this.explained) this.highlighter.highlight(this.explained, msg.index, []);
        break;
      case 'command/run':
        void vscode.commands.executeCommand(`headlight.${msg.command}`);
        break;
      case 'export/start':
        void vscode.commands.executeCommand('headlight.exportView', { format: msg.format });
        break;
      case 'effects/measure':
        if (this.panel?.session?.id === msg.sessionId) void this.measureEffects();
        break;
      case 'export/rendered': {
        const r = this.renders.get(msg.id);
        if (!r) break;
        this.renders.delete(msg.id);
        clearTimeout(r.timer);
        if (msg.ok) r.resolve(msg.data); else r.reject(new Error(msg.error));
        break;
      }
      default:
        break;
    }
  }

  onDispose(panel: AttentionPanel): void {
    if (this.panel !== panel) return;
    this.lastState = panel.state ?? this.lastState;
    this.panel = undefined;
    this.comparing = false;
    for (const [id, r] of this.renders) { clearTimeout(r.timer); r.reject(new Error('The panel was closed.')); this.renders.delete(id); }
    this.run?.cancel();
    this.highlighter.clear();
    this.dropExternal();
  }

  /**
   * Show a session built elsewhere (an attention dump) in the panel; `source` answers its head/flow
   * requests until another session replaces it or the panel closes. `sourceUri` goes into the panel
   * state so a window reload can reopen it (see explainState).
   */
  showExternalSession(title: string, session: SessionData, source: ExternalSource, sourceUri: string): void {
    this.run?.cancel();
    this.dropExternal();
    const id = ++this.runSeq;
    this.external = { id, source };
    this.explained = undefined; // no editor range to link to
    const prev = this.panel?.state ?? defaultPanelState(sourceUri, [0, 0, 0, 0]);
    const fits = prev.layer < session.model.layers && prev.head < session.model.headsPerLayer; // keep the view, not a head the dump lacks
    const state: PanelState = { ...prev, ...(fits ? {} : { layer: 0, head: 0 }), source: { uri: sourceUri, range: [0, 0, 0, 0] }, model: session.model.name };
    const panel = this.showPanel(title, state);
    this.comparing = false;
    panel.post({ type: 'session/data', session: { ...session, id, title }, state });
  }

  /**
   * Show two sessions of the same text side by side (Compare models…). The comparison carries everything it
   * draws (catalog thumbnails, metrics), so no head/matrix requests follow.
   */
  showCompare(title: string, a: SessionData, b: SessionData, diff: CompareDiff, source: ExplainTarget): void {
    this.run?.cancel();
    this.dropExternal();
    this.explained = undefined;
    const { range, document: doc } = source;
    const rangeTuple: PanelState['source']['range'] = [range.start.line, range.start.character, range.end.line, range.end.character];
    const state: PanelState = { ...(this.panel?.state ?? defaultPanelState(doc.uri.toString(), rangeTuple)), source: { uri: doc.uri.toString(), range: rangeTuple } };
    const panel = this.showPanel(title, state);
    this.comparing = true;
    panel.post({ type: 'compare/data', a: { ...a, id: ++this.runSeq }, b: { ...b, id: ++this.runSeq }, diff, state });
  }

  /** Ask the panel to draw the shown view as PNG bytes or SVG text (Export view…). */
  renderInPanel(format: RenderedFormat, timeoutMs = 60_000): Promise<Uint8Array | string> {
    const panel = this.panel;
    if (!panel) return Promise.reject(new Error('The Headlight panel is not open.'));
    const id = ++this.renderSeq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.renders.delete(id); reject(new Error(`the panel did not render the ${format.toUpperCase()} within ${timeoutMs / 1000} s`)); }, timeoutMs);
      this.renders.set(id, { resolve, reject, timer });
      panel.post({ type: 'export/render', id, format });
    });
  }

  /** The one panel, created beside the editor or reused (retitled and revealed). */
  private showPanel(title: string, state: PanelState): AttentionPanel {
    if (!this.panel) {
      this.panel = AttentionPanel.create(this.extensionUri, this, title, state, vscode.ViewColumn.Beside);
    } else {
      this.panel.panel.title = title;
      this.panel.reveal();
    }
    return this.panel;
  }

  private dropExternal(): void {
    this.external?.source.dispose();
    this.external = undefined;
  }

  /** Editor → panel: the cursor inside the explained range highlights that token. */
  private onEditorSelection(e: vscode.TextEditorSelectionChangeEvent): void {
    const ex = this.explained;
    if (!ex || !this.panel || e.textEditor.document.uri.toString() !== ex.uri || e.textEditor.document.version !== ex.version) return;
    const offset = e.textEditor.document.offsetAt(e.selections[0].active);
    this.panel.post({ type: 'editor/cursorToken', index: TokenHighlighter.tokenAt(ex, offset) });
  }

  /** The session shown now, for Find head and Export. */
  get session(): SessionData | undefined { return this.comparing ? undefined : this.panel?.session; }

  focusHead(layer: number, head: number): void {
    this.panel?.reveal();
    this.panel?.post({ type: 'head/focus', layer, head, view: 'arcs' });
  }

  /** Find head with no panel open: reopen the last explained text first. */
  async reopenLast(): Promise<boolean> {
    if (this.panel?.session) return true;
    if (!this.lastState) return false;
    await this.explainState(this.lastState);
    return Boolean(this.panel?.session);
  }

  dispose(): void {
    this.run?.cancel();
    this.dropExternal();
    this.panel?.panel.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
