// The hover line under the arcs at one token, beyond the heads' own arcs: the model's next-token prediction,
// what removing the shown head does there, and what the head writes straight onto the next token's logit.
import type { PanelState, SessionData, WireEffects } from '../../src/protocol';
import { t } from '../strings';

/** Token j's text, quoted as JSON (specials by their name). */
export function tokenName(s: SessionData, j: number): string {
  const tok = s.tokens[j];
  return JSON.stringify(tok.special ? tok.text : s.text.slice(tok.start, tok.end));
}

/** The model's next-token prediction at token i, and what removing the shown head does there. */
export function predictionLine(s: SessionData, st: PanelState, e: WireEffects | undefined, i: number): string {
  const p = s.predictions;
  const parts: string[] = [];
  if (p) {
    const k = p.k;
    const top = Array.from({ length: k }, (_, r) => `${JSON.stringify(p.topText[i * k + r])} ${(p.topP[i * k + r] * 100).toFixed(1)}%`).join(', ');
    parts.push(t('arcs.prediction', top));
    if (i + 1 < s.tokens.length && Number.isFinite(p.actualP[i])) {
      parts.push(t('arcs.actual', tokenName(s, i + 1), (p.actualP[i] * 100).toFixed(2), p.loss[i].toFixed(2)));
    }
  } else if (s.predictionsNote) parts.push(t('arcs.noPredictions', s.predictionsNote));
  if (e && st.mode === 'head') {
    const d = e.perToken[st.layer * s.model.headsPerLayer + st.head]?.[i];
    if (d !== undefined && Number.isFinite(d))
      parts.push(
        t(
          'arcs.effect',
          `L${st.layer}H${st.head}`,
          e.method.includes('loss') ? t('arcs.effect.loss') : t('arcs.effect.output'),
          `${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(d < 0.01 && d > -0.01 ? 4 : 2)}`,
        ),
      );
  }
  return parts.join(' · ');
}

/**
 * Direct logit attribution at token i: what the shown head writes straight onto the next token's logit
 * ("L1H3 adds +2.10 to ` Potter`", and against the model's best other token); for a whole layer, its
 * heads that write most there.
 */
export function dlaLine(s: SessionData, st: PanelState, i: number): string {
  const d = s.dla;
  if (!d || i + 1 >= s.tokens.length) return '';
  const n = s.tokens.length,
    H = s.model.headsPerLayer;
  const next = s.tokens[i + 1];
  const quote = (x: string) => '`' + x.replace(/\n/g, '\\n') + '`';
  const target = quote(next.special ? next.text : s.text.slice(next.start, next.end));
  const signed = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(2)}`;
  if (st.mode === 'head') {
    const k = st.layer * H + st.head;
    const v = d.actual[k * n + i];
    if (!Number.isFinite(v)) return '';
    const vs = d.altText[i] && Number.isFinite(d.diff[k * n + i]) ? ' ' + t('arcs.dla.vs', signed(d.diff[k * n + i]), quote(d.altText[i])) : '';
    return t(v >= 0 ? 'arcs.dla.adds' : 'arcs.dla.takes', `L${st.layer}H${st.head}`, signed(v), target) + vs;
  }
  const heads = Array.from({ length: H }, (_, h) => ({ h, v: d.actual[(st.layer * H + h) * n + i] }))
    .filter((x) => Number.isFinite(x.v))
    .sort((a, b) => Math.abs(b.v) - Math.abs(a.v))
    .slice(0, 3);
  return heads.length ? t('arcs.dla.layer', target, heads.map((x) => `L${st.layer}H${x.h} ${signed(x.v)}`).join(', ')) : '';
}

/** The chosen relation's gold edges at the token (`parse`: the tokens they reach), or that it has none there. */
export function parseLine(s: SessionData, relation: string, parse: number[], incoming: boolean): string {
  if (parse.length) return t('arcs.parse.edges', relation, incoming ? t('arcs.parse.dependents') : '→', parse.map((j) => tokenName(s, j)).join(', '));
  return incoming ? t('arcs.parse.noEdgeTo', relation) : t('arcs.parse.noEdgeFrom', relation);
}
