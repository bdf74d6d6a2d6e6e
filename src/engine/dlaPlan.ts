// The load-time reading of the residual stream, for direct logit attribution (dla.ts), the cut ablations
// (ablationCut.ts) and routes (routesRun.ts): what each needs from a run, or the sentence saying why this
// graph has none. One call from load.ts; a graph that breaks a walk is a refusal with its reason, never a
// failed load.
import type { onnx } from 'onnx-proto';
import type { GraphPlan } from './onnxGraph';
import { planDla, type DlaPlan } from './dla';
import { planResidual } from './residual';
import { planRoutes, type RoutePlan } from './routesPlan';
import type { ValuePlan } from './values';
import { indexGraph } from './weights';

export interface StreamPlans {
  dla: DlaPlan | { refused: string };
  routes: RoutePlan | { refused: string };
}

export function planStream(proto: onnx.ModelProto, plan: GraphPlan, values: ValuePlan | undefined, dir: string): StreamPlans {
  const fail = (e: unknown) => ({ refused: `reading the graph for it failed: ${(e as Error).message}` });
  let residual: ReturnType<typeof planResidual>;
  let dla: StreamPlans['dla'];
  // A fused kernel stands for a layer by a name no tensor has: the graph is read from its output instead.
  const anchors = plan.attentionOutputs.map((a) => plan.kernels.get(a)?.output ?? a);
  try {
    const ids = plan.inputs.find((s) => s.role === 'ids')?.name;
    residual = planResidual(proto, plan.logitsOutput, anchors, values, { vocabRows: plan.vocabRows, ids, dir });
    dla = planDla(residual, values, plan.attentionOutputs.length);
  } catch (e) {
    residual = fail(e);
    dla = fail(e);
  }
  let routes: StreamPlans['routes'];
  try {
    routes = planRoutes(indexGraph(proto, dir), anchors, values, residual, new Set(plan.kernels.keys()));
  } catch (e) {
    routes = fail(e);
  }
  return { dla, routes };
}

/**
 * What the model's own session must be able to output for DLA, the cut ablations and routes: DLA's fetches,
 * every layer's residual stream before and after its attention output joins it (n·d each), routes' fetches.
 */
export function streamSessionOutputs(s: StreamPlans): string[] {
  const dla = 'refused' in s.dla ? [] : [...s.dla.fetches, ...s.dla.residual.layers.flatMap((l) => [l.input ?? '', l.mid ?? ''])];
  const routes = 'refused' in s.routes ? [] : s.routes.fetches;
  return [...new Set([...dla, ...routes].filter(Boolean))];
}
