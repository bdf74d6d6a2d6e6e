// Which heads Measure Head Effects ablates, and in which order: by default every head, largest |DLA| first
// (a head that writes much directly onto the logits is the likeliest to matter, and the catalog fills in from
// the top); or a chosen subset — a layer, the heads holding a role, the first k by |DLA|, picked heads.
import type { EngineResult } from '../engine';
import type { HeadReport } from '../analysis';

export type EffectScope =
  | { kind: 'all' }
  | { kind: 'top'; count: number }
  | { kind: 'layer'; layer: number }
  | { kind: 'role'; role: string }
  | { kind: 'heads'; heads: [number, number][] };

/** Mean |DLA| per head (layer-major), NaN where the explain has no DLA. */
export function meanAbsDla(result: EngineResult): Float64Array {
  const H = result.model.headsPerLayer,
    all = result.model.layers * H,
    n = result.tokens.length;
  const out = new Float64Array(all).fill(NaN);
  const d = result.dla;
  if (!d) return out;
  for (let k = 0; k < all; k++) {
    let s = 0,
      c = 0;
    for (let i = 0; i < n; i++) {
      const v = d.actual[k * n + i];
      if (Number.isFinite(v)) {
        s += Math.abs(v);
        c++;
      }
    }
    out[k] = c ? s / c : NaN;
  }
  return out;
}

/** Every head, largest mean |DLA| first (ties and models without DLA: layer-major). */
export function dlaOrder(result: EngineResult): [number, number][] {
  const H = result.model.headsPerLayer;
  const mag = meanAbsDla(result);
  const all = Array.from({ length: result.model.layers * H }, (_, k) => k);
  all.sort((a, b) => (Number.isFinite(mag[b]) ? mag[b] : -1) - (Number.isFinite(mag[a]) ? mag[a] : -1) || a - b);
  return all.map((k) => [Math.floor(k / H), k % H]);
}

/**
 * Every head for a whole measurement: layer by layer, the layer holding the largest |DLA| first, and by |DLA|
 * within a layer. Consecutive heads of one layer share each cut run along the batch axis (ablationCut.ts),
 * about 15% less per head than one by one, and the heads that matter most still come first.
 */
export function effectOrder(result: EngineResult): [number, number][] {
  const byDla = dlaOrder(result);
  const layers: number[] = [];
  for (const [l] of byDla) if (!layers.includes(l)) layers.push(l);
  return layers.flatMap((l) => byDla.filter(([x]) => x === l));
}

/** The heads a scope names, in |DLA| order; an empty list when the scope names none. */
export function scopeHeads(scope: EffectScope, result: EngineResult, reports: HeadReport[]): [number, number][] {
  const order = dlaOrder(result);
  switch (scope.kind) {
    case 'all':
      return effectOrder(result);
    case 'top':
      return order.slice(0, Math.max(0, scope.count));
    case 'layer':
      return order.filter(([l]) => l === scope.layer);
    case 'role': {
      const held = new Set(reports.filter((r) => r.roles.some((x) => x.name === scope.role)).map((r) => `${r.layer}:${r.head}`));
      return order.filter(([l, h]) => held.has(`${l}:${h}`));
    }
    case 'heads': {
      const picked = new Set(scope.heads.map(([l, h]) => `${l}:${h}`));
      return order.filter(([l, h]) => picked.has(`${l}:${h}`));
    }
  }
}
