// Routes: the information-flow graph behind one token's prediction (Ferrando & Voita 2024, the LLM
// Transparency Tool's main view), computed by the host at a threshold. Rows are the residual stream at each
// layer's input and after its attention (input at the bottom, the prediction at the top); columns are the
// tokens the route touches. Attention edges are drawn in their head's colour and click open the head in Arcs;
// residual steps are vertical, an MLP step is a square on the way. The threshold slider filters what was
// traced (routesAt) and asks again below it. The edges are listed as buttons too, for keyboards and readers.
import { routesAt } from '../../src/session/routesAt';
import { ROUTES_MIN_THRESHOLD, ROUTES_THRESHOLD, type RouteEdge, type RouteGraph, type SessionData } from '../../src/protocol';
import { h } from '../dom';
import { request } from '../channel';
import { rgba, type Theme } from '../theme';
import { TokenStrip } from './tokens';
import { t } from '../strings';

export interface RoutesContext {
  theme(): Theme;
  open(layer: number, head: number): void;
}

const GUTTER = 72,
  TOP = 22;

/** Canvas hit area of one drawn edge. */
interface Drawn {
  edge: RouteEdge;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** One paint's canvas and geometry: `levels` rows of LEVEL pixels (y of a level), a column per token (colX). */
interface Frame {
  c: CanvasRenderingContext2D;
  theme: Theme;
  L: number;
  levels: number;
  LEVEL: number;
  width: number;
  cols: number[];
  colX: Map<number, number>;
  y: (level: number) => number;
}

export class RoutesView {
  private session: SessionData | undefined;
  private readonly cache = new Map<number, Promise<RouteGraph>>();
  private readonly canvas = h('canvas', { class: 'hl-routes-canvas', role: 'img' });
  private readonly readout = h('div', { class: 'hl-status', role: 'status', 'aria-live': 'polite' });
  private readonly list = h('div', { class: 'hl-routes-list', role: 'group', 'aria-label': t('routes.list') });
  private readonly slider = h('input', {
    type: 'range',
    min: String(ROUTES_MIN_THRESHOLD),
    max: '0.5',
    step: '0.01',
    value: String(ROUTES_THRESHOLD),
    class: 'hl-routes-slider',
    'aria-label': t('routes.threshold'),
  });
  private readonly sliderValue = h('span', { class: 'hl-routes-value' });
  private readonly strip: TokenStrip;
  private graph: RouteGraph | undefined;
  private edges: RouteEdge[] = [];
  private drawn: Drawn[] = [];
  private token = -1;
  private threshold = ROUTES_THRESHOLD;
  private pending = 0;
  private built = false;

  constructor(
    parent: HTMLElement,
    private readonly ctx: RoutesContext,
  ) {
    this.strip = new TokenStrip({
      label: t('routes.tokens'),
      onFocus: (i) => {
        if (i === null) return;
        clearTimeout(this.pending);
        this.pending = window.setTimeout(() => void this.choose(i), 120);
      },
    });
    this.slider.addEventListener('input', () => this.setThreshold(Number(this.slider.value)));
    this.canvas.addEventListener('mousemove', (e) => this.hover(e));
    this.canvas.addEventListener('click', (e) => {
      const hit = this.hit(e);
      if (hit?.kind === 'head') this.ctx.open(hit.layer, hit.head);
    });
    this.list.addEventListener('click', (e) => {
      const b = (e.target as HTMLElement).closest<HTMLElement>('[data-head]');
      if (b) this.ctx.open(Number(b.dataset.layer), Number(b.dataset.head));
    });
    new ResizeObserver(() => {
      if (this.graph) this.paint();
    }).observe(parent);
    this.sliderValue.textContent = this.threshold.toFixed(2);
    parent.append(
      h('p', { class: 'hl-summary' }, t('routes.summary')),
      h('label', { class: 'hl-field hl-routes-field' }, h('span', { class: 'hl-field-label' }, t('routes.threshold')), this.slider, this.sliderValue),
      this.readout,
      this.canvas,
      this.strip.el,
      this.list,
    );
  }

