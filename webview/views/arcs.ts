// Arcs: the tokens as text with token-to-token attention drawn on two canvases behind them: a base layer
// (every selected arc of the chosen head(s)) and a hover layer (the hovered token's arcs and the keys it
// attends to). Hover redraws only the hover layer; the base layer is dimmed with CSS opacity, not redrawn.
import type { HeadMatrix, PanelState, SessionData, WireEffects } from '../../src/protocol';
import { h } from '../dom';
import { notify } from '../channel';
import { describeSelection, hoverKeys, selectArcs } from '../arcmath';
import type { MatrixCache } from '../matrices';
import { rgba, type Theme } from '../theme';
import { ArcsControls } from './arcsControls';
import { arc, drawHoverArcs, drawParseEdges, hoverBox, type HeadArcs } from './arcsDraw';
import { dlaLine, parseLine, predictionLine, tokenName } from './arcsDetail';
import { TokenStrip, type TokenLayout } from './tokens';
import { arcsSvg, type SvgArc, type SvgToken } from '../exporter';
import { t } from '../strings';

const BUCKETS = 8;

export interface ArcsContext {
  state(): PanelState;
  update(patch: Partial<PanelState>): void;
  theme(): Theme;
}

export class ArcsView {
  private session: SessionData | undefined;
  private cache: MatrixCache | undefined;
  private heads: HeadArcs[] = [];
  private readonly strip: TokenStrip;
  private readonly bar: ArcsControls;
  private readonly base = h('canvas', { class: 'hl-arcs-canvas', 'aria-hidden': 'true' });
  private readonly over = h('canvas', { class: 'hl-arcs-canvas hl-arcs-hover', 'aria-hidden': 'true' });
  private readonly stage = h('div', { class: 'hl-stage' });
  private readonly status = h('div', { class: 'hl-status', role: 'status', 'aria-live': 'polite' });
  private readonly detail = h('div', { class: 'hl-detail', 'aria-live': 'polite' });
  private shade = false;
  private readonly shadeLegend = h('div', { class: 'hl-shade-legend', hidden: true });
  private effects: WireEffects | undefined;
  private hover: number | null = null;
  private fromCursor = false;
  private gen = 0;
  private dirty: [number, number, number, number] | null = null;
  /** Milliseconds from session arrival to the first arcs on screen (read by tests and the benchmark). */
  firstPaintMs = NaN;
  /** Of which: waiting for the host's matrices, and the page's own work (layout, selection, drawing). */
  fetchMs = NaN;

  constructor(
    parent: HTMLElement,
    private readonly ctx: ArcsContext,
  ) {
    this.strip = new TokenStrip({
      label: t('arcs.tokens'),
      onFocus: (i) => {
        this.fromCursor = false;
        this.setHover(i, true);
      },
      onLayout: () => this.paintAll(),
    });
    this.bar = new ArcsControls(ctx.state(), {
      update: (patch) => this.ctx.update(patch),
      shade: (on) => {
        this.shade = on;
        this.paintShade();
      },
      relation: () => {
        if (this.hover !== null) this.paintHover();
      },
      heads: () => void this.refresh(),
    });
    this.stage.append(this.base, this.over, this.strip.el);
    parent.append(this.bar.el, this.shadeLegend, this.status, this.stage, this.detail);
  }

  get tokens(): TokenStrip {
    return this.strip;
  }

  /** Head effects arrived (or were cleared): the hover line adds what removing the shown head does at the token. */
  setEffects(e: WireEffects | undefined): void {
    this.effects = e;
    if (this.hover !== null) this.paintHover();
  }

  /** Token backgrounds by surprisal, with a legend saying what the shade means; off: plain tokens. */
  private paintShade(): void {
    const s = this.session;
    const p = s?.predictions;
    const on = this.shade && Boolean(p);
    this.shadeLegend.hidden = !on;
    if (!s) return;
    let max = 0;
    if (p) for (let i = 0; i + 1 < s.tokens.length; i++) if (Number.isFinite(p.loss[i]) && p.loss[i] > max) max = p.loss[i];
    for (let j = 0; j < s.tokens.length; j++) {
      const el = this.strip.element(j);
      if (!el) continue;
      const loss = p && j > 0 ? p.loss[j - 1] : NaN;
      if (!on || !Number.isFinite(loss) || max <= 0) {
        el.style.removeProperty('background-color');
        continue;
      }
      // Theme colour through a --vscode-* variable, mixed by share of the largest surprisal.
      el.style.backgroundColor = `color-mix(in srgb, var(--vscode-charts-red) ${Math.round((loss / max) * 60)}%, transparent)`;
    }
    if (on) this.shadeLegend.textContent = t('arcs.shade.legend', max.toFixed(1));
  }

