// The extension host's side of the notebook renderer (webview/notebook/renderer.ts): renderer messaging in and
// out, the workspace's trust for dump paths, and the Headlight panel for "Open in panel". What it answers is
// OutputService's (outputService.ts: the same analysis as the panel's).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Controller, ExternalSource } from '../host/controller';
import { log } from '../host/log';
import { AnalysisClient } from '../session/analysisClient';
import { answerPanelRequest } from '../session/wire';
import { NOTEBOOK_MIME, OutputError, type DumpPointer } from './format';
import type { AnalysedOutput } from './analyseOutput';
import { OutputService, outputKey, type NotebookContext } from './outputService';
import { parseRendererMessage, RENDERER_ID } from './messages';

/** Panel state URI of an output opened in the panel: a window reload finds it in its notebook again. */
export const NOTEBOOK_OUTPUT_SCHEME = 'headlight-notebook';

export class NotebookRendererHost implements vscode.Disposable {
  private readonly messaging = vscode.notebooks.createRendererMessaging(RENDERER_ID);
  private readonly analysis = new AnalysisClient();
  private readonly service = new OutputService(this.analysis, (line) => log().info(line));
  private readonly subscription: vscode.Disposable;

  constructor(private readonly controller: Controller) {
    this.subscription = this.messaging.onDidReceiveMessage((e) => void this.onMessage(e.editor, e.message));
  }

  private async onMessage(editor: vscode.NotebookEditor, raw: unknown): Promise<void> {
    const msg = parseRendererMessage(raw);
    if (!msg) {
      log().warn(`notebook renderer: dropped a malformed message (${String((raw as { type?: unknown } | null)?.type)})`);
      return;
    }
    const reply = await this.service.answer(msg, this.contextOf(editor.notebook.uri));
    void this.messaging.postMessage(reply, editor);
  }

  private contextOf(notebook: vscode.Uri): NotebookContext {
    return {
      name: notebook.path.split('/').pop() ?? 'notebook',
      resolveDump: (d) => resolveDump(notebook, d),
      openInPanel: (a) => this.openInPanel(notebook, a),
    };
  }

  /** Show an output in the Headlight panel: a dump through Open Attention Dump (a reload reopens it), inline attention as an external session. */
  private async openInPanel(notebook: vscode.Uri, a: AnalysedOutput): Promise<void> {
    if (a.dumpPath) {
      await vscode.commands.executeCommand('headlight.openDump', vscode.Uri.file(a.dumpPath));
      return;
    }
    const source: ExternalSource = {
      request: (method, params) => Promise.resolve(answerPanelRequest(a.attention, method, params)),
      dispose: () => undefined,
    };
    this.controller.showExternalSession(a.session.title, a.session, source, `${NOTEBOOK_OUTPUT_SCHEME}:${encodeURIComponent(notebook.toString())}#${a.key}`);
  }

  /** After a window reload: find the output in its notebook by its key and show it again. */
  async reopen(stateUri: string): Promise<void> {
    const [nbPart, key] = stateUri.slice(NOTEBOOK_OUTPUT_SCHEME.length + 1).split('#');
    const uri = vscode.Uri.parse(decodeURIComponent(nbPart));
    const doc = vscode.workspace.notebookDocuments.find((d) => d.uri.toString() === uri.toString()) ?? (await vscode.workspace.openNotebookDocument(uri));
    const decoder = new TextDecoder();
    for (const cell of doc.getCells()) {
      for (const item of cell.outputs.flatMap((o) => o.items)) {
        if (item.mime !== NOTEBOOK_MIME) continue;
        const text = decoder.decode(item.data);
        if (outputKey(text) !== key) continue;
        await this.openInPanel(uri, await this.service.analysed(text, this.contextOf(uri)));
        return;
      }
    }
    throw new Error(
      vscode.l10n.t('The notebook output shown here is no longer in {0}; open it again from the notebook.', uri.path.split('/').pop() ?? uri.toString()),
    );
  }

  dispose(): void {
    this.subscription.dispose();
    this.service.dispose();
    void this.analysis.dispose();
  }
}

/**
 * A dump path from an output: relative to the notebook's folder, else where the helper wrote it. In an untrusted
 * workspace only files inside the notebook's folder are read (an output cannot point Headlight at any file).
 */
function resolveDump(notebook: vscode.Uri, d: DumpPointer): string {
  if (notebook.scheme !== 'file')
    throw new OutputError(`This output's attention is in a dump file (${d.path}), and only notebooks on this machine's disk can read one.`);
  const base = path.dirname(notebook.fsPath);
  const inside = (p: string) => {
    const r = path.relative(base, p);
    return r === '' || (!r.startsWith('..') && !path.isAbsolute(r));
  };
  const candidates = [path.resolve(base, d.path), ...(d.absolutePath ? [path.resolve(d.absolutePath)] : [])].filter(
    (p) => vscode.workspace.isTrusted || inside(p),
  );
  if (!candidates.length)
    throw new OutputError(`This output's dump file (${d.path}) is outside the notebook's folder; Headlight reads such files only in a trusted workspace.`);
  return candidates.find((p) => fs.existsSync(p)) ?? candidates[0];
}
