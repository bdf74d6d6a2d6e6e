import * as vscode from 'vscode';
import * as path from 'node:path';
import { findBundledChoice, type ModelRef } from '../engine';

export const DEFAULT_MODEL = 'headlight-mini';

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
  const modelPath = resolvePath((cfg.get<string>('modelPath') ?? '').trim());
  if (modelPath) {
    const tokenizerPath = resolvePath((cfg.get<string>('tokenizerPath') ?? '').trim()) || path.join(path.dirname(modelPath), 'tokenizer.json');
    return { modelPath, tokenizerPath, name: path.basename(modelPath) === 'model.onnx' ? path.basename(path.dirname(modelPath)) : path.basename(modelPath) };
  }
  const wanted = (cfg.get<string>('model') ?? DEFAULT_MODEL).trim() || DEFAULT_MODEL;
  return bundledModel(extensionPath, wanted) ?? bundledModel(extensionPath, DEFAULT_MODEL) ?? missing(wanted);
}

/** Relative paths (e.g. in a repository's .vscode/settings.json) are relative to the first workspace folder. */
function resolvePath(p: string): string {
  if (!p || path.isAbsolute(p)) return p;
  const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  return root ? path.join(root, p) : path.resolve(p);
}

/** A bundled model or checkpoint by its `headlight.model` name (`name@step-N`); undefined when not shipped. */
export function bundledModel(extensionPath: string, wanted: string): (ModelRef & { name: string }) | undefined {
  const c = findBundledChoice(extensionPath, wanted);
  return c && { modelPath: c.modelPath, tokenizerPath: c.tokenizerPath, name: c.name };
}

function missing(name: string): never {
  throw new Error(`The bundled model "${name}" is missing from this installation. Reinstall Headlight or choose a model with "Headlight: Select model…".`);
}
