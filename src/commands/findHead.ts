import * as vscode from 'vscode';
import type { Controller } from '../host/controller';
import { untilAnalysed } from '../host/untilAnalysed';
import type { WireHead } from '../protocol';

interface HeadItem extends vscode.QuickPickItem {
  head: WireHead;
}

/** A short "key scores" line for a head: its roles' scores first, then entropy and distance. */
export function headDetail(h: WireHead): string {
  const parts = h.roles.map((r) => `${r.name} ${r.score.toFixed(2)}`);
  const m = h.metrics;
  if (typeof m.entropy === 'number') parts.push(`entropy ${m.entropy.toFixed(2)}`);
  if (typeof m.distance === 'number') parts.push(`distance ${m.distance.toFixed(1)}`);
  if (typeof m.sink === 'number') parts.push(`sink ${m.sink.toFixed(2)}`);
  return parts.join(' · ');
}

/**
 * `headlight.findHead` — QuickPick over every head of the panel's model: label `L3H7`, description the
 * roles, detail the key scores. Typing filters by name, role or any word in the detail.
 */
export function findHead(controller: Controller) {
  return async (query?: string): Promise<WireHead | undefined> => {
    if (!controller.session) await controller.reopenLast();
    if (!(await untilAnalysed(controller, vscode.l10n.t('Headlight: searching once the heads are analysed…')))) return undefined;
    const session = controller.session;
    if (!session || session.heads.length === 0) {
      void vscode.window.showInformationMessage(
        session
          ? 'Headlight: this panel has no model attention to search (select a model, then explain again).'
          : 'Headlight: explain a selection first (right-click → Explain attention), then search its heads.',
      );
      return undefined;
    }
    const qp = vscode.window.createQuickPick<HeadItem>();
    qp.title = vscode.l10n.t('Find head — {0}', session.model.name);
    qp.placeholder = vscode.l10n.t('Head name, role or metric: "L1H3", "induction", "sink"…');
    qp.matchOnDescription = true;
    qp.matchOnDetail = true;
    qp.items = session.heads.map((h) => ({
      label: h.id,
      description: h.roles.length ? h.roles.map((r) => r.name).join(', ') : 'unclassified',
      detail: headDetail(h),
      head: h,
    }));
    if (query) qp.value = query;
    const picked = await new Promise<WireHead | undefined>((resolve) => {
      qp.onDidAccept(() => {
        resolve(qp.selectedItems[0]?.head);
        qp.hide();
      });
      qp.onDidHide(() => resolve(undefined));
      qp.show();
    });
    qp.dispose();
    if (picked) controller.focusHead(picked.layer, picked.head);
    return picked;
  };
}