  setSession(s: SessionData): void {
    this.session = s;
    this.cache.clear();
    this.graph = undefined;
    this.edges = [];
    this.built = false;
    this.token = -1;
    this.strip.render(s);
    this.list.replaceChildren();
    this.readout.textContent = s.routesNote ?? '';
  }

  ensure(preferred: number | null): void {
    const s = this.session;
    if (!s || !s.model.layers) return;
    if (s.routesNote) {
      this.readout.textContent = s.routesNote;
      return;
    }
    if (!this.built || (preferred !== null && preferred !== this.token)) {
      this.built = true;
      let tk = preferred ?? s.tokens.length - 2;
      // Default: the last token whose prediction the text shows (the one before the last), with visible text.
      while (preferred === null && tk > 0 && (s.tokens[tk].special || !s.text.slice(s.tokens[tk].start, s.tokens[tk].end).trim())) tk--;
      void this.choose(Math.max(0, tk));
    } else if (this.graph) this.paint();
  }

  /** The slider moved: filter what was traced, or trace again below it. */
  private setThreshold(v: number): void {
    this.threshold = Math.max(ROUTES_MIN_THRESHOLD, Math.min(1, v));
    this.sliderValue.textContent = this.threshold.toFixed(2);
    if (!this.graph) return;
    if (this.threshold < this.graph.threshold) {
      this.cache.clear();
      clearTimeout(this.pending);
      this.pending = window.setTimeout(() => void this.choose(this.token), 150);
      return;
    }
    this.edges = routesAt(this.graph, this.threshold);
    this.paint();
  }

  async choose(token: number): Promise<void> {
    const s = this.session;
    if (!s) return;
    this.token = token;
    let p = this.cache.get(token);
    if (!p) {
      p = request('routes/trace', { sessionId: s.id, token, threshold: this.threshold });
      this.cache.set(token, p);
      p.catch(() => this.cache.delete(token));
    }
    try {
      const g = await p;
      if (this.session !== s || this.token !== token) return;
      this.graph = g;
      this.edges = routesAt(g, this.threshold);
      this.strip.mark(token);
      this.paint();
    } catch (e) {
      this.readout.textContent = t('routes.failed', token, (e as Error).message);
    }
  }

  private label(j: number): string {
    const tk = this.session!.tokens[j];
    return JSON.stringify(tk.special ? tk.text : this.session!.text.slice(tk.start, tk.end));
  }

  /** Columns: the tokens the route touches, in text order. */
  private columns(): number[] {
    const cols = new Set<number>([this.token]);
    for (const e of this.edges) {
      cols.add(e.from);
      cols.add(e.to);
    }
    return [...cols].sort((a, b) => a - b);
  }

  private paint(): void {
    const s = this.session,
      g = this.graph;
    if (!s || !g) return;
    const f = this.frame(g.layers);
    if (!f) return;
    this.drawLevels(f);
    this.drawn = [];
    for (const e of this.edges) this.drawEdge(f, e);
    this.drawNodes(f);
    this.drawHeadNames(f);
    this.drawTokenLabels(f);
    const heads = this.edges.filter((e) => e.kind === 'head');
    this.canvas.setAttribute('aria-label', t('routes.aria', this.token, this.label(this.token), heads.length, f.L));
    this.readout.textContent = this.edges.length
      ? t('routes.readout', this.token, this.label(this.token), heads.length, this.threshold.toFixed(2), g.via ?? '')
      : t('routes.empty', this.threshold.toFixed(2));
    this.renderList(heads);
  }

