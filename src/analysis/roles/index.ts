// The role table: every role a head can be awarded from its measurements, one detector per row, strongest
// first in the result. A detector decides its own role (roles/*.ts); once all have decided, each row's vetoes
// run in table order and may rule their own decision out. Adding a role: a file with its detector, a row here.
// The syntax roles (syntax.ts) are scored apart: their rows come from the text's parse, not from this table.
import type { TextContext } from '../context';
import type { HeadMeasure } from '../measure';
import type { ProbeHeadScore } from '../probe';
import type { RestMeasure } from '../sinkAware';
import type { EvidenceExample, Role, RoleCandidate } from '../types';
import { bracketMatching } from './brackets';
import { describeSinks, notBelow, show } from './decision';
import { pickExample, typicalMass } from './evidence';
import { broad, local, positional, previousToken, self } from './positional';
import { punctuation } from './punctuation';
import { duplicateToken, induction } from './repeat';
import { firstTokenSink } from './sink';
import type { Decision, Detector, DetectorContext } from './types';

/** The order is the candidates' order, the tie order of equal scores, and the order the vetoes run in. */
export const DETECTORS: readonly Detector[] = [
  previousToken,
  firstTokenSink,
  self,
  local,
  positional,
  broad,
  duplicateToken,
  induction,
  punctuation,
  bracketMatching,
];

/** Every role's candidate score for one head, and the awarded roles (strongest first). */
export function decideRoles(
  A: Float32Array,
  ctx: TextContext,
  meas: HeadMeasure,
  probe?: ProbeHeadScore,
  rest?: RestMeasure,
): { roles: Role[]; candidates: RoleCandidate[] } {
  const context: DetectorContext = { text: ctx, probe, sinkWhat: describeSinks(ctx) };
  const decided: [Detector, Decision][] = [];
  for (const detector of DETECTORS) {
    const d = detector.decide(meas, rest, context);
    if (d) decided.push([detector, d]);
  }
  const decisions = decided.map(([, d]) => d);
  for (const [detector, d] of decided) for (const veto of detector.vetoes ?? []) veto(d, decisions, meas, rest, context);

  const roles = decisions.filter((d) => notBelow(d) && !d.veto).map((d) => award(d, A, ctx, meas, rest));
  roles.sort((a, b) => b.score - a.score);
  return { roles, candidates: decisions.map(candidate) };
}

/** An awarded decision as a role, with its example edge and evidence sentence. */
function award(d: Decision, A: Float32Array, ctx: TextContext, meas: HeadMeasure, rest: RestMeasure | undefined): Role {
  let example: EvidenceExample | undefined;
  if (d.targets) example = pickExample(A, ctx, d.viaRest && rest ? rest.argmax : meas.argmax, d.targets, typicalMass(d));
  else if (d.example) example = d.example(A);
  const sentence = d.sentence + (example ? ` — e.g. ${show(example.queryText)} → ${show(example.keyText)}` : '');
  const role: Role = { name: d.name, score: d.score, threshold: d.threshold, evidence: { sentence, example }, source: d.source };
  if (d.offset !== undefined) role.offset = d.offset;
  if (d.rest) role.rest = d.rest;
  return role;
}

/** A decision as the candidate the panel's "why not?" shows: a veto becomes the reason. */
function candidate({ name, score, threshold, measurable, reason, source, offset, veto, rest }: Decision): RoleCandidate {
  const c: RoleCandidate = { name, score, threshold, measurable, source };
  if (rest) c.rest = rest;
  if (reason ?? veto) c.reason = reason ?? `ruled out: ${veto}`;
  if (offset !== undefined) c.offset = offset;
  return c;
}
