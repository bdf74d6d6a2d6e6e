// The data that crosses between host and webview: sessions, heads, roles, comparisons, routes, and the panel's
// small state. Plain types and constant lists only, free of Node and DOM APIs (compiled into both bundles).
// Big numeric payloads travel as typed arrays (structured clone), never as JSON lists of numbers.

/**
 * Every head role the analysis can award, in the order the panel lists them: the one typed source of
 * role names (src/analysis/types.ts takes its RoleName from here; the webview colours and explains each).
 */
export const ROLE_NAMES = [
  'previous-token',
  'induction',
  'duplicate-token',
  'first-token-sink',
  'self',
  'positional',
  'local',
  'broad',
  'punctuation',
  'bracket-matching',
  // Syntax roles (src/analysis/roles/syntax.ts), given only when the text was parsed (code) or tagged (prose):
  // ast-parent (→ first token of its AST parent), bracket-pair (→ the opener the parse pairs it with),
  // def-use (identifier → its previous occurrence in scope), block-opener (→ the keyword opening its block),
  // determiner-noun / adjective-noun (prose noun phrases), keyword (content words), sentiment (AFINN words),
  // rare-token (the rarest visible token, Voita et al. 2019).
  'ast-parent',
  'bracket-pair',
  'def-use',
  'block-opener',
  'determiner-noun',
  'adjective-noun',
  'keyword',
  'sentiment',
  'rare-token',
] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

/** The panel's state format, sent by the page in webview/ready and stored in PanelState (a stale page is rebuilt once). */
export const PROTOCOL_VERSION = 1;

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
export interface HeadRef {
  layer: number;
  head: number;
  id: string;
  score: number;
}

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

export interface LayerSeries {
  key: string;
  a: number[];
  b: number[];
}

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
