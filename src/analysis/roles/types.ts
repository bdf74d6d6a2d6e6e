// The shapes a role detector works with: what it is given, what it decides, and the veto passes that may
// rule a decision out once every detector has decided.
import type { TextContext } from '../context';
import type { HeadMeasure, RowStat } from '../measure';
import type { ProbeHeadScore } from '../probe';
import type { RestMeasure, RestStat } from '../sinkAware';
import type { TargetLists } from '../tokenClasses';
import type { EvidenceExample, RoleCandidate, RoleName } from '../types';

/** What every detector reads besides the head's measurements and its sink-aware reading. */
export interface DetectorContext {
  text: TextContext;
  /** The model's repeat-probe scores for this head, when the caller ran the probe. */
  probe?: ProbeHeadScore;
  /** "the first token", or "the first token and `[SEP]`": the sinks, for evidence sentences. */
  sinkWhat: string;
}

/** One role's verdict on one head: its candidate score plus what the evidence and the vetoes need. */
export interface Decision extends RoleCandidate {
  sentence: string;
  /** Set when the score passes but another criterion rules the role out (reported as the reason). */
  veto?: string;
  /** Key(s) this role expects for query i (for picking an example edge). */
  targets?: (i: number) => number[];
  /** The example edge of a role with no target list, on the head's attention A (read only when the role is awarded). */
  example?: (A: Float32Array) => EvidenceExample | undefined;
  /** The sink-aware score (sinkAware.ts), when the head keeps enough mass off the sinks to measure it. */
  rest?: { score: number; mass: number };
  /** Awarded on the sink-aware score: the example edge is read off the non-sink argmax. */
  viaRest?: boolean;
  /** The whole-row and sink-aware statistics behind the score: the example edge's typical target mass. */
  stat?: RowStat;
  restStat?: RestStat;
  /** A probe decision's reading of the user's text alone (the vetoes judge the text, not the probe). */
  onText?: Decision;
  /**
   * Roles whose target exists on some rows only (repeats, brackets): the first-token mass on those rows
   * and the target lists, which the sink and positional vetoes check their own decision against.
   */
  targetRows?: { sinkMass: RowStat; lists: TargetLists };
}

/**
 * A veto: a named pass run after every detector has decided, on its own detector's decision. It sets
 * `own.veto` (and may add to an evidence sentence) when another criterion rules the role out.
 */
export type Veto = (own: Decision, all: readonly Decision[], meas: HeadMeasure, sinkAware: RestMeasure | undefined, context: DetectorContext) => void;

/** One row of the role table (roles/index.ts). */
export interface Detector {
  name: RoleName;
  /** The role's decision on one head; undefined when the role does not apply to this input at all (no candidate). */
  decide(meas: HeadMeasure, sinkAware: RestMeasure | undefined, context: DetectorContext): Decision | undefined;
  vetoes?: readonly Veto[];
}
