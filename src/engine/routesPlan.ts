// What routes read from a run, planned once at load (dlaPlan.ts' planStream) and kept on the LoadedModel; the
// run itself is routesRun.ts. Apart from the run because LoadedModel names this plan's type: with the plan in
// routesRun.ts, which reads LoadedModel, the two imported each other.
import { attentionJoins, finalStream, type AttentionJoin, type ResidualPlan } from './residual';
import { planHeadSlice, type HeadSlice } from './headSlice';
import type { GraphIndex } from './weights';
import type { ValuePlan } from './values';

/** How one layer's attention terms are measured: through W_O and the values, or a slice of the graph (headSlice.ts). */
export type RouteLayer = { kind: 'wo'; values: string; wo: Float32Array; rows: number; bias?: Float32Array } | { kind: 'slice'; slice: HeadSlice };

/** What routes read from a run, per entry of plan.attentionOutputs (planned at load: planRoutes). */
export interface RoutePlan {
  inputs: string[];
  mids: string[];
  /** The stream after the last layer (what the prediction reads). */
  final: string;
  layers: RouteLayer[];
  fetches: string[];
}

/**
 * The route plan of a graph: each layer's join with the stream found from its probabilities (attentionJoins),
 * its terms through W_O where values and W_O were read and join there too, else through a head slice.
 */
export function planRoutes(
  g: GraphIndex,
  sources: string[],
  values: ValuePlan | undefined,
  residual: ResidualPlan | { refused: string },
  kernels: ReadonlySet<string> = new Set(),
): RoutePlan | { refused: string } {
  if (!sources.length) return { refused: 'the model has no attention layers' };
  const joins = attentionJoins(g, sources);
  const missing = joins.findIndex((j) => !j);
  if (missing >= 0) return { refused: `layer ${missing}'s attention output was not found joining the residual stream` };
  const js = joins as AttentionJoin[];
  const layers: RouteLayer[] = [];
  for (let k = 0; k < sources.length; k++) {
    const v = values?.values[k],
      wo = values?.wo[k],
      res = 'refused' in residual ? undefined : residual.layers[k];
    if (v && wo && res?.mid === js[k].mid && values.woCols[k] > 0) {
      layers.push({ kind: 'wo', values: v, wo, rows: wo.length / values.woCols[k], ...(res.bias ? { bias: res.bias } : {}) });
      continue;
    }
    if (values?.values[k] && kernels.has(values.values[k]))
      return { refused: `layer ${k}'s fused attention kernel has no output projection to read its heads through` };
    const slice = planHeadSlice(g, sources[k], js[k].branch);
    if ('refused' in slice) return { refused: `layer ${k}'s output projection was not found, and ${slice.refused}` };
    layers.push({ kind: 'slice', slice });
  }
  const final = finalStream(g, js[js.length - 1].mid);
  // A fused kernel's values are read off the kept run by its plan, not fetched (the worker hands them over).
  const fetches = [
    ...new Set([
      ...js.flatMap((j) => [j.input, j.mid]),
      final,
      ...layers.flatMap((l) => (l.kind === 'wo' ? (kernels.has(l.values) ? [] : [l.values]) : l.slice.captures)),
    ]),
  ];
  return { inputs: js.map((j) => j.input), mids: js.map((j) => j.mid), final, layers, fetches };
}
