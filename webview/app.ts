import type { CompareDiff, ExportFormat, PanelState, RenderedFormat, SessionData, ViewName, WireEffects } from '../src/protocol';
import { VIEW_NAMES } from '../src/protocol';
import { sessionWithEffects } from '../src/session/sessionMetrics';
import { h, clear } from './dom';
import { MatrixCache } from './matrices';
import { onThemeChange, readTheme, type Theme } from './theme';
import { ArcsView } from './views/arcs';
import { HeadsView } from './views/heads';
import { LayersView } from './views/layers';
import { FlowView } from './views/flow';
import { RoutesView } from './views/routes';
import { CompareView } from './views/compare';
import { notify } from './channel';
import { t } from './strings';
import { sectionToPng } from './exporter';

const viewLabel = (v: ViewName): string => t(`view.${v}`);
const ARC_KEYS: (keyof PanelState)[] = ['layer', 'head', 'mode', 'topK', 'threshold', 'showIncoming', 'weighting'];

/** Timings the views measured, read by the webview tests and the benchmark. */
export interface PanelTimings {
  arcsFirstPaintMs: number;
  arcsFetchMs: number;
  headsRenderMs: number;
  layersRenderMs: number;
}

interface Views {
  arcs: ArcsView;
  heads: HeadsView;
  layers: LayersView;
  flow: FlowView;
  routes: RoutesView;
}

