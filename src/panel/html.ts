import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import type { PanelState, SessionData } from '../protocol';
import { panelPage } from './page';
import { webviewStrings } from './strings';

/** What the page needs before its first paint, inlined so no round-trip is needed. */
export interface Bootstrap {
  state?: PanelState;
  session?: SessionData;
  loading?: { title: string; message: string };
}

export function makeNonce(): string {
  return randomBytes(18).toString('base64url');
}

/**
 * The page shell (src/panel/page.ts) with this webview's resource URIs. Typed arrays are not inlined
 * (they would be JSON lists of numbers) — the session arrives by message after `ready`.
 */
export function renderHtml(webview: vscode.Webview, extensionUri: vscode.Uri, nonce: string, boot: Bootstrap): string {
  return panelPage({
    cspSource: webview.cspSource,
    nonce,
    scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview.js')).toString(),
    chartsUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'charts.js')).toString(),
    styleUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview.css')).toString(),
    boot: { state: boot.state, loading: boot.loading, strings: webviewStrings() },
  });
}
