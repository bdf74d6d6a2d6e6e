// The Arcs toolbar: layer, mode, head (or per-head toggles in layer mode), top-k, threshold, direction,
// surprisal shading, weighting and the parse relation. Kept apart from the drawing so the view only asks it
// which heads to show and which relation to trace; every other choice goes to the panel state.
import type { PanelState, SessionData } from '../../src/protocol';
import { h } from '../dom';
import { checkbox, radios, select, setOptions, type Select } from '../controls';
import { rgba, type Theme } from '../theme';
import { t } from '../strings';

const TOPK_CHOICES = [1, 2, 3, 5, 10, 20, 50];
const THRESHOLD_CHOICES = [0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5];

/** What the view does when a choice that is not part of the panel state changes. */
export interface ArcsControlHooks {
  update(patch: Partial<PanelState>): void;
  /** Surprisal shading switched on or off. */
  shade(on: boolean): void;
  /** Another parse relation chosen. */
  relation(): void;
  /** A head toggled in layer mode. */
  heads(): void;
}

export class ArcsControls {
  readonly el = h('div', { class: 'hl-controls' });
  /** Heads unticked in layer mode (cleared with each session). */
  private readonly hiddenHeads = new Set<number>();
  private readonly headBox = h('div', { class: 'hl-head-toggles' });
  private layerSel!: Select;
  private headSel!: Select;
  private topSel!: Select;
  private thrSel!: Select;
  private modeSet!: (v: string) => void;
  private weightSet!: (v: string) => void;
  private weightEl!: HTMLElement;
  private incoming!: HTMLElement & { checked: boolean };
  private shadeBox!: HTMLElement & { checked: boolean; disabled: boolean };
  /** "Parse edges": a syntax relation whose gold edges are drawn (dashed) beside the head's arcs, or 'none'. */
  private relSel!: Select;
  private relField!: HTMLElement;
  relation = 'none';

  constructor(
    s: PanelState,
    private readonly hooks: ArcsControlHooks,
  ) {
    this.build(s);
  }

  private build(s: PanelState): void {
    const update = (patch: Partial<PanelState>) => this.hooks.update(patch);
    const layer = select(t('arcs.layer'), [], '0', (v) => update({ layer: Number(v) }));
    const head = select(t('arcs.head'), [], '0', (v) => update({ head: Number(v) }));
    const mode = radios(
      'hl-mode',
      t('arcs.mode'),
      [
        { value: 'head', label: t('arcs.mode.head') },
        { value: 'layer', label: t('arcs.mode.layer') },
      ],
      s.mode,
      (v) => update({ mode: v as PanelState['mode'] }),
    );
    const top = select(
      t('arcs.topk'),
      TOPK_CHOICES.map((k) => ({ value: String(k), label: t('arcs.topk.option', k) })),
      String(s.topK),
      (v) => update({ topK: Number(v) }),
    );
    const thr = select(
      t('arcs.threshold'),
      THRESHOLD_CHOICES.map((w) => ({ value: String(w), label: w === 0 ? t('arcs.threshold.any') : `≥ ${w}` })),
      String(s.threshold),
      (v) => update({ threshold: Number(v) }),
    );
    const inc = checkbox(t('arcs.incoming'), s.showIncoming, (v) => update({ showIncoming: v }));
    this.layerSel = layer.control;
    this.headSel = head.control;
    this.topSel = top.control;
    this.thrSel = thr.control;
    this.modeSet = mode.set;
    this.incoming = inc;
    // Surprisal: each token shaded by how unexpected it was to the model (−ln p given the tokens before it).
    this.shadeBox = checkbox(t('arcs.shade'), false, (v) => this.hooks.shade(v));
    const weight = radios(
      'hl-weighting',
      t('arcs.weights'),
      [
        { value: 'attention', label: t('arcs.weights.attention') },
        { value: 'value', label: t('arcs.weights.value') },
      ],
      s.weighting ?? 'attention',
      (v) => update({ weighting: v as PanelState['weighting'] }),
    );
    this.weightSet = weight.set;
    this.weightEl = weight.el;
    // Where the parse points, where the head looks: a relation's gold edges for the hovered token, dashed.
    const rel = select(t('arcs.parse'), [{ value: 'none', label: t('arcs.parse.none') }], 'none', (v) => {
      this.relation = v;
      this.hooks.relation();
    });
    this.relSel = rel.control;
    this.relField = rel.el;
    this.relField.hidden = true;
    this.el.append(layer.el, mode.el, head.el, this.headBox, top.el, thr.el, inc, this.shadeBox, weight.el, rel.el);
  }

