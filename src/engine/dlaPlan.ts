// The load-time half of direct logit attribution: the residual plan (residual.ts) joined with each layer's
// W_O and merged heads (values.ts), or the sentence saying why this graph has none. One call from load.ts;
// a graph that breaks the walk is a refusal with its reason, never a failed load.
import type { onnx } from 'onnx-proto';
import type { GraphPlan } from './onnx-graph';
import { planDla, type DlaPlan } from './dla';
import { planResidual } from './residual';
import type { ValuePlan } from './values';

export function planDlaFor(proto: onnx.ModelProto, plan: GraphPlan, values: ValuePlan | undefined, dir: string): DlaPlan | { refused: string } {
  try {
    const ids = plan.inputs.find((s) => s.role === 'ids')?.name;
    const residual = planResidual(proto, plan.logitsOutput, plan.attentionOutputs, values, { vocabRows: plan.vocabRows, ids, dir });
    return planDla(residual, values, plan.attentionOutputs.length);
  } catch (e) {
    return { refused: `reading the graph for it failed: ${(e as Error).message}` };
  }
}

/**
 * What the model's own session must be able to output for DLA, the cut ablations and routes: DLA's fetches
 * and every layer's residual stream before and after its attention output joins it (n·d each).
 */
export function dlaSessionOutputs(dla: DlaPlan | { refused: string }): string[] {
  if ('refused' in dla) return [];
  return [...new Set([...dla.fetches, ...dla.residual.layers.flatMap((l) => [l.input ?? '', l.mid ?? ''])].filter(Boolean))];
}
