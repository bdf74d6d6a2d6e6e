// The one message contract between the extension host and the Headlight webview. Both sides import
// this file; nothing else crosses the boundary. Three kinds of message, as in GitLens' IPC models:
//   - notifications (fire and forget), either direction;
//   - requests from the webview, each with an id, answered by exactly one `reply` with that id.
// Big numeric payloads travel as typed arrays (structured clone), never as JSON lists of numbers.
// This file must stay free of Node and DOM APIs: it is compiled into both bundles.

// It imports nothing: the contract owns every type that crosses, including the comparison's.

/** Sent by the page in `webview/ready`; the host rebuilds a page built for another version. */
export const PROTOCOL_VERSION = 1;

/**
 * Every head role the analysis can award, in the order the panel lists them: the one typed source of
 * role names (src/analysis/types.ts takes its RoleName from here; the webview colours and explains each).
 */
export const ROLE_NAMES = ['previous-token', 'induction', 'duplicate-token', 'first-token-sink', 'self', 'positional', 'local', 'broad', 'punctuation', 'bracket-matching',
  // Syntax roles (src/analysis/roles/syntax.ts), given only when the text was parsed (code) or tagged (prose):
  // ast-parent (→ first token of its AST parent), bracket-pair (→ the opener the parse pairs it with),
  // def-use (identifier → its previous occurrence in scope), block-opener (→ the keyword opening its block),
  // determiner-noun / adjective-noun (prose noun phrases), keyword (content words), sentiment (AFINN words),
  // rare-token (the rarest visible token, Voita et al. 2019).
  'ast-parent', 'bracket-pair', 'def-use', 'block-opener', 'determiner-noun', 'adjective-noun', 'keyword', 'sentiment', 'rare-token'] as const;
export type RoleName = typeof ROLE_NAMES[number];

/**
 * The webview's strings in English, by key. The host passes the table translated (vscode.l10n, see
 * src/panel/strings.ts) in the page's bootstrap; the webview falls back to these (webview/strings.ts).
 */
