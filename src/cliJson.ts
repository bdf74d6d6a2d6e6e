// The explain JSON that `headlight explain` writes: model, tokens, every head's roles, candidates and measures, DLA,
// predictions, the probe, and --attention's weights. Split from cli.ts; the field names are the CLI's documented output.
import type { BuiltSession, HeadEffects } from './session/pipeline';
import type { toWireEffects } from './session/effectsWire';
import { directVsTotal } from './session/sessionMetrics';
import { syntaxSummary } from './session/wire';
import type { HeadReport } from './analysis';
import type { SessionData } from './protocol';

type EngineResult = BuiltSession['result'];
export type WireEffects = ReturnType<typeof toWireEffects>;

/** Rounded to 6 decimals for the JSON; NaN and ±Infinity become null. */
const round = (v: number) => (Number.isFinite(v) ? Math.round(v * 1e6) / 1e6 : null);

/** The explain JSON: model, tokens, syntax, every head, direct logit attribution, routes, predictions, probe. */
export function explainJson(
  built: BuiltSession,
  effects: HeadEffects | undefined,
  wireEffects: WireEffects | undefined,
  routes: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const r = built.result;
  const { layers, headsPerLayer } = r.attention;
  const dla = built.session.dla;
  return {
    model: r.model,
    tokens: jsonTokens(r.tokens, built.session),
    layers,
    headsPerLayer,
    ...(built.syntax ? { syntax: syntaxSummary(built.syntax) } : {}),
    ...(built.session.syntaxNote ? { syntaxNote: built.session.syntaxNote } : {}),
    // The gold edges each syntax role was scored against: [dependent, gold token] per relation.
    ...(built.session.relations ? { relations: built.session.relations } : {}),
    // Metrics that cannot be measured on this text are NaN, which JSON writes as null; `notes` says why.
    heads: built.reports.map((h, k) => ({ ...jsonHead(h), ...headMeasures(built, k, effects, wireEffects) })),
    // Direct logit attribution: how the norm was frozen and, per position, the alternative its logit difference is taken against.
    ...(dla
      ? {
          dla: {
            norm: dla.norm,
            alternatives: dla.altText,
            definition:
              "heads[].dla.perToken[i]: what the head writes straight onto the logit of token i + 1 at position i (final norm frozen at this run's scale); perTokenDiff[i]: onto logit(token i + 1) − logit(alternatives[i])",
          },
        }
      : { dlaNote: built.session.dlaNote ?? null }),
    ...(routes ? { routes } : {}),
    ...(r.truncatedFrom !== undefined ? { truncatedFrom: r.truncatedFrom } : {}),
    // Causal LMs: per token, the model's next-token predictions (position i predicts token i + 1).
    ...(r.predictions ? { predictions: jsonPredictions(r) } : { predictionsNote: r.predictionsNote }),
    // The model-level repeat probe: what it drew (ordinary tokens, a length that fits the model), or why it did not run.
    ...(built.probe
      ? {
          probe: {
            status: built.probe.status,
            note: built.probe.note,
            ...(built.probe.plan
              ? {
                  T: built.probe.plan.T,
                  ids: built.probe.plan.ids,
                  bos: built.probe.plan.bos ?? null,
                  positions: built.probe.plan.positions ?? null,
                  checked: built.probe.plan.draw.checked,
                  rejected: built.probe.plan.draw.rejected,
                }
              : {}),
          },
        }
      : {}),
  };
}

/** Head k's measured effect, direct logit attribution, and where the two disagree. */
function headMeasures(built: BuiltSession, k: number, effects: HeadEffects | undefined, wireEffects: WireEffects | undefined): Record<string, unknown> {
  const h = built.reports[k];
  const { layers, seq } = built.result.attention;
  const dla = built.session.dla;
  return {
    ...(effects
      ? (() => {
          const e = effects.heads.find((x) => x.layer === h.layer && x.head === h.head); // measured in |DLA| order
          return e ? { effect: { meanDelta: round(e.meanDelta), perToken: Array.from(e.perToken, round), method: effects.method } } : {};
        })()
      : {}),
    ...(dla
      ? {
          dla: {
            mean: round(dla.mean[k]),
            meanAbs: round(dla.meanAbs[k]),
            perToken: Array.from(dla.actual.subarray(k * seq, (k + 1) * seq), round),
            perTokenDiff: Array.from(dla.diff.subarray(k * seq, (k + 1) * seq), round),
            evidence: dla.sentences[k],
          },
        }
      : {}),
    // Direct is not total: where the direct write and the measured effect disagree, the sentence that says so.
    ...(dla && wireEffects && directVsTotal(dla, wireEffects, k, h.id, h.layer === layers - 1)
      ? { directVsTotal: directVsTotal(dla, wireEffects, k, h.id, h.layer === layers - 1) }
      : {}),
  };
}

