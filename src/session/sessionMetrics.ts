// Head effects and direct logit attribution folded into a session's metrics, and the sentence where the two
// disagree. Glue over the wire types (src/protocol/wire.ts), pure, so the webview folds effects the host streams
// in with the same code the host and the CLI use. Every user-visible word goes through a `Say` over the webview's
// string table (src/protocol/strings.ts): the webview passes its translated table, the host and CLI default to
// English, as before.
import { sayEnglish, type Say } from '../protocol/strings';
import type { MetricInfo, SessionData, WireDla, WireEffects } from '../protocol/wire';

/** The session with head effects folded in: an `effect` metric on every head (sortable and exported like the others). */
export function sessionWithEffects(session: SessionData, effects: WireEffects, say: Say = sayEnglish): SessionData {
  const loss = effects.method.includes('loss');
  const info = { key: 'effect', label: say(loss ? 'metric.effect.loss' : 'metric.effect.cos'), definition: say('metric.effect.definition', effects.method) };
  return {
    ...session,
    effects,
    heads: session.heads.map((hd) => ({ ...hd, metrics: { ...hd.metrics, effect: effects.meanDelta[hd.layer * session.model.headsPerLayer + hd.head] } })),
    metrics: [...session.metrics.filter((m) => m.key !== 'effect'), info],
  };
}

/** The session with DLA folded in: `dla` (mean, signed) and `dlaAbs` (mean |DLA|) metrics on every head. */
export function sessionWithDla(session: SessionData, dla: WireDla, say: Say = sayEnglish): SessionData {
  const H = session.model.headsPerLayer;
  const infos: MetricInfo[] = [
    { key: 'dla', label: say('metric.dla'), definition: say('metric.dla.definition', dla.norm) },
    { key: 'dlaAbs', label: say('metric.dlaAbs'), definition: say('metric.dlaAbs.definition') },
  ];
  return {
    ...session,
    dla,
    heads: session.heads.map((hd) => ({
      ...hd,
      metrics: { ...hd.metrics, dla: dla.mean[hd.layer * H + hd.head], dlaAbs: dla.meanAbs[hd.layer * H + hd.head] },
    })),
    metrics: [...session.metrics.filter((m) => m.key !== 'dla' && m.key !== 'dlaAbs'), ...infos],
  };
}

/** Effects this small (nats) are not called a disagreement: noise and tokens the head never touches. */
export const DIRECT_TOTAL_MIN = 0.1;

/** Mean of one head's per-token values (finite ones). */
function headMean(a: Float32Array, k: number, n: number): number {
  let s = 0,
    c = 0;
  for (let i = k * n; i < (k + 1) * n; i++)
    if (Number.isFinite(a[i])) {
      s += a[i];
      c++;
    }
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
export function directVsTotal(dla: WireDla, effects: WireEffects, index: number, id: string, lastLayer = false, say: Say = sayEnglish): string | undefined {
  if (!effects.method.includes('loss')) return undefined;
  const n = dla.actual.length / Math.max(1, dla.mean.length);
  const direct = dla.mean[index],
    margin = headMean(dla.diff, index, n),
    total = effects.meanDelta[index];
  if (!Number.isFinite(direct) || !Number.isFinite(total)) return undefined;
  const sg = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(2)}`;
  const wrote = Number.isFinite(margin) ? say('directTotal.wrote.margin', sg(direct), sg(margin)) : say('directTotal.wrote', sg(direct));
  if (Math.abs(total) >= DIRECT_TOTAL_MIN && Math.abs(direct) < Math.abs(total) / 4) return say('directTotal.indirect', id, sg(total), wrote);
  if (Math.abs(direct) >= DIRECT_TOTAL_MIN && Math.abs(total) < Math.abs(direct) / 4) {
    return say(lastLayer ? 'directTotal.lifts' : 'directTotal.liftsOrLater', id, wrote, sg(total));
  }
  return undefined;
}
