// Heads: a catalog of every head (layers × heads), each a thumbnail of its attention with role badges and
// key scores. Sort by a metric, filter by role; hover/focus shows the role evidence (as text), click opens
// the head in Arcs.
import type { SessionData, WireEffects, WireHead } from '../../src/protocol';
import { directVsTotal } from '../../src/session/sessionMetrics';
import { h } from '../dom';
import { select, setOptions, type Select } from '../controls';
import { roleHint, ROLE_ORDER, roleColour } from '../roles';
import { mix, rgba, type Theme } from '../theme';
import { t } from '../strings';
import { request } from '../channel';

export interface HeadsContext {
  theme(): Theme;
  open(layer: number, head: number): void;
  /** Thumbnails of raw attention or of value-weighted attention (when the session has them). */
  weighting?(): 'attention' | 'value';
}

const fmt = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '—' : v.toFixed(2));
const signed = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(2)}`;

export class HeadsView {
  private session: SessionData | undefined;
  private readonly grid = h('div', { class: 'hl-grid', role: 'group', 'aria-label': t('heads.grid') });
  private readonly evidence = h('div', { class: 'hl-evidence', role: 'status', 'aria-live': 'polite' });
  private readonly legend = h('div', { class: 'hl-legend', 'aria-label': t('heads.legend') });
  private readonly count = h('span', { class: 'hl-count' });
  /** How the session's DLA or head effects were (not) measured: a quiet line, not a banner. */
  private readonly note = h('div', { class: 'hl-note', hidden: true });
  private sortSel!: Select;
  private roleSel!: Select;
  private sortKey = 'order';
  private roleFilter = 'all';
  private built = false;
  private effects: WireEffects | undefined;
  /** Value-weighted thumbnails of one session: asked for the first time the grid shows value weighting. */
  private valueThumbs: { sessionId: number; thumbs?: Uint8Array[] } | undefined;
  renderMs = NaN;

  constructor(
    parent: HTMLElement,
    private readonly ctx: HeadsContext,
  ) {
    const sort = select(t('heads.sort'), [{ value: 'order', label: t('heads.sort.order') }], 'order', (v) => {
      this.sortKey = v;
      this.render();
    });
    const role = select(t('heads.role'), [{ value: 'all', label: t('heads.role.all') }], 'all', (v) => {
      this.roleFilter = v;
      this.render();
    });
    this.sortSel = sort.control;
    this.roleSel = role.control;
    parent.append(h('div', { class: 'hl-controls' }, sort.el, role.el, this.count), this.note, this.legend, this.evidence, this.grid);
    this.grid.addEventListener('click', (e) => {
      const cell = (e.target as HTMLElement).closest<HTMLElement>('[data-layer]');
      if (cell) this.ctx.open(Number(cell.dataset.layer), Number(cell.dataset.head));
    });
    const show = (e: Event) => {
      const cell = (e.target as HTMLElement).closest<HTMLElement>('[data-layer]');
      if (cell) this.showEvidence(Number(cell.dataset.layer), Number(cell.dataset.head));
    };
    this.grid.addEventListener('mouseover', show);
    this.grid.addEventListener('focusin', show);
  }

  setSession(s: SessionData): void {
    this.session = s;
    this.evidence.textContent = '';
    this.built = false;
    const metricOpts = [
      { value: 'order', label: t('heads.sort.order') },
      ...s.metrics.filter((m) => s.heads.some((hd) => Number.isFinite(hd.metrics[m.key]))).map((m) => ({ value: m.key, label: m.label })),
    ];
    if (!metricOpts.some((o) => o.value === this.sortKey)) this.sortKey = 'order';
    setOptions(this.sortSel, metricOpts, this.sortKey);
    const present = ROLE_ORDER.filter((r) => s.heads.some((hd) => hd.roles.some((x) => x.name === r)));
    if (this.roleFilter !== 'all' && this.roleFilter !== 'any' && !(present as readonly string[]).includes(this.roleFilter)) this.roleFilter = 'all';
    this.effects = s.effects;
    const notes = [s.dlaNote, s.effects?.note].filter((x): x is string => Boolean(x));
    this.note.textContent = notes.join(' ');
    this.note.hidden = !notes.length;
    if (this.roleFilter === 'effect' && !this.effects) this.roleFilter = 'all';
    setOptions(
      this.roleSel,
      [
        { value: 'all', label: t('heads.role.all') },
        { value: 'any', label: t('heads.role.any') },
        ...(this.effects ? [{ value: 'effect', label: t('heads.role.effect') }] : []),
        ...present.map((r) => ({ value: r, label: r })),
      ],
      this.roleFilter,
    );
  }

  /** Built on first show (the tab may never be opened). */
  ensure(): void {
    if (!this.built) this.render();
  }

  render(): void {
    const s = this.session;
    if (!s) return;
    const t0 = performance.now();
    this.built = true;
    const theme = this.ctx.theme();
    const H = s.model.headsPerLayer;
    let heads = s.heads.slice();
    if (this.roleFilter === 'any') heads = heads.filter((hd) => hd.roles.length > 0);
    else if (this.roleFilter === 'effect' && this.effects) {
      // The quarter of heads whose removal changes the output most (by |mean effect|).
      const mag = Array.from(this.effects.meanDelta, Math.abs)
        .filter(Number.isFinite)
        .sort((a, b) => b - a);
      const cut = mag[Math.max(0, Math.ceil(mag.length / 4) - 1)] ?? Infinity;
      heads = heads.filter((hd) => Math.abs(hd.metrics.effect) >= cut);
    } else if (this.roleFilter !== 'all') heads = heads.filter((hd) => hd.roles.some((r) => r.name === this.roleFilter));
    const key = this.sortKey;
    if (key !== 'order')
      heads.sort(
        (a, b) =>
          (Number.isNaN(b.metrics[key]) ? -1 : b.metrics[key]) - (Number.isNaN(a.metrics[key]) ? -1 : a.metrics[key]) || a.layer - b.layer || a.head - b.head,
      );
    this.count.textContent = s.analysing ? `analysing ${s.model.layers * H} heads…` : `${heads.length} of ${s.heads.length} heads`;
    this.grid.classList.toggle('hl-grid-layers', key === 'order' && this.roleFilter === 'all');
    if (key === 'order' && this.roleFilter === 'all') this.grid.style.gridTemplateColumns = `auto repeat(${H}, minmax(84px, 1fr))`;
    else this.grid.style.gridTemplateColumns = '';
    const frag = document.createDocumentFragment();
    let lastLayer = -1;
    for (const hd of heads) {
      if (key === 'order' && this.roleFilter === 'all' && hd.layer !== lastLayer) {
        lastLayer = hd.layer;
        frag.append(h('div', { class: 'hl-row-label', 'aria-hidden': 'true' }, `L${hd.layer}`));
      }
      frag.append(this.cell(hd, s, theme));
    }
    this.grid.replaceChildren(frag);
    this.renderLegend(theme, s);
    if (!this.evidence.textContent) this.evidence.textContent = t('heads.hint');
    this.renderMs = performance.now() - t0;
  }

  private cell(hd: WireHead, s: SessionData, theme: Theme): HTMLElement {
    const size = s.thumbSize;
    const c = h('canvas', { class: 'hl-thumb', width: size, height: size, 'aria-hidden': 'true' });
    const thumb = this.thumbnails(s)[hd.layer * s.model.headsPerLayer + hd.head];
    if (thumb && thumb.length >= size * size) {
      const g = c.getContext('2d')!;
      const img = g.createImageData(size, size);
      // Theme ramp: editor background → chart blue; the host already lifted faint structure with a square root.
      const lut = new Uint8ClampedArray(256 * 3);
      for (let v = 0; v < 256; v++) {
        const [r, gg, b] = mix(theme.bg, theme.accent, v / 255);
        lut[v * 3] = r;
        lut[v * 3 + 1] = gg;
        lut[v * 3 + 2] = b;
      }
      for (let p = 0; p < size * size; p++) {
        const v = thumb[p];
        img.data[p * 4] = lut[v * 3];
        img.data[p * 4 + 1] = lut[v * 3 + 1];
        img.data[p * 4 + 2] = lut[v * 3 + 2];
        img.data[p * 4 + 3] = 255;
      }
      g.putImageData(img, 0, 0);
    }
    const roles = hd.roles.slice().sort((a, b) => b.score - a.score);
    const badges = h(
      'div',
      { class: 'hl-badges' },
      ...roles.map((r) => {
        const b = h('span', { class: 'hl-badge' }, `${r.name} ${r.score.toFixed(2)}`);
        b.style.borderColor = rgba(roleColour(r.name, theme), 0.9);
        b.style.backgroundColor = rgba(roleColour(r.name, theme), 0.16);
        return b;
      }),
    );
    const key = this.sortKey !== 'order' ? this.sortKey : 'entropy';
    const label = s.metrics.find((m) => m.key === key)?.label ?? key;
    const second =
      key !== 'effect' && Number.isFinite(hd.metrics.effect)
        ? `effect ${fmt(hd.metrics.effect)}`
        : key !== 'dla' && Number.isFinite(hd.metrics.dla)
          ? `DLA ${signed(hd.metrics.dla)}`
          : `sink ${fmt(hd.metrics.sink)}`;
    const scores = h('div', { class: 'hl-scores' }, `${label.replace(/ \(.*\)$/, '')} ${fmt(hd.metrics[key])} · ${second}`);
    // Where removing the head and its direct write disagree, the cell says so (the evidence says how).
    const k = hd.layer * s.model.headsPerLayer + hd.head;
    if (s.dla && this.effects && directVsTotal(s.dla, this.effects, k, hd.id, hd.layer === s.model.layers - 1, t))
      badges.append(h('span', { class: 'hl-badge hl-badge-note', title: t('heads.directTotal.title') }, t('heads.directTotal')));
    const aria = `${hd.id}: ${roles.length ? roles.map((r) => `${r.name} ${r.score.toFixed(2)}`).join(', ') : 'no role'}; ${label} ${fmt(hd.metrics[key])}. Open in Arcs.`;
    return h(
      'button',
      { class: 'hl-cell', 'data-layer': hd.layer, 'data-head': hd.head, 'aria-label': aria, type: 'button' },
      c,
      h('div', { class: 'hl-cell-body' }, h('div', { class: 'hl-cell-id' }, hd.id), badges, scores),
    );
  }

  private showEvidence(layer: number, head: number): void {
    const hd = this.session?.heads.find((x) => x.layer === layer && x.head === head);
    if (!hd) return;
    const title = h('strong', {}, hd.id);
    const s = this.session!;
    const k = layer * s.model.headsPerLayer + head;
    const effect = this.effects?.sentences[k];
    const direct = s.dla?.sentences[k];
    const gap = s.dla && this.effects ? directVsTotal(s.dla, this.effects, k, hd.id, hd.layer === s.model.layers - 1, t) : undefined;
    const line = (label: string, text: string) => h('div', { class: 'hl-evidence-line' }, h('span', { class: 'hl-evidence-role' }, label), text);
    const effectLine = [
      ...(direct ? [line(`${t('heads.dla.label')}: `, direct)] : []),
      ...(effect ? [line(`effect (${this.effects!.method}): `, effect)] : []),
      ...(gap ? [line('', gap)] : []),
    ];
    if (!hd.roles.length) {
      this.evidence.replaceChildren(title, document.createTextNode(' — no role passed its threshold on this text.'), ...effectLine);
      return;
    }
    this.evidence.replaceChildren(
      title,
      ...hd.roles.map((r) =>
        h(
          'div',
          { class: 'hl-evidence-line' },
          h(
            'span',
            { class: 'hl-evidence-role' },
            `${r.name} ${r.score.toFixed(2)} (threshold ${r.threshold.toFixed(2)}, ${r.source === 'probe' ? 'repeat probe' : 'this text'}): `,
          ),
          r.evidence,
        ),
      ),
      ...effectLine,
    );
  }

  private renderLegend(theme: Theme, s: SessionData): void {
    const present = ROLE_ORDER.filter((r) => s.heads.some((hd) => hd.roles.some((x) => x.name === r)));
    const roles = present.length ? present : ROLE_ORDER.slice(0, 5);
    this.legend.replaceChildren(
      ...roles.map((r) => {
        const sw = h('span', { class: 'hl-swatch', 'aria-hidden': 'true' });
        sw.style.backgroundColor = rgba(roleColour(r, theme), 0.9);
        return h('span', { class: 'hl-legend-item', title: roleHint(r) }, sw, `${r}: ${roleHint(r)}`);
      }),
    );
  }

  repaint(): void {
    if (this.built) this.render();
  }

  /**
   * The thumbnails to draw: of attention, or — with value weighting on — of value-weighted attention, which no
   * explain makes up front: the first grid that needs them asks the host once (attention shows meanwhile).
   */
  private thumbnails(s: SessionData): Uint8Array[] {
    if (this.ctx.weighting?.() !== 'value' || !s.valueNorms) return s.thumbnails;
    if (s.valueThumbnails) return s.valueThumbnails;
    if (s.analysing) return s.thumbnails; // the heads are still streaming: ask once they are in
    if (this.valueThumbs?.sessionId !== s.id) {
      const entry: { sessionId: number; thumbs?: Uint8Array[] } = { sessionId: s.id };
      this.valueThumbs = entry;
      request('heads/valueThumbnails', { sessionId: s.id }).then(
        (r) => {
          entry.thumbs = r.thumbnails;
          if (this.session?.id === s.id && this.built) this.render();
        },
        () => {
          if (this.valueThumbs === entry) this.valueThumbs = undefined;
        },
      ); // asked again on the next render
    }
    return this.valueThumbs.thumbs ?? s.thumbnails;
  }
}
