// Shapes produced by the analysis room. Pure data: safe to post to the webview as JSON
// (NaN is not JSON — callers serialising reports should map NaN to null; `notes` says why).

/** Keys of the per-head metrics (see METRICS in metricDefs.ts for their definitions). */
export type MetricKey =
  | 'entropy'
  | 'distance'
  | 'charDistance'
  | 'sink'
  | 'self'
  | 'previous'
  | 'punctuation'
  | 'duplicate'
  | 'induction'
  | 'maxWeight'
  | 'topK'
  | 'tlPrevious'
  | 'tlDuplicate'
  | 'tlInduction'
  | 'probeInduction'
  | 'probeDuplicate'
  | 'probePrevious';

/** Every metric of one head. NaN = not measurable on this input; `notes[key]` then says why. */
export type HeadMetrics = Record<MetricKey, number>;

/** The protocol owns the list of role names (ROLE_NAMES), shared with the webview; analysis imports the type only. */
export type { RoleName } from '../protocol';
import type { RoleName } from '../protocol';

/** One concrete attention edge illustrating a role: query token index → key token index. */
export interface EvidenceExample {
  query: number;
  key: number;
  queryText: string;
  keyText: string;
  /** The head's weight on that edge. */
  weight: number;
}

export interface RoleEvidence {
  /** A human sentence, e.g. "puts 81% of its attention on the previous token (uniform: 7%) — e.g. `ledger` → `the`". */
  sentence: string;
  example?: EvidenceExample;
}

export interface Role {
  name: RoleName;
  /** Chance-corrected score in [0, 1]; the role is awarded when score ≥ threshold. */
  score: number;
  threshold: number;
  evidence: RoleEvidence;
  /** Where it was measured: the user's text, or the model's repeat probe. */
  source: 'text' | 'probe';
  /** positional only: the relative offset j − i the head's argmax sits at. */
  offset?: number;
  /**
   * The sink-aware reading: `score` on rows renormalised without the sink columns (the first token,
   * [CLS]/[SEP]/BOS), `mass` = the mean share of each row off the sinks. Absent when the head keeps
   * less than MIN_REST_MASS off them (or the role cannot be read that way).
   */
  rest?: { score: number; mass: number };
  /** Relation roles (syntax): Clark et al.'s accuracy, the best fixed-offset baseline and the dependents counted. */
  relation?: RelationScore;
}

/** A relation role's numbers (src/analysis/roles/syntax.ts). */
export interface RelationScore {
  accuracy: number;
  /** Share of the same dependents a fixed relative offset gets right, and that offset. */
  baseline: number;
  baselineOffset: number;
  /** Dependents scored. */
  count: number;
  /** The parse had errors: some dependents were left out. */
  partial?: boolean;
}

/** A role's score whether or not it was awarded (for "why not?" tooltips and tests). */
export interface RoleCandidate {
  name: RoleName;
  score: number;
  threshold: number;
  /** false when the input cannot show the role (e.g. no brackets); `reason` says why. */
  measurable: boolean;
  reason?: string;
  source: 'text' | 'probe';
  offset?: number;
  rest?: { score: number; mass: number };
  /** Relation roles (syntax): Clark et al.'s accuracy, the best fixed-offset baseline and the dependents counted. */
  relation?: RelationScore;
}

export interface HeadReport {
  layer: number;
  head: number;
  /** "L0H2" — layers and heads counted from 0. */
  id: string;
  metrics: HeadMetrics;
  /** Why a metric is NaN, keyed by metric. */
  notes: Partial<Record<MetricKey, string>>;
  /** Awarded roles, strongest first. Empty = unclassified (an honest answer). */
  roles: Role[];
  /** Every role's score, awarded or not. */
  candidates: RoleCandidate[];
}

export interface Aggregate {
  mean: number;
  min: number;
  max: number;
}

export interface LayerSummary {
  layer: number;
  /** Over the heads of the layer, NaN values skipped (NaN when all are NaN). */
  metrics: Record<MetricKey, Aggregate>;
  /** How many heads of the layer carry each role. */
  roleCounts: Partial<Record<RoleName, number>>;
}