export const WEBVIEW_STRINGS = {
  'view.arcs': 'Arcs',
  'view.heads': 'Heads',
  'view.layers': 'Layers',
  'view.flow': 'Flow',
  'view.routes': 'Routes',
  'panel.empty': 'Select text in an editor and run “Explain Attention”.',
  'export.label': 'Export:',
  'export.png.title': 'Save the current view as a PNG image',
  'export.svg.title': 'Save the arcs as an SVG drawing',
  'export.csv.title': 'Save every head\'s metrics and roles as CSV',
  'export.json.title': 'Save every head\'s metrics and roles as JSON',
  'export.html': 'HTML report',
  'export.html.title': 'Save a standalone, offline HTML report of this panel',
  'app.toolbar': 'Export',
  'app.effects': 'Measure head effects',
  'app.effects.title': 'Remove each head in turn and measure how the model\'s output changes (zero-ablation)',
  'app.nothingToExport': 'Nothing to export yet: explain a selection first.',
  'app.compare.title': 'Compare: {0} vs {1}',
  'app.compare.subtitle.one': '{0} · 1 role change',
  'app.compare.subtitle': '{0} · {1} role changes',
  'app.compare.announce.one': 'Compared {0} with {1}: 1 role change.',
  'app.compare.announce': 'Compared {0} with {1}: {2} role changes.',
  'app.effects.announce': 'Head effects measured: {0} heads in {1} s.',
  'app.analysing': 'Analysing heads — the catalog, the charts and the roles appear when it is done.',
  'app.analysed': 'Analysis done: {0} heads, {1} with a role.',
  'app.truncated': 'Showing {0} of {1} tokens.',
  'app.truncated.where': 'The selection\'s text from character {0} of {1} on was cut.',
  'app.truncated.template': 'The model\'s template tokens ({0}) were kept.',
  'arcs.tokens': 'Tokens: hover or use the arrow keys to see attention; click or Enter locks',
  'arcs.layer': 'Layer',
  'arcs.head': 'Head',
  'arcs.mode': 'Mode',
  'arcs.mode.head': 'One head',
  'arcs.mode.layer': 'All heads of the layer',
  'arcs.topk': 'Top-k per token',
  'arcs.topk.option': 'top {0}',
  'arcs.threshold': 'Min weight',
  'arcs.threshold.any': 'any',
  'arcs.incoming': 'Incoming (arcs to the hovered token)',
  'arcs.shade': 'Shade by surprisal',
  'arcs.weights': 'Weights',
  'arcs.weights.attention': 'Attention',
  'arcs.weights.value': 'Value-weighted',
  'arcs.parse': 'Parse edges',
  'arcs.parse.none': 'none',
  'arcs.shade.legend': 'Shading: how surprising each token was to the model, −ln p(token | the tokens before it), from 0 (no shade) to {0} nats (darkest). The first token has no prediction.',
  'arcs.layer.option': 'Layer {0}',
  'arcs.head.option': 'Head {0} ({1})',
  'arcs.shade.title': 'Shade each token by how surprising it was to the model',
  'arcs.noPredictions': 'No predictions: {0}',
  'arcs.noPredictions.none': 'this session has none',
  'arcs.value.title': 'Value-weighted: each key weighted by ‖v_j{0}‖, the size of what it sends (Kobayashi et al. 2020), rows renormalised{1}',
  'arcs.value.title.noWo': '; this graph\'s output projection was not found, so ‖v_j‖ alone',
  'arcs.value.unavailable': 'Value-weighted attention is not available: {0}',
  'arcs.value.unavailable.none': 'no value norms',
  'arcs.loadFailed': 'Could not load attention: {0}',
  'arcs.detail.incoming': 'Tokens attending to token {0} {1}',
  'arcs.detail.outgoing': 'Token {0} {1} attends to',
  'arcs.detail.nothing': 'nothing above the current limits',
  'arcs.syntax': 'Syntax: {0}',
  'arcs.parse.edges': 'Parse, {0} (dashed): {1} {2}',
  'arcs.parse.dependents': 'its dependents',
  'arcs.parse.noEdgeTo': 'Parse, {0}: no edge to this token',
  'arcs.parse.noEdgeFrom': 'Parse, {0}: no edge from this token',
  'arcs.prediction': 'Next-token prediction: {0}',
  'arcs.actual': 'actual {0}: p = {1}%, loss {2} nats',
  'arcs.effect': 'removing {0} changes this {1} by {2}',
  'arcs.dla.adds': '{0} adds {1} to {2}',
  'arcs.dla.takes': '{0} takes {1} from {2}',
  'arcs.dla.vs': '({0} against {1}, the model\'s best other token)',
  'arcs.dla.layer': 'Written directly onto {0}: {1}',
  'arcs.effect.loss': 'loss',
  'arcs.effect.output': 'output (1 − cos)',
  'arcs.nothingDrawn': 'Arcs has nothing drawn yet: open the Arcs view of an explained selection.',
  'heads.grid': 'Attention heads',
  'heads.legend': 'Role colours',
  'heads.sort': 'Sort by',
  'heads.sort.order': 'Layer, head',
  'heads.role': 'Role',
  'heads.role.all': 'All heads',
  'heads.role.any': 'Any role',
  'heads.role.effect': 'Largest effects (top quarter)',
  'heads.hint': 'Hover or focus a head to read the evidence for its roles; click it to open it in Arcs.',
  'heads.dla.label': 'direct logit attribution',
  'heads.directTotal': 'direct ≠ total',
  'heads.directTotal.title': 'What this head writes directly onto the logits and what removing it does disagree: see its evidence',
  'flow.tokens': 'Tokens: choose the token whose pathway to trace (hover, arrows, click to lock)',
  'flow.summary': 'Attention rollout: the share of the chosen token’s final state that traces back to each token at the input of every layer (residual mixed in, Abnar & Zuidema 2020). Pick a token below.',
  'flow.failed': 'Could not trace token {0}: {1}',
  'flow.aria': 'Pathway of token {0} {1} through {2} layers',
  'flow.top': 'Token {0} {1} draws most on: {2}',
  'flow.into': 'Into layer {0}: token {1} {2} carries {3}% of token {4} {5}',
  'routes.summary': 'Information-flow routes (Ferrando & Voita 2024): the attention edges and MLP and residual steps that carry at least the chosen share of each update of the stream, traced back from one token\'s prediction to the input tokens. Rows are the stream into each layer and after its attention; click an attention edge to open its head in Arcs. Pick a token below.',
  'routes.threshold': 'Min share of an update',
  'routes.tokens': 'Tokens: choose the token whose prediction to trace (hover, arrows, click to lock)',
  'routes.list': 'Attention edges of the route, strongest first',
  'routes.failed': 'Could not trace token {0}: {1}',
  'routes.output': 'prediction',
  'routes.into': 'into L{0}',
  'routes.afterAttention': 'L{0} attn',
  'routes.aria': 'Route behind the prediction at token {0} {1}: {2} attention edges over {3} layers',
  'routes.readout': 'Token {0} {1}: {2} attention edges carry at least {3} of an update ({4}). Hover an edge for its share; click one to open its head.',
  'routes.empty': 'No edge carries {0} of any update on this route: lower the threshold.',
  'routes.open': 'Open {0} in Arcs',
  'routes.edge': '{0}: token {1} {2} → token {3} {4}, {5}%',
  'routes.edge.head': '{0} moves token {1} {2} into token {3} {4}: {5}% of that update',
  'routes.edge.attention-residual': 'Layer {0}\'s attention keeps token {1} {2}\'s own stream: {3}% of the update',
  'routes.edge.mlp': 'Layer {0}\'s MLP at token {1} {2}: {3}% of the update',
  'routes.edge.mlp-residual': 'Past layer {0}\'s MLP, token {1} {2}\'s stream carries {3}% of the update',
  'compare.aria': 'Compare',
  'compare.changes': 'Role changes',
  'compare.none': 'No role changes: all {0} roles stay on the same heads.',
  'compare.summary': '{0} appear, {1} vanish, {2} move; {3} stay on the same head. Heads are matched by (layer, head); a role that leaves one head and shows up on another counts as a move.',
  'chart.entropy': 'Entropy per head (0 = one key, 1 = uniform)',
  'chart.entropy.axis': 'normalised entropy',
  'chart.distance': 'Mean attention distance per head',
  'chart.distance.axis': 'tokens',
  'chart.sink': 'Sink mass (attention on the first token) per head',
  'chart.sink.axis': 'share',
  'chart.bothModels': '{0}, both models',
  'layers.table': 'Table of these values',
  'layers.table.aria': 'Entropy, mean attention distance and sink mass per head',
  'layers.col.head': 'Head',
  'layers.col.layer': 'Layer',
  'layers.col.entropy': 'Entropy',
  'layers.col.distance': 'Distance (tokens)',
  'layers.col.sink': 'Sink mass',
  'layers.col.roles': 'Roles',
  'layers.open': 'Open {0} in Arcs',
  'compare.table': 'Table of the per-layer means',
  'compare.table.aria': 'Per-layer mean entropy and distance of both models',
  'compare.col.entropyA': 'Entropy A',
  'compare.col.entropyB': 'Entropy B',
  'compare.col.distanceA': 'Distance A',
  'compare.col.distanceB': 'Distance B',
  'compare.align': 'Token alignment',
  'role.previous-token': 'attends to the token just before',
  'role.induction': 'attends to the token after an earlier copy of the current one',
  'role.duplicate-token': 'attends to earlier copies of the same token',
  'role.first-token-sink': 'parks attention on the first token',
  'role.self': 'attends to itself',
  'role.positional': 'attends at a fixed offset',
  'role.local': 'attends to nearby tokens',
  'role.broad': 'spreads attention evenly',
  'role.punctuation': 'attends to punctuation and separators',
  'role.bracket-matching': 'attends to the matching open bracket',
  'role.ast-parent': 'attends to the first token of its syntax-tree parent',
  'role.bracket-pair': 'attends to the opening bracket or quote the parser pairs it with',
  'role.def-use': 'attends to the previous occurrence of the same identifier in scope',
  'role.block-opener': 'attends to the keyword that opens its block',
  'role.determiner-noun': 'links a determiner and its noun',
  'role.adjective-noun': 'links an adjective and its noun',
  'role.keyword': 'attends to content words',
  'role.sentiment': 'attends to sentiment words',
  'role.rare-token': 'attends to the rarest token it can see',
  'compare.kind.appears': 'appears',
  'compare.kind.vanishes': 'vanishes',
  'compare.kind.moves': 'moves',
  'compare.kind.kept': 'stays',
  'tokens.aria': 'token {0} of {1}: {2}',
  'tokens.special': 'special {0}',
  'compare.roles.one': '1 role',
  'compare.roles': '{0} roles',
  'compare.shape': ' The models differ in shape, so heads beyond the smaller model have no counterpart.',
  'compare.kept.one': '1 role stays on the same head',
  'compare.kept': '{0} roles stay on the same head',
  'compare.perLayer': 'Per layer',
  'compare.tokens': 'Tokens',
  'compare.catalogs': 'Head catalogs',
  'compare.effects': 'Head effects',
  'compare.effects.unmeasured': 'Head effects were not measured for this pair (too slow to do on the way: more than 2 s per model). Explain the selection with each model and run Measure Head Effects to see what each head does to the output.',
  'compare.effects.unpaired': 'Both models\' head effects are in their catalogs below; the models differ in shape or in what is measured, so heads are not paired.',
  'compare.effects.intro': '{0}; the heads whose effect changed most from A to B:',
  'compare.effects.row': '{0}: {1} in A → {2} in B ({3})',
  'compare.effects.aria': 'Head effect changes',
} as const;
export type WebviewStringKey = keyof typeof WEBVIEW_STRINGS;