  /** The same session with its value norms (measured after the first paint): the weighting control wakes up, nothing resets. */
  lateValueNorms(session: SessionData): void {
    if (this.session?.id !== session.id) return;
    this.session = { ...this.session, valueNorms: session.valueNorms, valueNormsNote: session.valueNormsNote };
    void this.refresh();
  }

  setSession(session: SessionData, cache: MatrixCache): void {
    this.session = session;
    this.cache = cache;
    this.heads = [];
    this.hover = null;
    this.firstPaintMs = NaN;
    const t0 = performance.now();
    this.bar.setSession(session, this.ctx.state());
    performance.mark('hl:render-start');
    this.strip.render(session);
    performance.measure('hl:tokens-render', 'hl:render-start');
    this.effects = undefined;
    this.bar.offerShade(session);
    this.paintShade();
    this.fetchMs = NaN;
    void this.refresh().then(() => {
      this.firstPaintMs = performance.now() - t0;
    });
  }

  /** Bring controls and drawing in line with the panel state (called after every state change). */
  async refresh(): Promise<void> {
    const session = this.session,
      cache = this.cache;
    if (!session || !cache || !session.model.layers) return;
    const s = this.ctx.state();
    const theme = this.ctx.theme();
    const H = session.model.headsPerLayer;
    this.bar.sync(session, s, theme);

    const wanted = this.bar.shownHeads(s, H);
    const gen = ++this.gen;
    const mats = await this.fetchHeads(cache, s.layer, wanted);
    if (!mats) return;
    if (gen !== this.gen || session !== this.session) return; // a newer refresh superseded this one
    const norms = this.selectHeads(session, s, theme, mats);
    this.writeStatus(s, H, norms);
    this.paintAll();
    if (this.hover !== null) this.setHover(this.hover, !this.fromCursor);
  }

  /** The heads' matrices from the cache (the first wait timed as fetchMs); a failure is said in the status line. */
  private async fetchHeads(cache: MatrixCache, layer: number, wanted: number[]): Promise<HeadMatrix[] | undefined> {
    try {
      const tf = performance.now();
      const mats = await Promise.all(wanted.map((hh) => cache.get(layer, hh)));
      if (Number.isNaN(this.fetchMs)) this.fetchMs = performance.now() - tf;
      return mats;
    } catch (e) {
      this.status.textContent = t('arcs.loadFailed', (e as Error).message);
      return undefined;
    }
  }

  /** Each head's arcs by top-k and threshold (value-weighted first when asked and available); returns the norms used. */
  private selectHeads(session: SessionData, s: PanelState, theme: Theme, mats: HeadMatrix[]): SessionData['valueNorms'] {
    const H = session.model.headsPerLayer;
    const causal = session.model.kind === 'causal';
    performance.mark('hl:select-start');
    const norms = s.weighting === 'value' ? session.valueNorms : undefined;
    this.heads = mats.map((raw) => {
      const mat = norms ? reweighMatrix(raw, norms.data, H) : raw;
      return { head: mat.head, mat, colour: theme.palette[mat.head % theme.palette.length], sel: selectArcs(mat.data, mat.seq, causal, s.topK, s.threshold) };
    });
    performance.measure('hl:arcs-select', 'hl:select-start');
    return norms;
  }

