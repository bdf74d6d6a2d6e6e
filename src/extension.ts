// First: no onnxruntime telemetry, set in the real process environment before anything loads the runtime.
import './noTelemetry';
import * as vscode from 'vscode';
import { Controller } from './host/controller';
import { PANEL_VIEW_TYPE } from './panel/attentionPanel';
import { isPanelState } from './protocol';
import { explainAttention } from './commands/explainAttention';
import { findHead } from './commands/findHead';
import { selectModel } from './commands/selectModel';
import { exportView } from './commands/exportView';
import { openDump } from './commands/openDump';
import { openSample } from './commands/openSample';
import { compareModels } from './commands/compareModels';
import { EngineSessionSource } from './host/engineSource';
import { log } from './host/log';
import { unsupportedPlatformMessage } from './host/platform';
import { NotebookRendererHost } from './notebook/rendererHost';

// Wiring only: every behaviour lives in the module named for it.
export function activate(context: vscode.ExtensionContext): { controller: Controller } {
  const source = new EngineSessionSource(context.extensionPath);
  const controller = new Controller(context, source);
  const notebooks = new NotebookRendererHost(controller);
  context.subscriptions.push(
    notebooks,
    // Not contributed: the panel's reload path (Controller.explainState) runs it for an output opened from a notebook.
    vscode.commands.registerCommand('headlight.openNotebookOutput', (stateUri: string) => notebooks.reopen(stateUri)),
    vscode.commands.registerCommand('headlight.compareModels', compareModels(controller, context.extensionPath)),
    controller,
    vscode.commands.registerCommand('headlight.explainAttention', explainAttention(controller)),
    vscode.commands.registerCommand('headlight.findHead', findHead(controller)),
    vscode.commands.registerCommand('headlight.selectModel', selectModel(context, controller)),
    vscode.commands.registerCommand('headlight.exportView', exportView(controller)),
    vscode.commands.registerCommand('headlight.openDump', openDump(controller)),
    vscode.commands.registerCommand('headlight.openSample', openSample(context.extensionPath)),
    vscode.commands.registerCommand('headlight.measureEffects', () => controller.measureEffects()),
    vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, {
      deserializeWebviewPanel: (panel, state: unknown) => controller.restore(panel, isPanelState(state) ? state : undefined),
    }),
  );
  const unsupported = unsupportedPlatformMessage(process.platform, process.arch);
  if (unsupported) {
    log().error(unsupported);
    void vscode.window.showErrorMessage(unsupported);
  }
  log().info('Headlight activated');
  return { controller };
}

export function deactivate(): void {
  /* subscriptions dispose everything */
}
