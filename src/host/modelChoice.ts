import * as vscode from 'vscode';
import { findBundledChoice, type ModelRef } from '../engine';
import { resolveModelPaths } from './modelPaths';

export const DEFAULT_MODEL = 'headlight-small';

/**
 * The model the settings ask for. `headlight.modelPath` wins (a user's own ONNX file; VS Code hides
 * workspace values of it in untrusted workspaces because it is a restricted setting); otherwise the
 * bundled `headlight.model`, where `name@step-N` picks a training checkpoint.
 */
export function chosenModel(extensionPath: string): ModelRef & { name: string } {
  const cfg = vscode.workspace.getConfiguration('headlight');
  const providers = cfg.get<string[]>('executionProviders');
  const executionProviders = Array.isArray(providers) && providers.length ? providers : undefined;
  return { ...pickModel(extensionPath, cfg), ...(executionProviders ? { executionProviders } : {}) };
}

function pickModel(extensionPath: string, cfg: vscode.WorkspaceConfiguration): ModelRef & { name: string } {
  const own = resolveModelPaths(cfg.get<string>('modelPath') ?? '', cfg.get<string>('tokenizerPath') ?? '', vscode.workspace.workspaceFolders?.[0]?.uri.fsPath);
  if (own) return own;
  const wanted = (cfg.get<string>('model') ?? DEFAULT_MODEL).trim() || DEFAULT_MODEL;
  const found = bundledModel(extensionPath, wanted);
  if (found) return found;
  warnNotShipped(wanted);
  return bundledModel(extensionPath, DEFAULT_MODEL) ?? missing(wanted);
}

const warned = new Set<string>();
/** A setting naming a model this version does not ship (headlight-mini's checkpoints went in 0.1.0) says so once. */
function warnNotShipped(name: string): void {
  if (warned.has(name)) return;
  warned.add(name);
  void vscode.window.showWarningMessage(
    vscode.l10n.t(
      'headlight.model is "{0}", which this version of Headlight does not ship; explaining with {1}. Choose another with "Headlight: Select Model…".',
      name,
      DEFAULT_MODEL,
    ),
  );
}

/** A bundled model or checkpoint by its `headlight.model` name (`name@step-N`); undefined when not shipped. */
export function bundledModel(extensionPath: string, wanted: string): (ModelRef & { name: string }) | undefined {
  const c = findBundledChoice(extensionPath, wanted);
  return c && { modelPath: c.modelPath, tokenizerPath: c.tokenizerPath, name: c.name };
}

function missing(name: string): never {
  throw new Error(`The bundled model "${name}" is missing from this installation. Reinstall Headlight or choose a model with "Headlight: Select model…".`);
}
