// Compare: two sessions of the same text side by side — the role changes between them (appears, vanishes,
// moves, stays), per-layer entropy and distance of both overlaid, the token alignment (by source characters
// when the tokenizers differ, and the view says so), and both head catalogs with their roles.
import { loadedPlotly, plotly } from '../chartsLoader';
import { sessionWithEffects } from '../../src/session/sessionMetrics';
import type { CompareDiff, SessionData } from '../../src/protocol';
import { h } from '../dom';
import { hex, rgba, type Theme } from '../theme';
import { HeadsView } from './heads';
import { t } from '../strings';

export interface CompareContext {
  theme(): Theme;
}

const KIND_LABEL = { appears: 'compare.kind.appears', vanishes: 'compare.kind.vanishes', moves: 'compare.kind.moves', kept: 'compare.kind.kept' } as const;
const CHARTS = (): { key: string; title: string; axis: string }[] => [
  { key: 'entropy', title: t('chart.entropy'), axis: t('chart.entropy.axis') },
  { key: 'distance', title: t('chart.distance'), axis: t('chart.distance.axis') },
];
const MAX_GROUPS = 400;

export class CompareView {
  readonly el = h('section', { class: 'hl-view hl-view-compare', 'aria-label': t('compare.aria') });
  private readonly summary = h('div', { class: 'hl-compare-summary' });
  private readonly changes = h('ul', { class: 'hl-changes', 'aria-label': t('compare.changes') });
  private readonly kept = h('details', { class: 'hl-kept' });
  private readonly effects = h('div', { class: 'hl-compare-effects' });
  private readonly charts = CHARTS().map((c) => ({ ...c, el: h('div', { class: 'hl-chart', role: 'img', 'aria-label': t('chart.bothModels', c.title) }) }));
  /** The charts' layer means as a table, for screen readers and keyboards. */
  private readonly layerBody = h('tbody');
  private readonly layerTable = h(
    'details',
    { class: 'hl-layers-table' },
    h('summary', {}, t('compare.table')),
    h(
      'table',
      { 'aria-label': t('compare.table.aria') },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...[t('layers.col.layer'), t('compare.col.entropyA'), t('compare.col.entropyB'), t('compare.col.distanceA'), t('compare.col.distanceB')].map((c) =>
            h('th', { scope: 'col' }, c),
          ),
        ),
      ),
      this.layerBody,
    ),
  );
  private readonly align = h('div', { class: 'hl-align', role: 'table', 'aria-label': t('compare.align') });
  private readonly alignNote = h('p', { class: 'hl-summary hl-align-note' });
  private readonly colA = h('div', { class: 'hl-compare-col' });
  private readonly colB = h('div', { class: 'hl-compare-col' });
  private readonly titleA = h('h3', { class: 'hl-compare-head' });
  private readonly titleB = h('h3', { class: 'hl-compare-head' });
  private readonly headsA: HeadsView;
  private readonly headsB: HeadsView;
  private data: { a: SessionData; b: SessionData; diff: CompareDiff } | undefined;
  private drawn = false;

  constructor(private readonly ctx: CompareContext) {
    const noop = () => undefined;
    const bodyA = h('div'),
      bodyB = h('div');
    this.colA.append(this.titleA, bodyA);
    this.colB.append(this.titleB, bodyB);
    this.headsA = new HeadsView(bodyA, { theme: () => ctx.theme(), open: noop });
    this.headsB = new HeadsView(bodyB, { theme: () => ctx.theme(), open: noop });
    this.el.append(
      this.summary,
      this.changes,
      this.kept,
      this.effects,
      h('h3', { class: 'hl-compare-head' }, t('compare.perLayer')),
      this.layerTable,
      ...this.charts.map((c) => c.el),
      h('h3', { class: 'hl-compare-head' }, t('compare.tokens')),
      this.alignNote,
      this.align,
      h('h3', { class: 'hl-compare-head' }, t('compare.catalogs')),
      h('div', { class: 'hl-compare-cols' }, this.colA, this.colB),
    );
    new ResizeObserver(() => {
      if (this.drawn) for (const c of this.charts) if (c.el.clientWidth) loadedPlotly()?.Plots.resize(c.el);
    }).observe(this.el);
  }

  show(a: SessionData, b: SessionData, diff: CompareDiff): void {
    this.data = { a, b, diff };
    this.fillLayerTable(diff);
    const { labels } = diff;
    const moved = diff.changes.filter((c) => c.kind === 'moves').length;
    const appeared = diff.changes.filter((c) => c.kind === 'appears').length;
    const vanished = diff.changes.filter((c) => c.kind === 'vanishes').length;
    this.summary.replaceChildren(
      h('p', {}, h('strong', {}, 'A: '), `${labels.a} · ${a.model.layers} × ${a.model.headsPerLayer} heads · ${a.tokens.length} tokens`),
      h('p', {}, h('strong', {}, 'B: '), `${labels.b} · ${b.model.layers} × ${b.model.headsPerLayer} heads · ${b.tokens.length} tokens`),
      h(
        'p',
        { class: 'hl-summary' },
        diff.changes.length === 0
          ? t('compare.none', diff.kept.length)
          : t('compare.summary', appeared === 1 ? t('compare.roles.one') : t('compare.roles', appeared), vanished, moved, diff.kept.length) +
              (diff.sameShape ? '' : t('compare.shape')),
      ),
    );
    this.changes.replaceChildren(
      ...diff.changes.map((c) =>
        h(
          'li',
          { class: `hl-change hl-change-${c.kind}`, 'data-kind': c.kind, 'data-role': c.role },
          h('span', { class: 'hl-change-kind' }, t(KIND_LABEL[c.kind])),
          ' ',
          c.sentence,
        ),
      ),
    );
    this.kept.replaceChildren(
      h('summary', {}, diff.kept.length === 1 ? t('compare.kept.one') : t('compare.kept', diff.kept.length)),
      h('ul', {}, ...diff.kept.map((c) => h('li', { class: 'hl-change hl-change-kept' }, c.sentence))),
    );
    this.alignNote.textContent = diff.alignment.note;
    this.renderAlignment(a, b, diff);
    this.renderEffects(a, b, diff);
    this.titleA.textContent = `A: ${labels.a}`;
    this.titleB.textContent = `B: ${labels.b}`;
    this.headsA.setSession(a.effects ? sessionWithEffects(a, a.effects, t) : a);
    this.headsB.setSession(b.effects ? sessionWithEffects(b, b.effects, t) : b);
    this.headsA.render();
    this.headsB.render();
    this.drawn = false;
    requestAnimationFrame(() => void this.renderCharts());
  }

  /** What removing each head does in A and in B: the heads whose effect changed most, by (layer, head). */
  private renderEffects(a: SessionData, b: SessionData, diff: CompareDiff): void {
    const title = h('h3', { class: 'hl-compare-head' }, t('compare.effects'));
    if (!a.effects || !b.effects) {
      this.effects.replaceChildren(title, h('p', { class: 'hl-summary' }, t('compare.effects.unmeasured')));
      return;
    }
    if (!diff.sameShape || a.effects.method !== b.effects.method) {
      this.effects.replaceChildren(title, h('p', { class: 'hl-summary' }, t('compare.effects.unpaired')));
      return;
    }
    const H = a.model.headsPerLayer;
    const rows = Array.from(a.effects.meanDelta, (va, k) => ({ k, va, vb: b.effects!.meanDelta[k] }))
      .filter((r) => Number.isFinite(r.va) && Number.isFinite(r.vb))
      .sort((x, y) => Math.abs(y.vb - y.va) - Math.abs(x.vb - x.va))
      .slice(0, 8);
    const unit = a.effects.method.includes('loss') ? ' nats' : '';
    const sg = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(2)}`;
    this.effects.replaceChildren(
      title,
      h('p', { class: 'hl-summary' }, t('compare.effects.intro', a.effects.method)),
      h(
        'ul',
        { class: 'hl-changes', 'aria-label': t('compare.effects.aria') },
        ...rows.map((r) =>
          h(
            'li',
            { class: 'hl-change', 'data-head': `L${Math.floor(r.k / H)}H${r.k % H}` },
            t('compare.effects.row', `L${Math.floor(r.k / H)}H${r.k % H}`, `${sg(r.va)}${unit}`, `${sg(r.vb)}${unit}`, sg(r.vb - r.va)),
          ),
        ),
      ),
    );
  }

  private renderAlignment(a: SessionData, b: SessionData, diff: CompareDiff): void {
    const text = (s: SessionData, idx: number[]) => idx.map((i) => s.text.slice(s.tokens[i].start, s.tokens[i].end)).join('·');
    const groups = diff.alignment.spans.slice(0, MAX_GROUPS);
    this.align.replaceChildren(
      ...groups.map((g) => {
        const cls = g.a.length === 1 && g.b.length === 1 ? 'hl-align-one' : g.a.length && g.b.length ? 'hl-align-many' : 'hl-align-only';
        return h(
          'div',
          { class: `hl-align-group ${cls}`, role: 'row', title: `characters ${g.start}–${g.end}: ${g.a.length} token(s) in A, ${g.b.length} in B` },
          h('span', { class: 'hl-align-a', role: 'cell' }, g.a.length ? text(a, g.a) : '∅'),
          h('span', { class: 'hl-align-b', role: 'cell' }, g.b.length ? text(b, g.b) : '∅'),
        );
      }),
    );
    if (diff.alignment.spans.length > MAX_GROUPS)
      this.align.append(h('div', { class: 'hl-summary' }, `… and ${diff.alignment.spans.length - MAX_GROUPS} more spans`));
  }

  private fillLayerTable(diff: CompareDiff): void {
    const series = (key: string) => diff.layers.find((x) => x.key === key) ?? { a: [], b: [] };
    const ent = series('entropy'),
      dist = series('distance');
    const L = Math.max(ent.a.length, ent.b.length, dist.a.length, dist.b.length);
    const num = (v: number | undefined) => h('td', { class: 'hl-num' }, v !== undefined && Number.isFinite(v) ? v.toFixed(3) : '—');
    this.layerBody.replaceChildren(
      ...Array.from({ length: L }, (_, l) => h('tr', {}, h('th', { scope: 'row' }, String(l)), num(ent.a[l]), num(ent.b[l]), num(dist.a[l]), num(dist.b[l]))),
    );
  }

  async renderCharts(): Promise<void> {
    const d = this.data;
    if (!d || this.charts[0].el.clientWidth === 0) return;
    this.drawn = true;
    const theme = this.ctx.theme();
    const fg = hex(theme.fg),
      grid = rgba(theme.muted, 0.25);
    const font = getComputedStyle(document.body).fontFamily;
    const [ca, cb] = [theme.palette[0], theme.palette[1]];
    const L = Math.max(d.a.model.layers, d.b.model.layers);
    await Promise.all(
      this.charts.map(async (c) => {
        const side = (s: SessionData, label: string, colour: typeof ca, shift: number, symbol: string) => ({
          type: 'scatter',
          mode: 'markers',
          name: `${label} heads`,
          x: s.heads.map((p) => p.layer + shift),
          y: s.heads.map((p) => (Number.isFinite(p.metrics[c.key]) ? p.metrics[c.key] : null)),
          text: s.heads.map((p) => `${label} ${p.id}${p.roles.length ? ' · ' + p.roles.map((r) => r.name).join(', ') : ''}`),
          hovertemplate: `%{text}<br>${c.axis}: %{y:.3f}<extra></extra>`,
          marker: { color: rgba(colour, 0.75), size: 8, symbol, line: { width: 1, color: hex(theme.bg) } },
        });
        const series = d.diff.layers.find((x) => x.key === c.key);
        const mean = (ys: number[] | undefined, label: string, colour: typeof ca) => ({
          type: 'scatter',
          mode: 'lines+markers',
          name: `${label} layer mean`,
          x: (ys ?? []).map((_, l) => l),
          y: (ys ?? []).map((v) => (Number.isFinite(v) ? v : null)),
          line: { color: hex(colour), width: 2 },
          marker: { size: 5 },
          hovertemplate: `${label} layer %{x}: %{y:.3f}<extra></extra>`,
        });
        const traces = [side(d.a, 'A', ca, -0.08, 'circle'), side(d.b, 'B', cb, 0.08, 'diamond'), mean(series?.a, 'A', ca), mean(series?.b, 'B', cb)];
        const layout = {
          title: { text: c.title, font: { size: 13, color: fg }, x: 0, xanchor: 'left' },
          paper_bgcolor: 'rgba(0,0,0,0)',
          plot_bgcolor: 'rgba(0,0,0,0)',
          font: { family: font, color: fg, size: 11 },
          margin: { l: 48, r: 12, t: 32, b: 36 },
          height: 240,
          xaxis: { title: { text: 'layer' }, dtick: 1, range: [-0.5, L - 0.5], gridcolor: grid, zerolinecolor: grid },
          yaxis: { title: { text: c.axis }, gridcolor: grid, zerolinecolor: grid, rangemode: 'tozero' },
          legend: { orientation: 'h', y: -0.25, font: { color: fg } },
          showlegend: c.key === 'entropy',
          hoverlabel: { bgcolor: hex(theme.bg), bordercolor: hex(theme.muted), font: { color: fg } },
        };
        await (await plotly()).react(c.el, traces, layout, { displayModeBar: false, responsive: false });
      }),
    );
  }

  repaint(): void {
    if (!this.data) return;
    this.headsA.repaint();
    this.headsB.repaint();
    if (this.drawn) void this.renderCharts();
  }
}
