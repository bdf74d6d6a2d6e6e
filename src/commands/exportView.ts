import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Controller } from '../host/controller';
import { EXPORT_FORMATS, type ExportFormat } from '../protocol';
import { headsCsv, headsJson } from '../export/tables';
import { buildReport, collectReportData } from '../export/report';
import { log } from '../host/log';
import { untilAnalysed } from '../host/untilAnalysed';

interface FormatItem extends vscode.QuickPickItem {
  format: ExportFormat;
}

const FORMATS: Record<ExportFormat, { label: string; detail: string; ext: string; filter: string }> = {
  png: { label: 'PNG image', detail: 'the view the panel shows now', ext: 'png', filter: 'PNG image' },
  svg: { label: 'SVG of Arcs', detail: 'the arcs of the shown head(s) with the tokens, as a vector drawing', ext: 'svg', filter: 'SVG drawing' },
  csv: { label: 'CSV of heads', detail: 'every head: roles, evidence and metrics (one row per head)', ext: 'csv', filter: 'CSV' },
  json: { label: 'JSON of heads', detail: "tokens, every head's metrics and roles (unmeasurable metrics are null)", ext: 'json', filter: 'JSON' },
  html: { label: 'HTML report', detail: 'one offline file: the interactive panel with tokens, catalog, charts and arcs', ext: 'html', filter: 'HTML' },
};

/**
 * `headlight.exportView` — asks for a format (unless given) and where to save (unless `uri` is given, for
 * tests and other extensions), then writes the file. PNG and SVG are drawn by the webview; CSV, JSON and
 * the HTML report are built here from the session the panel shows. Returns the written URI.
 */
export function exportView(controller: Controller) {
  return async (arg?: { format?: ExportFormat; uri?: string | vscode.Uri }): Promise<vscode.Uri | undefined> => {
    const comparing = controller.comparing;
    if (!controller.panel || (!controller.session && !comparing)) {
      void vscode.window.showInformationMessage(vscode.l10n.t('Headlight: nothing to export yet — explain a selection first (Explain attention).'));
      return undefined;
    }
    if (!comparing && !(await untilAnalysed(controller, vscode.l10n.t('Headlight: exporting once the heads are analysed…')))) return undefined;
    let format = arg?.format && EXPORT_FORMATS.includes(arg.format) ? arg.format : undefined;
    if (!format) {
      const items: FormatItem[] = (comparing ? (['png'] as ExportFormat[]) : [...EXPORT_FORMATS]).map((f) => ({
        label: FORMATS[f].label,
        description: `.${FORMATS[f].ext}`,
        detail: FORMATS[f].detail,
        format: f,
      }));
      const pick = await vscode.window.showQuickPick(items, {
        title: vscode.l10n.t('Headlight: export view'),
        placeHolder: comparing ? 'A comparison exports as PNG' : 'Choose a format',
      });
      if (!pick) return undefined;
      format = pick.format;
    }
    if (comparing && format !== 'png') {
      void vscode.window.showWarningMessage(vscode.l10n.t('Headlight: a comparison exports as PNG; explain a selection to export SVG, CSV, JSON or HTML.'));
      return undefined;
    }
    const f = FORMATS[format];
    let uri = typeof arg?.uri === 'string' ? vscode.Uri.parse(arg.uri) : arg?.uri;
    if (!uri) {
      const base =
        (controller.session?.title ?? 'headlight-compare')
          .replace(/^Attention: /, '')
          .replace(/[^\w.-]+/g, '-')
          .replace(/^-+|-+$/g, '') || 'headlight';
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
      uri = await vscode.window.showSaveDialog({
        title: vscode.l10n.t('Headlight: save {0}', f.label),
        saveLabel: vscode.l10n.t('Export'),
        defaultUri: folder ? vscode.Uri.joinPath(folder, `${base}.${f.ext}`) : undefined,
        filters: { [f.filter]: [f.ext] },
      });
      if (!uri) return undefined;
    }
    try {
      const bytes = await render(controller, format);
      await vscode.workspace.fs.writeFile(uri, bytes);
      log().info(`Exported ${format} (${bytes.length.toLocaleString('en-US')} bytes) to ${uri.toString()}`);
      void vscode.window.showInformationMessage(vscode.l10n.t('Headlight: exported {0} to {1}', f.label, vscode.workspace.asRelativePath(uri)));
      return uri;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      log().error(`Export ${format} failed:`, message);
      void vscode.window.showErrorMessage(vscode.l10n.t('Headlight: export failed — {0}', message));
      return undefined;
    }
  };
}

async function render(controller: Controller, format: ExportFormat): Promise<Uint8Array> {
  const enc = new TextEncoder();
  if (format === 'png' || format === 'svg') {
    const r = await controller.renderInPanel(format);
    return typeof r === 'string' ? enc.encode(r) : r;
  }
  const session = controller.session!;
  if (format === 'csv') return enc.encode(headsCsv(session));
  if (format === 'json') return enc.encode(headsJson(session));
  const state = controller.panel!.state!;
  const data = await collectReportData(session, state, (method, params) => controller.onRequest(controller.panel!, method, params));
  const dist = path.join(controller.extensionUri.fsPath, 'dist');
  const html = buildReport(data, { js: fs.readFileSync(path.join(dist, 'webview.js'), 'utf8'), css: fs.readFileSync(path.join(dist, 'webview.css'), 'utf8') });
  return enc.encode(html);
}
