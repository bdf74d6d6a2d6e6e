import * as vscode from 'vscode';
import type { Controller, ExternalSource } from '../host/controller';
import { buildDumpSessionAsync } from '../session/dump';
import { answerPanelRequest } from '../session/wire';
import { isEngineError } from '../core/errors';
import type { AttentionDump } from '../dump/attentionDump';
import type { RequestMap, RequestMethod } from '../protocol';
import { log } from '../host/log';

/** The panel state's source URI for a dump: a reload reopens the dump through this command, not as a text document. */
export const DUMP_SCHEME = 'headlight-dump';

/** The panel's head and flow requests, answered by reading the open dump. */
function dumpRequests(dump: AttentionDump): ExternalSource {
  return {
    async request<M extends RequestMethod>(method: M, params: RequestMap[M]['params']): Promise<RequestMap[M]['result']> {
      return answerPanelRequest(dump, method, params);
    },
    dispose: () => dump.close(),
  };
}

/**
 * `headlight.openDump` — open attention computed elsewhere (docs/dump-format.md): pick a folder or a
 * .safetensors file, analyse it head by head (sync reads, yielding to the host between slices, cancellable),
 * and show it in the panel. Chosen over a worker thread: one head is one read + O(n²) work, so slices of
 * ~30 ms keep the host responsive without a second bundle entry point.
 */
export function openDump(controller: Controller) {
  return async (target?: vscode.Uri): Promise<void> => {
    let uri = target;
    if (!uri) {
      const picked = await vscode.window.showOpenDialog({
        title: vscode.l10n.t('Open attention dump (a folder with attention.safetensors + tokens.json, or a .safetensors file)'),
        canSelectFiles: true,
        canSelectFolders: true,
        canSelectMany: false,
        filters: { 'Attention dump': ['safetensors'] },
        openLabel: 'Open dump',
      });
      uri = picked?.[0];
    }
    if (!uri) return;
    if (uri.scheme === DUMP_SCHEME) uri = vscode.Uri.file(uri.path);
    const fsPath = uri.fsPath;
    const name = fsPath.split(/[\\/]/).filter(Boolean).pop() ?? fsPath;
    try {
      const t0 = performance.now();
      const built = await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          cancellable: true,
          title: vscode.l10n.t('Headlight: reading attention dump {0}', name),
        },
        async (progress, token) => {
          const ac = new AbortController();
          const sub = token.onCancellationRequested(() => ac.abort());
          let last = 0;
          try {
            return await buildDumpSessionAsync(fsPath, {
              id: 0,
              title: vscode.l10n.t('Attention dump: {0}', name),
              signal: ac.signal,
              syntax: true,
              onProgress: (p) => {
                const pct = (100 * p.done) / p.total;
                progress.report({ message: `head ${p.done} of ${p.total}`, increment: pct - last });
                last = pct;
              },
            });
          } finally {
            sub.dispose();
          }
        },
      );
      const d = built.dump;
      log().info(
        `Dump ${fsPath}: ${d.layers}×${d.headsPerLayer} heads, ${d.seq} tokens, ${d.dtype} ${d.layout}, ${d.headReads} head reads, ${(performance.now() - t0).toFixed(0)} ms`,
      );
      controller.showExternalSession(built.session.title, built.session, dumpRequests(d), `${DUMP_SCHEME}:${uri.path}`);
    } catch (err) {
      if (isEngineError(err) && err.code === 'cancelled') return;
      const message = err instanceof Error ? err.message : String(err);
      log().error('Open dump failed:', message);
      void vscode.window.showErrorMessage(vscode.l10n.t('Headlight: {0}', message));
    }
  };
}
