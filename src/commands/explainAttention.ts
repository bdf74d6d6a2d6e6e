import * as vscode from 'vscode';
import type { Controller } from '../host/controller';

/**
 * `headlight.explainAttention` — from the editor context menu, the palette or the keybinding it explains
 * the active selection. Tests and other extensions may pass `{ uri, range: [l0, c0, l1, c1] }`.
 */
export function explainAttention(controller: Controller) {
  return async (arg?: { uri?: string; range?: [number, number, number, number] }): Promise<void> => {
    if (arg?.uri && arg.range) {
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(arg.uri));
      const [a, b, c, d] = arg.range;
      return controller.explain({ document: doc, range: doc.validateRange(new vscode.Range(a, b, c, d)) });
    }
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showWarningMessage(vscode.l10n.t('Headlight: open a file and select text to explain.'));
      return;
    }
    const sel = editor.selection;
    // No selection: explain the current line, which is what a user pressing the keybinding most likely means.
    const range = sel.isEmpty ? editor.document.lineAt(sel.active.line).range : new vscode.Range(sel.start, sel.end);
    return controller.explain({ document: editor.document, range });
  };
}
