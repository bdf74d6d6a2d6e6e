// Bundled models: <extensionRoot>/media/models/<name>/{model.onnx, tokenizer.json, card.json}, plus
// training checkpoints under <name>/checkpoints/step-N/ when present. The last checkpoint is usually the model
// itself: its folder then holds only a card saying `"checkpoint": "final"`, and the model's own file is used
// (the bundle ships each set of weights once).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ModelRef } from './workerProtocol';

export interface BundledModel extends ModelRef {
  name: string;
  dir: string;
  /** card.json parsed, if present and valid. */
  card?: Record<string, unknown>;
  /** Checkpoints in training order (step ascending). */
  checkpoints: { step: number; modelPath: string; tokenizerPath: string }[];
}

export function modelsRoot(extensionRoot: string): string {
  return path.join(extensionRoot, 'media', 'models');
}

function hasModel(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'model.onnx'));
}

/** A checkpoint folder's model file: its own, or the model's when its card marks it as the final weights. */
function checkpointModel(ck: string, modelPath: string): string | undefined {
  if (hasModel(ck)) return path.join(ck, 'model.onnx');
  try {
    const card = JSON.parse(fs.readFileSync(path.join(ck, 'card.json'), 'utf8')) as { checkpoint?: unknown };
    return card.checkpoint === 'final' ? modelPath : undefined;
  } catch {
    return undefined;
  }
}

export function listBundledModels(extensionRoot: string): BundledModel[] {
  const root = modelsRoot(extensionRoot);
  let names: string[];
  try {
    names = fs
      .readdirSync(root, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  } catch {
    return [];
  }
  const out: BundledModel[] = [];
  for (const name of names) {
    const dir = path.join(root, name);
    if (!hasModel(dir)) continue;
    const tokenizerPath = path.join(dir, 'tokenizer.json');
    let card: Record<string, unknown> | undefined;
    try {
      card = JSON.parse(fs.readFileSync(path.join(dir, 'card.json'), 'utf8')) as Record<string, unknown>;
    } catch {
      card = undefined;
    }
    const ckRoot = path.join(dir, 'checkpoints');
    const modelPath = path.join(dir, 'model.onnx');
    let checkpoints: BundledModel['checkpoints'];
    try {
      checkpoints = fs
        .readdirSync(ckRoot)
        .map((d) => ({ ck: path.join(ckRoot, d), step: Number(/^step-(\d+)$/.exec(d)?.[1] ?? NaN) }))
        .map((c) => ({ ...c, model: Number.isFinite(c.step) ? checkpointModel(c.ck, modelPath) : undefined }))
        .filter((c): c is { ck: string; step: number; model: string } => c.model !== undefined)
        .sort((a, b) => a.step - b.step)
        .map((c) => {
          const tok = path.join(c.ck, 'tokenizer.json');
          return { step: c.step, modelPath: c.model, tokenizerPath: fs.existsSync(tok) ? tok : tokenizerPath };
        });
    } catch {
      checkpoints = [];
    }
    out.push({ name, dir, modelPath, tokenizerPath, card, checkpoints });
  }
  return out;
}

export function findBundledModel(extensionRoot: string, name: string): BundledModel | undefined {
  return listBundledModels(extensionRoot).find((m) => m.name === name);
}

/** One choosable bundled model: a model, or one of its training checkpoints (`name@step-N`). */
export interface BundledChoice extends ModelRef {
  /** "headlight-small", or "headlight-small@step-2500" for a checkpoint (the step without zero padding). */
  name: string;
  /** One line for pickers: kind and shape, or the checkpoint's step. */
  description: string;
}

/**
 * The one listing of bundled models every picker, setting and command uses: each model in name order,
 * followed by its checkpoints in step order. package.json's `headlight.model` enum is tested against it.
 */
/** A count from a card.json (read from disk, so of any type), or '?' when it has none. */
const shown = (v: unknown): string => (typeof v === 'number' ? String(v) : '?');

export function listBundledChoices(extensionRoot: string): BundledChoice[] {
  const out: BundledChoice[] = [];
  for (const m of listBundledModels(extensionRoot)) {
    const c = m.card ?? {};
    out.push({
      name: m.name,
      modelPath: m.modelPath,
      tokenizerPath: m.tokenizerPath,
      description: `${typeof c.kind === 'string' ? c.kind : ''} · ${shown(c.layers)} layers × ${shown(c.headsPerLayer)} heads`,
    });
    for (const ck of m.checkpoints) {
      out.push({
        name: `${m.name}@step-${ck.step}`,
        modelPath: ck.modelPath,
        tokenizerPath: ck.tokenizerPath,
        description: `training checkpoint, step ${ck.step.toLocaleString('en-US')}`,
      });
    }
  }
  return out;
}

/** A bundled model or checkpoint by name; `name@step-02500` and `name@step-2500` are the same checkpoint. */
export function findBundledChoice(extensionRoot: string, wanted: string): BundledChoice | undefined {
  const [base, step] = wanted.trim().split('@');
  const n = step === undefined ? undefined : Number(/^step-(\d+)$/.exec(step)?.[1] ?? NaN);
  const name = n === undefined ? base : `${base}@step-${n}`;
  return listBundledChoices(extensionRoot).find((c) => c.name === name);
}

/**
 * A folder (model.onnx + tokenizer.json), an .onnx file (tokenizer.json beside it), or explicit
 * paths → a ModelRef. Does not check existence: the worker reports missing files with their own codes.
 */
export function resolveModelRef(modelDirOrPaths: string | ModelRef): ModelRef {
  if (typeof modelDirOrPaths !== 'string') return modelDirOrPaths;
  const p = path.resolve(modelDirOrPaths);
  let isDir: boolean;
  try {
    isDir = fs.statSync(p).isDirectory();
  } catch {
    isDir = !p.toLowerCase().endsWith('.onnx');
  }
  if (isDir) return { modelPath: path.join(p, 'model.onnx'), tokenizerPath: path.join(p, 'tokenizer.json'), name: path.basename(p) };
  return { modelPath: p, tokenizerPath: path.join(path.dirname(p), 'tokenizer.json'), name: path.basename(path.dirname(p)) };
}
