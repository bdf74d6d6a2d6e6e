// Per-session cache of head matrices fetched from the host (one request per head, ever, per session).
import type { HeadMatrix } from '../src/protocol';
import { request } from './channel';

export class MatrixCache {
  private readonly cache = new Map<string, Promise<HeadMatrix>>();
  constructor(readonly sessionId: number) {}

  get(layer: number, head: number): Promise<HeadMatrix> {
    const key = `${layer}:${head}`;
    let p = this.cache.get(key);
    if (!p) {
      p = request('head/matrix', { sessionId: this.sessionId, layer, head });
      this.cache.set(key, p);
      p.catch(() => this.cache.delete(key)); // a failed fetch is retried next time
    }
    return p;
  }
}
