// The webview's strings: the table the host passed in the bootstrap (translated), else the protocol's English.
import { WEBVIEW_STRINGS, type WebviewStringKey } from '../src/protocol';

let table: Record<string, string> = { ...WEBVIEW_STRINGS };

export function setStrings(passed: unknown): void {
  if (typeof passed !== 'object' || passed === null) return;
  for (const [k, v] of Object.entries(passed)) if (k in WEBVIEW_STRINGS && typeof v === 'string') table[k] = v;
}

export function t(key: WebviewStringKey): string {
  return table[key] ?? WEBVIEW_STRINGS[key];
}
