import * as vscode from 'vscode';
import { WEBVIEW_STRINGS, type WebviewStringKey } from '../protocol';

/** The webview's strings in the display language (the English table's values are the l10n bundle's keys). */
export function webviewStrings(): Record<WebviewStringKey, string> {
  const out = {} as Record<WebviewStringKey, string>;
  for (const [k, v] of Object.entries(WEBVIEW_STRINGS) as [WebviewStringKey, string][]) out[k] = vscode.l10n.t(v);
  return out;
}
