import * as vscode from 'vscode';
import {
  defaultPanelState,
  type CompareDiff,
  type PanelState,
  type RenderedFormat,
  type RequestMap,
  type RequestMethod,
  type SessionData,
  type WebviewNotification,
} from '../protocol';
import { AttentionPanel, type PanelHandlers } from '../panel/attentionPanel';
import { TokenHighlighter, type ExplainedRange } from '../editor/tokenHighlighter';
import { log } from './log';
import { ExplainSettingsWatch } from './settingsWatch';
import { isEngineError } from '../core/errors';
import { AUTO_EFFECTS_MS, type SessionSource } from './sessionSource';
import type { EffectScope } from '../session/effectsOrder';
import { EffectsRunner } from './effectsRunner';
import { ShownContent, type ExternalSource } from './panelContent';

export type { ExternalSource } from './panelContent';

/** Context key: true while a Headlight panel exists (package.json's commandPalette when-clauses read it). */
export const PANEL_OPEN_CONTEXT = 'headlight.panelOpen';

/** What "Explain attention" was asked to explain: a document range. */
export interface ExplainTarget {
  document: vscode.TextDocument;
  range: vscode.Range;
}

/**
 * Owns the one Headlight panel (reused across explains), what it shows (panelContent.ts: a session with its
 * explained range for editor linking, a dump, a comparison) and the run in flight. Commands call into it; it
 * calls the session source (engine + analysis), the effects runner and the panel.
 */
export class Controller implements vscode.Disposable, PanelHandlers {
  private panelNow: AttentionPanel | undefined;
  /** The one panel; setting it tells VS Code (context key `headlight.panelOpen`) so Find Head and Export show in the palette. */
  get panel(): AttentionPanel | undefined {
    return this.panelNow;
  }
  set panel(p: AttentionPanel | undefined) {
    if (Boolean(p) !== Boolean(this.panelNow)) void vscode.commands.executeCommand('setContext', PANEL_OPEN_CONTEXT, Boolean(p));
    this.panelNow = p;
  }
  /** What the panel shows; every change goes through its transitions. */
  private readonly content = new ShownContent();
  private run: vscode.CancellationTokenSource | undefined;
  private runSeq = 0;
  private readonly highlighter = new TokenHighlighter();
  private explaining: Promise<void> | undefined;
  private readonly disposables: vscode.Disposable[] = [this.highlighter];
  private readonly effects: EffectsRunner;
  private readonly settings = new ExplainSettingsWatch(
    () => {
      if (this.panel?.state && this.content.value.kind !== 'dump') void this.explainState(this.panel.state);
    },
    (why) => log().debug(why),
  );

  constructor(
    private readonly context: vscode.ExtensionContext,
    readonly source: SessionSource,
  ) {
    this.effects = new EffectsRunner(source, (panel, id) => this.panel === panel && panel.session?.id === id);
    this.disposables.push(
      vscode.window.onDidChangeTextEditorSelection((e) => this.onEditorSelection(e)),
      // A new model choice re-explains what the panel shows, so the user sees the effect at once.
      this.settings,
    );
  }

  /** Settings written one after another (Select Model's save): the panel explains once, after the last. */
  writeSettings<T>(write: () => Promise<T>): Promise<T> {
    return this.settings.batch(write);
  }

  get extensionUri(): vscode.Uri {
    return this.context.extensionUri;
  }
  /** True while the panel shows a comparison (compare/data) rather than one session. */
  get comparing(): boolean {
    return this.content.value.kind === 'compare';
  }
  /** The editor range of the session shown, for linking editor and panel (none for a dump or a comparison). */
  get explained(): ExplainedRange | undefined {
    const c = this.content.value;
    return c.kind === 'session' ? c.explained : undefined;
  }
  get highlightedRange(): vscode.Range | undefined {
    return this.highlighter.lastFocus;
  }

  static title(doc: vscode.TextDocument, range: vscode.Range): string {
    const name = doc.uri.path.split('/').pop() || doc.uri.toString();
    const a = range.start.line + 1,
      b = range.end.line + 1;
    return `Attention: ${name}:${a === b ? a : `${a}–${b}`}`;
  }

  /** Explain a range: open or reuse the panel beside the editor, then fill it. */
  /** Settles when the explain in flight ends (analysed, failed, cancelled or superseded); at once when none runs. */
  settled(): Promise<void> {
    return this.explaining ?? Promise.resolve();
  }

