// The worker's side of direct logit attribution: what an explain fetches for it, and turning the fetched
// tensors into every head's DLA once the predictions (which name each position's top alternative) are known.
import type * as ort from 'onnxruntime-node';
import { alternativesFrom, computeDla, type DlaPlan, type DlaResult, type Fetched } from './dla';
import { halfToFloat32 } from '../core/half';
import { attentionSourceIndex, type LoadedModel } from './loadedModel';
import type { Predictions } from './types';

/** The plan with its layers in the model's layer order (model.attention), or the reason there is none. */
export function dlaPlanOf(m: LoadedModel): DlaPlan | { refused: string } {
  if (!m.causal) return { refused: 'a bidirectional model makes no next-token predictions to attribute' };
  if (!m.dla) return { refused: 'this model was loaded without reading its residual stream' };
  if ('refused' in m.dla) return m.dla;
  const plan = m.dla;
  const order = m.attention.map((_, l) => attentionSourceIndex(m, l));
  if (order.some((k) => k < 0 || !plan.layers[k])) return { refused: 'its layers could not be matched to the attention the engine reads' };
  return { ...plan, layers: order.map((k) => plan.layers[k]) };
}

/** Tensors an explain fetches for DLA ([] where there is none). */
export function dlaFetches(m: LoadedModel): string[] {
  const p = dlaPlanOf(m);
  return 'refused' in p ? [] : p.fetches;
}

/** `dla` from the explain's fetched tensors, or `dlaNote` saying why there is none. */
export async function runDla(
  m: LoadedModel,
  fetched: Record<string, ort.Tensor>,
  ids: number[],
  predictions: Predictions | undefined,
  noPredictions?: string,
): Promise<{ dla?: DlaResult; dlaNote?: string }> {
  const plan = dlaPlanOf(m);
  if ('refused' in plan) return { dlaNote: `Direct logit attribution is not available: ${plan.refused}.` };
  if (!predictions) return { dlaNote: `Direct logit attribution is not available: ${noPredictions ?? 'the model made no next-token predictions'}.` };
  const f: Fetched = {};
  for (const name of plan.fetches) {
    const t = fetched[name];
    if (!t) return { dlaNote: `Direct logit attribution is not available: ${name} was not fetched.` };
    f[name] = { data: t.type === 'float16' ? halfToFloat32(t.data as Uint16Array) : (t.data as Float32Array), dims: t.dims };
  }
  try {
    return { dla: await computeDla(plan, f, ids, alternativesFrom(predictions.topIds, predictions.k, ids), m.headsPerLayer) };
  } catch (e) {
    return { dlaNote: `Direct logit attribution failed: ${(e as Error).message}.` };
  }
}
