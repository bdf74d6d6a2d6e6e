// Modern decoder exports (Llama/Qwen/Phi/Gemma-style: RoPE, RMSNorm, GQA, SwiGLU/GeGLU) exported by
// torch.onnx.export (scripts/fixtures/make-decoders.py) against the attention PyTorch computed, per
// layer and QUERY head; a fused GroupQueryAttention after RotaryEmbedding read like its own softmax; execution providers.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { EngineClient, EngineError, headView, type ModelRef } from '../../../src/engine';
import { decodeModel, planGraph, readModelBytes } from '../../../src/engine/onnxGraph';
import { listProviders, resolveProviders } from '../../../src/engine/providers';
import { loadModel, releaseModel, runSession } from '../../../src/engine/modelCache';
import { floatTensor, intTensor, node, rng, valueInfo } from '../../fixtures/onnxBuilder';
import { rejectsWith } from '../../fixtures/engineAsserts';

// Float32 ONNX Runtime vs float32 PyTorch: measured worst case 8.9e-7 over all fixtures.
const TOL = 1e-5;
const ROOT = path.join(__dirname, '..', '..', 'fixtures', 'decoders');
const TOKENIZER = path.join(ROOT, 'tokenizer.json');

interface Run {
  ids: number[];
  attentionMask?: number[];
  positionIds: number[] | null;
  attention: number[][][][];
}
interface Reference {
  arch: string;
  interface: 'plain' | 'kv';
  opset: number;
  layers: number;
  queryHeads: number;
  kvHeads: number;
  inputs: string[];
  runs: Run[];
}

const fixtures = fs
  .readdirSync(ROOT)
  .filter((n) => fs.existsSync(path.join(ROOT, n, 'model.onnx')))
  .sort();
const ref = (name: string): Reference => JSON.parse(fs.readFileSync(path.join(ROOT, name, 'reference.json'), 'utf8')) as Reference;
const modelRef = (name: string, executionProviders?: string[]): ModelRef => ({
  modelPath: path.join(ROOT, name, 'model.onnx'),
  tokenizerPath: TOKENIZER,
  name,
  executionProviders,
});
const graphOf = (name: string) => decodeModel(readModelBytes(path.join(ROOT, name, 'model.onnx')), name).graph!;

/**
 * Whether ["cuda", "cpu"] can start on this machine: onnxruntime-node lists cuda, its provider library sits
 * beside onnxruntime's binary (the CUDA download onnxruntime-node's install does unless told to skip), and
 * an NVIDIA device is present.
 */
function cudaHere(): { listed: boolean; runs: boolean; why: string } {
  if (!listProviders().some((p) => p.name === 'cuda'))
    return { listed: false, runs: false, why: `onnxruntime-node does not list cuda on ${process.platform}-${process.arch}` };
  const bin = path.join(path.dirname(require.resolve('onnxruntime-node/package.json')), 'bin');
  const napi = fs.readdirSync(bin).find((d) => /^napi-v\d+$/.test(d)) ?? '';
  const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  if (!fs.existsSync(path.join(bin, napi, process.platform, process.arch, lib)))
    return { listed: true, runs: false, why: `listed, but ${lib} is not installed` };
  const device = process.platform === 'win32' || fs.existsSync('/dev/nvidiactl');
  return device
    ? { listed: true, runs: true, why: `${lib} installed, NVIDIA device present` }
    : { listed: true, runs: false, why: `${lib} installed, no NVIDIA device` };
}

/** Largest |a - b| between a [q][k] reference and an engine head view. */
function headDiff(refHead: number[][], got: Float32Array): number {
  const n = refHead.length;
  let m = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m = Math.max(m, Math.abs(refHead[i][j] - got[i * n + j]));
  return m;
}