  async explain(target: ExplainTarget, previous?: PanelState): Promise<void> {
    const run = this.explainRange(target, previous);
    this.explaining = run;
    try {
      await run;
    } finally {
      if (this.explaining === run) this.explaining = undefined;
    }
  }

  private async explainRange(target: ExplainTarget, previous?: PanelState): Promise<void> {
    const { document: doc, range } = target;
    const text = doc.getText(range);
    if (text.trim().length === 0) {
      void vscode.window.showWarningMessage(vscode.l10n.t('Headlight: select some text to explain (the selection is empty or only whitespace).'));
      return;
    }
    const title = Controller.title(doc, range);
    this.settings.explaining();
    const rangeTuple: PanelState['source']['range'] = [range.start.line, range.start.character, range.end.line, range.end.character];
    const state: PanelState = {
      ...(previous ?? this.panel?.state ?? defaultPanelState('', rangeTuple)),
      source: { uri: doc.uri.toString(), range: rangeTuple },
    };
    const panel = this.showPanel(title, state);
    panel.post({ type: 'session/loading', title, message: `Explaining ${text.length} characters…` });

    this.run?.cancel();
    this.content.explainStarted();
    const cts = new vscode.CancellationTokenSource();
    this.run = cts;
    const seq = ++this.runSeq;
    try {
      let previewed = false;
      const show = (session: SessionData) => {
        this.content.session({
          uri: doc.uri.toString(),
          baseOffset: doc.offsetAt(range.start),
          version: doc.version,
          spans: session.tokens.map((t) => ({ start: t.start, end: t.end })),
        });
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
        const late = {
          ...(session.valueNorms ? { valueNorms: session.valueNorms } : {}),
          ...(session.valueNormsNote !== undefined ? { valueNormsNote: session.valueNormsNote } : {}),
        };
        panel.post({ type: 'session/heads', sessionId: session.id, heads: session.heads, thumbnails: session.thumbnails, ...late });
      } else show(session);
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
      log().error('Explain failed:', err instanceof Error ? (err.stack ?? message) : message);
      panel.post({ type: 'session/error', message });
      void vscode.window.showErrorMessage(vscode.l10n.t('Headlight: {0}', message), 'Select another model').then((a) => {
        if (a) void vscode.commands.executeCommand('headlight.selectModel');
      });
    } finally {
      if (this.run === cts) this.run = undefined;
      cts.dispose();
    }
  }

  /**
   * Measure Head Effects: zero-ablate heads of the panel's session (effectsRunner.ts). `auto`: every head,
   * started by the explain because it is cheap; asked for without a `scope`, the user picks which heads.
   */
  async measureEffects(auto = false, scope?: EffectScope): Promise<void> {
    const panel = this.panel;
    const session = panel?.session;
    const kind = this.content.value.kind;
    if (!panel || !session || kind === 'compare' || kind === 'dump' || !this.source.measureEffects) {
      if (!auto)
        void vscode.window.showInformationMessage(
          vscode.l10n.t("Headlight: explain a selection first; head effects are measured on the panel's text and model."),
        );
      return;
    }
    return this.effects.measure(panel, session, auto, scope);
  }

  /** Explain the range a panel state points at (reload, settings change, Find head with no panel). */
  async explainState(state: PanelState): Promise<void> {
    if (state.source.uri.startsWith('headlight-dump:')) {
      // an external session: its command reopens it
      await vscode.commands.executeCommand('headlight.openDump', vscode.Uri.parse(state.source.uri));
      return;
    }
    if (state.source.uri.startsWith('headlight-notebook:')) {
      // a notebook output: found again in its notebook
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
    const panel = (this.panel = new AttentionPanel(webviewPanel, this.extensionUri, this, state, log()));
    if (!state) {
      panel.post({ type: 'session/error', message: vscode.l10n.t('Select text and run “Explain Attention” to fill this panel.') });
      return;
    }
    if (!webviewPanel.visible) {
      log().info(`Restored panel for ${state.source.uri}: it explains again when shown.`);
      panel.post({ type: 'session/loading', title: webviewPanel.title, message: vscode.l10n.t('Restored; explains again when shown.') });
      await new Promise<void>((resolve) => {
        const subs = [
          webviewPanel.onDidChangeViewState((e) => {
            if (e.webviewPanel.visible) done();
          }),
          webviewPanel.onDidDispose(() => done()),
        ];
        const done = () => {
          for (const s of subs) s.dispose();
          resolve();
        };
      });
      if (this.panel !== panel) return; // closed, or replaced by another explain meanwhile
      if (panel.session) return; // something already filled it
    }
    try {
      log().info(`Restored panel for ${state.source.uri}: explaining again.`);
      await this.explainState(state);
    } catch (err) {
      panel.post({
        type: 'session/error',
        message: vscode.l10n.t('Could not reopen {0}: {1}', state.source.uri, err instanceof Error ? err.message : String(err)),
      });
    }
  }

  onRequest<M extends RequestMethod>(_panel: AttentionPanel, method: M, params: RequestMap[M]['params']): Promise<RequestMap[M]['result']> {
    const shown = this.content.value;
    if (shown.kind === 'dump' && params.sessionId === shown.sessionId) return shown.source.request(method, params);
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
      default:
        break;
    }
  }

