// Drawing arcs over the token strip: the arc path itself, a head's arcs grouped by key for Incoming, and the
// hover layer's arcs and parse edges at one token (arcs.ts draws the base layer and owns the canvases).
import type { ArcSelection } from '../arcmath';
import type { HeadMatrix, SessionData } from '../../src/protocol';
import { rgba, type RGB } from '../theme';
import type { TokenLayout } from './tokens';

export interface HeadArcs {
  head: number;
  colour: RGB;
  mat: HeadMatrix;
  sel: ArcSelection;
  /** Incoming index (arcs grouped by key), built on first use. */
  inc?: { off: Int32Array; q: Int32Array; b: Uint8Array };
}

/** One arc from token a's top to token b's top, bowing upwards more for longer spans; a small loop for a == b. */
export function arc(p: Path2D, l: TokenLayout, a: number, b: number): void {
  const xa = l.x[a],
    ya = l.y[a] + 1,
    xb = l.x[b],
    yb = l.y[b] + 1;
  if (a === b) {
    p.moveTo(xa + 3, ya);
    p.arc(xa, ya - 3, 3, 0, Math.PI * 2);
    return;
  }
  const dist = Math.hypot(xb - xa, yb - ya);
  const lift = Math.min(4 + 0.2 * dist, 1.8 * l.lineHeight);
  p.moveTo(xa, ya);
  p.quadraticCurveTo((xa + xb) / 2, Math.min(ya, yb) - lift, xb, yb);
}

/** The head's selected arcs grouped by key (query, weight byte), built on first use and kept on the head. */
export function incomingOf(x: HeadArcs): NonNullable<HeadArcs['inc']> {
  if (x.inc) return x.inc;
  const n = x.sel.off.length - 1;
  const off = new Int32Array(n + 1);
  for (let t = 0; t < x.sel.keys.length; t++) off[x.sel.keys[t] + 1]++;
  for (let j = 0; j < n; j++) off[j + 1] += off[j];
  const fill = off.slice(0, n);
  const q = new Int32Array(x.sel.keys.length),
    b = new Uint8Array(x.sel.keys.length);
  for (let i = 0; i < n; i++)
    for (let t = x.sel.off[i]; t < x.sel.off[i + 1]; t++) {
      const p = fill[x.sel.keys[t]]++;
      q[p] = i;
      b[p] = x.sel.bytes[t];
    }
  x.inc = { off, q, b };
  return x.inc;
}

/** The area a hover draws on: token i, grown by every token its arcs reach (cleared before the next hover). */
export function hoverBox(l: TokenLayout, i: number): { grow: (j: number) => void; rect: () => [number, number, number, number] } {
  let x0 = l.x[i] - l.w[i] / 2,
    y0 = l.y[i] - 2 * l.lineHeight,
    x1 = l.x[i] + l.w[i] / 2,
    y1 = l.y[i] + l.hgt[i];
  return {
    grow: (j) => {
      x0 = Math.min(x0, l.x[j] - l.w[j] / 2);
      x1 = Math.max(x1, l.x[j] + l.w[j] / 2);
      y0 = Math.min(y0, l.y[j] - 2.5 * l.lineHeight);
      y1 = Math.max(y1, l.y[j] + l.hgt[j]);
    },
    rect: () => [x0, y0, x1 - x0, y1 - y0],
  };
}

/**
 * Token i's arcs of every shown head (its keys; with Incoming, the queries that attend to it), the other end
 * of each shaded behind its text. Returns a line per head naming its five strongest ends (with a session).
 */
export function drawHoverArcs(
  g: CanvasRenderingContext2D,
  l: TokenLayout,
  heads: HeadArcs[],
  i: number,
  incoming: boolean,
  grow: (j: number) => void,
  session: SessionData | undefined,
): string[] {
  const lines: string[] = [];
  for (const x of heads) {
    const list: [number, number][] = [];
    if (incoming) {
      const inc = incomingOf(x);
      for (let t = inc.off[i]; t < inc.off[i + 1]; t++) list.push([inc.q[t], inc.b[t]]);
    } else {
      for (let t = x.sel.off[i]; t < x.sel.off[i + 1]; t++) list.push([x.sel.keys[t], x.sel.bytes[t]]);
    }
    for (const [j, b] of list) {
      const w = b / 255;
      // The other end of each arc is shaded behind its text, darker for more weight.
      g.fillStyle = rgba(x.colour, 0.12 + 0.5 * w);
      g.fillRect(l.x[j] - l.w[j] / 2, l.y[j], l.w[j], l.hgt[j]);
      const p = new Path2D();
      if (incoming) arc(p, l, j, i);
      else arc(p, l, i, j);
      g.strokeStyle = rgba(x.colour, 0.45 + 0.55 * w);
      g.lineWidth = 1 + 3 * w;
      g.stroke(p);
      grow(j);
    }
    if (session && list.length) {
      const toks = session.tokens;
      const txt = (j: number) => JSON.stringify(toks[j].special ? toks[j].text : session.text.slice(toks[j].start, toks[j].end));
      lines.push(
        `H${x.head}: ${list
          .slice(0, 5)
          .map(([j, b]) => `${txt(j)} ${(b / 255).toFixed(2)}`)
          .join(', ')}`,
      );
    }
  }
  return lines;
}

/** A relation's gold edges at token i (its gold token; with Incoming, its dependents), dashed; returns those tokens. */
export function drawParseEdges(
  g: CanvasRenderingContext2D,
  l: TokenLayout,
  edges: [number, number][],
  i: number,
  incoming: boolean,
  fg: RGB,
  grow: (j: number) => void,
): number[] {
  const parse: number[] = [];
  for (const [d, k] of edges) if (incoming ? k === i : d === i) parse.push(incoming ? d : k);
  const p = new Path2D();
  for (const j of parse) {
    if (incoming) arc(p, l, j, i);
    else arc(p, l, i, j);
    grow(j);
  }
  g.setLineDash([5, 4]);
  g.strokeStyle = rgba(fg, 0.9);
  g.lineWidth = 1.5;
  g.stroke(p);
  g.setLineDash([]);
  return parse;
}
