// Flow: where one token's final representation comes from, layer by layer (attention rollout with the
// residual, computed by the host). A canvas heatmap (rows = layers, output at the top, input at the bottom;
// columns = tokens) sits above the token text, which is shaded by the input-side share.
import type { FlowData, SessionData } from '../../src/protocol';
import { h } from '../dom';
import { request } from '../channel';
import { rgba, type Theme } from '../theme';
import { TokenStrip } from './tokens';
import { t } from '../strings';

export interface FlowContext {
  theme(): Theme;
  weighting(): 'attention' | 'value';
}

const ROW = 20,
  GUTTER = 72;

export class FlowView {
  private session: SessionData | undefined;
  private readonly cache = new Map<string, Promise<FlowData>>();
  private readonly canvas = h('canvas', { class: 'hl-flow-canvas', role: 'img' });
  private readonly readout = h('div', { class: 'hl-status', role: 'status', 'aria-live': 'polite' });
  private readonly strip: TokenStrip;
  private data: FlowData | undefined;
  private token = -1;
  private pending = 0;
  private built = false;

  constructor(
    parent: HTMLElement,
    private readonly ctx: FlowContext,
  ) {
    this.strip = new TokenStrip({
      label: t('flow.tokens'),
      onFocus: (i) => {
        if (i === null) return;
        clearTimeout(this.pending);
        // Rollout is computed by the host: wait for the pointer to settle before asking.
        this.pending = window.setTimeout(() => void this.choose(i), 90);
      },
    });
    this.canvas.addEventListener('mousemove', (e) => this.hover(e));
    new ResizeObserver(() => {
      if (this.data) this.paint();
    }).observe(parent);
    parent.append(h('p', { class: 'hl-summary' }, t('flow.summary')), this.readout, this.canvas, this.strip.el);
  }

  /** The weighting changed: trace the same token again. */
  reweigh(): void {
    if (this.built && this.token >= 0) void this.choose(this.token);
  }

  /** The same session with its value norms (measured after the first paint): value-weighted Flow becomes available. */
  lateValueNorms(s: SessionData): void {
    if (this.session?.id !== s.id) return;
    this.session = { ...this.session, valueNorms: s.valueNorms, valueNormsNote: s.valueNormsNote };
    this.reweigh(); // a pathway shown meanwhile follows the weighting the panel asks for
  }

  setSession(s: SessionData): void {
    this.session = s;
    this.cache.clear();
    this.data = undefined;
    this.built = false;
    this.token = -1;
    this.strip.render(s);
  }

  ensure(preferred: number | null): void {
    const s = this.session;
    if (!s || !s.model.layers) return;
    if (!this.built || (preferred !== null && preferred !== this.token)) {
      this.built = true;
      let t = preferred ?? s.tokens.length - 1;
      // Default: the last token with visible text (a trailing newline or [SEP] traces nothing interesting).
      while (preferred === null && t > 0 && (s.tokens[t].special || !s.text.slice(s.tokens[t].start, s.tokens[t].end).trim())) t--;
      void this.choose(t);
    } else if (this.data) this.paint();
  }

  async choose(token: number): Promise<void> {
    const s = this.session;
    if (!s) return;
    this.token = token;
    // Value-weighted rollout runs over α_ij · ‖v_j W_O^h‖ with rows renormalised (Kobayashi et al. 2020).
    const weighting = this.ctx.weighting() === 'value' && s.valueNorms ? 'value' : 'attention';
    const key = `${weighting}:${token}`;
    let p = this.cache.get(key);
    if (!p) {
      p = request('flow/rollout', { sessionId: s.id, token, ...(weighting === 'value' ? { weighting } : {}) });
      this.cache.set(key, p);
      p.catch(() => this.cache.delete(key));
    }
    try {
      const d = await p;
      if (this.session !== s || this.token !== token) return;
      this.data = d;
      this.strip.mark(token);
      this.paint();
    } catch (e) {
      this.readout.textContent = t('flow.failed', token, (e as Error).message);
    }
  }

