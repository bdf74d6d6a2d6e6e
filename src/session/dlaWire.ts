// Direct logit attribution (engine/dla.ts) in the panel's wire format: per head its means and an evidence
// sentence naming where it writes most ("writes +2.10 onto ` Potter` after `Harry`").
import type { EngineResult } from '../engine';
import type { Token } from '../engine/types';
import type { SessionData, WireDla } from '../protocol';
import { sessionWithDla } from './sessionMetrics';

const fmt = (v: number): string => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(2)}`;

/** A token as the evidence quotes it: its source text (or special name), newlines escaped, in backticks. */
export function quoteToken(tokens: Token[], text: string, j: number): string {
  const t = tokens[j];
  return quoteText(t.special ? t.text : text.slice(t.start, t.end));
}

export const quoteText = (s: string): string => '`' + s.replace(/\n/g, '\\n').replace(/`/g, "'") + '`';

export function toWireDla(result: EngineResult, text: string): WireDla | undefined {
  const dla = result.dla;
  if (!dla) return undefined;
  const tokens = result.tokens,
    n = tokens.length,
    H = result.model.headsPerLayer,
    heads = result.model.layers * H;
  const p = result.predictions;
  const altText = Array.from(dla.alternatives, (a, i) => {
    if (a < 0 || !p) return '';
    for (let r = 0; r < p.k; r++) if (p.topIds[i * p.k + r] === a) return p.topText[i * p.k + r];
    return '';
  });
  const mean = new Float32Array(heads),
    meanAbs = new Float32Array(heads);
  const sentences: string[] = [];
  for (let k = 0; k < heads; k++) {
    let s = 0,
      a = 0,
      c = 0,
      top = -1;
    for (let i = 0; i < n; i++) {
      const v = dla.actual[k * n + i];
      if (!Number.isFinite(v)) continue;
      s += v;
      a += Math.abs(v);
      c++;
      if (top < 0 || Math.abs(v) > Math.abs(dla.actual[k * n + top])) top = i;
    }
    mean[k] = c ? s / c : NaN;
    meanAbs[k] = c ? a / c : NaN;
    const id = `L${Math.floor(k / H)}H${k % H}`;
    if (top < 0) {
      sentences.push(`${id} has no next token to write onto in this text`);
      continue;
    }
    const v = dla.actual[k * n + top],
      dv = dla.diff[k * n + top];
    const alt = altText[top] ? `; ${fmt(dv)} against ${quoteText(altText[top])}, the model's best other token` : '';
    sentences.push(
      `${id} writes ${fmt(mean[k])} per token on average directly onto the next token's logit (mean size ${meanAbs[k].toFixed(2)}); most where it ${v >= 0 ? 'adds' : 'takes'} ${fmt(v)} ${v >= 0 ? 'to' : 'from'} ${quoteToken(tokens, text, top + 1)} after ${quoteToken(tokens, text, top)}${alt}`,
    );
  }
  return { actual: dla.actual, diff: dla.diff, altText, mean, meanAbs, sentences, norm: dla.norm, ms: dla.ms };
}

/** The session with DLA folded in (metrics `dla`, `dlaAbs`), or with the note saying why there is none; and why routes are not available, if so. */
export function attachDla(session: SessionData, result: EngineResult): SessionData {
  const w = toWireDla(result, session.text);
  const s = w ? sessionWithDla(session, w) : result.dlaNote ? { ...session, dlaNote: result.dlaNote } : session;
  return result.routes === undefined && result.routesNote ? { ...s, routesNote: result.routesNote } : s;
}
