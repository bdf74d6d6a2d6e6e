// Information-flow routes: the proportions (Ferrando & Voita 2024) on hand-computed vectors, the tracer on a
// two-layer toy whose distances are known, and the threshold filter (routesAt) — no model involved.
import { strict as assert } from 'node:assert';
import { attentionShares, mlpShares, proximity, traceRoutes, type AttentionRow, type MlpRow, type RouteSteps } from '../../../src/analysis/routes';
import { routesAt } from '../../../src/session/routesAt';

const dist = (a: number[], b: number[]) => Math.hypot(...a.map((v, i) => v - b[i]));
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

describe('analysis: information-flow routes', () => {
  it('proportions: max(0, ‖y‖ − ‖y − c‖) normalised over the terms, by hand', () => {
    // y = x + c1 + c2 with y = (3, 4), x = (3, 0), c1 = (0, 8), c2 = (0, −4): ‖y‖ = 5.
    const y = [3, 4],
      x = [3, 0],
      c1 = [0, 8],
      c2 = [0, -4];
    assert.equal(proximity(5, dist(y, x)), 1); // ‖y − x‖ = 4
    assert.equal(proximity(5, dist(y, c1)), 0); // ‖y − c1‖ = ‖(3, −4)‖ = 5: no nearer than nothing
    assert.equal(proximity(5, dist(y, c2)), 0); // ‖(3, 8)‖ > 5
    const norms = { residualNorm: 3, biasNorm: NaN, termNorms: Float64Array.from([8, 4, 4]) };
    const row: AttentionRow = {
      y: 5,
      residual: dist(y, x),
      bias: NaN,
      terms: Float64Array.from([dist(y, c1), dist(y, c2), dist(y, [0, 4])]),
      keys: 3,
      ...norms,
    };
    const s = attentionShares(row);
    // (0, 4) alone gets within 3 of y: proximity 2; the residual 1 → shares 1/3 and 2/3.
    close(s.residual, 1 / 3, 'residual');
    close(s.terms[2], 2 / 3, 'third term');
    close(s.terms[0], 0, 'c1');
    close(s.bias, 0, 'no bias');
    const m: MlpRow = { y: 5, residual: dist(y, [3, 0]), mlp: dist(y, [0, 4]) };
    const ms = mlpShares(m);
    close(ms.residual, 1 / 3, 'mlp residual');
    close(ms.mlp, 2 / 3, 'mlp');
    // Cancelling terms: y = x + m = (1, 0) with x = (6, 0), m = (−5, 0): neither alone is nearer to y than
    // nothing (‖y − x‖ = 5, ‖y − m‖ = 6 > 1), so the shares are the positive projections: ⟨x, y⟩ = 6, ⟨m, y⟩ < 0.
    const cancel = mlpShares({ y: 1, residual: 5, mlp: 6 });
    close(cancel.residual, 1, 'projection: all of it on x');
    close(cancel.mlp, 0, 'm points away');
    // Both terms point away from y (⟨c, y⟩ = (1 + 1 − 4) / 2 < 0): no share at all, so no edge.
    const none = attentionShares({
      y: 1,
      residual: 2,
      bias: NaN,
      terms: Float64Array.from([2]),
      keys: 1,
      residualNorm: 1,
      biasNorm: NaN,
      termNorms: Float64Array.from([1]),
    });
    assert.deepEqual([none.residual, none.terms[0]], [0, 0]);
  });

  // Two layers, one head, three tokens. Layer 1: token 2 takes 0.6 of its update from token 1 (and its
  // residual 0.4); layer 0: token 1 takes 0.7 from token 0, token 2 keeps its residual. MLPs pass 0.9/0.1.
  const shares: Record<string, number[]> = { '1:2': [0.4, 0, 0.6, 0], '0:1': [0.3, 0.7, 0, 0], '0:2': [1, 0, 0, 0] };
  const toy: RouteSteps = {
    layers: 2,
    heads: 1,
    // Distances that give exactly the wanted shares: with ‖y‖ = 1, distance 1 − s gives proximity s.
    mlp: async (_l, rows) => rows.map(() => ({ y: 1, residual: 0.1, mlp: 0.9 })),
    attention: async (l, rows) =>
      rows.map((i): AttentionRow => {
        const s = shares[`${l}:${i}`] ?? [1, 0, 0, 0];
        return {
          y: 1,
          residual: 1 - s[0],
          bias: NaN,
          terms: Float64Array.from(s.slice(1), (v) => 1 - v),
          keys: 3,
          residualNorm: 1,
          biasNorm: NaN,
          termNorms: new Float64Array(3).fill(1),
        };
      }),
  };

  it('traces from the chosen token down through attention, residual and MLP edges', async () => {
    const g = await traceRoutes(2, toy, 0.2);
    const key = (e: { layer: number; kind: string; head: number; from: number; to: number }) => `${e.layer}:${e.kind}:${e.head}:${e.from}->${e.to}`;
    assert.deepEqual(
      g.edges.map(key).sort(),
      [
        '0:attention-residual:-1:1->1',
        '0:attention-residual:-1:2->2',
        '0:head:0:0->1',
        '0:mlp-residual:-1:1->1',
        '0:mlp-residual:-1:2->2',
        '1:attention-residual:-1:2->2',
        '1:head:0:1->2',
        '1:mlp-residual:-1:2->2',
      ].sort(),
    );
    close(g.edges.find((e) => e.kind === 'head' && e.layer === 1)!.weight, 0.6, 'layer-1 head share');
    // The MLPs' 0.1 is below the threshold; at 0.05 they join.
    assert.ok((await traceRoutes(2, toy, 0.05)).edges.some((e) => e.kind === 'mlp'));
  });

  it('routesAt: a higher threshold drops edges and whatever hung only from them', async () => {
    const g = await traceRoutes(2, toy, 0.2);
    const at = routesAt(g, 0.5);
    // 0.6 (layer 1 head) stays, so token 1 stays in the route and its 0.7 edge from token 0; token 2's 0.4 residual goes,
    // and with it everything below token 2 at layer 0.
    assert.deepEqual(
      at
        .filter((e) => e.kind === 'head')
        .map((e) => `${e.layer}:${e.from}->${e.to}`)
        .sort(),
      ['0:0->1', '1:1->2'],
    );
    assert.ok(!at.some((e) => e.layer === 0 && e.to === 2), 'token 2 left the route below layer 1');
    assert.equal(routesAt(g, 0.1), g.edges, 'below the traced threshold: everything traced');
  });
});
