// The panel's page shell without vscode, so the webview tests load exactly the page (and CSP) VS Code gets.
import { inlineJson } from '../core/inlineJson';

export interface PageParts {
  /** webview.cspSource: the origin the extension's own files are served from. */
  cspSource: string;
  nonce: string;
  scriptUri: string;
  /** dist/charts.js (plotly), loaded by the page when a chart is first drawn. */
  chartsUri?: string;
  styleUri: string;
  /** Inlined before the first paint (escaped so document text can never close the element). */
  boot: unknown;
}

/**
 * CSP: nothing by default; our one script and stylesheet only, scripts only with this load's nonce;
 * images only from data:/blob: (canvas exports) and the extension's own files.
 */
export function panelCsp(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `img-src ${cspSource} data: blob:`,
    `font-src ${cspSource}`,
  ].join('; ');
}

export function panelPage(p: PageParts): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${panelCsp(p.cspSource, p.nonce)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${p.styleUri}" nonce="${p.nonce}">
<title>Headlight</title>
</head>
<body>
<div id="app"></div>
<script type="application/json" id="headlight-bootstrap" nonce="${p.nonce}">${inlineJson(p.boot)}</script>
<script nonce="${p.nonce}" src="${p.scriptUri}"${p.chartsUri ? ` data-charts="${p.chartsUri}"` : ''}></script>
</body>
</html>`;
}
