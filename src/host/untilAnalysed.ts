// Export and Find Head read every head's analysis. Since the panel paints before the analysis lands, a user
// (or a test) can ask for them in between: wait for the explain in flight — with a cancellable progress
// notification — instead of turning them away with "try again in a moment".
import * as vscode from 'vscode';
import type { Controller } from './controller';

/** True once the panel's session is fully analysed; false when the user cancelled or the explain ended without it. */
export async function untilAnalysed(controller: Controller, title: string): Promise<boolean> {
  if (!controller.session?.analysing) return true;
  const settled = controller.settled();
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    (_progress, token) =>
      new Promise<void>((resolve) => {
        const sub = token.onCancellationRequested(() => resolve());
        void settled.finally(() => {
          sub.dispose();
          resolve();
        });
      }),
  );
  return !controller.session?.analysing;
}
