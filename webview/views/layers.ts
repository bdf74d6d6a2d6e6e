// Layers: per-head metrics by layer as plotly scatter charts (x = layer, one point per head, one trace per
// head index so colours match the Arcs overlay). Clicking a point opens that head in Arcs.
import { loadedPlotly, plotly } from '../chartsLoader';
import type { SessionData } from '../../src/protocol';
import { h } from '../dom';
import { hex, rgba, type Theme } from '../theme';
import { t } from '../strings';

export interface LayersContext {
  theme(): Theme;
  open(layer: number, head: number): void;
}

/** Built when a view is (after the host's strings are in): titles and axes in the display language. */
const CHARTS = (): { key: string; title: string; axis: string }[] => [
  { key: 'entropy', title: t('chart.entropy'), axis: t('chart.entropy.axis') },
  { key: 'distance', title: t('chart.distance'), axis: t('chart.distance.axis') },
  { key: 'sink', title: t('chart.sink'), axis: t('chart.sink.axis') },
];

export class LayersView {
  private session: SessionData | undefined;
  private readonly charts = CHARTS().map((c) => ({ ...c, el: h('div', { class: 'hl-chart', role: 'img', 'aria-label': c.title }) }));
  private readonly summary = h('p', { class: 'hl-summary' });
  /** The charts' values as a table: for screen readers, keyboards and anyone who wants the numbers. */
  private readonly tableBody = h('tbody');
  private readonly table = h(
    'details',
    { class: 'hl-layers-table' },
    h('summary', {}, t('layers.table')),
    h(
      'table',
      { 'aria-label': t('layers.table.aria') },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...[t('layers.col.head'), t('layers.col.layer'), t('layers.col.entropy'), t('layers.col.distance'), t('layers.col.sink'), t('layers.col.roles')].map(
            (c) => h('th', { scope: 'col' }, c),
          ),
        ),
      ),
      this.tableBody,
    ),
  );
  private built = false;
  renderMs = NaN;

  constructor(
    parent: HTMLElement,
    private readonly ctx: LayersContext,
  ) {
    parent.append(this.summary, this.table, ...this.charts.map((c) => c.el));
    new ResizeObserver(() => {
      if (this.built) for (const c of this.charts) if (c.el.clientWidth) loadedPlotly()?.Plots.resize(c.el);
    }).observe(parent);
  }

  setSession(s: SessionData): void {
    this.session = s;
    this.built = false;
  }

  /** Plotly needs a visible container to size itself: charts are drawn when the tab is first shown. */
  async ensure(): Promise<void> {
    if (!this.built) await this.render();
  }

  async render(): Promise<void> {
    const s = this.session;
    if (!s || !s.model.layers || this.charts[0].el.clientWidth === 0) return;
    this.built = true;
    const t0 = performance.now();
    this.fillTable(s);
    const Plotly = await plotly(); // loaded on first use: the page boots without it
    const theme = this.ctx.theme();
    const H = s.model.headsPerLayer,
      L = s.model.layers;
    const fg = hex(theme.fg),
      grid = rgba(theme.muted, 0.25);
    const font = getComputedStyle(document.body).fontFamily;
    const layerMeans = (key: string) =>
      Array.from({ length: L }, (_, l) => {
        const v = s.heads
          .filter((x) => x.layer === l)
          .map((x) => x.metrics[key])
          .filter(Number.isFinite);
        return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
      });
    const sink = layerMeans('sink');
    const maxSink = sink.reduce((a, b, l) => (b > sink[a] ? l : a), 0);
    this.summary.textContent = `${L} layers × ${H} heads. Mean sink mass peaks in layer ${maxSink} (${sink[maxSink]?.toFixed(2)}); click a point to open that head in Arcs.`;
    await Promise.all(
      this.charts.map(async (c) => {
        const traces: object[] = Array.from({ length: H }, (_, hh) => {
          const pts = s.heads.filter((x) => x.head === hh);
          return {
            type: 'scatter',
            mode: 'markers',
            name: `H${hh}`,
            // Heads of one layer are spread a little sideways so they do not hide each other.
            x: pts.map((p) => p.layer + (H > 1 ? (hh / (H - 1) - 0.5) * 0.4 : 0)),
            y: pts.map((p) => (Number.isFinite(p.metrics[c.key]) ? p.metrics[c.key] : null)),
            customdata: pts.map((p) => [p.layer, p.head]),
            text: pts.map((p) => `${p.id}${p.roles.length ? ' · ' + p.roles.map((r) => r.name).join(', ') : ''}`),
            hovertemplate: `%{text}<br>${c.axis}: %{y:.3f}<extra></extra>`,
            marker: { color: hex(theme.palette[hh % theme.palette.length]), size: 9, line: { width: 1, color: hex(theme.bg) } },
          };
        });
        traces.push({
          type: 'scatter',
          mode: 'lines',
          name: 'layer mean',
          x: Array.from({ length: L }, (_, l) => l),
          y: layerMeans(c.key),
          line: { color: rgba(theme.fg, 0.5), width: 1.5, dash: 'dot' },
          hoverinfo: 'skip',
        });
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
          hoverlabel: { bgcolor: hex(theme.bg), bordercolor: hex(theme.muted), font: { color: fg } },
          showlegend: c.key === 'entropy',
        };
        const el = await Plotly.react(c.el, traces, layout, { displayModeBar: false, responsive: false, staticPlot: false });
        if (!el.dataset.hlClick) {
          el.dataset.hlClick = '1';
          el.on('plotly_click', (e) => {
            const d = e.points[0]?.customdata;
            if (Array.isArray(d) && d.length === 2) this.ctx.open(Number(d[0]), Number(d[1]));
          });
        }
      }),
    );
    this.renderMs = performance.now() - t0;
  }

  repaint(): void {
    if (this.built) void this.render();
  }

  private fillTable(s: SessionData): void {
    const num = (v: number | undefined) => h('td', { class: 'hl-num' }, v !== undefined && Number.isFinite(v) ? v.toFixed(3) : '—');
    this.tableBody.replaceChildren(
      ...s.heads.map((hd) => {
        const open = h('button', { type: 'button', 'aria-label': t('layers.open', hd.id) }, hd.id);
        open.addEventListener('click', () => this.ctx.open(hd.layer, hd.head));
        return h(
          'tr',
          {},
          h('th', { scope: 'row' }, open),
          h('td', { class: 'hl-num' }, String(hd.layer)),
          num(hd.metrics.entropy),
          num(hd.metrics.distance),
          num(hd.metrics.sink),
          h('td', {}, hd.roles.map((r) => r.name).join(', ') || '—'),
        );
      }),
    );
  }
}