/** The panel shell: a header (title, model, notices) and one tab per view; owns the panel state. */
export class App {
  private state: PanelState | undefined;
  private session: SessionData | undefined;
  /** Read when first drawn with, and again after a theme change. */
  private themeNow: Theme | undefined;
  private readonly header = h('header', { class: 'hl-header' });
  private readonly titleBox = h('div', { class: 'hl-titlebox' });
  private readonly toolbar = h('div', { class: 'hl-toolbar', role: 'toolbar', 'aria-label': t('app.toolbar') });
  private readonly exportButtons = new Map<ExportFormat, HTMLButtonElement>();
  private readonly effectsButton = h('button', { class: 'hl-button', type: 'button', title: t('app.effects.title') }, t('app.effects'));
  /** Head effects of the session on screen: being measured, or why they could not be. */
  private effectsNote: { text: string; kind: 'loading' | 'info' } | undefined;
  /** Built on the first comparison only, so a normal panel carries none of its DOM. */
  private compareView: CompareView | undefined;
  private readonly compareHost = h('div', { class: 'hl-compare-host' });
  private comparing = false;
  // Visual only: what a screen reader should hear goes through `live`, the page's one panel-level live region.
  private readonly banner = h('div', { class: 'hl-banner', hidden: true });
  private readonly live = h('div', { class: 'hl-sr-only', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true' });
  private readonly tabs = document.createElement('vscode-tabs');
  private readonly panels = new Map<ViewName, HTMLElement>();
  /** The tab strip's views, built by `views()`. */
  private built: Views | undefined;

  constructor(
    private readonly root: HTMLElement,
    state: PanelState | undefined,
    private readonly persist: (s: PanelState) => void,
    opts: { report?: boolean } = {},
  ) {
    this.state = state;
    this.compareHost.hidden = true;
    this.buildToolbar();
    this.toolbar.hidden = Boolean(opts.report); // a standalone report has no host to save files
    this.header.append(this.titleBox, this.toolbar);
    // The page's first paint is the header alone: the tabs have nothing to show before a session, and their
    // controls (lit elements; each select measures itself on every render) would lay the page out again and
    // again. They are built and join the page hidden once it has loaded — rendering there costs no layout —
    // and show with the first session (built then if it comes first).
    this.tabs.hidden = true;
    root.append(this.live, this.header, this.banner, this.compareHost);
    const buildLater = () => setTimeout(() => this.views(), 0);
    if (document.readyState === 'complete') buildLater();
    else window.addEventListener('load', buildLater, { once: true });
    this.renderHeader('Headlight', t('panel.empty'));
    onThemeChange(() => {
      this.themeNow = undefined;
      const v = this.built;
      if (v) {
        v.arcs.repaint();
        v.heads.repaint();
        v.layers.repaint();
        v.flow.repaint();
        v.routes.repaint();
      }
      this.compareView?.repaint();
    });
  }

  private get theme(): Theme {
    return (this.themeNow ??= readTheme());
  }

  /** The tab strip and its views, built once and put in the page hidden (see the constructor). */
  private views(): Views {
    if (this.built) return this.built;
    for (const v of VIEW_NAMES) {
      const header = document.createElement('vscode-tab-header');
      header.slot = 'header';
      header.id = `tab-${v}`;
      header.dataset.view = v;
      header.textContent = viewLabel(v);
      const panel = document.createElement('vscode-tab-panel');
      const body = h('section', { class: `hl-view hl-view-${v}`, 'aria-label': viewLabel(v) });
      panel.append(body);
      this.tabs.append(header, panel);
      this.panels.set(v, body);
    }
    this.tabs.addEventListener('vsc-tabs-select', (e) => {
      const v = VIEW_NAMES[e.detail.selectedIndex];
      if (v && this.state && v !== this.state.view) this.update({ view: v });
    });
    const getState = () => this.state!;
    const theme = () => this.theme;
    const open = (layer: number, head: number) => this.update({ layer, head, mode: 'head', view: 'arcs' });
    const arcs = new ArcsView(this.panels.get('arcs')!, { state: getState, update: (p) => this.update(p), theme });
    const weighting = () => (this.state?.weighting === 'value' ? ('value' as const) : ('attention' as const));
    const heads = new HeadsView(this.panels.get('heads')!, { theme, open, weighting });
    const layers = new LayersView(this.panels.get('layers')!, { theme, open });
    const flow = new FlowView(this.panels.get('flow')!, { theme, weighting });
    const routes = new RoutesView(this.panels.get('routes')!, { theme, open });
    this.built = { arcs, heads, layers, flow, routes };
    this.root.insertBefore(this.tabs, this.compareHost);
    return this.built;
  }

  get timings(): PanelTimings {
    const v = this.built;
    return {
      arcsFirstPaintMs: v?.arcs.firstPaintMs ?? NaN,
      arcsFetchMs: v?.arcs.fetchMs ?? NaN,
      headsRenderMs: v?.heads.renderMs ?? NaN,
      layersRenderMs: v?.layers.renderMs ?? NaN,
    };
  }

  private update(patch: Partial<PanelState>): void {
    if (!this.state) return;
    const before = this.state;
    this.state = { ...before, ...patch };
    if (this.session && this.state.layer >= this.session.model.layers) this.state.layer = 0;
    if (this.session && this.state.head >= this.session.model.headsPerLayer) this.state.head = 0;
    this.persist(this.state);
    if (!this.session) return;
    const v = this.views();
    if (ARC_KEYS.some((k) => before[k] !== this.state![k])) void v.arcs.refresh();
    if (before.weighting !== this.state.weighting) {
      v.heads.repaint();
      v.flow.reweigh();
    }
    if (before.view !== this.state.view) this.show(this.state.view);
  }

  private show(view: ViewName): void {
    const idx = VIEW_NAMES.indexOf(view);
    const v = this.views();
    if (this.tabs.selectedIndex !== idx) this.tabs.selectedIndex = idx;
    // Hidden views are built when first shown: they need their size, and may never be opened.
    if (view === 'heads') v.heads.ensure();
    if (view === 'layers') requestAnimationFrame(() => void v.layers.ensure());
    if (view === 'flow') requestAnimationFrame(() => v.flow.ensure(v.arcs.tokens.focused));
    if (view === 'routes') requestAnimationFrame(() => v.routes.ensure(v.arcs.tokens.focused));
  }

  private buildToolbar(): void {
    const items: [ExportFormat, string, string][] = [
      ['png', 'PNG', t('export.png.title')],
      ['svg', 'SVG', t('export.svg.title')],
      ['csv', 'CSV', t('export.csv.title')],
      ['json', 'JSON', t('export.json.title')],
      ['html', t('export.html'), t('export.html.title')],
    ];
    this.effectsButton.addEventListener('click', () => {
      if (this.session) notify({ type: 'effects/measure', sessionId: this.session.id });
    });
    this.toolbar.append(this.effectsButton, h('span', { class: 'hl-toolbar-label' }, t('export.label')));
    for (const [format, label, title] of items) {
      const b = h('button', { class: 'hl-button', type: 'button', title, 'data-format': format }, label);
      b.addEventListener('click', () => notify({ type: 'export/start', format }));
      this.exportButtons.set(format, b);
      this.toolbar.append(b);
    }
    this.syncToolbar();
  }

  /** Compare mode exports its page as PNG; the other formats describe one session. */
  private syncToolbar(): void {
    // While a long selection's heads are analysed, exports would miss them: wait for session/heads.
    for (const [f, b] of this.exportButtons) b.disabled = this.comparing ? f !== 'png' : !this.session || this.session.analysing === true;
    this.effectsButton.hidden = this.comparing;
    // Measured heads stay: the button stays for the rest until every head is measured.
    const all = this.session ? this.session.model.layers * this.session.model.headsPerLayer : 0;
    const complete = Boolean(this.session?.effects) && (this.session!.effects!.measured ?? all) >= all;
    this.effectsButton.disabled =
      !this.session || this.session.analysing === true || complete || this.effectsNote?.kind === 'loading' || !this.session.model.layers;
  }

  /** Render the panel as shown for Export view…: PNG of the visible view (or the comparison), SVG of Arcs. */
  async renderExport(format: RenderedFormat): Promise<{ data: Uint8Array | string; width: number; height: number }> {
    const bg = this.theme.bg;
    if (this.comparing) {
      if (format === 'svg') throw new Error('SVG export draws the Arcs view; the comparison exports as PNG.');
      return sectionToPng(this.compareHost, bg);
    }
    if (!this.session || !this.state) throw new Error(t('app.nothingToExport'));
    if (format === 'svg') {
      if (this.state.view !== 'arcs') {
        this.update({ view: 'arcs' });
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      }
      const { arcs } = this.views();
      await arcs.refresh();
      const r = arcs.toSvg();
      return { data: r.svg, width: r.width, height: r.height };
    }
    return sectionToPng(this.panels.get(this.state.view)!, bg);
  }

  showCompare(a: SessionData, b: SessionData, diff: CompareDiff, state: PanelState): void {
    this.comparing = true;
    this.session = undefined;
    this.state = state;
    this.persist(state);
    this.tabs.hidden = true;
    this.compareHost.hidden = false;
    if (!this.compareView) {
      this.compareView = new CompareView({ theme: () => this.theme });
      this.compareHost.append(this.compareView.el);
    }
    const nChanges = diff.changes.length;
    this.renderHeader(
      t('app.compare.title', diff.labels.a, diff.labels.b),
      nChanges === 1 ? t('app.compare.subtitle.one', a.title) : t('app.compare.subtitle', a.title, nChanges),
    );
    this.setBanner(diff.alignment.identical ? undefined : diff.alignment.note, 'info');
    this.announce(
      nChanges === 1 ? t('app.compare.announce.one', diff.labels.a, diff.labels.b) : t('app.compare.announce', diff.labels.a, diff.labels.b, nChanges),
    );
    this.compareView.show(a, b, diff);
    this.syncToolbar();
  }

  private renderHeader(title: string, subtitle: string): void {
    clear(this.titleBox);
    this.titleBox.append(h('h1', { class: 'hl-title' }, title), h('div', { class: 'hl-subtitle' }, subtitle));
  }

  private setBanner(text: string | undefined, kind: 'info' | 'error' | 'loading' = 'info'): void {
    clear(this.banner);
    this.banner.hidden = !text;
    this.banner.className = `hl-banner hl-banner-${kind}`;
    if (!text) return;
    if (kind === 'loading') this.banner.append(document.createElement('vscode-progress-ring'));
    this.banner.append(h('span', {}, text));
  }

  /** Say a status message to screen readers (and only status messages: the rest of the page is not live). */
  private announce(text: string): void {
    if (this.live.textContent !== text) this.live.textContent = text;
  }

  showLoading(title: string, message: string): void {
    this.renderHeader(title, this.session ? `${this.session.model.name}` : '');
    this.setBanner(message, 'loading');
    this.announce(message);
  }

  showError(message: string, detail?: string): void {
    this.setBanner(detail ? `${message} — ${detail}` : message, 'error');
    this.announce(detail ? `${message} — ${detail}` : message);
  }

  showSession(session: SessionData, state: PanelState): void {
    this.comparing = false;
    this.effectsNote = undefined;
    this.session = session.effects ? sessionWithEffects(session, session.effects, t) : session;
    session = this.session;
    const L = session.model.layers,
      H = session.model.headsPerLayer;
    this.state = { ...state, layer: state.layer < L ? state.layer : 0, head: state.head < H ? state.head : 0 };
    this.persist(this.state);
    const v = this.views(); // built with this state if the session came before the page's load
    this.tabs.hidden = false;
    this.compareHost.hidden = true;
    const m = session.model;
    const shape = m.layers ? ` · ${m.layers} layers × ${m.headsPerLayer} heads · ${m.kind}` : '';
    this.renderHeader(session.title, `${m.name}${shape} · ${session.tokens.length.toLocaleString('en-US')} tokens`);
    this.sessionBanner(session);
    this.announce(
      `${session.title}: ${session.tokens.length.toLocaleString('en-US')} tokens explained with ${m.name}${session.analysing ? '; analysing heads' : ''}.`,
    );
    v.arcs.setSession(session, new MatrixCache(session.id));
    if (session.effects) v.arcs.setEffects(session.effects);
    v.heads.setSession(session);
    v.layers.setSession(session);
    v.flow.setSession(session);
    v.routes.setSession(session);
    this.show(this.state.view);
    this.syncToolbar();
  }

  /** session/effects: head effects of the session on screen are being measured, arrived, or failed. */
  showEffects(sessionId: number, status: 'measuring' | 'done' | 'failed', effects?: WireEffects, message?: string): void {
    if (this.comparing || !this.session || this.session.id !== sessionId) return;
    if (effects) {
      // Streamed: each group of heads lands in the catalog as it is measured; 'done' closes the measurement.
      this.session = sessionWithEffects(this.session, effects, t);
      const v = this.views();
      v.heads.setSession(this.session);
      if (this.state?.view === 'heads') v.heads.ensure(); // the catalog on screen shows each group as it lands
      v.arcs.setEffects(effects);
    }
    if (status === 'done' && effects) {
      this.effectsNote = undefined; // how they were measured (effects.note) is said in the catalog
      this.announce(t('app.effects.announce', effects.measured ?? effects.meanDelta.length, (effects.ms / 1000).toFixed(1)));
    } else {
      this.effectsNote = message ? { text: message, kind: status === 'measuring' ? 'loading' : 'info' } : undefined;
      if (message) this.announce(message);
    }
    this.sessionBanner(this.session);
    this.syncToolbar();
  }

  /** Notes about the session (truncation, placeholder), or the analysis still running. */
  private sessionBanner(session: SessionData): void {
    const notes: string[] = [];
    if (session.notice) notes.push(session.notice);
    if (session.truncatedFrom) notes.push(truncationNote(session));
    if (session.probeNote) notes.push(session.probeNote);
    if (session.syntaxNote) notes.push(session.syntaxNote);
    if (session.analysing) notes.push(t('app.analysing'));
    if (this.effectsNote) notes.push(this.effectsNote.text);
    this.setBanner(notes.join(' ') || undefined, session.analysing || this.effectsNote?.kind === 'loading' ? 'loading' : 'info');
  }

  /** session/heads: the streamed analysis of the session on screen finished; nothing else is reset. */
  showHeads(sessionId: number, heads: SessionData['heads'], thumbnails: Uint8Array[], late: Pick<SessionData, 'valueNorms' | 'valueNormsNote'> = {}): void {
    if (this.comparing || !this.session || this.session.id !== sessionId) return;
    const norms = {
      ...(late.valueNorms ? { valueNorms: late.valueNorms } : {}),
      ...(late.valueNormsNote !== undefined ? { valueNormsNote: late.valueNormsNote } : {}),
    };
    this.session = { ...this.session, heads, thumbnails, analysing: undefined, ...norms };
    this.sessionBanner(this.session);
    this.announce(t('app.analysed', heads.length, heads.filter((x) => x.roles.length).length));
    const v = this.views();
    v.heads.setSession(this.session);
    v.layers.setSession(this.session);
    // Value norms are measured after the first paint: Arcs and Flow learn of them without losing their place.
    if (Object.keys(norms).length) {
      v.arcs.lateValueNorms(this.session);
      v.flow.lateValueNorms(this.session);
    }
    if (this.state) this.show(this.state.view); // rebuilds the catalog or the charts if one is showing
    this.syncToolbar();
  }

  highlightToken(index: number | null): void {
    this.built?.arcs.cursor(index); // no session, no tokens to mark
  }

  focusHead(layer: number, head: number, view?: ViewName): void {
    this.update({ layer, head, mode: 'head', ...(view ? { view } : {}) });
  }
}

/** What a truncated session left out, exactly: how many tokens, from which character of the selection, and which template tokens stayed. */
export function truncationNote(session: Pick<SessionData, 'tokens' | 'truncatedFrom' | 'text'>): string {
  const kept = session.tokens.length,
    total = session.truncatedFrom ?? kept;
  let cutAt = 0;
  for (const t of session.tokens) if (!t.special && t.end > cutAt) cutAt = t.end;
  const specials = session.tokens.filter((t) => t.special).map((t) => t.text);
  const where =
    cutAt < session.text.length ? ' ' + t('app.truncated.where', (cutAt + 1).toLocaleString('en-US'), session.text.length.toLocaleString('en-US')) : '';
  const tpl = specials.length ? ' ' + t('app.truncated.template', specials.join(' ')) : '';
  return t('app.truncated', kept.toLocaleString('en-US'), total.toLocaleString('en-US')) + where + tpl;
}
