import * as vscode from 'vscode';
import { pickModel, type PickedModel } from '../host/modelPicker';
import type { Controller } from '../host/controller';

type Key = 'model' | 'modelPath' | 'tokenizerPath';

interface ScopeItem extends vscode.QuickPickItem {
  target: vscode.ConfigurationTarget;
}

/**
 * `headlight.selectModel` — pick a model (the same picker as Compare Models…), ask where to save it
 * (this workspace or all workspaces), then clear every value that would override the choice, so the
 * pick always takes effect. Nothing is written into a folder's .vscode/settings.json unless the user
 * chose "This workspace" or was told the workspace value is removed. The panel explains once, after the last write.
 */
export function selectModel(context: vscode.ExtensionContext, controller: Pick<Controller, 'writeSettings'>) {
  return async (): Promise<string | undefined> => {
    const cfg = vscode.workspace.getConfiguration('headlight');
    const current = cfg.get<string>('modelPath') || cfg.get<string>('model');
    const pick = await pickModel(context.extensionPath, { title: vscode.l10n.t('Headlight: Select Model'), current });
    if (!pick) return undefined;
    const target = await chooseTarget(pick);
    if (target === undefined) return undefined;
    await controller.writeSettings(() => save(pick, target));
    return pick.bundled ?? pick.modelPath;
  };
}

/** Which of `keys` the workspace (or one of its folders) sets: those override a user-settings choice. */
function workspaceOverrides(keys: readonly Key[]): Key[] {
  const out: Key[] = [];
  for (const k of keys) {
    const scopes = [
      vscode.workspace.getConfiguration('headlight').inspect(k),
      ...(vscode.workspace.workspaceFolders ?? []).map((f) => vscode.workspace.getConfiguration('headlight', f.uri).inspect(k)),
    ];
    if (scopes.some((i) => i?.workspaceValue !== undefined || i?.workspaceFolderValue !== undefined)) out.push(k);
  }
  return out;
}

/** What a pick writes: a bundled name, or the two paths. Everything else of KEYS that could override it is cleared. */
function overriding(pick: PickedModel): Key[] {
  return pick.bundled ? ['modelPath', 'tokenizerPath', 'model'] : ['modelPath', 'tokenizerPath'];
}

async function chooseTarget(pick: PickedModel): Promise<vscode.ConfigurationTarget | undefined> {
  if (!vscode.workspace.workspaceFolders?.length) return vscode.ConfigurationTarget.Global; // nowhere else to save
  const over = workspaceOverrides(overriding(pick)).map((k) => `headlight.${k}`);
  const userPaths = !pick.bundled;
  const items: ScopeItem[] = [
    {
      label: vscode.l10n.t('This workspace'),
      target: vscode.ConfigurationTarget.Workspace,
      description: vscode.l10n.t("saved in this workspace's settings"),
      detail:
        userPaths && !vscode.workspace.isTrusted ? vscode.l10n.t('Ignored until you trust this workspace: model paths are restricted settings.') : undefined,
    },
    {
      label: vscode.l10n.t('All workspaces'),
      target: vscode.ConfigurationTarget.Global,
      description: vscode.l10n.t('saved in your user settings'),
      detail: over.length ? vscode.l10n.t("Also removes this workspace's {0}, which would override it.", over.join(', ')) : undefined,
    },
  ];
  const scope = await vscode.window.showQuickPick(items, {
    title: vscode.l10n.t('Headlight: use {0} in…', pick.name),
    placeHolder: vscode.l10n.t('Where to save the model choice'),
  });
  return scope?.target;
}

async function save(pick: PickedModel, target: vscode.ConfigurationTarget): Promise<void> {
  const cfg = vscode.workspace.getConfiguration('headlight');
  const Global = vscode.ConfigurationTarget.Global,
    Workspace = vscode.ConfigurationTarget.Workspace;
  const hasWorkspace = Boolean(vscode.workspace.workspaceFolders?.length);
  const clear = async (k: Key, t: vscode.ConfigurationTarget) => {
    const i = cfg.inspect(k);
    if ((t === Global ? i?.globalValue : i?.workspaceValue) !== undefined) await cfg.update(k, undefined, t);
  };
  const clearFolders = async (k: Key) => {
    for (const f of vscode.workspace.workspaceFolders ?? []) {
      const fc = vscode.workspace.getConfiguration('headlight', f.uri);
      if (fc.inspect(k)?.workspaceFolderValue !== undefined) await fc.update(k, undefined, vscode.ConfigurationTarget.WorkspaceFolder);
    }
  };
  if (pick.bundled) {
    await cfg.update('model', pick.bundled, target);
    // A model path in any scope wins over headlight.model, so none may be left that applies here.
    for (const k of ['modelPath', 'tokenizerPath'] as const) {
      if (hasWorkspace) await clearFolders(k);
      if (target === Global) {
        await clear(k, Global);
        if (hasWorkspace) await clear(k, Workspace);
      } else if (cfg.inspect(k)?.globalValue) {
        // This workspace only: blank the user's path here rather than remove it from every workspace.
        await cfg.update(k, '', Workspace);
      } else {
        await clear(k, Workspace);
      }
    }
    if (target === Global && hasWorkspace) {
      await clear('model', Workspace);
      await clearFolders('model');
    }
    return;
  }
  await cfg.update('modelPath', pick.modelPath, target);
  await cfg.update('tokenizerPath', pick.tokenizerPath, target);
  if (target === Global && hasWorkspace) {
    for (const k of ['modelPath', 'tokenizerPath'] as const) {
      await clear(k, Workspace);
      await clearFolders(k);
    }
  }
}
