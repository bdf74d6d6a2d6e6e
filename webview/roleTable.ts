// The role table: each role's colour variable and legend text, keyed by the protocol's ROLE_NAMES (the one
// typed list the analysis awards from), so a new role does not build until it has both. No DOM here, so
// Node tests can read it. Every coloured role reads its own --vscode-* variable: no two share a colour.
import { ROLE_NAMES, type RoleName } from '../src/protocol';
import { t } from './strings';
import type { WebviewStringKey } from '../src/protocol';

type RGB = [number, number, number];

export const ROLE_ORDER: readonly RoleName[] = ROLE_NAMES;

/** The theme variable (and a fallback for pages without VS Code's variables) each role is drawn in; broad is muted. */
export const ROLE_COLOUR_VAR: Record<RoleName, { variable: string; fallback: RGB } | 'muted'> = {
  'previous-token': { variable: '--vscode-charts-blue', fallback: [55, 148, 255] },
  induction: { variable: '--vscode-charts-purple', fallback: [176, 128, 209] },
  'duplicate-token': { variable: '--vscode-charts-orange', fallback: [209, 134, 22] },
  'first-token-sink': { variable: '--vscode-charts-red', fallback: [241, 76, 76] },
  self: { variable: '--vscode-charts-yellow', fallback: [204, 167, 0] },
  positional: { variable: '--vscode-charts-green', fallback: [137, 209, 133] },
  local: { variable: '--vscode-terminal-ansiCyan', fallback: [17, 168, 205] },
  broad: 'muted',
  punctuation: { variable: '--vscode-terminal-ansiMagenta', fallback: [188, 63, 188] },
  'bracket-matching': { variable: '--vscode-charts-foreground', fallback: [204, 204, 204] },
  'ast-parent': { variable: '--vscode-terminal-ansiBrightBlue', fallback: [0, 90, 180] },
  'bracket-pair': { variable: '--vscode-terminal-ansiBrightWhite', fallback: [255, 255, 255] },
  'def-use': { variable: '--vscode-terminal-ansiBrightYellow', fallback: [255, 230, 90] },
  'block-opener': { variable: '--vscode-terminal-ansiBrightMagenta', fallback: [255, 140, 220] },
  'determiner-noun': { variable: '--vscode-terminal-ansiBrightGreen', fallback: [60, 230, 60] },
  'adjective-noun': { variable: '--vscode-terminal-ansiGreen', fallback: [0, 140, 90] },
  keyword: { variable: '--vscode-terminal-ansiBrightCyan', fallback: [120, 220, 240] },
  sentiment: { variable: '--vscode-terminal-ansiBrightRed', fallback: [255, 110, 0] },
  'rare-token': { variable: '--vscode-terminal-ansiYellow', fallback: [150, 100, 60] },
};

/** Each role's legend text: its key in the webview's string table (typed, so a role without one does not build). */
export const ROLE_HINT: Record<RoleName, WebviewStringKey> = {
  'previous-token': 'role.previous-token',
  induction: 'role.induction',
  'duplicate-token': 'role.duplicate-token',
  'first-token-sink': 'role.first-token-sink',
  self: 'role.self',
  positional: 'role.positional',
  local: 'role.local',
  broad: 'role.broad',
  punctuation: 'role.punctuation',
  'bracket-matching': 'role.bracket-matching',
  'ast-parent': 'role.ast-parent',
  'bracket-pair': 'role.bracket-pair',
  'def-use': 'role.def-use',
  'block-opener': 'role.block-opener',
  'determiner-noun': 'role.determiner-noun',
  'adjective-noun': 'role.adjective-noun',
  keyword: 'role.keyword',
  sentiment: 'role.sentiment',
  'rare-token': 'role.rare-token',
};

/** A role's legend text in the display language (the host passes the table translated). */
export const roleHint = (r: RoleName): string => t(ROLE_HINT[r]);