  private label(j: number): string {
    const t = this.session!.tokens[j];
    return JSON.stringify(t.special ? t.text : this.session!.text.slice(t.start, t.end));
  }

  private paint(): void {
    const s = this.session,
      d = this.data;
    if (!s || !d) return;
    const theme = this.ctx.theme();
    const n = s.tokens.length,
      L = d.layers.length;
    const width = this.canvas.parentElement!.clientWidth;
    if (!width) return;
    const rows = L + 1,
      height = rows * ROW + 18;
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.ceil(width * dpr);
    this.canvas.height = Math.ceil(height * dpr);
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    const g = this.canvas.getContext('2d')!;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, width, height);
    const cw = (width - GUTTER) / n;
    g.font = `11px ${getComputedStyle(document.body).fontFamily}`;
    g.textBaseline = 'middle';
    for (let r = 0; r < rows; r++) {
      // Row 0 is the output (the token itself); then the inputs of layers L−1 … 0.
      const layer = L - r;
      const y = r * ROW;
      g.fillStyle = rgba(theme.muted, 1);
      g.fillText(r === 0 ? 'output' : `into L${layer}`, 4, y + ROW / 2);
      const v = r === 0 ? null : d.layers[layer];
      let max = 0;
      if (v) for (let j = 0; j < n; j++) if (v[j] > max) max = v[j];
      for (let j = 0; j < n; j++) {
        const w = v ? (max > 0 ? v[j] / max : 0) : j === d.token ? 1 : 0;
        if (w <= 0.002) continue;
        g.fillStyle = rgba(theme.accent, 0.08 + 0.92 * Math.sqrt(w));
        g.fillRect(GUTTER + j * cw, y + 1, Math.max(1, cw - (cw > 3 ? 1 : 0)), ROW - 2);
      }
    }
    g.strokeStyle = rgba(theme.fg, 0.85);
    g.lineWidth = 1;
    g.strokeRect(GUTTER + d.token * cw - 0.5, 0.5, Math.max(2, cw) + 1, rows * ROW - 1);
    g.fillStyle = rgba(theme.muted, 1);
    g.fillText(`token ${d.token} →`, Math.min(width - 80, Math.max(GUTTER, GUTTER + d.token * cw - 30)), rows * ROW + 9);
    this.canvas.setAttribute('aria-label', t('flow.aria', d.token, this.label(d.token), L));
    // The text below: shaded by the share each token contributes at the input (layer 0).
    const input = d.layers[0];
    let max = 0;
    for (let j = 0; j < n; j++) if (input[j] > max) max = input[j];
    for (let j = 0; j < n; j++) {
      const el = this.strip.element(j);
      if (el) el.style.backgroundColor = max > 0 && input[j] / max > 0.01 ? rgba(theme.accent, 0.6 * Math.sqrt(input[j] / max)) : '';
    }
    const top = Array.from(input, (v, j) => [v, j] as const)
      .sort((a, b) => b[0] - a[0])
      .slice(0, 5);
    this.readout.textContent = t('flow.top', d.token, this.label(d.token), top.map(([v, j]) => `${this.label(j)} ${(v * 100).toFixed(1)}%`).join(', '));
  }

  private hover(e: MouseEvent): void {
    const s = this.session,
      d = this.data;
    if (!s || !d) return;
    const r = this.canvas.getBoundingClientRect();
    const n = s.tokens.length,
      L = d.layers.length;
    const j = Math.floor((e.clientX - r.left - GUTTER) / ((r.width - GUTTER) / n));
    const row = Math.floor((e.clientY - r.top) / ROW);
    if (j < 0 || j >= n || row < 1 || row > L) return;
    const layer = L - row;
    this.readout.textContent = t('flow.into', layer, j, this.label(j), (d.layers[layer][j] * 100).toFixed(1), d.token, this.label(d.token));
  }

  repaint(): void {
    if (this.data) this.paint();
  }
}