  /** The status line: what is shown (head or layer, weighting) and how many arcs top-k and threshold left out. */
  private writeStatus(s: PanelState, H: number, norms: SessionData['valueNorms']): void {
    const sum = this.heads.reduce(
      (a, x) => ({
        total: a.total + x.sel.total,
        shown: a.shown + x.sel.shown,
        hiddenByTopK: a.hiddenByTopK + x.sel.hiddenByTopK,
        hiddenByThreshold: a.hiddenByThreshold + x.sel.hiddenByThreshold,
      }),
      { total: 0, shown: 0, hiddenByTopK: 0, hiddenByThreshold: 0 },
    );
    const what =
      (s.mode === 'head' ? `L${s.layer}H${s.head}` : `layer ${s.layer}, ${this.heads.length} of ${H} heads`) +
      (norms ? ` (value-weighted: α·‖v${norms.weighting === 'value' ? '' : ' W_O'}‖)` : '');
    this.status.textContent = `${what}: ${describeSelection(sum, s.topK, s.threshold)}`;
    this.stage.dataset.shown = String(sum.shown);
  }

  /** The editor cursor moved into token i (host): shown like a hover, but not echoed back to the host. */
  cursor(i: number | null): void {
    if (this.strip.isLocked) return;
    this.fromCursor = true;
    this.strip.mark(i, true);
    this.setHover(i, false);
  }

  private setHover(i: number | null, tell: boolean): void {
    this.hover = i;
    this.paintHover();
    if (!tell || !this.session) return;
    const s = this.ctx.state();
    const keys =
      i === null
        ? []
        : hoverKeys(
            this.heads.map((x) => x.mat.data),
            this.session.tokens.length,
            i,
            this.session.model.kind === 'causal',
            Math.min(64, Math.max(16, s.topK)),
          );
    notify({ type: 'token/hover', index: i, keys });
  }

  private sizeCanvas(c: HTMLCanvasElement, l: TokenLayout): CanvasRenderingContext2D {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.ceil(l.width),
      hh = Math.ceil(l.height);
    if (c.width !== Math.ceil(w * dpr) || c.height !== Math.ceil(hh * dpr)) {
      c.width = Math.ceil(w * dpr);
      c.height = Math.ceil(hh * dpr);
      c.style.width = `${w}px`;
      c.style.height = `${hh}px`;
    }
    const g = c.getContext('2d')!;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    return g;
  }

  private paintAll(): void {
    performance.mark('hl:layout-start');
    const l = this.strip.layout();
    performance.measure('hl:tokens-layout', 'hl:layout-start');
    if (!l) return;
    performance.mark('hl:paint-start');
    const g = this.sizeCanvas(this.base, l);
    g.clearRect(0, 0, l.width, l.height);
    this.sizeCanvas(this.over, l);
    this.dirty = [0, 0, l.width, l.height];
    g.lineCap = 'round';
    for (const x of this.heads) {
      // One path per weight bucket: a few strokes for thousands of arcs.
      const paths = Array.from({ length: BUCKETS }, () => new Path2D());
      const { off, keys, bytes } = x.sel;
      for (let i = 0; i + 1 < off.length; i++) {
        for (let t = off[i]; t < off[i + 1]; t++) {
          arc(paths[Math.min(BUCKETS - 1, (bytes[t] * BUCKETS) >> 8)], l, i, keys[t]);
        }
      }
      paths.forEach((p, b) => {
        const w = (b + 0.5) / BUCKETS;
        g.strokeStyle = rgba(x.colour, 0.1 + 0.75 * w);
        g.lineWidth = 0.5 + 2.5 * w;
        g.stroke(p);
      });
    }
    performance.measure('hl:arcs-paint', 'hl:paint-start');
    this.paintHover();
  }

  /** Only the hover layer: the previous hover's bounding box is cleared, the new token's arcs drawn. */
  private paintHover(): void {
    const l = this.strip.layout();
    if (!l) return;
    const g = this.over.getContext('2d')!;
    if (this.dirty) g.clearRect(this.dirty[0] - 2, this.dirty[1] - 2, this.dirty[2] + 4, this.dirty[3] + 4);
    this.dirty = null;
    const i = this.hover;
    this.base.style.opacity = i === null ? '1' : '0.18';
    this.detail.textContent = '';
    if (i === null || i >= l.x.length) return;
    const incoming = this.ctx.state().showIncoming;
    const box = hoverBox(l, i);
    g.lineCap = 'round';
    const lines = drawHoverArcs(g, l, this.heads, i, incoming, box.grow, this.session);
    // The chosen relation's gold edges at this token, dashed.
    const gold = this.session?.relations?.find((r) => r.name === this.bar.relation);
    const parse = gold ? drawParseEdges(g, l, gold.edges, i, incoming, this.ctx.theme().fg, box.grow) : [];
    g.strokeStyle = rgba(this.ctx.theme().fg, 0.8);
    g.lineWidth = 1.5;
    g.strokeRect(l.x[i] - l.w[i] / 2, l.y[i], l.w[i], l.hgt[i]);
    this.dirty = box.rect();
    if (this.session) this.writeDetail(this.session, i, incoming, lines, gold && { name: gold.name, parse });
  }

