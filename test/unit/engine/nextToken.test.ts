// Next-token predictions reduced inside onnxruntime (engine/nextTokenGraph.ts) against the same summaries
// computed in float64 JavaScript from the logits themselves (predictionsFrom, hand-checked in
// effects.test.ts): on graphs built here for every opset form the appended nodes take (axes as an
// attribute before 18, as an input from 18) and both logits types, and on real decoders through the engine.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { predictionsFrom, TOP_K } from '../../../src/engine/predictions';
import { nextTokenFetches, planNextToken, predictionsFromOutputs } from '../../../src/engine/nextTokenGraph';
import { loadModel, releaseModel, runSession } from '../../../src/engine/modelCache';
import type { GraphPlan } from '../../../src/engine/onnxGraph';
import { floatTensor, node, rng, valueInfo } from '../../fixtures/onnxBuilder';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const T = onnx.TensorProto.DataType;

/** input_ids [1, n] → Gather(table [V, width]) → logits [1, n, width] (cast to float16 when asked). */
function logitsModel(V: number, opset: number, half: boolean, ties: boolean, width = V): { bytes: Uint8Array; table: Float32Array } {
  const r = rng(opset * 7 + (half ? 1 : 0));
  const table = Float32Array.from({ length: V * width }, (_, i) => (ties && i % 3 === 0 ? 1 : r() * 8));
  const nodes = [node('Gather', ['table', 'input_ids'], [half ? 'logits32' : 'logits'], { axis: 0 })];
  if (half) nodes.push(node('Cast', ['logits32'], ['logits'], { to: T.FLOAT16 }));
  const graph = onnx.GraphProto.create({
    name: 'logits',
    node: nodes,
    initializer: [floatTensor('table', [V, width], table)],
    input: [valueInfo('input_ids', T.INT64, [1, 'n'])],
    output: [valueInfo('logits', half ? T.FLOAT16 : T.FLOAT, [1, 'n', width])],
  });
  return { bytes: onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: opset }], graph })).finish(), table };
}

function assertSame(got: ReturnType<typeof predictionsFrom>, want: ReturnType<typeof predictionsFrom>, what: string): void {
  assert.deepEqual(Array.from(got.topIds), Array.from(want.topIds), `${what}: top ids (ties keep the lower id first)`);
  // log Σ exp over the vocabulary is a float32 in the graph: a few ulps of a number near 10, so p is good to
  // ~1e-6 relative (the loss, to 1e-5 nats — the bound effects.test holds the ablation baseline to).
  for (let t = 0; t < want.topP.length; t++)
    assert.ok(Math.abs(got.topP[t] - want.topP[t]) <= 1e-5 * want.topP[t], `${what} topP[${t}]: ${got.topP[t]} vs ${want.topP[t]}`);
  for (let i = 0; i < want.n; i++) {
    if (Number.isNaN(want.loss[i])) {
      assert.ok(Number.isNaN(got.loss[i]) && Number.isNaN(got.actualP[i]), `${what}: nothing follows position ${i}`);
      continue;
    }
    assert.ok(Math.abs(got.loss[i] - want.loss[i]) < 1e-5, `${what} loss[${i}]: ${got.loss[i]} vs ${want.loss[i]}`);
    assert.ok(Math.abs(got.actualP[i] - want.actualP[i]) <= 1e-5 * want.actualP[i], `${what} actualP[${i}]`);
  }
}