/** What Export view… writes: PNG of the current view, SVG of Arcs, head tables, a standalone HTML report. */
export type ExportFormat = 'png' | 'svg' | 'csv' | 'json' | 'html';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['png', 'svg', 'csv', 'json', 'html'];
/** Formats the webview renders (the host asks, the page answers with bytes or text). */
export type RenderedFormat = 'png' | 'svg';

export type ViewName = 'arcs' | 'heads' | 'layers' | 'flow' | 'routes';
export const VIEW_NAMES: readonly ViewName[] = ['arcs', 'heads', 'layers', 'flow', 'routes'];

/** Routes: the default share an edge needs (the LLM Transparency Tool's default), and the lowest the panel asks for. */
export const ROUTES_THRESHOLD = 0.04;
export const ROUTES_MIN_THRESHOLD = 0.01;

/** A token as the webview sees it: text from the user's document (untrusted: render as text only). */
export interface WireToken {
  text: string;
  /** UTF-16 offsets into the explained selection; -1 for special tokens. */
  start: number;
  end: number;
  special: boolean;
  /** Its syntax node type (code: `identifier in call`) or word class (prose: `NOUN`), when the text was parsed or tagged. */
  syntax?: string;
}

export interface WireRole {
  name: RoleName;
  score: number;
  threshold: number;
  /** A human sentence: "puts 81% of its attention on the previous token (uniform: 7%) — e.g. `ledger` → `the`". */
  evidence: string;
  /** Measured on the user's text, or on the model's repeat probe. */
  source: 'text' | 'probe';
  /** positional heads: the relative offset j − i. */
  offset?: number;
  /** One attention edge that shows the role: query token → key token. */
  example?: { query: number; key: number; weight: number };
}