  /** The canvas sized and cleared for `L` layers and the route's columns; undefined while the view has no width. */
  private frame(L: number): Frame | undefined {
    const theme = this.ctx.theme();
    const levels = 2 * L + 1;
    // Room to read the edges of a small model, compact for a deep one.
    const LEVEL = Math.max(18, Math.min(56, Math.floor(420 / levels)));
    const width = this.canvas.parentElement!.clientWidth;
    if (!width) return undefined;
    const cols = this.columns();
    const colX = new Map(cols.map((j, k) => [j, GUTTER + (k + 0.5) * ((width - GUTTER) / cols.length)]));
    const height = TOP + levels * LEVEL + 28;
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.ceil(width * dpr);
    this.canvas.height = Math.ceil(height * dpr);
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    const c = this.canvas.getContext('2d')!;
    c.setTransform(dpr, 0, 0, dpr, 0, 0);
    c.clearRect(0, 0, width, height);
    // Level k from the bottom: 2l = the stream into layer l, 2l + 1 = after its attention, 2L = the prediction.
    const y = (level: number) => TOP + (levels - 1 - level) * LEVEL + LEVEL / 2;
    return { c, theme, L, levels, LEVEL, width, cols, colX, y };
  }

  /** Row names in the gutter and a faint vertical line per column. */
  private drawLevels({ c, theme, L, levels, LEVEL, colX, y }: Frame): void {
    c.font = `11px ${getComputedStyle(document.body).fontFamily}`;
    c.textBaseline = 'middle';
    c.fillStyle = rgba(theme.muted, 1);
    for (let l = 0; l <= L; l++) {
      c.fillText(l === L ? t('routes.output') : t('routes.into', l), 4, y(2 * l));
      if (l < L && LEVEL >= 30) c.fillText(t('routes.afterAttention', l), 4, y(2 * l + 1));
    }
    for (const k of colX.values()) {
      c.strokeStyle = rgba(theme.border, 0.35);
      c.beginPath();
      c.moveTo(k, y(levels - 1));
      c.lineTo(k, y(0));
      c.stroke();
    }
  }

  /** One edge, its width by its weight, remembered for hit tests. */
  private drawEdge({ c, theme, colX, y }: Frame, e: RouteEdge): void {
    const line = (x1: number, y1: number, x2: number, y2: number, colour: string) => {
      c.strokeStyle = colour;
      c.lineWidth = 1 + 7 * e.weight;
      c.beginPath();
      c.moveTo(x1, y1);
      c.lineTo(x2, y2);
      c.stroke();
      this.drawn.push({ edge: e, x1, y1, x2, y2 });
    };
    const x1 = colX.get(e.from)!,
      x2 = colX.get(e.to)!;
    if (e.kind === 'head')
      line(x1, y(2 * e.layer), x2, y(2 * e.layer + 1), rgba(theme.palette[e.head % theme.palette.length], 0.55 + 0.45 * Math.min(1, e.weight * 3)));
    else if (e.kind === 'attention-residual') line(x1 - 2, y(2 * e.layer), x2 - 2, y(2 * e.layer + 1), rgba(theme.muted, 0.35 + 0.6 * e.weight));
    else if (e.kind === 'mlp-residual') line(x1 - 2, y(2 * e.layer + 1), x2 - 2, y(2 * e.layer + 2), rgba(theme.muted, 0.35 + 0.6 * e.weight));
    else {
      // The MLP: a square between the stream after attention and the next layer's input.
      const ym = (y(2 * e.layer + 1) + y(2 * e.layer + 2)) / 2;
      line(x1 + 4, y(2 * e.layer + 1), x2 + 4, y(2 * e.layer + 2), rgba(theme.accent, 0.3 + 0.7 * e.weight));
      c.fillStyle = rgba(theme.accent, 0.3 + 0.7 * e.weight);
      c.fillRect(x1 + 4 - 4, ym - 4, 8, 8);
    }
  }

  /** Nodes: every stream position the route passes through; the traced token's prediction at the top. */
  private drawNodes({ c, theme, L, colX, y }: Frame): void {
    const nodes = new Set<string>([`${2 * L}:${this.token}`]);
    for (const e of this.edges) {
      const [a, b] = e.kind === 'head' || e.kind === 'attention-residual' ? [2 * e.layer, 2 * e.layer + 1] : [2 * e.layer + 1, 2 * e.layer + 2];
      nodes.add(`${a}:${e.from}`);
      nodes.add(`${b}:${e.to}`);
    }
    for (const k of nodes) {
      const [lv, j] = k.split(':').map(Number);
      c.fillStyle = rgba(theme.fg, lv === 2 * L ? 1 : 0.75);
      c.beginPath();
      c.arc(colX.get(j)!, y(lv), lv === 2 * L ? 4.5 : 3, 0, Math.PI * 2);
      c.fill();
    }
  }

