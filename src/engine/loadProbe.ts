// The load probe: one short run right after loading tells the layer count, heads per layer, causal or
// bidirectional, and whether the recompute slices can be fed one head at a time.
import { EngineError } from '../core/errors';
import { runSession } from './feeds';
import { attentionHeads, type LoadedModel } from './loadedModel';
import { captureRun, runSlice, runSliceHeads, type Captured } from './recompute';

// Odd on purpose: a non-attention Softmax whose width is a round number (8 or 16 MoE experts, a
// router over [1, tokens, experts]) must not look like [n, n] attention on the probe.
const PROBE_LEN = 7;
/**
 * Probe: a short run tells layer count, heads, and — decisively — causal vs bidirectional: a causal
 * model gives exactly zero above the diagonal in every head of every layer. In recompute mode it
 * also decides whether a slice can be fed one head at a time (same numbers as the whole layer).
 */
export async function probeAttention(model: LoadedModel, label: string): Promise<void> {
  const n = Math.max(2, Math.min(PROBE_LEN, model.plan.positionRows ?? PROBE_LEN));
  const vocab = model.plan.vocabRows ?? 2;
  const probeIds = Array.from({ length: n }, (_, i) => (i * 7 + 1) % vocab);
  const outs: Record<string, { dims: readonly number[]; data: Float32Array }> = {};
  let captured: Captured | undefined;
  if (model.recompute) {
    captured = await captureRun(model, probeIds);
    for (let l = 0; l < model.attention.length; l++) outs[model.attention[l]] = await runSlice(model, captured, l);
  } else {
    const raw = await runSession(model, probeIds, model.attention);
    for (const [name, t] of Object.entries(raw)) outs[name] = { dims: t.dims, data: t.data as Float32Array };
  }
  const shaped = model.attention.filter((name) => outs[name] && attentionHeads(outs[name].dims, n) !== undefined);
  if (!shaped.length) {
    throw new EngineError(
      'no-attention',
      `${label}: the Softmax outputs Headlight found are not [batch, heads, query, key] attention at run time (shapes ${model.attention
        .slice(0, 3)
        .map((a) => `[${outs[a]?.dims.join(', ')}]`)
        .join(', ')}). Export the model with plain softmax attention or with attention outputs.`,
    );
  }
  // Every layer must have the query-head count of the first (a stray Softmax elsewhere, e.g. a
  // router over n experts that happens to be n wide, would otherwise break the [head][q][k] layout).
  const heads = attentionHeads(outs[shaped[0]].dims, n)!;
  const usable = shaped.filter((name) => attentionHeads(outs[name].dims, n) === heads);
  let causal = true;
  for (const name of usable) {
    const d = outs[name].data;
    for (let h = 0; h < heads && causal; h++) {
      for (let i = 0; i < n && causal; i++)
        for (let j = i + 1; j < n; j++)
          if (Math.abs(d[h * n * n + i * n + j]) > 1e-7) {
            causal = false;
            break;
          }
    }
  }
  if (model.recompute) {
    const keep = new Set(usable);
    model.recompute.slices = model.recompute.slices.filter((s) => keep.has(s.source));
  }
  const dims = outs[usable[0]].dims;
  Object.assign(model, {
    attention: usable,
    layers: usable.length,
    headsPerLayer: heads,
    causal,
    headAxes: dims.length >= 4 ? dims.slice(1, -2).map(Number) : undefined,
  });
  if (model.recompute && captured) model.recompute.perHead = await perHeadWorks(model, captured, outs, n);
}

/** One head of Q and Kᵀ through the slice gives that head's rows, bit for bit like the whole layer? */
async function perHeadWorks(model: LoadedModel, cap: Captured, outs: Record<string, { data: Float32Array }>, n: number): Promise<boolean> {
  try {
    for (let l = 0; l < model.layers; l++) {
      for (const h of new Set([0, model.headsPerLayer - 1])) {
        const one = await runSliceHeads(model, cap, l, h, 1);
        if (!one) return false;
        const whole = outs[model.attention[l]].data.subarray(h * n * n, (h + 1) * n * n);
        for (let i = 0; i < whole.length; i++) if (Math.abs(whole[i] - one[i]) > 1e-6) return false;
      }
    }
    return true;
  } catch {
    return false; // e.g. a Reshape in the slice that names the head count
  }
}