export interface WireHead {
  layer: number;
  head: number;
  /** "L0H2" */
  id: string;
  /** NaN where a metric cannot be measured on this input (`notes` says why). */
  metrics: Record<string, number>;
  notes: Record<string, string>;
  roles: WireRole[];
}

export interface MetricInfo {
  key: string;
  label: string;
  definition: string;
}

/** The small, serializable part of the panel: what to explain and how it was being viewed. Never tensors. */
export interface PanelState {
  version: typeof PROTOCOL_VERSION;
  source: {
    uri: string;
    /** [startLine, startCharacter, endLine, endCharacter], zero-based as in the VS Code API. */
    range: [number, number, number, number];
  };
  /** Model label chosen when the panel was explained (bundled name or file path). */
  model?: string;
  view: ViewName;
  layer: number;
  head: number;
  /** 'head': one head; 'layer': all heads of `layer` overlaid. */
  mode: 'head' | 'layer';
  topK: number;
  threshold: number;
  showIncoming: boolean;
  /** Arcs, thumbnails and Flow: raw attention weights, or value-weighted (α_ij · ‖v_j W_O^h‖, rows renormalised). */
  weighting?: 'attention' | 'value';
}

/** Everything the panel needs to paint, except per-head matrices (fetched on demand). */
export interface SessionData {
  id: number;
  title: string;
  /** The explained text itself, for laying out tokens like the source (rendered as text only). */
  text: string;
  model: { name: string; kind: 'causal' | 'bidirectional'; layers: number; headsPerLayer: number };
  tokens: WireToken[];
  heads: WireHead[];
  metrics: MetricInfo[];
  /** Heads' attention shrunk to `thumbSize`², one Uint8Array per head (index layer*H+head), 0..255. */
  thumbSize: number;
  thumbnails: Uint8Array[];
  truncatedFrom?: number;
  /** What became of the model's repeat probe (measured on what, or why not): shown with the session's notes. */
  probeNote?: string;
  /** A caveat about the syntax roles (an unknown language read as prose, a parse with errors, a failed reading). */
  syntaxNote?: string;
  /** The parse's (code) or tagger's (prose) gold edges per syntax relation, [dependent, gold token] pairs: Arcs overlays them. */
  relations?: { name: RoleName; edges: [number, number][] }[];
  /** Causal LMs: the model's next-token predictions at each token; else `predictionsNote` says why there are none. */
  predictions?: WirePredictions;
  predictionsNote?: string;
  /** Head effects, once measured (the panel merges them as the `effect` metric; reports carry them). */
  effects?: WireEffects;
  /**
   * ‖v_j W_O^h‖ per layer, head and key ([layers × heads × n]) for value-weighted attention (Kobayashi et al.
   * 2020); `weighting` says whether W_O was found ('value·W_O') or only ‖v_j‖ is used ('value'). Else a note.
   */
  valueNorms?: { data: Float32Array; weighting: 'value·W_O' | 'value' | 'mixed' };
  valueNormsNote?: string;
  /**
   * The heads' thumbnails over value-weighted attention, like `thumbnails`. Not part of an explain: the Heads
   * view asks for them (`heads/valueThumbnails`) the first time it shows value weighting, and keeps them here.
   */
  valueThumbnails?: Uint8Array[];
  /** Direct logit attribution of every head at every token (causal LMs whose graph shows the path); else `dlaNote` says why. */
  dla?: WireDla;
  dlaNote?: string;
  /** Why the Routes view has nothing to trace for this session (no residual path found, too long to keep…). */
  routesNote?: string;
  /** Set when no model ran (the foundation's placeholder); the panel shows this instead of attention. */
  notice?: string;
  /**
   * A long selection's first paint: tokens and head matrices are ready, the per-head analysis is still
   * streaming — `heads` and `thumbnails` are empty until a `session/heads` notification fills them.
   */
  analysing?: boolean;
}

// ---- Compare Models…: the diff of two sessions (built by src/session/compare.ts) ----
export interface HeadRef { layer: number; head: number; id: string; score: number }

export type RoleChangeKind = 'appears' | 'vanishes' | 'moves' | 'kept';

export interface RoleChange {
  kind: RoleChangeKind;
  role: string;
  /** The head holding the role in A (vanishes, moves, kept). */
  a?: HeadRef;
  /** The head holding the role in B (appears, moves, kept). */
  b?: HeadRef;
  /** e.g. "induction appears at L2H2 between step 0 and step 4,000 (score 0.81)" */
  sentence: string;
}

/** One group of tokens covering the same source characters: A's tokens over B's. */
export interface AlignedSpan {
  start: number;
  end: number;
  a: number[];
  b: number[];
}

