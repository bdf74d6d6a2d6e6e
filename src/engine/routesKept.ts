// Routes for the newest explain: the stash it left (routesRun.ts) under an id the result carries. The attention
// weights come from the kept run (recomputed from its captures) or, for a model that exports its attention,
// from a copy kept with the stash. One stash at a time: routes are asked of the session the panel shows.
import type * as ort from 'onnxruntime-node';
import type { RouteGraph } from '../protocol';
import { EngineError } from '../core/errors';
import type { LoadedModel } from './loadedModel';
import type { Captured } from './recompute';
import { makeStash, routeFetches, routeRefusal, traceRoutes, type RouteStash } from './routesRun';

export { routeFetches };

/** A copy of materialised attention kept for routes: at most this many bytes. */
export const ROUTE_ATTENTION_BYTES = 128 * 2 ** 20;

type Source = { handle: number } | { attention: Float32Array[] };
/** The stash, or (a kept explain whose value norms are measured after its first paint) how to make it once they are. */
type Stash = RouteStash | (() => Promise<RouteStash>);
let latest: { id: number; model: LoadedModel; stash: Stash; source: Source; ids: number[] } | undefined;
let nextId = 1;

/** Why an explain keeps nothing for routes. */
export function routesRefusal(m: LoadedModel): string {
  return `Routes are not available: ${routeRefusal(m) ?? 'nothing was kept for them'}.`;
}

/** Keep what routes need from this explain; `{ routes: id }` or `{ routesNote }`. */
export function keepRoutes(
  model: LoadedModel,
  fetched: Record<string, ort.Tensor>,
  ids: number[],
  valueNorms: Float32Array | undefined | (() => Promise<Float32Array | undefined>),
  source: Source,
  values: Record<string, { data: Float32Array; dims: readonly number[] }> = {},
): { routes?: number; routesNote?: string } {
  const n = ids.length;
  latest = undefined;
  try {
    let stash: Stash;
    if (typeof valueNorms === 'function') {
      // Checked now with stand-in norms (the graph may refuse routes for other reasons), made for real on first use.
      const probe = makeStash(model, fetched, n, new Float32Array(model.layers * model.headsPerLayer * n), values);
      if ('refused' in probe) return { routesNote: `Routes are not available: ${probe.refused}.` };
      let made: Promise<RouteStash> | undefined;
      stash = () =>
        (made ??= valueNorms().then((norms) => {
          const s = makeStash(model, fetched, n, norms, values);
          if ('refused' in s) throw new EngineError('inference-failed', `Routes are not available: ${s.refused}.`);
          return s;
        }));
    } else {
      const s = makeStash(model, fetched, n, valueNorms, values);
      if ('refused' in s) return { routesNote: `Routes are not available: ${s.refused}.` };
      stash = s;
    }
    let src = source;
    if ('attention' in source) {
      // The attention leaves for the host (transferred): keep a copy, when it is small enough.
      const bytes = source.attention.reduce((a, x) => a + x.byteLength, 0);
      if (bytes > ROUTE_ATTENTION_BYTES)
        return {
          routesNote: `Routes are not available: keeping this model's attention for them would take ${(bytes / 2 ** 20).toFixed(0)} MB; explain a shorter selection.`,
        };
      src = { attention: source.attention.map((a) => a.slice()) };
    }
    latest = { id: nextId++, model, stash, source: src, ids };
    return { routes: latest.id };
  } catch (e) {
    return { routesNote: `Routes are not available: ${(e as Error).message}.` };
  }
}

/** A kept run was released: its routes go with it. */
export function dropRoutes(handle: number): void {
  if (latest && 'handle' in latest.source && latest.source.handle === handle) latest = undefined;
}

export async function traceRoutesFor(
  id: number,
  token: number,
  threshold: number,
  kept: (handle: number) => { model: LoadedModel; cap: Captured } | undefined,
): Promise<RouteGraph> {
  if (!Number.isFinite(threshold) || threshold <= 0 || threshold > 1)
    throw new EngineError('bad-request', `A route threshold is a share in (0, 1], got ${threshold}.`);
  const l = latest;
  if (!l || l.id !== id) throw new EngineError('expired', 'Routes are traced for the newest explanation only; explain the selection again.');
  const stash = typeof l.stash === 'function' ? await l.stash() : l.stash;
  if ('handle' in l.source) {
    const k = kept(l.source.handle);
    if (!k || k.model !== l.model) throw new EngineError('expired', 'That explanation is no longer loaded; explain the selection again.');
    return traceRoutes(l.model, { kind: 'kept', cap: k.cap }, stash, token, threshold, l.ids);
  }
  return traceRoutes(l.model, { kind: 'memory', attention: l.source.attention }, stash, token, threshold, l.ids);
}
