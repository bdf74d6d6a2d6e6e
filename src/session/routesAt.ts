// A traced route read at a higher threshold, without tracing again: pure over the wire's RouteGraph, shared by
// the webview's Routes view (the slider) and the tests.
import type { RouteEdge, RouteGraph } from '../protocol/wire';

/**
 * The route at a higher threshold than it was traced at: the edges that reach it and still lead into the
 * route from the top (an edge whose target fell out of the route goes with it).
 */
export function routesAt(g: RouteGraph, threshold: number): RouteEdge[] {
  if (threshold <= g.threshold) return g.edges;
  const kept: RouteEdge[] = [];
  let active = new Set([g.token]);
  for (let l = g.layers - 1; l >= 0; l--) {
    const here = g.edges.filter((e) => e.layer === l && e.weight >= threshold);
    const mids = new Set<number>();
    for (const e of here)
      if ((e.kind === 'mlp' || e.kind === 'mlp-residual') && active.has(e.to)) {
        kept.push(e);
        mids.add(e.from);
      }
    const inputs = new Set<number>();
    for (const e of here)
      if ((e.kind === 'head' || e.kind === 'attention-residual') && mids.has(e.to)) {
        kept.push(e);
        inputs.add(e.from);
      }
    active = inputs;
  }
  return kept;
}