  /** The hover line: each head's strongest arcs at token i, the prediction, direct attribution, syntax, parse edges. */
  private writeDetail(s: SessionData, i: number, incoming: boolean, lines: string[], gold: { name: string; parse: number[] } | undefined): void {
    const name = tokenName(s, i);
    this.detail.textContent = `${incoming ? t('arcs.detail.incoming', i, name) : t('arcs.detail.outgoing', i, name)} — ${lines.join(' · ') || t('arcs.detail.nothing')}`;
    const more = predictionLine(s, this.ctx.state(), this.effects, i);
    if (more) this.detail.append(h('div', { class: 'hl-detail-line' }, more));
    const direct = dlaLine(s, this.ctx.state(), i);
    if (direct) this.detail.append(h('div', { class: 'hl-detail-line' }, direct));
    // The parse's node type (code) or the tagger's word class (prose), when the syntax roles read the text.
    const syntax = s.tokens[i].syntax;
    if (syntax) this.detail.append(h('div', { class: 'hl-detail-line' }, t('arcs.syntax', syntax)));
    if (gold) this.detail.append(h('div', { class: 'hl-detail-line' }, parseLine(s, gold.name, gold.parse, incoming)));
  }

  /** The arcs drawn now (every selected arc of the shown heads) as an SVG document. */
  toSvg(): { svg: string; width: number; height: number } {
    const l = this.strip.layout();
    const session = this.session;
    if (!l || !session || !this.heads.length) throw new Error(t('arcs.nothingDrawn'));
    const tokens: SvgToken[] = session.tokens.map((t, i) => ({
      text: t.special ? t.text : session.text.slice(t.start, t.end),
      x: l.x[i],
      y: l.y[i],
      w: l.w[i],
      h: l.hgt[i],
      special: t.special,
    }));
    const arcs: SvgArc[] = [];
    for (const x of this.heads) {
      const { off, keys, bytes } = x.sel;
      for (let i = 0; i + 1 < off.length; i++)
        for (let t = off[i]; t < off[i + 1]; t++) arcs.push({ from: i, to: keys[t], weight: bytes[t] / 255, colour: x.colour });
    }
    const s = this.ctx.state();
    const what = s.mode === 'head' ? `L${s.layer}H${s.head}` : `layer ${s.layer}`;
    const theme = this.ctx.theme();
    const svg = arcsSvg(
      tokens,
      arcs,
      { width: l.width, height: l.height, lineHeight: l.lineHeight },
      theme,
      `${session.title} — ${session.model.name} ${what}, top-${s.topK}, weight ≥ ${s.threshold}`,
    );
    return { svg, width: Math.ceil(l.width), height: Math.ceil(l.height) };
  }

  /** Theme changed: colours are baked into the canvases. */
  repaint(): void {
    const theme = this.ctx.theme();
    for (const x of this.heads) x.colour = theme.palette[x.head % theme.palette.length];
    this.paintAll();
  }
}

/**
 * A head's quantised matrix value-weighted: row i's weights times ‖v_j W_O^h‖, renormalised to sum to 1
 * (Kobayashi et al. 2020), quantised again like the host's (weight ≈ byte / 255).
 */
export function reweighMatrix(m: HeadMatrix, norms: Float32Array, headsPerLayer: number): HeadMatrix {
  const n = m.seq;
  const off = (m.layer * headsPerLayer + m.head) * n;
  const out = new Uint8Array(n * n);
  const row = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) {
      row[j] = m.data[i * n + j] * norms[off + j];
      s += row[j];
    }
    if (s <= 0) continue;
    for (let j = 0; j < n; j++) out[i * n + j] = Math.round((row[j] / s) * 255);
  }
  return { ...m, data: out };
}