export interface TokenAlignment {
  /** Same token texts and spans on both sides (same tokenizer): groups are one-to-one. */
  identical: boolean;
  spans: AlignedSpan[];
  /** Special tokens (BOS, [CLS], [SEP]) cover no characters and are listed apart. */
  specialA: number[];
  specialB: number[];
  /** What the view says about it. */
  note: string;
}

export interface LayerSeries { key: string; a: number[]; b: number[] }

export interface CompareDiff {
  labels: { a: string; b: string };
  /** appears / vanishes / moves, in layer order of the head involved. */
  changes: RoleChange[];
  kept: RoleChange[];
  sameShape: boolean;
  alignment: TokenAlignment;
  /** Mean of each metric over a layer's heads (NaN where no head could be measured). */
  layers: LayerSeries[];
}

/** Per position i (predicting token i + 1): the top-k next tokens (text is model output: render as text only). */
export interface WirePredictions {
  k: number;
  /** [n × k], best first. */
  topText: string[];
  topP: Float32Array;
  /** p and −ln p (nats) of the token that actually follows; NaN at the last token. */
  actualP: Float32Array;
  loss: Float32Array;
}

/** What removing each head does to the output (zero-ablation), heads in layer-major order. */
export interface WireEffects {
  /** e.g. "zero-ablation: Δ loss of the next token (nats)". */
  method: string;
  /** Per head: mean over the tokens that have a next token. */
  meanDelta: Float32Array;
  /** Per head: one value per token (NaN where undefined). */
  perToken: Float32Array[];
  /** Per head: a sentence for the evidence ("removing L1H3 raises the loss … by 2.3 nats, most at `Varga`"). */
  sentences: string[];
  ms: number;
  /** How many heads are measured so far (a subset, or a measurement still streaming in); the rest are NaN. */
  measured?: number;
  /** Why each ablation reran the whole graph instead of a cut copy from the head's layer up. */
  note?: string;
}

/**
 * Direct logit attribution (what each head writes straight onto the logit of the token that follows, with the
 * final norm's scale frozen at this run's value), heads in layer-major order.
 */
export interface WireDla {
  /** [head][token] (head = layer · H + h): onto the actual next token's logit; NaN at the last token. */
  actual: Float32Array;
  /** Same layout: onto logit(actual next) − logit(alternative); NaN where there is none. */
  diff: Float32Array;
  /** Per position: the alternative's text — the model's best token other than the actual next one ('' where none). */
  altText: string[];
  /** Per head: mean DLA and mean |DLA| over the positions that have a next token. */
  mean: Float32Array;
  meanAbs: Float32Array;
  /** Per head: the evidence sentence ("writes +0.42 per token directly onto the next token's logit; most … "). */
  sentences: string[];
  /** How the final norm was frozen, e.g. "decomposed LayerNorm". */
  norm: string;
  ms: number;
}

// ---- Routes (Ferrando & Voita 2024): the graph of contributions behind one token's prediction ----
export type RouteEdgeKind = 'head' | 'attention-residual' | 'mlp' | 'mlp-residual';

/** One kept edge: into layer `layer`'s update of position `to`, from position `from` (the same for residual and MLP). */
export interface RouteEdge {
  layer: number;
  kind: RouteEdgeKind;
  /** The attention head (kind 'head'), else −1. */
  head: number;
  from: number;
  to: number;
  /** The term's share of the update (0..1). */
  weight: number;
}

/** Every edge at or above `threshold` that leads into the route of `token` (src/analysis/routes.ts). */
export interface RouteGraph {
  /** The position whose final stream (its next-token prediction) the route is traced from. */
  token: number;
  threshold: number;
  layers: number;
  edges: RouteEdge[];
  /** How attention terms were measured: through each layer's W_O, or a slice of the graph from the probabilities on. */
  via?: string;
  ms?: number;
}

/**
 * The route at a higher threshold than it was traced at: the edges that reach it and still lead into the
 * route from the top (an edge whose target fell out of the route goes with it).
 */
export function routesAt(g: RouteGraph, threshold: number): RouteEdge[] {
  if (threshold <= g.threshold) return g.edges;
  const kept: RouteEdge[] = [];
  let active = new Set([g.token]);
  for (let l = g.layers - 1; l >= 0; l--) {
    const here = g.edges.filter((e) => e.layer === l && e.weight >= threshold);
    const mids = new Set<number>();
    for (const e of here) if ((e.kind === 'mlp' || e.kind === 'mlp-residual') && active.has(e.to)) { kept.push(e); mids.add(e.from); }
    const inputs = new Set<number>();
    for (const e of here) if ((e.kind === 'head' || e.kind === 'attention-residual') && mids.has(e.to)) { kept.push(e); inputs.add(e.from); }
    active = inputs;
  }
  return kept;
}

