// Theme colours read from the --vscode-* variables VS Code sets on the page, resolved to RGB through a probe
// element (the variables can hold any CSS colour syntax). Re-read when VS Code switches theme.

export type RGB = [number, number, number];

const CHART_VARS = [
  '--vscode-charts-blue',
  '--vscode-charts-orange',
  '--vscode-charts-green',
  '--vscode-charts-purple',
  '--vscode-charts-red',
  '--vscode-charts-yellow',
];
const FALLBACK: RGB[] = [
  [55, 148, 255],
  [209, 134, 22],
  [137, 209, 133],
  [176, 128, 209],
  [241, 76, 76],
  [204, 167, 0],
];

let probe: HTMLElement | undefined;

export function cssColor(variable: string, fallback: RGB): RGB {
  if (!probe) {
    probe = document.createElement('span');
    probe.className = 'hl-color-probe';
    document.body.append(probe);
  }
  probe.style.color = `var(${variable})`;
  return resolved(probe, variable, fallback);
}

/** The probe's computed colour, or the fallback when the variable is not set on the page. */
function resolved(el: HTMLElement, variable: string, fallback: RGB): RGB {
  const m = /rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)/.exec(getComputedStyle(el).color);
  const raw = getComputedStyle(document.documentElement).getPropertyValue(variable).trim() || getComputedStyle(document.body).getPropertyValue(variable).trim();
  if (!m || !raw) return fallback;
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

const THEME_VARS = ['--vscode-editor-background', ...CHART_VARS, '--vscode-foreground', '--vscode-descriptionForeground', '--vscode-panel-border'];

// The theme's colours through one probe each, made once and left in place: reading them all costs one
// style recalculation (a single probe re-styled per colour cost one per colour).
let themeProbes: Map<string, HTMLElement> | undefined;

function themeColors(): Map<string, HTMLElement> {
  if (!themeProbes) {
    themeProbes = new Map(
      THEME_VARS.map((v) => {
        const el = document.createElement('span');
        el.className = 'hl-color-probe';
        el.style.color = `var(${v})`;
        return [v, el];
      }),
    );
    document.body.append(...themeProbes.values());
  }
  return themeProbes;
}

export interface Theme {
  /** One colour per head when several heads are overlaid. */
  palette: RGB[];
  fg: RGB;
  muted: RGB;
  bg: RGB;
  accent: RGB;
  border: RGB;
  dark: boolean;
}

export function readTheme(): Theme {
  const probes = themeColors();
  const color = (v: string, fallback: RGB) => resolved(probes.get(v)!, v, fallback);
  const bg = color('--vscode-editor-background', [255, 255, 255]);
  return {
    palette: CHART_VARS.map((v, i) => color(v, FALLBACK[i])),
    fg: color('--vscode-foreground', [97, 97, 97]),
    muted: color('--vscode-descriptionForeground', [113, 113, 113]),
    bg,
    accent: color('--vscode-charts-blue', FALLBACK[0]),
    border: color('--vscode-panel-border', [128, 128, 128]),
    dark: luminance(bg) < 0.5,
  };
}

export function luminance([r, g, b]: RGB): number {
  return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
}

export const rgba = ([r, g, b]: RGB, a: number) => `rgba(${r},${g},${b},${a.toFixed(3)})`;
export const hex = ([r, g, b]: RGB) => '#' + [r, g, b].map((x) => Math.round(x).toString(16).padStart(2, '0')).join('');

/** Mix two colours: t = 0 → a, t = 1 → b. */
export function mix(a: RGB, b: RGB, t: number): RGB {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

/** Calls back when VS Code changes theme (it rewrites the body class and the html style). */
export function onThemeChange(cb: () => void): void {
  let t = 0;
  const obs = new MutationObserver(() => {
    clearTimeout(t);
    t = window.setTimeout(cb, 30);
  });
  obs.observe(document.body, { attributes: true, attributeFilter: ['class'] });
  obs.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
}
