// Measure Head Effects' choice of heads: every head (largest |DLA| first), the first 12 by |DLA|, a layer,
// the heads holding a role, or heads picked from a list — a QuickPick over the panel's session.
import * as vscode from 'vscode';
import type { SessionData } from '../protocol';
import type { EffectScope } from '../session/effectsOrder';

/** How many heads "the first k by |DLA|" measures. */
export const TOP_DLA = 12;

interface ScopeItem extends vscode.QuickPickItem {
  scope?: EffectScope;
  pick?: true;
}

const dlaOf = (s: SessionData, l: number, h: number): string => {
  const v = s.heads.find((x) => x.layer === l && x.head === h)?.metrics.dla;
  return v !== undefined && Number.isFinite(v) ? ` · DLA ${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(2)}` : '';
};

/** The scope the user chose, or undefined when they dismissed the pick. */
export async function pickEffectScope(s: SessionData): Promise<EffectScope | undefined> {
  const L = s.model.layers,
    H = s.model.headsPerLayer;
  const byDla = Boolean(s.dla);
  const measured = s.effects?.measured ?? 0;
  const items: ScopeItem[] = [
    {
      label: vscode.l10n.t('All {0} heads', L * H),
      description: byDla ? vscode.l10n.t('largest |DLA| first, streamed into the catalog') : vscode.l10n.t('layer by layer'),
      detail: measured ? vscode.l10n.t('{0} already measured are kept', measured) : undefined,
      scope: { kind: 'all' },
    },
    ...(byDla
      ? [
          {
            label: vscode.l10n.t('The {0} heads with the largest |DLA|', TOP_DLA),
            description: vscode.l10n.t('the heads that write most directly onto the logits'),
            scope: { kind: 'top', count: TOP_DLA } as EffectScope,
          },
        ]
      : []),
    { label: '', kind: vscode.QuickPickItemKind.Separator },
    ...Array.from({ length: L }, (_, l): ScopeItem => ({
      label: vscode.l10n.t('Layer {0}', l),
      description: vscode.l10n.t('{0} heads', H),
      scope: { kind: 'layer', layer: l },
    })),
  ];
  const roles = [...new Set(s.heads.flatMap((hd) => hd.roles.map((r) => r.name)))];
  if (roles.length) {
    items.push({ label: '', kind: vscode.QuickPickItemKind.Separator });
    for (const r of roles) {
      const held = s.heads.filter((hd) => hd.roles.some((x) => x.name === r)).map((hd) => hd.id);
      items.push({ label: vscode.l10n.t('Heads with role {0}', r), description: held.join(', '), scope: { kind: 'role', role: r } });
    }
  }
  items.push(
    { label: '', kind: vscode.QuickPickItemKind.Separator },
    { label: vscode.l10n.t('Pick heads…'), description: vscode.l10n.t('choose any heads from a list'), pick: true },
  );
  const chosen = await vscode.window.showQuickPick(items, {
    title: vscode.l10n.t('Headlight: which heads to ablate'),
    placeHolder: vscode.l10n.t('Each head is removed on its own and the change in the loss measured'),
  });
  if (!chosen) return undefined;
  if (!chosen.pick) return chosen.scope;
  const heads = await vscode.window.showQuickPick(
    s.heads.map((hd) => ({
      label: hd.id,
      description: `${hd.roles.map((r) => r.name).join(', ') || vscode.l10n.t('no role')}${dlaOf(s, hd.layer, hd.head)}`,
      layer: hd.layer,
      head: hd.head,
    })),
    { canPickMany: true, title: vscode.l10n.t('Headlight: heads to ablate'), matchOnDescription: true },
  );
  return heads?.length ? { kind: 'heads', heads: heads.map((x) => [x.layer, x.head] as [number, number]) } : undefined;
}
