// Export of what the panel shows, rendered in the page: PNG of a view (its canvases, plotly charts,
// backgrounds and visible text composited on one offscreen canvas — no html-to-image library) and SVG of
// the Arcs view (built with createElementNS + textContent, serialized with XMLSerializer).
import { plotly } from './chartsLoader';
import { hex, type RGB } from './theme';

export interface Rendered {
  width: number;
  height: number;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

const visible = (el: Element) => {
  const cs = getComputedStyle(el);
  return cs.display !== 'none' && cs.visibility !== 'hidden' && Number(cs.opacity) > 0.01;
};
const transparent = (c: string) => !c || c === 'transparent' || /rgba\([^)]*,\s*0\)$/.test(c);

function loadImage(src: string): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error('could not decode a chart image'));
    img.src = src;
  });
}

/** Draws one text node's visible lines at their on-screen positions (a wrapped node is split per line). */
function drawText(g: CanvasRenderingContext2D, node: Text, ox: number, oy: number): void {
  const text = node.textContent ?? '';
  if (!text.trim() || !node.parentElement || !visible(node.parentElement)) return;
  const cs = getComputedStyle(node.parentElement);
  g.font = `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
  g.fillStyle = cs.color;
  g.globalAlpha = Math.max(0.15, Number(cs.opacity) || 1);
  g.textBaseline = 'alphabetic';
  const range = document.createRange();
  let lineStart = 0,
    lineTop = NaN,
    lineLeft = 0,
    lineBottom = 0;
  const flush = (end: number) => {
    const piece = text.slice(lineStart, end).replace(/\s+$/, '');
    if (piece.trim())
      g.fillText(
        piece.replace(/^\s+/, (m) => (lineStart === 0 ? m : '')),
        lineLeft - ox,
        lineBottom - oy - (lineBottom - lineTop) * 0.22,
      );
  };
  for (let i = 0; i < text.length; i++) {
    range.setStart(node, i);
    range.setEnd(node, i + 1);
    const r = range.getClientRects()[0];
    if (!r) continue;
    if (Number.isNaN(lineTop)) {
      lineTop = r.top;
      lineLeft = r.left;
      lineBottom = r.bottom;
      lineStart = i;
      continue;
    }
    if (r.top >= lineBottom - 1) {
      flush(i);
      lineTop = r.top;
      lineLeft = r.left;
      lineBottom = r.bottom;
      lineStart = i;
    }
  }
  if (!Number.isNaN(lineTop)) flush(text.length);
  g.globalAlpha = 1;
}

/** PNG of one section of the panel as it is laid out now. */
export async function sectionToPng(root: HTMLElement, bg: RGB): Promise<Rendered & { data: Uint8Array }> {
  const box = root.getBoundingClientRect();
  const width = Math.ceil(box.width),
    height = Math.ceil(box.height);
  if (width === 0 || height === 0) throw new Error('the view is not visible');
  const dpr = Math.min(2, window.devicePixelRatio || 1);
  const c = document.createElement('canvas');
  c.width = Math.ceil(width * dpr);
  c.height = Math.ceil(height * dpr);
  const g = c.getContext('2d')!;
  g.scale(dpr, dpr);
  g.fillStyle = hex(bg);
  g.fillRect(0, 0, width, height);
  const ox = box.left,
    oy = box.top;
  const charts: HTMLElement[] = [];
  const walk = (el: Element) => {
    if (!visible(el)) return;
    const r = el.getBoundingClientRect();
    if (el.classList.contains('js-plotly-plot')) {
      charts.push(el as HTMLElement);
      return;
    }
    const cs = getComputedStyle(el);
    if (!transparent(cs.backgroundColor) && r.width && r.height) {
      g.fillStyle = cs.backgroundColor;
      g.fillRect(r.left - ox, r.top - oy, r.width, r.height);
    }
    if (cs.borderTopStyle !== 'none' && parseFloat(cs.borderTopWidth) > 0 && !transparent(cs.borderTopColor) && el.tagName !== 'VSCODE-TAB-PANEL') {
      g.strokeStyle = cs.borderTopColor;
      g.lineWidth = 1;
      g.strokeRect(r.left - ox + 0.5, r.top - oy + 0.5, r.width - 1, r.height - 1);
    }
    if (el instanceof HTMLCanvasElement) {
      if (el.width && el.height) {
        g.globalAlpha = Number(cs.opacity) || 1;
        g.drawImage(el, r.left - ox, r.top - oy, r.width, r.height);
        g.globalAlpha = 1;
      }
      return;
    }
    for (const n of el.childNodes) {
      if (n.nodeType === Node.TEXT_NODE) drawText(g, n as Text, ox, oy);
      else if (n instanceof Element) walk(n);
    }
  };
  walk(root);
  for (const el of charts) {
    const r = el.getBoundingClientRect();
    const url = await (await plotly()).toImage(el, { format: 'png', width: Math.round(r.width), height: Math.round(r.height) });
    g.drawImage(await loadImage(url), r.left - ox, r.top - oy, r.width, r.height);
  }
  const blob = await new Promise<Blob | null>((resolve) => c.toBlob(resolve, 'image/png'));
  if (!blob) throw new Error('the browser could not encode the PNG');
  return { data: new Uint8Array(await blob.arrayBuffer()), width: c.width, height: c.height };
}

export interface SvgArc {
  from: number;
  to: number;
  weight: number;
  colour: RGB;
}
export interface SvgToken {
  text: string;
  x: number;
  y: number;
  w: number;
  h: number;
  special: boolean;
}

/**
 * The Arcs view as SVG: tokens as text at their laid-out places, arcs as quadratic curves (the same
 * geometry as the canvas), stroke width and opacity by weight.
 */
export function arcsSvg(
  tokens: SvgToken[],
  arcs: SvgArc[],
  size: { width: number; height: number; lineHeight: number },
  theme: { fg: RGB; bg: RGB; muted: RGB },
  title: string,
): string {
  const el = <K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>) => {
    const e = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    return e;
  };
  const W = Math.ceil(size.width),
    H = Math.ceil(size.height);
  const svg = el('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}` });
  const t = el('title', {});
  t.textContent = title;
  svg.append(t);
  svg.append(el('rect', { x: 0, y: 0, width: W, height: H, fill: hex(theme.bg) }));
  const g = el('g', { fill: 'none', 'stroke-linecap': 'round' });
  for (const a of arcs) {
    const A = tokens[a.from],
      B = tokens[a.to];
    if (!A || !B) continue;
    const xa = A.x,
      ya = A.y + 1,
      xb = B.x,
      yb = B.y + 1;
    const d =
      a.from === a.to
        ? `M ${xa + 3} ${ya - 3} a 3 3 0 1 0 -6 0 a 3 3 0 1 0 6 0`
        : `M ${xa.toFixed(1)} ${ya.toFixed(1)} Q ${((xa + xb) / 2).toFixed(1)} ${(Math.min(ya, yb) - Math.min(4 + 0.2 * Math.hypot(xb - xa, yb - ya), 1.8 * size.lineHeight)).toFixed(1)} ${xb.toFixed(1)} ${yb.toFixed(1)}`;
    g.append(el('path', { d, stroke: hex(a.colour), 'stroke-opacity': (0.1 + 0.75 * a.weight).toFixed(3), 'stroke-width': (0.5 + 2.5 * a.weight).toFixed(2) }));
  }
  svg.append(g);
  const txt = el('g', {
    'font-family': getComputedStyle(document.body).getPropertyValue('--vscode-editor-font-family') || 'monospace',
    'font-size': Math.round(size.lineHeight * 0.62),
    fill: hex(theme.fg),
  });
  for (const tk of tokens) {
    const e = el('text', { x: (tk.x - tk.w / 2).toFixed(1), y: (tk.y + tk.h * 0.78).toFixed(1), 'xml:space': 'preserve' });
    if (tk.special) {
      e.setAttribute('fill', hex(theme.muted));
      e.setAttribute('font-style', 'italic');
    }
    e.textContent = tk.text;
    txt.append(e);
  }
  svg.append(txt);
  return new XMLSerializer().serializeToString(svg);
}
