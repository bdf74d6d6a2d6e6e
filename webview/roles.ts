// Role → colour from the theme and a short legend text (the table is webview/roleTable.ts). Colour is only
// a second cue: badges always carry the role's name.
import type { RoleName } from '../src/protocol';
import { cssColor, type Theme, type RGB } from './theme';
import { ROLE_COLOUR_VAR } from './roleTable';
export { ROLE_ORDER, ROLE_HINT, ROLE_COLOUR_VAR, roleHint } from './roleTable';

const cache = new WeakMap<Theme, Map<RoleName, RGB>>();

export function roleColour(name: RoleName, theme: Theme): RGB {
  const spec = ROLE_COLOUR_VAR[name];
  if (!spec || spec === 'muted') return theme.muted;
  let m = cache.get(theme);
  if (!m) cache.set(theme, (m = new Map<RoleName, RGB>()));
  let c = m.get(name);
  if (!c) m.set(name, (c = cssColor(spec.variable, spec.fallback)));
  return c;
}
