// Per-layer aggregates of the head metrics: mean, min and max over the layer's heads.
import { METRICS } from './metricDefs';
import type { Aggregate, HeadReport, LayerSummary, MetricKey } from './types';

export function summarizeLayers(reports: HeadReport[]): LayerSummary[] {
  const byLayer = new Map<number, HeadReport[]>();
  for (const r of reports) {
    const list = byLayer.get(r.layer);
    if (list) list.push(r);
    else byLayer.set(r.layer, [r]);
  }
  const out: LayerSummary[] = [];
  for (const layer of [...byLayer.keys()].sort((a, b) => a - b)) {
    const heads = byLayer.get(layer) ?? [];
    const metrics = {} as Record<MetricKey, Aggregate>;
    for (const { key } of METRICS) {
      let sum = 0,
        count = 0,
        min = Infinity,
        max = -Infinity;
      for (const h of heads) {
        const v = h.metrics[key];
        if (Number.isNaN(v)) continue; // not measurable on this input; see the head's notes
        sum += v;
        count++;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      metrics[key] = count > 0 ? { mean: sum / count, min, max } : { mean: NaN, min: NaN, max: NaN };
    }
    const roleCounts: LayerSummary['roleCounts'] = {};
    for (const h of heads) for (const r of h.roles) roleCounts[r.name] = (roleCounts[r.name] ?? 0) + 1;
    out.push({ layer, metrics, roleCounts });
  }
  return out;
}
