// The webview's strings: the table the host passed in the bootstrap (translated), else the protocol's English.
import { formatString, WEBVIEW_STRINGS, type WebviewStringKey } from '../src/protocol/strings';

const table: Record<string, string> = { ...WEBVIEW_STRINGS };

export function setStrings(passed: unknown): void {
  if (typeof passed !== 'object' || passed === null) return;
  for (const [k, v] of Object.entries(passed)) if (k in WEBVIEW_STRINGS && typeof v === 'string') table[k] = v;
}

/** The string for `key`, with {0}, {1}, … replaced by `args` (as vscode.l10n.t formats them). */
export function t(key: WebviewStringKey, ...args: (string | number)[]): string {
  return formatString(table[key] ?? WEBVIEW_STRINGS[key], args);
}