// ---- host → webview notifications ----
export type HostNotification =
  | { type: 'session/loading'; title: string; message: string }
  | { type: 'session/data'; session: SessionData; state: PanelState }
  /**
   * The analysis of an `analysing` session finished: its heads and thumbnails (same session id), and what was
   * measured after the first paint (the value norms, or why there are none).
   */
  | { type: 'session/heads'; sessionId: number; heads: WireHead[]; thumbnails: Uint8Array[]; valueNorms?: SessionData['valueNorms']; valueNormsNote?: string }
  | { type: 'session/error'; message: string; detail?: string }
  | { type: 'editor/cursorToken'; index: number | null }
  | { type: 'head/focus'; layer: number; head: number; view?: ViewName }
  /** Two sessions of the same text side by side (Compare models…); the panel shows its compare mode. */
  | { type: 'compare/data'; a: SessionData; b: SessionData; diff: CompareDiff; state: PanelState }
  /** Head effects of a session: measuring (with progress), measured, or why not. */
  | { type: 'session/effects'; sessionId: number; status: 'measuring' | 'done' | 'failed'; effects?: WireEffects; message?: string }
  /** Render the current view for export; answered by `export/rendered` with the same id. */
  | { type: 'export/render'; id: number; format: RenderedFormat };

/** One head's full matrix, quantised: weight ≈ data[q*seq+k] / 255. */
export interface HeadMatrix {
  layer: number;
  head: number;
  seq: number;
  data: Uint8Array;
}

export interface FlowData {
  token: number;
  /**
   * Per layer l (0 = input side), the share of the chosen token's final representation that traces back
   * to each token at the input of layer l (attention rollout with the residual mixed in). Each sums to 1.
   */
  layers: Float32Array[];
}

// ---- webview → host requests and their results ----
export interface RequestMap {
  'head/matrix': { params: { sessionId: number; layer: number; head: number }; result: HeadMatrix };
  'flow/rollout': { params: { sessionId: number; token: number; weighting?: 'attention' | 'value' }; result: FlowData };
  /** The information-flow route behind token `token`'s prediction, every edge with a share ≥ threshold. */
  'routes/trace': { params: { sessionId: number; token: number; threshold: number }; result: RouteGraph };
  /** Every head's thumbnail over value-weighted attention, made when the Heads view first shows them (not with every explain). */
  'heads/valueThumbnails': { params: { sessionId: number }; result: { thumbSize: number; thumbnails: Uint8Array[] } };
}
export type RequestMethod = keyof RequestMap;
export type WebviewRequest = {
  [M in RequestMethod]: { type: 'request'; id: number; method: M; params: RequestMap[M]['params'] };
}[RequestMethod];

export type HostReply =
  | { type: 'reply'; id: number; ok: true; result: unknown }
  | { type: 'reply'; id: number; ok: false; error: string };

// ---- webview → host notifications ----
export type WebviewNotification =
  | { type: 'webview/ready'; protocol: number }
  | { type: 'state/changed'; state: PanelState }
  /** Hovered (or keyboard-focused) token and the keys it attends to most, for editor decorations. */
  | { type: 'token/hover'; index: number | null; keys: { index: number; weight: number }[] }
  | { type: 'token/reveal'; index: number }
  | { type: 'command/run'; command: 'selectModel' | 'exportView' | 'findHead' }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  /** The panel's Measure head effects button. */
  | { type: 'effects/measure'; sessionId: number }
  /** The panel's Export menu: the host runs Export view… for this format (it asks where to save). */
  | { type: 'export/start'; format: ExportFormat }
  /** The answer to `export/render`: PNG bytes or SVG text, or why the view could not be rendered. */
  | { type: 'export/rendered'; id: number; format: RenderedFormat; ok: true; data: Uint8Array | string; width: number; height: number }
  | { type: 'export/rendered'; id: number; format: RenderedFormat; ok: false; error: string };

export type HostToWebview = HostNotification | HostReply;
export type WebviewToHost = WebviewNotification | WebviewRequest;

// ---- guards: both sides treat incoming messages as untrusted and drop anything malformed ----
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isIndexOrNull = (v: unknown) => v === null || (isInt(v) && v >= 0);
const isSessionLike = (v: unknown) => isObj(v) && Array.isArray(v.tokens) && Array.isArray(v.heads) && isObj(v.model);
export const MAX_RENDER_BYTES = 64 * 1024 * 1024;

export function isPanelState(v: unknown): v is PanelState {
  if (!isObj(v) || v.version !== PROTOCOL_VERSION || !isObj(v.source)) return false;
  const r = v.source.range;
  return typeof v.source.uri === 'string'
    && Array.isArray(r) && r.length === 4 && r.every((x) => isInt(x) && x >= 0)
    && (v.model === undefined || typeof v.model === 'string')
    && VIEW_NAMES.includes(v.view as ViewName)
    && isInt(v.layer) && isInt(v.head) && (v.mode === 'head' || v.mode === 'layer')
    && isInt(v.topK) && typeof v.threshold === 'number' && typeof v.showIncoming === 'boolean'
    && (v.weighting === undefined || v.weighting === 'attention' || v.weighting === 'value');
}