  /** A new session: its model's layers and heads, its relations (the chosen one kept if it has it), every head shown. */
  setSession(session: SessionData, s: PanelState): void {
    this.hiddenHeads.clear();
    const L = session.model.layers,
      H = session.model.headsPerLayer;
    setOptions(
      this.layerSel,
      Array.from({ length: L }, (_, l) => ({ value: String(l), label: t('arcs.layer.option', l) })),
      String(s.layer),
    );
    setOptions(
      this.headSel,
      Array.from({ length: H }, (_, hh) => ({ value: String(hh), label: t('arcs.head.option', hh, `L${s.layer}H${hh}`) })),
      String(s.head),
    );
    const rels = session.relations ?? [];
    if (!rels.some((r) => r.name === this.relation)) this.relation = 'none';
    setOptions(this.relSel, [{ value: 'none', label: 'none' }, ...rels.map((r) => ({ value: r.name, label: `${r.name} (${r.edges.length})` }))], this.relation);
    this.relField.hidden = rels.length === 0;
  }

  /** Shading is offered only when the session has predictions; otherwise the box says why not. */
  offerShade(session: SessionData): void {
    this.shadeBox.disabled = !session.predictions;
    this.shadeBox.title = session.predictions ? t('arcs.shade.title') : t('arcs.noPredictions', session.predictionsNote ?? t('arcs.noPredictions.none'));
  }

  /** Every control in line with the panel state (called from the view's refresh). */
  sync(session: SessionData, s: PanelState, theme: Theme): void {
    this.layerSel.value = String(s.layer);
    this.headSel.value = String(s.head);
    if (!TOPK_CHOICES.includes(s.topK))
      setOptions(
        this.topSel,
        [...new Set([...TOPK_CHOICES, s.topK])].sort((a, b) => a - b).map((k) => ({ value: String(k), label: `top ${k}` })),
        String(s.topK),
      );
    this.topSel.value = String(s.topK);
    this.thrSel.value = String(s.threshold);
    this.modeSet(s.mode);
    this.incoming.checked = s.showIncoming;
    this.syncWeighting(session, s);
    this.syncHeads(session.model.headsPerLayer, s, theme);
  }

  /** Value weighting only where the session has value norms; its tooltip says what the norm is, or why there is none. */
  private syncWeighting(session: SessionData, s: PanelState): void {
    const value = s.weighting === 'value' && Boolean(session.valueNorms);
    this.weightSet(value ? 'value' : 'attention');
    this.weightEl.title = session.valueNorms
      ? t(
          'arcs.value.title',
          session.valueNorms.weighting === 'value' ? '' : ' W_O^h',
          session.valueNorms.weighting === 'value' ? t('arcs.value.title.noWo') : '',
        )
      : t('arcs.value.unavailable', session.valueNormsNote ?? t('arcs.value.unavailable.none'));
    this.weightEl.toggleAttribute('data-disabled', !session.valueNorms);
  }

  /** Head mode: one head picker; layer mode: a toggle per head in its palette colour. */
  private syncHeads(H: number, s: PanelState, theme: Theme): void {
    this.headSel.parentElement!.hidden = s.mode !== 'head';
    this.headBox.hidden = s.mode !== 'layer';
    this.headBox.replaceChildren(
      ...Array.from({ length: H }, (_, hh) =>
        checkbox(
          `H${hh}`,
          !this.hiddenHeads.has(hh),
          (on) => {
            if (on) this.hiddenHeads.delete(hh);
            else this.hiddenHeads.add(hh);
            this.hooks.heads();
          },
          rgba(theme.palette[hh % theme.palette.length], 1),
        ),
      ),
    );
  }

  /** The heads to draw: the chosen one in head mode, every ticked one in layer mode. */
  shownHeads(s: PanelState, H: number): number[] {
    return s.mode === 'head' ? [s.head] : Array.from({ length: H }, (_, hh) => hh).filter((hh) => !this.hiddenHeads.has(hh));
  }
}
