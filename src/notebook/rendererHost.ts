// The extension host's side of the notebook renderer (webview/notebook/renderer.ts): it analyses the outputs the
// renderer sends (analyseOutput.ts: the analysis worker, or the attention-dump path for outputs that point to a
// dump file), answers their head and flow requests, and moves an output into the Headlight panel.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Controller, ExternalSource } from '../host/controller';
import { log } from '../host/log';
import { AnalysisClient } from '../session/analysisClient';
import { answerPanelRequest, headMatrix } from '../session/wire';
import { AttentionDump } from '../dump/attentionDump';
import { NOTEBOOK_MIME, OutputError, type DumpPointer } from './format';
import { analyseOutput, outputKey, type AnalysedOutput } from './analyseOutput';
import { encodeFlow, encodeMatrix, encodeSession, parseRendererMessage, RENDERER_ID, type HostToRenderer } from './messages';

/** Panel state URI of an output opened in the panel: a window reload finds it in its notebook again. */
export const NOTEBOOK_OUTPUT_SCHEME = 'headlight-notebook';

/** Analysed outputs kept for their head/flow requests (a 12 × 12-head, 256-token output holds 38 MB of float32). */
const KEEP = 4;

export class NotebookRendererHost implements vscode.Disposable {
  private readonly messaging = vscode.notebooks.createRendererMessaging(RENDERER_ID);
  private readonly analysis = new AnalysisClient();
  /** By output key, oldest first; a failed analysis is dropped so the next request tries again. */
  private readonly kept = new Map<string, Promise<AnalysedOutput>>();
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
    const reply = (m: HostToRenderer) => void this.messaging.postMessage(m, editor);
    const nb = editor.notebook.uri;
    try {
      switch (msg.type) {
        case 'analyse': {
          const a = await this.analysed(nb, msg.payload);
          reply({ type: 'analysed', id: msg.id, key: a.key, session: encodeSession(a.session) });
          break;
        }
        case 'matrix': case 'flow': {
          const a = await this.kept.get(msg.key)?.catch(() => undefined);
          if (!a) { reply({ type: 'error', id: msg.id, message: 'This output is no longer held by the extension; it is analysed again.', expired: true }); break; }
          this.touch(msg.key);
          if (msg.type === 'matrix') reply(encodeMatrix(msg.id, headMatrix(a.attention, msg.layer, msg.head)));
          else reply(encodeFlow(msg.id, answerPanelRequest(a.attention, 'flow/rollout', { sessionId: 0, token: msg.token })));
          break;
        }
        case 'open-panel':
          await this.openInPanel(nb, msg.payload);
          reply({ type: 'opened', id: msg.id });
          break;
      }
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (!(e instanceof OutputError)) log().error(`notebook renderer: ${msg.type} failed:`, e instanceof Error ? e.stack ?? message : message);
      reply({ type: 'error', id: msg.id, message });
    }
  }

  /** The analysis of an output's JSON text, shared by every request for the same text while it is kept. */
  private analysed(notebook: vscode.Uri, text: string): Promise<AnalysedOutput> {
    const key = outputKey(text);
    let p = this.kept.get(key);
    if (!p) {
      const name = notebook.path.split('/').pop() ?? 'notebook';
      const t0 = performance.now();
      p = analyseOutput(text, { id: 0, title: `${name}: attention`, analysis: this.analysis, resolveDump: (d) => this.resolveDump(notebook, d) });
      p.then((a) => log().info(`Notebook output ${a.key.slice(0, 8)} of ${name}: ${a.output.layers}×${a.output.headsPerLayer} heads, ${a.output.seq} tokens${a.dumpPath ? ' (dump file)' : ''}, analysed in ${(performance.now() - t0).toFixed(0)} ms`),
        () => this.kept.delete(key));
      this.kept.set(key, p);
      while (this.kept.size > KEEP) {
        const [oldest, q] = this.kept.entries().next().value as [string, Promise<AnalysedOutput>];
        this.kept.delete(oldest);
        void q.then((a) => { if (a.attention instanceof AttentionDump) a.attention.close(); }, () => undefined);
      }
    } else this.touch(key);
    return p;
  }

  private touch(key: string): void {
    const p = this.kept.get(key);
    if (p) { this.kept.delete(key); this.kept.set(key, p); }
  }

  /**
   * A dump path from an output: relative to the notebook's folder, else where the helper wrote it. In an
   * untrusted workspace only files inside the notebook's folder are read (an output cannot point Headlight at
   * any file on the machine).
   */
  private resolveDump(notebook: vscode.Uri, d: DumpPointer): string {
    if (notebook.scheme !== 'file') throw new OutputError(`This output's attention is in a dump file (${d.path}), and only notebooks on this machine's disk can read one.`);
    const base = path.dirname(notebook.fsPath);
    const inside = (p: string) => { const r = path.relative(base, p); return r === '' || (!r.startsWith('..') && !path.isAbsolute(r)); };
    const candidates = [path.resolve(base, d.path), ...(d.absolutePath ? [path.resolve(d.absolutePath)] : [])]
      .filter((p) => vscode.workspace.isTrusted || inside(p));
    if (!candidates.length) throw new OutputError(`This output's dump file (${d.path}) is outside the notebook's folder; Headlight reads such files only in a trusted workspace.`);
    return candidates.find((p) => fs.existsSync(p)) ?? candidates[0];
  }

  /** Show an output in the Headlight panel: a dump through Open Attention Dump (a reload reopens it), inline attention as an external session. */
  async openInPanel(notebook: vscode.Uri, text: string): Promise<void> {
    const a = await this.analysed(notebook, text);
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
    const doc = vscode.workspace.notebookDocuments.find((d) => d.uri.toString() === uri.toString()) ?? await vscode.workspace.openNotebookDocument(uri);
    const decoder = new TextDecoder();
    for (const cell of doc.getCells()) {
      for (const out of cell.outputs) {
        for (const item of out.items) {
          if (item.mime !== NOTEBOOK_MIME) continue;
          const text = decoder.decode(item.data);
          if (outputKey(text) === key) { await this.openInPanel(uri, text); return; }
        }
      }
    }
    throw new Error(vscode.l10n.t('The notebook output shown here is no longer in {0}; open it again from the notebook.', uri.path.split('/').pop() ?? uri.toString()));
  }

  dispose(): void {
    this.subscription.dispose();
    for (const p of this.kept.values()) void p.then((a) => { if (a.attention instanceof AttentionDump) a.attention.close(); }, () => undefined);
    this.kept.clear();
    void this.analysis.dispose();
  }
}
