// headlight.modelPath / headlight.tokenizerPath → absolute file paths. Pure (no `vscode`): the path
// flavour is a parameter, so Windows paths (drive letters, backslashes, UNC shares, forward slashes) are
// tested on every machine with path.win32.
import * as path from 'node:path';

export interface ModelPaths {
  modelPath: string;
  tokenizerPath: string;
  name: string;
}

/**
 * Relative paths (e.g. in a repository's .vscode/settings.json) are relative to the first workspace
 * folder; absolute ones are normalised (forward slashes become backslashes on Windows); a root-relative path lands on the
 * workspace's drive. The tokenizer defaults to tokenizer.json beside the model. Empty modelPath: undefined.
 */
export function resolveModelPaths(
  modelPath: string,
  tokenizerPath: string,
  workspaceRoot: string | undefined,
  p: path.PlatformPath = path,
): ModelPaths | undefined {
  const resolve = (v: string) => {
    const t = v.trim();
    if (!t) return '';
    return workspaceRoot ? p.resolve(workspaceRoot, t) : p.isAbsolute(t) ? p.normalize(t) : p.resolve(t);
  };
  const model = resolve(modelPath);
  if (!model) return undefined;
  const tokenizer = resolve(tokenizerPath) || p.join(p.dirname(model), 'tokenizer.json');
  return { modelPath: model, tokenizerPath: tokenizer, name: p.basename(model) === 'model.onnx' ? p.basename(p.dirname(model)) : p.basename(model) };
}
