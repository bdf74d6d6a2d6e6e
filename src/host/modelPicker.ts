import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listBundledChoices, type ModelRef } from '../engine';

/** A model chosen in the picker: a bundled one (by name) or a user's ONNX file / model folder. */
export interface PickedModel extends ModelRef {
  name: string;
  /** Set for a bundled model or checkpoint: the `headlight.model` value. */
  bundled?: string;
}

interface Item extends vscode.QuickPickItem {
  bundled?: string;
  modelPath?: string;
  tokenizerPath?: string;
  browse?: 'file' | 'folder';
}

/**
 * The one model picker, used by Select Model… and by Compare Models… for each side: every bundled model
 * and checkpoint, *Browse…* for an ONNX file of your own, and *Model folder…* for a folder holding
 * model.onnx + tokenizer.json (a training checkpoint saved elsewhere). Returns undefined when dismissed.
 */
export async function pickModel(extensionPath: string, opts: { title: string; current?: string; exclude?: string }): Promise<PickedModel | undefined> {
  const items: Item[] = listBundledChoices(extensionPath)
    .filter((c) => c.name !== opts.exclude)
    .map((c) => ({ label: c.name, description: c.description, detail: c.name === opts.current ? vscode.l10n.t('current') : undefined, bundled: c.name }));
  items.push(
    { label: '', kind: vscode.QuickPickItemKind.Separator },
    {
      label: `$(folder-opened) ${vscode.l10n.t('Browse…')}`,
      description: vscode.l10n.t('an ONNX file of your own (GPT-2, BERT or Llama style) and its tokenizer.json'),
      browse: 'file',
    },
    {
      label: `$(folder) ${vscode.l10n.t('Model folder…')}`,
      description: vscode.l10n.t('a folder with model.onnx and tokenizer.json, e.g. a training checkpoint'),
      browse: 'folder',
    },
  );
  const pick = await vscode.window.showQuickPick(items, {
    title: opts.title,
    placeHolder: opts.current ? vscode.l10n.t('Current: {0}', opts.current) : undefined,
  });
  if (!pick) return undefined;
  if (pick.bundled) {
    const c = listBundledChoices(extensionPath).find((x) => x.name === pick.bundled)!;
    return { name: c.name, modelPath: c.modelPath, tokenizerPath: c.tokenizerPath, bundled: c.name };
  }
  return pick.browse === 'folder' ? browseFolder() : browseFile();
}

async function browseFile(): Promise<PickedModel | undefined> {
  const files = await vscode.window.showOpenDialog({
    canSelectMany: false,
    filters: { [vscode.l10n.t('ONNX model')]: ['onnx'] },
    title: vscode.l10n.t('Headlight: choose an ONNX model'),
  });
  if (!files?.[0]) return undefined;
  const modelPath = files[0].fsPath;
  const tokenizerPath = await tokenizerFor(path.dirname(modelPath));
  if (!tokenizerPath) return undefined;
  const name = path.basename(modelPath) === 'model.onnx' ? path.basename(path.dirname(modelPath)) : path.basename(modelPath);
  return { name, modelPath, tokenizerPath };
}

async function browseFolder(): Promise<PickedModel | undefined> {
  const dirs = await vscode.window.showOpenDialog({
    canSelectMany: false,
    canSelectFiles: false,
    canSelectFolders: true,
    title: vscode.l10n.t('Headlight: choose a folder with model.onnx'),
  });
  if (!dirs?.[0]) return undefined;
  const dir = dirs[0].fsPath;
  const modelPath = path.join(dir, 'model.onnx');
  if (!fs.existsSync(modelPath)) {
    void vscode.window.showErrorMessage(vscode.l10n.t('Headlight: {0} has no model.onnx.', dir));
    return undefined;
  }
  const tokenizerPath = await tokenizerFor(dir);
  return tokenizerPath ? { name: path.basename(dir), modelPath, tokenizerPath } : undefined;
}

/** tokenizer.json beside the model, or asked for. */
async function tokenizerFor(dir: string): Promise<string | undefined> {
  const beside = path.join(dir, 'tokenizer.json');
  if (fs.existsSync(beside)) return beside;
  const tok = await vscode.window.showOpenDialog({
    canSelectMany: false,
    filters: { 'tokenizer.json': ['json'] },
    title: vscode.l10n.t('Headlight: choose its tokenizer.json'),
  });
  return tok?.[0]?.fsPath;
}
