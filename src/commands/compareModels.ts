import * as vscode from 'vscode';
import { isEngineError, listBundledModels, resolveModelRef } from '../engine';
import { pickModel } from '../host/modelPicker';
import { comparePairs } from '../host/comparePairs';
import { bundledModel } from '../host/modelChoice';
import { Controller } from '../host/controller';
import type { NamedModel } from '../host/sessionSource';
import { compareSessions } from '../session/compare';
import { log } from '../host/log';

interface PairItem extends vscode.QuickPickItem {
  a?: string;
  b?: string;
  custom?: boolean;
}

/** The suggested pairs (host/comparePairs.ts) as picker items, then "Choose two models…". */
export function suggestedPairs(extensionPath: string): PairItem[] {
  const fmt = (s: number) => s.toLocaleString('en-US');
  const items: PairItem[] = comparePairs(listBundledModels(extensionPath)).map((p) =>
    p.kind === 'scale'
      ? { label: `${p.a} vs ${p.b}`, description: vscode.l10n.t('scale: {0} → {1}, same tokenizer', p.shapeA, p.shapeB), a: p.a, b: p.b }
      : p.kind === 'training'
        ? { label: `${p.model} @ step ${fmt(p.stepA)} vs final`, description: `step ${fmt(p.stepA)} → step ${fmt(p.stepB)}`, a: p.a, b: p.b }
        : { label: `${p.model} @ step ${fmt(p.stepA)} vs step ${fmt(p.stepB)}`, a: p.a, b: p.b },
  );
  items.push({
    label: `$(list-selection) ${vscode.l10n.t('Choose two models…')}`,
    description: vscode.l10n.t('any two models: bundled, checkpoints, your ONNX files or model folders (different tokenizers are aligned by characters)'),
    custom: true,
  });
  return items;
}

/**
 * `headlight.compareModels` — runs the selection through two models (or two checkpoints of one) and shows
 * them side by side in the panel's compare mode. Tests may pass `{ a, b, uri, range }` (bundled names or model paths).
 */
export function compareModels(controller: Controller, extensionPath: string) {
  return async (arg?: { a?: string; b?: string; uri?: string; range?: [number, number, number, number] }): Promise<void> => {
    let target: { document: vscode.TextDocument; range: vscode.Range } | undefined;
    if (arg?.uri && arg.range) {
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(arg.uri));
      target = { document: doc, range: doc.validateRange(new vscode.Range(...arg.range)) };
    } else {
      const editor = vscode.window.activeTextEditor;
      if (!editor) {
        void vscode.window.showWarningMessage(vscode.l10n.t('Headlight: open a file and select text to compare models on.'));
        return;
      }
      const sel = editor.selection;
      target = { document: editor.document, range: sel.isEmpty ? editor.document.lineAt(sel.active.line).range : new vscode.Range(sel.start, sel.end) };
    }
    let ra: NamedModel | undefined, rb: NamedModel | undefined;
    if (arg?.a && arg.b) {
      ra = resolve(extensionPath, arg.a);
      rb = resolve(extensionPath, arg.b);
    } else {
      const pick = await vscode.window.showQuickPick(suggestedPairs(extensionPath), {
        title: vscode.l10n.t('Headlight: Compare Models'),
        placeHolder: vscode.l10n.t('Two models or two checkpoints to run the selection through'),
      });
      if (!pick) return;
      if (pick.custom) {
        // The same picker as Select Model…: bundled models, checkpoints, an ONNX file or a model folder.
        ra = await pickModel(extensionPath, { title: vscode.l10n.t('Headlight: compare — model A') });
        if (!ra) return;
        rb = await pickModel(extensionPath, { title: vscode.l10n.t('Headlight: compare {0} with — model B', ra.name), exclude: ra.name });
        if (!rb) return;
      } else {
        ra = resolve(extensionPath, pick.a!);
        rb = resolve(extensionPath, pick.b!);
      }
    }
    if (!ra || !rb) {
      void vscode.window.showErrorMessage(vscode.l10n.t('Headlight: no bundled model named "{0}".', String(!ra ? arg?.a : arg?.b)));
      return;
    }
    if (ra.name === rb.name) rb = { ...rb, name: `${rb.name} (B)` }; // two folders both called "model", say
    const text = target.document.getText(target.range);
    if (!text.trim()) {
      void vscode.window.showWarningMessage(vscode.l10n.t('Headlight: select some text to compare models on (the selection is empty or only whitespace).'));
      return;
    }
    const title = Controller.title(target.document, target.range).replace(/^Attention:/, 'Compare:');
    try {
      const built = await controller.source.compare({ text, title, a: ra, b: rb });
      const diff = compareSessions(built.a, built.b, { a: ra.name, b: rb.name });
      log().info(`Compare ${ra.name} vs ${rb.name}: ${diff.changes.length} role changes, ${diff.kept.length} kept; ${diff.alignment.note}`);
      controller.showCompare(title, built.a, built.b, diff, target);
    } catch (err) {
      if (isEngineError(err) && err.code === 'cancelled') return;
      const message = err instanceof Error ? err.message : String(err);
      log().error('Compare failed:', message);
      void vscode.window.showErrorMessage(vscode.l10n.t('Headlight: compare failed — {0}', message));
    }
  };
}

/** A bundled name ("headlight-small@step-0"), else a path to an ONNX file or a model folder. */
function resolve(extensionPath: string, nameOrPath: string): NamedModel | undefined {
  const bundled = bundledModel(extensionPath, nameOrPath);
  if (bundled) return bundled;
  if (!nameOrPath.includes('/') && !nameOrPath.includes('\\') && !nameOrPath.toLowerCase().endsWith('.onnx')) return undefined;
  const ref = resolveModelRef(nameOrPath);
  return { ...ref, name: ref.name ?? nameOrPath };
}