/** Per token: the model's top next tokens, the actual next token's probability, and its loss. */
function jsonPredictions(r: EngineResult): Record<string, unknown>[] {
  const p = r.predictions!,
    k = p.k;
  return r.tokens.map((_, i) => ({
    top: Array.from({ length: k }, (_, t) => ({ id: p.topIds[i * k + t], text: p.topText[i * k + t], p: round(p.topP[i * k + t]) })),
    actualP: round(p.actualP[i]),
    loss: round(p.loss[i]),
  }));
}

/** --attention: every weight, attention[layer][head][query][key], and the value norms that weight its edges. */
export function addAttentionJson(out: Record<string, unknown>, r: EngineResult): void {
  const { layers, headsPerLayer, seq } = r.attention;
  // Rounded to 6 decimals to keep the file readable.
  out.attention = r.attention.data.map((d) =>
    Array.from({ length: headsPerLayer }, (_, h) =>
      Array.from({ length: seq }, (_, i) => Array.from(d.subarray((h * seq + i) * seq, (h * seq + i + 1) * seq), round)),
    ),
  );
  // ‖v_j W_O^h‖ per layer, head and key (value-weighted attention weights each edge by it), or why there are none.
  const vn = r.valueNorms;
  out.valueNorms = vn
    ? {
        weighting: vn.weighting,
        norms: Array.from({ length: layers }, (_, l) =>
          Array.from({ length: headsPerLayer }, (_, h) =>
            Array.from(vn.data.subarray((l * headsPerLayer + h) * seq, (l * headsPerLayer + h + 1) * seq), round),
          ),
        ),
      }
    : { note: r.valueNormsNote ?? null };
}

/** Tokens for the JSON: id, text, span, and the syntax node type / word class the session carries. */
export function jsonTokens(
  tokens: { id: number; text: string; start: number; end: number; special: boolean }[],
  session: SessionData,
): Record<string, unknown>[] {
  return tokens.map((t, i) => ({
    id: t.id,
    text: t.text,
    start: t.start,
    end: t.end,
    special: t.special,
    ...(session.tokens[i]?.syntax ? { syntax: session.tokens[i].syntax } : {}),
  }));
}

export function jsonHead(h: HeadReport): Record<string, unknown> {
  return {
    layer: h.layer,
    head: h.head,
    id: h.id,
    metrics: h.metrics,
    notes: h.notes,
    roles: h.roles.map((role) => ({
      name: role.name,
      score: role.score,
      threshold: role.threshold,
      source: role.source,
      evidence: role.evidence.sentence,
      ...(role.offset !== undefined ? { offset: role.offset } : {}),
      ...(role.rest ? { rest: role.rest } : {}),
      ...(role.relation ? { relation: role.relation } : {}),
      ...(role.evidence.example ? { example: { query: role.evidence.example.query, key: role.evidence.example.key } } : {}),
    })),
    // How close every other role came: its score against its threshold (a relation: accuracy vs the offset baseline).
    candidates: h.candidates
      .filter((c) => !h.roles.some((r) => r.name === c.name))
      .map((c) => ({
        name: c.name,
        score: c.score,
        threshold: c.threshold,
        measurable: c.measurable,
        source: c.source,
        summary: c.relation
          ? `${c.name} ${c.relation.accuracy.toFixed(2)} vs ${c.relation.baseline.toFixed(2)}`
          : `${c.name} ${Number.isFinite(c.score) ? c.score.toFixed(2) : 'not measurable'} (threshold ${c.threshold.toFixed(2)})`,
        ...(c.reason ? { reason: c.reason } : {}),
        ...(c.relation ? { relation: c.relation } : {}),
        ...(c.rest ? { rest: c.rest } : {}),
        ...(c.offset !== undefined ? { offset: c.offset } : {}),
      })),
  };
}