  /** The strongest attention edges carry their head's name at their middle. */
  private drawHeadNames({ c, theme, colX, y }: Frame): void {
    c.textAlign = 'center';
    for (const e of [...this.edges]
      .filter((x) => x.kind === 'head')
      .sort((a, b) => b.weight - a.weight)
      .slice(0, 8)) {
      const xm = (colX.get(e.from)! + colX.get(e.to)!) / 2,
        ym = (y(2 * e.layer) + y(2 * e.layer + 1)) / 2;
      const label = `L${e.layer}H${e.head}`;
      const w = c.measureText(label).width + 6;
      c.fillStyle = rgba(theme.bg, 0.85);
      c.fillRect(xm - w / 2, ym - 7, w, 14);
      c.fillStyle = rgba(theme.palette[e.head % theme.palette.length], 1);
      c.fillText(label, xm, ym);
    }
  }

  /** Token labels under the columns (thinned out when they would overlap). */
  private drawTokenLabels({ c, theme, width, cols, colX, y }: Frame): void {
    c.fillStyle = rgba(theme.fg, 0.9);
    c.textAlign = 'center';
    const step = Math.max(1, Math.ceil(cols.length / Math.max(1, Math.floor((width - GUTTER) / 56))));
    cols.forEach((j, k) => {
      if (k % step === 0 || j === this.token) c.fillText(this.label(j).slice(0, 10), colX.get(j)!, y(0) + 18);
    });
    c.textAlign = 'start';
  }

  /** The attention edges, strongest first, as buttons that open their head in Arcs. */
  private renderList(heads: RouteEdge[]): void {
    const rows = [...heads]
      .sort((a, b) => b.weight - a.weight)
      .slice(0, 40)
      .map((e) =>
        h(
          'button',
          { type: 'button', class: 'hl-routes-edge', 'data-layer': e.layer, 'data-head': e.head, title: t('routes.open', `L${e.layer}H${e.head}`) },
          t('routes.edge', `L${e.layer}H${e.head}`, e.from, this.label(e.from), e.to, this.label(e.to), (e.weight * 100).toFixed(0)),
        ),
      );
    this.list.replaceChildren(...rows);
  }

  private hit(e: MouseEvent): RouteEdge | undefined {
    const r = this.canvas.getBoundingClientRect();
    const px = e.clientX - r.left,
      py = e.clientY - r.top;
    let best: { d: number; edge: RouteEdge } | undefined;
    for (const d of this.drawn) {
      const vx = d.x2 - d.x1,
        vy = d.y2 - d.y1;
      const len = vx * vx + vy * vy || 1;
      const u = Math.max(0, Math.min(1, ((px - d.x1) * vx + (py - d.y1) * vy) / len));
      const dist = Math.hypot(px - (d.x1 + u * vx), py - (d.y1 + u * vy));
      if (dist < 6 && (!best || dist < best.d || (dist === best.d && d.edge.kind === 'head'))) best = { d: dist, edge: d.edge };
    }
    return best?.edge;
  }

  private hover(e: MouseEvent): void {
    const hit = this.hit(e);
    this.canvas.style.cursor = hit?.kind === 'head' ? 'pointer' : '';
    if (!hit) return;
    const pct = (hit.weight * 100).toFixed(0);
    this.readout.textContent =
      hit.kind === 'head'
        ? t('routes.edge.head', `L${hit.layer}H${hit.head}`, hit.from, this.label(hit.from), hit.to, this.label(hit.to), pct)
        : t(`routes.edge.${hit.kind}` as 'routes.edge.mlp', hit.layer, hit.to, this.label(hit.to), pct);
  }

  repaint(): void {
    if (this.graph) this.paint();
  }
}