  onDispose(panel: AttentionPanel): void {
    if (this.panel !== panel) return;
    this.lastState = panel.state ?? this.lastState;
    this.panel = undefined;
    this.run?.cancel();
    this.highlighter.clear();
    this.content.clear();
  }

  /**
   * Show a session built elsewhere (an attention dump) in the panel; `source` answers its head/flow
   * requests until another session replaces it or the panel closes. `sourceUri` goes into the panel
   * state so a window reload can reopen it (see explainState).
   */
  showExternalSession(title: string, session: SessionData, source: ExternalSource, sourceUri: string): void {
    this.run?.cancel();
    const id = ++this.runSeq;
    this.content.dump(id, source); // no editor range to link to
    const prev = this.panel?.state ?? defaultPanelState(sourceUri, [0, 0, 0, 0]);
    const fits = prev.layer < session.model.layers && prev.head < session.model.headsPerLayer; // keep the view, not a head the dump lacks
    const state: PanelState = { ...prev, ...(fits ? {} : { layer: 0, head: 0 }), source: { uri: sourceUri, range: [0, 0, 0, 0] }, model: session.model.name };
    const panel = this.showPanel(title, state);
    panel.post({ type: 'session/data', session: { ...session, id, title }, state });
  }

  /**
   * Show two sessions of the same text side by side (Compare models…). The comparison carries everything it
   * draws (catalog thumbnails, metrics), so no head/matrix requests follow.
   */
  showCompare(title: string, a: SessionData, b: SessionData, diff: CompareDiff, source: ExplainTarget): void {
    this.run?.cancel();
    this.content.compare();
    const { range, document: doc } = source;
    const rangeTuple: PanelState['source']['range'] = [range.start.line, range.start.character, range.end.line, range.end.character];
    const state: PanelState = {
      ...(this.panel?.state ?? defaultPanelState(doc.uri.toString(), rangeTuple)),
      source: { uri: doc.uri.toString(), range: rangeTuple },
    };
    const panel = this.showPanel(title, state);
    panel.post({ type: 'compare/data', a: { ...a, id: ++this.runSeq }, b: { ...b, id: ++this.runSeq }, diff, state });
  }

  /** Ask the panel to draw the shown view as PNG bytes or SVG text (Export view…). */
  renderInPanel(format: RenderedFormat, timeoutMs = 60_000): Promise<Uint8Array | string> {
    const panel = this.panel;
    if (!panel) return Promise.reject(new Error('The Headlight panel is not open.'));
    // The panel keeps the request until the page replies; closing it rejects with 'The panel was closed.'.
    return panel
      .request('export/render', { format }, timeoutMs, () => new Error(`the panel did not render the ${format.toUpperCase()} within ${timeoutMs / 1000} s`))
      .then((r) => r.data);
  }

  /** The one panel, created beside the editor or reused (retitled and revealed). */
  private showPanel(title: string, state: PanelState): AttentionPanel {
    if (!this.panel) {
      this.panel = AttentionPanel.create(this.extensionUri, this, title, state, vscode.ViewColumn.Beside, log());
    } else {
      this.panel.panel.title = title;
      this.panel.reveal();
    }
    return this.panel;
  }

  /** Editor → panel: the cursor inside the explained range highlights that token. */
  private onEditorSelection(e: vscode.TextEditorSelectionChangeEvent): void {
    const ex = this.explained;
    if (!ex || !this.panel || e.textEditor.document.uri.toString() !== ex.uri || e.textEditor.document.version !== ex.version) return;
    const offset = e.textEditor.document.offsetAt(e.selections[0].active);
    this.panel.post({ type: 'editor/cursorToken', index: TokenHighlighter.tokenAt(ex, offset) });
  }

  /** The session shown now, for Find head and Export. */
  get session(): SessionData | undefined {
    return this.comparing ? undefined : this.panel?.session;
  }

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
    this.content.clear();
    this.panel?.panel.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
