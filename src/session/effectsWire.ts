// Head effects (pipeline.measureEffects) in the panel's wire format, with one evidence sentence per head:
// what removing it does to the loss, where it matters most, and — for duplicate-token and induction heads —
// on the repeated tokens their role is about.
import { repeatTargets, type HeadReport } from '../analysis';
import type { Token } from '../engine';
import type { WireEffects } from '../protocol';
import type { HeadEffects } from './pipeline';
import { quoteToken } from './dlaWire';

const fmt = (v: number): string => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(2)}`;

/** Positions i whose next token (i + 1) repeats an earlier token of the text: where copying can help. */
export function repeatPositions(tokens: Token[]): Uint8Array {
  const out = new Uint8Array(tokens.length);
  const { dup } = repeatTargets(
    tokens.map((t) => t.id),
    tokens.map((t) => t.special),
  );
  for (let j = 1; j < tokens.length; j++) if (dup.start[j + 1] > dup.start[j]) out[j - 1] = 1;
  return out;
}

function meanOver(d: Float32Array, mask?: Uint8Array): { mean: number; count: number } {
  let s = 0,
    c = 0;
  for (let i = 0; i < d.length; i++)
    if (Number.isFinite(d[i]) && (!mask || mask[i] === 1)) {
      s += d[i];
      c++;
    }
  return { mean: c ? s / c : NaN, count: c };
}

/**
 * Effects in the wire's layer-major layout, whatever order or subset was measured: a head not (yet) measured
 * has a NaN mean, no per-token values and no sentence. `reports` are every head's, layer-major.
 */
export function toWireEffects(e: HeadEffects, reports: HeadReport[], tokens: Token[], text: string, headsPerLayer?: number): WireEffects {
  const loss = e.method.includes('loss');
  const repeats = repeatPositions(tokens);
  const shown = (j: number) => quoteToken(tokens, text, j);
  const H = headsPerLayer ?? Math.max(1, ...reports.map((r) => r.head + 1), ...e.heads.map((h) => h.head + 1));
  const total = Math.max(reports.length, ...e.heads.map((h) => h.layer * H + h.head + 1));
  const at = (h: { layer: number; head: number }) => h.layer * H + h.head;
  const measured = e.heads.map((h) => {
    const k = at(h);
    const id = reports[k]?.id ?? `L${h.layer}H${h.head}`;
    const d = h.perToken;
    let top = -1;
    for (let i = 0; i < d.length; i++) if (Number.isFinite(d[i]) && (top < 0 || Math.abs(d[i]) > Math.abs(d[top]))) top = i;
    if (!loss) {
      return `removing ${id} changes the model's output by 1 − cos = ${h.meanDelta.toFixed(3)} per token on average${top >= 0 ? `, most at ${shown(top)} (${d[top].toFixed(3)})` : ''}`;
    }
    const copying = (reports[k]?.roles ?? []).some((r) => r.name === 'induction' || r.name === 'duplicate-token');
    const rep = meanOver(d, repeats);
    if (copying && rep.count > 0) {
      let best = -1;
      for (let i = 0; i < d.length; i++) if (repeats[i] === 1 && Number.isFinite(d[i]) && (best < 0 || d[i] > d[best])) best = i;
      return `removing ${id} ${rep.mean >= 0 ? 'raises' : 'lowers'} the loss on the ${rep.count} repeated tokens by ${Math.abs(rep.mean).toFixed(2)} nats (${fmt(h.meanDelta)} over all tokens), e.g. the repeated ${shown(best + 1)} (${fmt(d[best])})`;
    }
    return `removing ${id} ${h.meanDelta >= 0 ? 'raises' : 'lowers'} the loss of the next token by ${Math.abs(h.meanDelta).toFixed(2)} nats on average${top >= 0 ? `, most for ${shown(top + 1)} after ${shown(top)} (${fmt(d[top])})` : ''}`;
  });
  const meanDelta = new Float32Array(total).fill(NaN);
  const perToken: Float32Array[] = Array.from({ length: total }, () => new Float32Array(0));
  const sentences = new Array<string>(total).fill('');
  e.heads.forEach((h, j) => {
    meanDelta[at(h)] = h.meanDelta;
    perToken[at(h)] = h.perToken;
    sentences[at(h)] = measured[j];
  });
  return {
    method: e.method,
    meanDelta,
    perToken,
    sentences,
    ms: e.ms,
    measured: e.heads.length,
    ...(e.cutNote ? { note: `Each ablation reran the whole graph: a cut copy starting at the head's layer could not be made (${e.cutNote}).` } : {}),
  };
}