describe('engine: modern decoder exports (torch.onnx.export fixtures)', function () {
  this.timeout(60000);
  let client: EngineClient;
  before(() => (client = new EngineClient()));
  after(() => client.dispose());

  it('has every architecture × interface × opset fixture, small enough to commit', () => {
    const want = ['llama', 'qwen', 'phi', 'gemma'].flatMap((a) => ['plain', 'kv'].flatMap((i) => [14, 17].map((o) => `${a}-${i}-op${o}`)));
    assert.deepEqual(fixtures, [...want].sort());
    let bytes = 0;
    for (const f of fixtures) for (const file of fs.readdirSync(path.join(ROOT, f))) bytes += fs.statSync(path.join(ROOT, f, file)).size;
    assert.ok(bytes < 3 * 2 ** 20, `fixtures take ${bytes} bytes`);
  });

  it('fixtures really contain the graph patterns they stand for', async () => {
    const ops = (name: string) => new Set(graphOf(name).node!.map((n) => n.opType ?? ''));
    // The exporter writes no value_info here: read the Softmax output's rank from a real run.
    const softmaxDims = async (name: string) => {
      const file = path.join(ROOT, name, 'model.onnx');
      const m = await loadModel(file, 'test', { recompute: false }); // the Softmax outputs themselves
      const out = await runSession(m, [1, 2, 3], [m.attention[0]], [1, 1, 1]);
      await m.session.release();
      return out[m.attention[0]].dims.map(Number);
    };
    for (const o of [14, 17]) {
      assert.ok(
        ['Trilu', 'Expand'].every((op) => ops(`llama-plain-op${o}`).has(op)),
        'llama: Trilu causal mask, Expand+Reshape GQA',
      );
      assert.ok(
        ['Tile', 'Where', 'LessOrEqual', 'Range', 'CumSum'].every((op) => ops(`qwen-plain-op${o}`).has(op)),
        'qwen: Tile GQA, Where mask from Range/LessOrEqual, CumSum positions',
      );
      assert.deepEqual(await softmaxDims(`phi-plain-op${o}`), [1, 2, 2, 3, 3], 'phi: Softmax over [batch, kv_heads, groups, q, k]');
      assert.deepEqual(await softmaxDims(`llama-plain-op${o}`), [1, 8, 3, 3], 'llama: Softmax after K/V repeated to 8 heads');
      const g = graphOf(`gemma-plain-op${o}`);
      const sm = g.node!.find((n) => n.opType === 'Softmax')!;
      const castIn = g.node!.find((n) => n.output!.includes(sm.input![0]))!;
      assert.equal(castIn.opType, 'Cast');
      assert.equal(Number(castIn.attribute!.find((a) => a.name === 'to')!.i), onnx.TensorProto.DataType.DOUBLE, 'gemma: softmax in double between Casts');
      assert.deepEqual(
        graphOf(`llama-kv-op${o}`)
          .input!.map((i) => i.name)
          .slice(0, 4),
        ['input_ids', 'attention_mask', 'position_ids', 'past_key_values.0.key'],
      );
    }
  });

  for (const name of fixtures) {
    it(`${name}: attention per layer and query head equals PyTorch (≤ ${TOL})`, async () => {
      const r = ref(name);
      for (const run of r.runs) {
        const res = await client.runIds(run.ids, modelRef(name), { attentionMask: run.attentionMask });
        const a = res.attention;
        const n = run.ids.length;
        assert.equal(a.layers, r.layers);
        assert.equal(a.headsPerLayer, r.queryHeads, `query heads (${r.queryHeads}), not kv heads (${r.kvHeads})`);
        assert.equal(a.seq, n);
        assert.equal(a.causal, true);
        assert.equal(res.model.kind, 'causal');
        assert.equal(res.model.vocabSize, 260);
        for (let l = 0; l < r.layers; l++) {
          for (let h = 0; h < r.queryHeads; h++) {
            const d = headDiff(run.attention[l][h], headView(a, l, h));
            assert.ok(d <= TOL, `layer ${l} head ${h}: max diff ${d}`);
          }
        }
        // Layer order is checkable only if layers differ: swapped layers would miss by far more than TOL.
        assert.ok(headDiff(run.attention[1][0], headView(a, 0, 0)) > 1e-3, 'layer 0 and 1 look alike; the order test would be void');
        // GQA: query heads sharing one kv head still differ (their Q differs), so heads are not repeats.
        const g = r.queryHeads / r.kvHeads;
        if (g > 1) assert.ok(headDiff(run.attention[0][1], headView(a, 0, 0)) > 1e-3, 'heads 0 and 1 identical');
      }
    });
  }

  it('explain() tokenises with the byte-level tokenizer and returns per-query-head attention', async () => {
    const text = 'Grouped heads, rotary positions.';
    const res = await client.explain(text, modelRef('llama-kv-op17'));
    assert.equal(res.tokens.map((t) => text.slice(t.start, t.end)).join(''), text);
    const n = res.tokens.length;
    assert.equal(res.attention.seq, n);
    assert.equal(res.attention.headsPerLayer, 8);
    for (let h = 0; h < 8; h++) {
      const v = headView(res.attention, 1, h);
      for (let i = 0; i < n; i++) {
        let sum = 0;
        for (let j = 0; j < n; j++) sum += v[i * n + j];
        assert.ok(Math.abs(sum - 1) < 1e-5, `row ${i} sums to ${sum}`);
        assert.equal(v[i * n + Math.min(i + 1, n - 1)], i + 1 < n ? 0 : v[i * n + n - 1]);
      }
    }
  });

  describe('fp16 models: probabilities read through a float32 Cast', () => {
    // ORT's CPU kernels run fp16 MatMul/Softmax, so these graphs are real fp16 models (built here:
    // torch 1.13 cannot trace fp16 on CPU). A: Softmax in fp16. B: HF's pattern, fp32 softmax between
    // Casts. C: fp16 softmax whose input type the engine's type walk gets wrong (CastLike takes the
    // type of its SECOND input), so the model only loads through the cast-everything fallback. The
    // engine must return what ORT computed, widened to float32.
    let dir: string;
    const F16 = onnx.TensorProto.DataType.FLOAT16;
    const half = (h: number) => {
      const e = (h >> 10) & 0x1f,
        f = h & 0x3ff,
        sign = h & 0x8000 ? -1 : 1;
      return sign * (e === 0 ? f * 2 ** -24 : e === 31 ? (f ? NaN : Infinity) : (1 + f / 1024) * 2 ** (e - 15));
    };
    const t16 = (name: string, dims: number[], seed: number) => {
      const n = dims.reduce((a, b) => a * b, 1);
      // fp16 bit patterns of values in about ±0.9: sign, exponent 13-14, varied mantissa.
      const bits = Uint16Array.from(
        { length: n },
        (_, i) => (((i * 2654435761 + seed) >>> 7) & 1 ? 0x8000 : 0) | ((13 + (i % 2)) << 10) | (((i + seed) * 97) % 1024),
      );
      return onnx.TensorProto.create({ name, dims, dataType: F16, rawData: new Uint8Array(bits.buffer) });
    };
    type Variant = 'fp16-softmax' | 'fp32-softmax' | 'castlike-softmax';
    function build(variant: Variant, exposeProbs: boolean): Uint8Array {
      const d = 8;
      const soft =
        variant === 'fp16-softmax'
          ? [node('Softmax', ['s4'], ['p'], { axis: -1 })]
          : variant === 'castlike-softmax'
            ? [
                node('Cast', ['s4'], ['s32'], { to: onnx.TensorProto.DataType.FLOAT }),
                node('CastLike', ['s32', 'like16'], ['sl']),
                node('Softmax', ['sl'], ['p'], { axis: -1 }),
              ]
            : [
                node('Cast', ['s4'], ['s32'], { to: onnx.TensorProto.DataType.FLOAT }),
                node('Softmax', ['s32'], ['p32'], { axis: -1 }),
                node('Cast', ['p32'], ['p'], { to: F16 }),
              ];
      const model = onnx.ModelProto.create({
        irVersion: 8,
        opsetImport: [{ domain: '', version: 17 }],
        graph: onnx.GraphProto.create({
          name: variant,
          node: [
            node('Gather', ['wte', 'input_ids'], ['x']),
            node('MatMul', ['x', 'wq'], ['q']),
            node('MatMul', ['x', 'wk'], ['k']),
            node('Transpose', ['k'], ['kt'], { perm: [0, 2, 1] }),
            node('MatMul', ['q', 'kt'], ['s']),
            node('Unsqueeze', ['s', 'axis1'], ['s4']),
            ...soft,
            node('Unsqueeze', ['x', 'axis1'], ['x4']),
            node('MatMul', ['p', 'x4'], ['y']),
          ],
          initializer: [t16('wte', [260, d], 1), t16('wq', [d, d], 2), t16('wk', [d, d], 3), t16('like16', [1], 4), intTensor('axis1', [1], [1])],
          input: [valueInfo('input_ids', onnx.TensorProto.DataType.INT64, ['batch', 'sequence'])],
          output: [
            valueInfo('y', F16, ['batch', 1, 'sequence', d]),
            ...(exposeProbs
              ? [
                  valueInfo(variant === 'fp32-softmax' ? 'p32' : 'p', variant === 'fp32-softmax' ? onnx.TensorProto.DataType.FLOAT : F16, [
                    1,
                    1,
                    'sequence',
                    'sequence',
                  ]),
                ]
              : []),
          ],
        }),
      });
      return onnx.ModelProto.encode(model).finish();
    }
    before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-fp16-'))));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    for (const variant of ['fp16-softmax', 'fp32-softmax', 'castlike-softmax'] as const) {
      it(`${variant}: equals ORT's own probabilities`, async () => {
        const file = path.join(dir, variant, 'model.onnx');
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, build(variant, false));
        const ids = [3, 77, 140, 9, 201, 56];
        const n = ids.length;
        const res = await client.runIds(ids, { modelPath: file, tokenizerPath: TOKENIZER });
        assert.equal(res.attention.headsPerLayer, 1);
        assert.equal(res.attention.causal, false);
        // ORT's values: the same graph exporting the probabilities itself.
        const ort = await import('onnxruntime-node');
        const sess = await ort.InferenceSession.create(build(variant, true));
        const probsName = variant === 'fp32-softmax' ? 'p32' : 'p';
        const out = await sess.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, n]) }, [probsName]);
        await sess.release();
        const raw = out[probsName].data;
        const want = raw instanceof Float32Array ? Array.from(raw) : Array.from(raw as Uint16Array, half);
        const got = Array.from(res.attention.data[0]);
        if (variant === 'fp32-softmax') {
          assert.deepEqual(
            got,
            want.map((v) => Math.fround(v)),
          );
        } else {
          // ORT's CPU kernels run this fp16 Softmax in fp32 (its inserted Casts), and with our Cast
          // appended the fp32→fp16→fp32 pair is dropped: the engine gets the fp32 values, ORT's own
          // fp16 output is those rounded to half precision (11-bit mantissa).
          got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= Math.max(Math.abs(want[i]), 2 ** -14) * 2 ** -11, `${i}: ${v} vs fp16 ${want[i]}`));
        }
        for (let i = 0; i < n; i++) {
          const sum = got.slice(i * n, (i + 1) * n).reduce((a, b) => a + b, 0);
          assert.ok(Math.abs(sum - 1) < 5e-3, `row ${i} sums to ${sum}`);
        }
        assert.ok(Math.max(...got) - Math.min(...got) > 0.05, 'attention is not uniform, so the comparison means something');
      });
    }
  });

  describe('fused GroupQueryAttention after RotaryEmbedding (ORT transformer optimizer output)', () => {
    let file: string;
    before(() => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-gqa-'));
      file = path.join(dir, 'model.onnx');
      // What onnxruntime.transformers.optimizer leaves for a Llama layer: com.microsoft RotaryEmbedding on q/k,
      // then one GroupQueryAttention with num_heads 8 / kv_num_heads 2 and a KV cache; seqlens_k and
      // total_sequence_length from the ids' shape. Random weights, so the heads differ.
      const d = 32,
        hd = 16,
        r = rng(11);
      const w = (n: number, s = 0.5) => Float32Array.from({ length: n }, () => r() * s);
      const cos = new Float32Array((64 * hd) / 2),
        sin = new Float32Array((64 * hd) / 2);
      for (let p = 0; p < 64; p++)
        for (let i = 0; i < hd / 2; i++) {
          const t = p * 10000 ** ((-2 * i) / hd);
          cos[(p * hd) / 2 + i] = Math.cos(t);
          sin[(p * hd) / 2 + i] = Math.sin(t);
        }
      const model = onnx.ModelProto.create({
        irVersion: 8,
        opsetImport: [
          { domain: '', version: 17 },
          { domain: 'com.microsoft', version: 1 },
        ],
        graph: onnx.GraphProto.create({
          name: 'gqa-fused',
          node: [
            node('Gather', ['embed', 'input_ids'], ['x']),
            node('MatMul', ['x', 'wq'], ['q0']),
            node('MatMul', ['x', 'wk'], ['k0']),
            node('MatMul', ['x', 'wv'], ['v']),
            node('RotaryEmbedding', ['q0', 'position_ids', 'cos', 'sin'], ['q'], { num_heads: 8 }, 'com.microsoft'),
            node('RotaryEmbedding', ['k0', 'position_ids', 'cos', 'sin'], ['k'], { num_heads: 2 }, 'com.microsoft'),
            node('Shape', ['input_ids'], ['shape']),
            node('Gather', ['shape', 'one'], ['len'], { axis: 0 }),
            node('Cast', ['len'], ['total_seq'], { to: onnx.TensorProto.DataType.INT32 }),
            node('Sub', ['len', 'one'], ['last']),
            node('Cast', ['last'], ['seqlens_k'], { to: onnx.TensorProto.DataType.INT32 }),
            node(
              'GroupQueryAttention',
              ['q', 'k', 'v', 'past_key_values.0.key', 'past_key_values.0.value', 'seqlens_k', 'total_seq'],
              ['attn', 'present.0.key', 'present.0.value'],
              { num_heads: 8, kv_num_heads: 2 },
              'com.microsoft',
            ),
            node('MatMul', ['attn', 'wo'], ['logits']),
          ],
          initializer: [
            floatTensor('embed', [260, d], w(260 * d, 2)),
            floatTensor('wq', [d, 8 * hd], w(d * 8 * hd)),
            floatTensor('wk', [d, 2 * hd], w(d * 2 * hd)),
            floatTensor('wv', [d, 2 * hd], w(d * 2 * hd)),
            floatTensor('wo', [8 * hd, d], w(8 * hd * d)),
            floatTensor('cos', [64, hd / 2], cos),
            floatTensor('sin', [64, hd / 2], sin),
            intTensor('one', [1], [1]),
          ],
          input: [
            valueInfo('input_ids', onnx.TensorProto.DataType.INT64, ['batch', 'sequence']),
            valueInfo('position_ids', onnx.TensorProto.DataType.INT64, ['batch', 'sequence']),
            valueInfo('past_key_values.0.key', onnx.TensorProto.DataType.FLOAT, ['batch', 2, 'past', hd]),
            valueInfo('past_key_values.0.value', onnx.TensorProto.DataType.FLOAT, ['batch', 2, 'past', hd]),
          ],
          output: [valueInfo('logits', onnx.TensorProto.DataType.FLOAT, ['batch', 'sequence', d])],
        }),
      });
      fs.writeFileSync(file, onnx.ModelProto.encode(model).finish());
    });
    after(() => fs.rmSync(path.dirname(file), { recursive: true, force: true }));

    it('planGraph reads the kernel as one layer of attention, its rotary cache as the position limit', () => {
      const plan = planGraph(decodeModel(readModelBytes(file), 'model.onnx'), path.dirname(file), 'model.onnx');
      assert.deepEqual(plan.attentionOutputs, ['headlight.kernel.0']);
      assert.equal(plan.kernels.get('headlight.kernel.0')?.op, 'gqa');
      assert.equal(plan.positionRows, 64);
    });
    it("the worker explains it: 8 query heads over 2 KV heads, equal to the kernel's own softmax (output_qk)", async () => {
      const ids = Array.from({ length: 29 }, (_, i) => (i * 31 + 7) % 260);
      const got = await client.runIds(ids, { modelPath: file, tokenizerPath: TOKENIZER });
      assert.equal(got.attention.headsPerLayer, 8);
      assert.equal(got.attention.causal, true);
      const oracle = await loadModel(file, 'oracle', { recompute: false });
      try {
        const want = await runSession(oracle, ids, oracle.attention);
        const w = want[oracle.attention[0]].data as Float32Array;
        const a = got.attention.data[0];
        let m = 0;
        for (let i = 0; i < w.length; i++) m = Math.max(m, Math.abs(a[i] - w[i]));
        assert.ok(m <= TOL, `max |recomputed − kernel| = ${m}`);
        assert.ok(Math.max(...a) - Math.min(...a) > 0.05, 'attention is not uniform, so the comparison means something');
      } finally {
        await releaseModel(oracle);
      }
    });
  });

  describe('execution providers', () => {
    it('normalises names and defaults to cpu', () => {
      assert.deepEqual(resolveProviders(undefined), ['cpu']);
      assert.deepEqual(resolveProviders([]), ['cpu']);
      assert.deepEqual(resolveProviders([' CPU ', 'cpu']), ['cpu']);
      assert.ok(listProviders().some((p) => p.name === 'cpu' && p.bundled));
    });

    it('explicit ["cpu"] works and gives the same attention as the default', async () => {
      const ids = ref('gemma-kv-op14').runs[0].ids;
      const a = await client.runIds(ids, modelRef('gemma-kv-op14'));
      const b = await client.runIds(ids, modelRef('gemma-kv-op14', ['CPU']));
      assert.equal(b.stats.sessionCached, true, 'default and ["cpu"] are the same session');
      assert.deepEqual(b.model.executionProviders, ['cpu']);
      assert.deepEqual(Array.from(b.attention.data[1]), Array.from(a.attention.data[1]));
    });

    it('an unknown provider is a provider-unavailable error naming what is available, and no crash', async () => {
      const before = client.workersStarted;
      const e = await rejectsWith(
        client.runIds([1, 2], modelRef('phi-kv-op17', ['coreml-bogus'])),
        'provider-unavailable',
        /"coreml-bogus" is not available.*Available here: cpu/s,
      );
      assert.equal(e.details?.requested, 'coreml-bogus');
      assert.match(String(e.details?.available), /(^|,)cpu(,|$)/);
      assert.throws(
        () => resolveProviders(['cpu', 7 as unknown as string]),
        (x: unknown) => x instanceof EngineError && x.code === 'bad-request',
      );
      // A setting of the wrong shape (a string, not a list) crosses the worker as a bad-request.
      await rejectsWith(
        client.runIds([1, 2], { ...modelRef('phi-kv-op17'), executionProviders: 'cuda' as unknown as string[] }),
        'bad-request',
        /list of names/,
      );
      const ok = await client.runIds([1, 2], modelRef('phi-kv-op17', ['cpu']));
      assert.equal(ok.attention.headsPerLayer, 4);
      assert.equal(client.workersStarted, before, 'the worker survived');
    });

    // What this machine must do with ["cuda", "cpu"], decided from facts about it before the run, so the test
    // checks one outcome and fails on the other: not listed by onnxruntime-node here → refused before any
    // session; listed but its provider library absent (this repository's .npmrc skips onnxruntime-node's CUDA
    // download) or no NVIDIA device → refused when the session starts; library and device present → used.
    const cuda = cudaHere();
    it(`["cuda", "cpu"] on this machine (${cuda.why}): ${cuda.runs ? 'runs on cuda and matches PyTorch' : 'refused with provider-unavailable naming what is available, the worker survives'}`, async () => {
      const ids = ref('llama-plain-op14').runs[0].ids;
      const request = client.runIds(ids, modelRef('llama-plain-op14', ['cuda', 'cpu']));
      if (cuda.runs) {
        const res = await request;
        assert.deepEqual(res.model.executionProviders, ['cuda', 'cpu'], 'the session was created with cuda first');
        // GPU kernels differ slightly from the CPU's.
        assert.ok(headDiff(ref('llama-plain-op14').runs[0].attention[0][0], headView(res.attention, 0, 0)) < 1e-4);
      } else {
        const e = await rejectsWith(
          request,
          'provider-unavailable',
          cuda.listed
            ? /could not start the execution providers cuda, cpu.*Available on .*cpu.*headlight\.executionProviders/s
            : /"cuda" is not available.*Available here: cpu/s,
        );
        assert.equal(e.details?.requested, 'cuda,cpu');
        assert.match(String(e.details?.available), /(^|,)cpu(,|$)/);
      }
      const started = client.workersStarted;
      const ok = await client.runIds(ids, modelRef('llama-plain-op14'));
      assert.deepEqual(ok.model.executionProviders, ['cpu']);
      assert.ok(headDiff(ref('llama-plain-op14').runs[0].attention[0][0], headView(ok.attention, 0, 0)) <= TOL, 'cpu still matches PyTorch');
      assert.equal(client.workersStarted, started, 'the same worker answers: it survived');
    });
  });
});
