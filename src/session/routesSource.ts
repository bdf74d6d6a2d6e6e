// Routes requests of an explained session go to the engine worker, which kept what they need from the run
// (engine/routesKept.ts); every other request goes on to the session's attention source, which is returned
// itself (a KeptSource stays one) with only `request` taking routes first.
import type { EngineClient, EngineResult } from '../engine';
import type { RequestMap, RequestMethod } from '../protocol';
import type { AttentionSource } from './attentionSource';

export function withRoutes<S extends AttentionSource>(source: S, engine: EngineClient, result: EngineResult): S {
  const seq = result.tokens.length;
  const inner = source.request.bind(source);
  source.request = async <M extends RequestMethod>(method: M, params: RequestMap[M]['params']): Promise<RequestMap[M]['result']> => {
    if (method !== 'routes/trace') return inner(method, params);
    const p = params as RequestMap['routes/trace']['params'];
    if (!Number.isInteger(p.token) || p.token < 0 || p.token >= seq) throw new RangeError(`No token ${p.token} in this explanation.`);
    if (result.routes === undefined) throw new Error(result.routesNote ?? 'Routes are not available for this explanation.');
    return await engine.routes(result.routes, p.token, p.threshold);
  };
  return source;
}