describe('engine: next-token predictions reduced in the graph', function () {
  this.timeout(60_000);

  for (const opset of [13, 17, 18, 21]) {
    for (const half of [false, true]) {
      it(`opset ${opset}, ${half ? 'float16' : 'float32'} logits: top-k, p(next) and loss equal the float64 reduction of the logits`, async () => {
        const V = 97;
        const m = logitsModel(V, opset, half, opset === 17);
        const plan = { inputs: [{ name: 'input_ids', role: 'ids', elemType: T.INT64, dims: [1, 'n'] }], logitsOutput: 'logits', opset } as unknown as GraphPlan;
        const next = planNextToken(plan, half ? T.FLOAT16 : T.FLOAT)!;
        assert.ok(next);
        const session = await ort.InferenceSession.create(Buffer.concat([m.bytes, next.addition]));
        try {
          const ids = [5, 0, 96, 40, 40, 7, 3, 88, 12];
          const n = ids.length;
          const out = await session.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, n]) }, [
            'logits',
            ...nextTokenFetches(next.outputs),
          ]);
          assert.deepEqual(out[next.outputs.topLogP].dims, [1, n, TOP_K]);
          assert.deepEqual(out[next.outputs.nextLogP].dims, [1, n, 1]);
          const raw = out.logits.data as Float32Array | Uint16Array;
          const logits = half ? Float32Array.from(raw as Uint16Array, halfBits) : (raw as Float32Array);
          const want = predictionsFrom(logits, n, V, ids);
          const got = predictionsFromOutputs(out, next.outputs, ids);
          assertSame(got, want, `opset ${opset}`);
        } finally {
          await session.release();
        }
      });
    }
  }

  it('an output named logits narrower than the vocabulary (no LM head) still runs: top-min(k, V), no p where the next id is no row', async () => {
    const m = logitsModel(97, 17, false, false, 3);
    const plan = { inputs: [{ name: 'input_ids', role: 'ids', elemType: T.INT64, dims: [1, 'n'] }], logitsOutput: 'logits', opset: 17 } as unknown as GraphPlan;
    const next = planNextToken(plan, T.FLOAT)!;
    const session = await ort.InferenceSession.create(Buffer.concat([m.bytes, next.addition]));
    try {
      const ids = [5, 1, 96, 2, 40, 0];
      const out = await session.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]) }, [
        'logits',
        ...nextTokenFetches(next.outputs),
      ]);
      const want = predictionsFrom(out.logits.data as Float32Array, ids.length, 3, ids);
      const got = predictionsFromOutputs(out, next.outputs, ids);
      assert.equal(got.k, 3);
      assertSame(got, want, 'narrow logits');
      assert.ok(Number.isNaN(got.loss[1]) && Number.isFinite(got.loss[0]), 'id 96 follows position 1: no row of a 3-wide output');
    } finally {
      await session.release();
    }
  });

  it('no reduction where it cannot be written: no logits, no ids input, integer logits, opset 10', () => {
    const ids = [{ name: 'input_ids', role: 'ids', elemType: T.INT64, dims: [1, 'n'] }];
    assert.equal(planNextToken({ inputs: ids, opset: 14 } as unknown as GraphPlan, T.FLOAT), undefined);
    assert.equal(planNextToken({ inputs: [], logitsOutput: 'logits', opset: 14 } as unknown as GraphPlan, T.FLOAT), undefined);
    assert.equal(planNextToken({ inputs: ids, logitsOutput: 'logits', opset: 14 } as unknown as GraphPlan, T.INT32), undefined);
    assert.equal(planNextToken({ inputs: ids, logitsOutput: 'logits', opset: 10 } as unknown as GraphPlan, T.FLOAT), undefined);
  });

  for (const [name, dir] of [
    ['headlight-small', 'media/models/headlight-small'],
    ['qwen-kv-op14', 'test/fixtures/decoders/qwen-kv-op14'],
    ['llama-plain-op17', 'test/fixtures/decoders/llama-plain-op17'],
  ] as const) {
    it(`${name}: the engine's loaded session reduces its own logits to the same predictions`, async () => {
      const file = path.join(ROOT, dir, 'model.onnx');
      const st = fs.statSync(file);
      const m = await loadModel(file, `${st.mtimeMs}:${st.size}`);
      try {
        const r = m.nextToken;
        assert.ok(r, 'the reduction was appended');
        const ids = Array.from({ length: 40 }, (_, i) => (i * 37 + 11) % 200);
        const out = await runSession(m, ids, [m.plan.logitsOutput!, ...nextTokenFetches(r)]);
        const logits = out[m.plan.logitsOutput!];
        const want = predictionsFrom(logits.data as Float32Array, ids.length, Number(logits.dims[2]), ids);
        assertSame(predictionsFromOutputs(out, r, ids), want, name);
      } finally {
        await releaseModel(m);
      }
    });
  }
});

/** IEEE half bits → number (the test's own decoder, independent of the engine's half.ts). */
function halfBits(h: number): number {
  const s = h & 0x8000 ? -1 : 1,
    e = (h >> 10) & 0x1f,
    f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}