type Fields = Record<string, unknown>;
/**
 * One guard per message type, keyed by `type`. The mapped types make the compiler hold the tables to
 * the unions above: a message type without a guard, or a guard for no message type, does not build
 * (test/unit/host/protocol.test.ts also checks every guard against a well-formed message).
 */
type Guards<U extends { type: string }> = { [K in U['type']]: (v: Fields) => boolean };

const webviewGuards: Guards<WebviewToHost> = {
  'webview/ready': (v) => isInt(v.protocol),
  'state/changed': (v) => isPanelState(v.state),
  'token/hover': (v) => isIndexOrNull(v.index) && Array.isArray(v.keys) && v.keys.length <= 64
    && v.keys.every((k) => isObj(k) && isInt(k.index) && k.index >= 0 && typeof k.weight === 'number'),
  'token/reveal': (v) => isInt(v.index) && v.index >= 0,
  'command/run': (v) => v.command === 'selectModel' || v.command === 'exportView' || v.command === 'findHead',
  'log': (v) => (v.level === 'info' || v.level === 'warn' || v.level === 'error') && typeof v.message === 'string',
  'export/start': (v) => EXPORT_FORMATS.includes(v.format as ExportFormat),
  'effects/measure': (v) => isInt(v.sessionId),
  'export/rendered': (v) => {
    if (!isInt(v.id) || (v.format !== 'png' && v.format !== 'svg')) return false;
    if (v.ok === false) return typeof v.error === 'string';
    // PNG arrives as bytes, SVG as text; both capped (a panel view is far below 64 MB).
    const okData = v.format === 'png' ? v.data instanceof Uint8Array && v.data.length <= MAX_RENDER_BYTES
      : typeof v.data === 'string' && v.data.length <= MAX_RENDER_BYTES;
    return v.ok === true && okData && isInt(v.width) && isInt(v.height) && v.width > 0 && v.height > 0;
  },
  'request': (v) => {
    if (!isInt(v.id) || !isObj(v.params)) return false;
    const p = v.params;
    return v.method === 'head/matrix' ? isInt(p.sessionId) && isInt(p.layer) && isInt(p.head)
      : v.method === 'flow/rollout' ? isInt(p.sessionId) && isInt(p.token) && (p.weighting === undefined || p.weighting === 'attention' || p.weighting === 'value')
        : v.method === 'routes/trace' ? isInt(p.sessionId) && isInt(p.token) && p.token >= 0 && typeof p.threshold === 'number' && p.threshold >= ROUTES_MIN_THRESHOLD && p.threshold <= 1
        : v.method === 'heads/valueThumbnails' ? isInt(p.sessionId)
          : false;
  },
};

const hostGuards: Guards<HostToWebview> = {
  'session/loading': (v) => typeof v.title === 'string' && typeof v.message === 'string',
  'session/data': (v) => isObj(v.session) && Array.isArray(v.session.tokens) && isPanelState(v.state),
  'session/heads': (v) => isInt(v.sessionId) && Array.isArray(v.heads) && Array.isArray(v.thumbnails) && v.thumbnails.every((t) => t instanceof Uint8Array)
    && (v.valueNorms === undefined || (isObj(v.valueNorms) && v.valueNorms.data instanceof Float32Array && typeof v.valueNorms.weighting === 'string'))
    && (v.valueNormsNote === undefined || typeof v.valueNormsNote === 'string'),
  'session/error': (v) => typeof v.message === 'string',
  'editor/cursorToken': (v) => isIndexOrNull(v.index),
  'head/focus': (v) => isInt(v.layer) && isInt(v.head) && (v.view === undefined || VIEW_NAMES.includes(v.view as ViewName)),
  'reply': (v) => isInt(v.id) && typeof v.ok === 'boolean',
  'compare/data': (v) => isSessionLike(v.a) && isSessionLike(v.b) && isObj(v.diff) && Array.isArray(v.diff.changes) && isObj(v.diff.alignment) && isPanelState(v.state),
  'export/render': (v) => isInt(v.id) && (v.format === 'png' || v.format === 'svg'),
  'session/effects': (v) => isInt(v.sessionId) && (v.status === 'measuring' || v.status === 'done' || v.status === 'failed')
    && (v.message === undefined || typeof v.message === 'string')
    && (v.effects === undefined || (isObj(v.effects) && v.effects.meanDelta instanceof Float32Array && Array.isArray(v.effects.perToken)
      && v.effects.perToken.every((t) => t instanceof Float32Array) && Array.isArray(v.effects.sentences) && typeof v.effects.method === 'string')),
};

/** The message types each side accepts, for tests and logs. */
export const WEBVIEW_MESSAGE_TYPES = Object.keys(webviewGuards) as WebviewToHost['type'][];
export const HOST_MESSAGE_TYPES = Object.keys(hostGuards) as HostToWebview['type'][];

function parseWith<T>(guards: Record<string, (v: Fields) => boolean>, v: unknown): T | undefined {
  if (!isObj(v) || typeof v.type !== 'string' || !Object.prototype.hasOwnProperty.call(guards, v.type)) return undefined;
  return guards[v.type](v) ? (v as T) : undefined;
}

