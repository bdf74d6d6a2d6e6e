// No vscode import: unit-tested in plain Node. Shared by the panel's page and the exported report.

/** A JSON text made safe inside a <script type="application/json"> element: user text can never close it. */
export function escapeJsonForScript(json: string): string {
  return json
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** JSON that is safe inside a <script type="application/json"> element: user text can never close it. */
export function inlineJson(value: unknown): string {
  return escapeJsonForScript(JSON.stringify(value));
}
