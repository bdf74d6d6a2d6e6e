// Measure Head Effects: zero-ablate heads on the explained tokens, a group per engine request. Split from
// pipeline.ts, which caches the measurements per model file and token ids.
import type { EffectRun, EngineClient, EngineResult, ModelRef } from '../engine';
import { EngineError } from '../core/errors';

/** What removing each head does to the output (engine/effects.ts), per head in layer-major order. */
export interface HeadEffects {
  method: EffectRun['method'];
  /** Per head: the mean over positions with a next token (nats for Δ loss), and the per-position values (NaN at the end). */
  heads: { layer: number; head: number; meanDelta: number; perToken: Float32Array }[];
  /** Per position: the unablated loss of the next token (causal LMs). */
  baseLoss?: Float32Array;
  ms: number;
  /** Why the ablations reran the whole graph rather than a cut copy from the head's layer up (none: they did not). */
  cutNote?: string;
}

export interface EffectOptions {
  signal?: AbortSignal;
  /** Called after each group of heads: heads done, of all. */
  onProgress?: (done: number, total: number) => void;
  /** Which heads, in which order (default: every head, by |DLA| where the explain has it — effectsOrder.ts). */
  heads?: [number, number][];
  /** Called after each group with every head measured so far (the panel streams them into the catalog). */
  onPartial?: (sofar: HeadEffects) => void;
}

/**
 * Rough cost of measuring every head's effect, from the explain's own model run: half a plain run per
 * head. On cut copies (ablationCut.ts) it is about right — 0.55 of a plain run per head on average on the
 * GPT-2-small shape at 128 tokens (0.85 for a layer-0 head, 0.3 for a last-layer one); on the gated whole
 * graph it errs low (0.84–0.93), so the 2 s automatic bound lets through runs of up to about 4 s.
 */
export function effectsEstimateMs(result: EngineResult): number {
  return result.stats.runMs * result.model.layers * result.model.headsPerLayer * 0.5;
}

/** Heads per engine request: a group is one cancellation point and one progress step. */
const EFFECT_GROUP = 16;
/** Streamed into the panel: a group per update (the cut copy batches a layer's heads within one: 2 or 3 per run). */
const EFFECT_STREAM_GROUP = 6;

/** Every head in `all`, measured in order (cancellable between groups, progress counted in heads). */
export async function runHeadEffects(engine: EngineClient, model: ModelRef, ids: number[], all: [number, number][], opts: EffectOptions): Promise<HeadEffects> {
  const t0 = performance.now();
  const n = ids.length;
  const out: HeadEffects = { method: 'zero-ablation: Δ loss of the next token (nats)', heads: [], ms: 0 };
  opts.onProgress?.(0, all.length);
  // Streamed: small groups, so the catalog fills in while the rest are measured.
  const size = opts.onPartial ? EFFECT_STREAM_GROUP : EFFECT_GROUP;
  for (let k = 0; k < all.length; k += size) {
    if (opts.signal?.aborted) throw new EngineError('cancelled', 'Measuring head effects was cancelled.');
    const group = all.slice(k, k + size);
    const run = await engine.effects(model, ids, group, { signal: opts.signal });
    out.method = run.method;
    if (run.cut) out.cutNote = run.cut;
    if (run.base && !out.baseLoss) out.baseLoss = Float32Array.from(run.base, (v) => -v);
    run.deltas.forEach((d, b) => {
      let s = 0,
        c = 0;
      for (let i = 0; i < n; i++)
        if (Number.isFinite(d[i])) {
          s += d[i];
          c++;
        }
      out.heads.push({ layer: group[b][0], head: group[b][1], meanDelta: c ? s / c : NaN, perToken: d });
    });
    opts.onProgress?.(Math.min(all.length, k + group.length), all.length);
    if (opts.onPartial) opts.onPartial({ ...out, heads: [...out.heads], ms: performance.now() - t0 });
  }
  out.ms = performance.now() - t0;
  return out;
}