/** Validates a message from the webview. Returns it typed, or undefined (caller logs and drops it). */
export function parseWebviewMessage(v: unknown): WebviewToHost | undefined {
  return parseWith<WebviewToHost>(webviewGuards, v);
}

/** Validates a message from the host (the webview trusts the host less than blindly: it is a boundary). */
export function parseHostMessage(v: unknown): HostToWebview | undefined {
  return parseWith<HostToWebview>(hostGuards, v);
}

/** The session with head effects folded in: an `effect` metric on every head (sortable and exported like the others). */
export function sessionWithEffects(session: SessionData, effects: WireEffects): SessionData {
  const loss = effects.method.includes('loss');
  const info = { key: 'effect', label: loss ? 'Effect of removing it (Δ loss, nats)' : 'Effect of removing it (1 − cos)', definition: `${effects.method}: the head's probabilities × 0, averaged over the tokens.` };
  return {
    ...session, effects,
    heads: session.heads.map((hd) => ({ ...hd, metrics: { ...hd.metrics, effect: effects.meanDelta[hd.layer * session.model.headsPerLayer + hd.head] } })),
    metrics: [...session.metrics.filter((m) => m.key !== 'effect'), info],
  };
}

/** The session with DLA folded in: `dla` (mean, signed) and `dlaAbs` (mean |DLA|) metrics on every head. */
export function sessionWithDla(session: SessionData, dla: WireDla): SessionData {
  const H = session.model.headsPerLayer;
  const infos: MetricInfo[] = [
    { key: 'dla', label: 'Direct logit attribution (mean)', definition: `What the head writes straight onto the logit of the token that follows, through the final norm frozen at this run's scale (${dla.norm}) and the unembedding, averaged over the tokens: s_i ⟨z_h(i) W_O^h, γ ⊙ W_U[:, next]⟩ (TransformerLens' residual decomposition).` },
    { key: 'dlaAbs', label: 'Direct logit attribution (mean |·|)', definition: 'The mean size of the head\'s direct write onto the next token\'s logit, whatever its sign: how much it writes directly at all.' },
  ];
  return {
    ...session, dla,
    heads: session.heads.map((hd) => ({ ...hd, metrics: { ...hd.metrics, dla: dla.mean[hd.layer * H + hd.head], dlaAbs: dla.meanAbs[hd.layer * H + hd.head] } })),
    metrics: [...session.metrics.filter((m) => m.key !== 'dla' && m.key !== 'dlaAbs'), ...infos],
  };
}

/** Effects this small (nats) are not called a disagreement: noise and tokens the head never touches. */
export const DIRECT_TOTAL_MIN = 0.1;

/** Mean of one head's per-token values (finite ones). */
function headMean(a: Float32Array, k: number, n: number): number {
  let s = 0, c = 0;
  for (let i = k * n; i < (k + 1) * n; i++) if (Number.isFinite(a[i])) { s += a[i]; c++; }
  return c ? s / c : NaN;
}

/**
 * "Direct is not total": a sentence where a head's direct logit attribution and its measured effect (removing
 * it) disagree — a large effect with little direct write (it works through later layers, like a previous-token
 * head feeding an induction head), or a large direct write that removing it barely changes. Both are means over
 * the same tokens (the sentence adds the margin over the model's best other token); a logit unit moves the loss
 * by at most about one nat, so a quarter of the other is a clear gap. Undefined where they agree or the effect
 * is not a Δ loss.
 */
export function directVsTotal(dla: WireDla, effects: WireEffects, index: number, id: string, lastLayer = false): string | undefined {
  if (!effects.method.includes('loss')) return undefined;
  const n = dla.actual.length / Math.max(1, dla.mean.length);
  const onto = dla.mean[index], margin = headMean(dla.diff, index, n), total = effects.meanDelta[index];
  if (!Number.isFinite(onto) || !Number.isFinite(total)) return undefined;
  const direct = onto;
  const sg = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(2)}`;
  const wrote = `${sg(onto)} directly onto the next token's logit${Number.isFinite(margin) ? ` (${sg(margin)} against the model's best other token)` : ''}`;
  if (Math.abs(total) >= DIRECT_TOTAL_MIN && Math.abs(direct) < Math.abs(total) / 4) {
    return `Direct is not total: removing ${id} changes the loss by ${sg(total)} nats, but it writes only ${wrote} — most of its effect passes through later layers.`;
  }
  if (Math.abs(direct) >= DIRECT_TOTAL_MIN && Math.abs(total) < Math.abs(direct) / 4) {
    return `Direct is not total: ${id} writes ${wrote}, yet removing it changes the loss by only ${sg(total)} nats — ${lastLayer ? 'its write lifts other tokens\' logits too' : 'its write lifts other tokens\' logits too, or later layers make up for it'}.`;
  }
  return undefined;
}

export function defaultPanelState(uri: string, range: PanelState['source']['range'], model?: string): PanelState {
  return { version: PROTOCOL_VERSION, source: { uri, range }, model, view: 'arcs', layer: 0, head: 0, mode: 'head', topK: 3, threshold: 0.1, showIncoming: false };
}
