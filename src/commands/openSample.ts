import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * `headlight.openSample` — the walkthrough's first step: a short text whose repeated name gives the
 * induction heads something to do, opened as an untitled document with its first line selected.
 */
export function openSample(extensionPath: string) {
  return async (): Promise<void> => {
    const content = fs.readFileSync(path.join(extensionPath, 'media', 'walkthrough', 'sample.txt'), 'utf8');
    const doc = await vscode.workspace.openTextDocument({ content, language: 'plaintext' });
    const editor = await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One });
    editor.selection = new vscode.Selection(0, 0, 0, doc.lineAt(0).text.length);
  };
}
