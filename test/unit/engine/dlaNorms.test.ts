// The final norm and the unembedding as users' exports write them: hand-built graphs (onnxBuilder's GPT-2
// stack) ending in LayerNormalization, SimplifiedLayerNormalization, RMSNormalization (opset 23),
// com.microsoft Skip(Simplified)LayerNormalization (which also sums the last residual), a decomposed norm,
// a tied head that reads the embedding table through Transpose and an untied head with a bias. For each, the
// terms the engine finds must sum, through the frozen norm, to the logits ONNX Runtime computes.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { buildTiny, floatTensor, node, rng } from '../../fixtures/onnxBuilder';
import { loadModel } from '../../../src/engine/modelCache';
import { decompose, decompositionFetches, type Fetched } from '../../../src/engine/dla';
import { addCaptureOutputs } from '../../../src/engine/recomputeGraph';
import { decodeModel, elemTypes } from '../../../src/engine/onnxGraph';

type Norm =
  'LayerNormalization' | 'SimplifiedLayerNormalization' | 'RMSNormalization' | 'SkipLayerNormalization' | 'SkipSimplifiedLayerNormalization' | 'decomposed-rms';

/** buildTiny's stack with `norm` before the head; `head`: tied through Transpose(wte), or untied [d, V] with a bias. */
function withNorm(norm: Norm, head: 'tied-transpose' | 'untied-bias'): Uint8Array {
  const d = 16,
    vocab = 300;
  const { bytes } = buildTiny({ kind: 'gpt2', layers: 2, heads: 2, d, vocab, lmHead: true, seed: 5 });
  const m = onnx.ModelProto.decode(bytes);
  const g = m.graph!;
  const r = rng(9);
  const vec = (s: number, c: number) => Float32Array.from({ length: d }, () => c + r() * s);
  const nodes = g.node as onnx.NodeProto[];
  const lm = nodes.findIndex((n) => n.output?.[0] === 'logits');
  const idn = nodes.findIndex((n) => n.output?.[0] === 'last_hidden_state');
  g.initializer!.push(floatTensor('g', [d], vec(0.4, 1)), floatTensor('b', [d], vec(0.3, 0)));
  const added: onnx.NodeProto[] = [];
  let h = 'normed';
  if (norm === 'LayerNormalization') added.push(node('LayerNormalization', ['last_hidden_state', 'g', 'b'], ['normed'], { axis: -1 }));
  else if (norm === 'SimplifiedLayerNormalization') added.push(node('SimplifiedLayerNormalization', ['last_hidden_state', 'g'], ['normed'], { axis: -1 }));
  else if (norm === 'RMSNormalization') added.push(node('RMSNormalization', ['last_hidden_state', 'g'], ['normed'], { axis: -1 }));
  else if (norm === 'decomposed-rms') {
    g.initializer!.push(floatTensor('two', [], new Float32Array([2])), floatTensor('eps', [], new Float32Array([1e-6])));
    added.push(
      node('Pow', ['last_hidden_state', 'two'], ['sq']),
      onnx.NodeProto.create({
        ...node('ReduceMean', ['sq'], ['ms'], { keepdims: 1 }),
        attribute: [
          onnx.AttributeProto.create({ name: 'axes', ints: [-1], type: onnx.AttributeProto.AttributeType.INTS }),
          onnx.AttributeProto.create({ name: 'keepdims', i: 1, type: onnx.AttributeProto.AttributeType.INT }),
        ],
      }),
      node('Add', ['ms', 'eps'], ['mse']),
      node('Sqrt', ['mse'], ['rms']),
      node('Div', ['last_hidden_state', 'rms'], ['xn']),
      node('Mul', ['xn', 'g'], ['normed']),
    );
  } else {
    // Skip*: the last residual Add (x + proj) becomes the norm's input + skip.
    const add = nodes.find((n) => n.opType === 'Add' && n.output?.[0] === 'l1_out')!;
    const [x, proj] = add.input;
    const simplified = norm === 'SkipSimplifiedLayerNormalization';
    added.push(
      onnx.NodeProto.create({
        ...node(norm, simplified ? [x, proj, 'g'] : [x, proj, 'g', 'b'], ['normed']),
        domain: 'com.microsoft',
        attribute: [onnx.AttributeProto.create({ name: 'epsilon', f: 1e-5, type: onnx.AttributeProto.AttributeType.FLOAT })],
      }),
    );
  }
  const lmNode = nodes[lm];
  if (head === 'tied-transpose') {
    added.push(node('Transpose', ['wte'], ['wte_T'], { perm: [1, 0] }));
    lmNode.input = [h, 'wte_T'];
  } else {
    const w = Float32Array.from({ length: d * vocab }, () => r());
    g.initializer!.push(
      floatTensor('w_u', [d, vocab], w),
      floatTensor(
        'b_u',
        [vocab],
        Float32Array.from({ length: vocab }, () => r()),
      ),
    );
    lmNode.input = [h, 'w_u'];
    lmNode.output = ['logits_pre'];
    added.push(node('Add', ['logits_pre', 'b_u'], ['logits']));
    h = 'logits_pre';
  }
  void h;
  nodes.splice(Math.max(idn, lm), 0, ...added.filter((n) => n.opType !== 'Add' || n.output?.[0] !== 'logits'));
  if (head === 'untied-bias') nodes.push(added.find((n) => n.output?.[0] === 'logits')!);
  // Skip*: nothing reads the removed residual Add's output any more but the Identity; keep it (it stays valid).
  const opset = norm === 'RMSNormalization' ? 23 : 17;
  m.opsetImport = [
    { domain: '', version: opset },
    { domain: 'com.microsoft', version: 1 },
  ];
  return onnx.ModelProto.encode(m).finish();
}

describe('DLA: final norms and unembeddings as exports write them (the logits from ONNX Runtime are the answer)', function () {
  this.timeout(60_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-dla-norms-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const cases: [Norm, 'tied-transpose' | 'untied-bias', string][] = [
    ['LayerNormalization', 'tied-transpose', 'LayerNormalization'],
    ['LayerNormalization', 'untied-bias', 'LayerNormalization'],
    ['SimplifiedLayerNormalization', 'untied-bias', 'SimplifiedLayerNormalization'],
    ['RMSNormalization', 'tied-transpose', 'RMSNormalization'],
    ['SkipLayerNormalization', 'untied-bias', 'SkipLayerNormalization'],
    ['SkipSimplifiedLayerNormalization', 'tied-transpose', 'SkipSimplifiedLayerNormalization'],
    ['decomposed-rms', 'untied-bias', 'decomposed RMSNorm'],
  ];
  for (const [norm, head, label] of cases) {
    it(`${norm}, ${head}: every term sums to the logits within 1e-4`, async () => {
      const file = path.join(dir, `${norm}-${head}.onnx`);
      fs.writeFileSync(file, withNorm(norm, head));
      const m = await loadModel(file, file);
      try {
        assert.ok(m.dla && !('refused' in m.dla), m.dla && 'refused' in m.dla ? m.dla.refused : 'no plan');
        const plan = m.dla;
        assert.equal(plan.residual.norm.label, label);
        assert.equal(plan.residual.unembed.layout, head === 'tied-transpose' ? 'vd' : 'dv');
        if (head === 'untied-bias') assert.ok(plan.residual.unembed.bias);
        const ids = [3, 17, 99, 5, 17, 99, 42, 7];
        const bytes = fs.readFileSync(file);
        const names = decompositionFetches(plan);
        const s = await ort.InferenceSession.create(addCaptureOutputs(bytes, names, elemTypes(decodeModel(bytes, 'x'), names) as number[], m.originalOutputs), {
          logSeverityLevel: 3,
        });
        const out = await s.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]) });
        const fetched: Fetched = Object.fromEntries(names.map((nm) => [nm, { data: out[nm].data as Float32Array, dims: out[nm].dims }]));
        const logits = out.logits.data as Float32Array,
          V = 300;
        for (const targets of [Int32Array.from(ids, (_, i) => (i + 1 < ids.length ? ids[i + 1] : -1)), Int32Array.from(ids, (_, i) => (i * 37) % V)]) {
          const comps = decompose(plan, fetched, targets, 2);
          assert.equal(comps.filter((c) => c.kind === 'head').length, 4);
          for (let i = 0; i < ids.length; i++) {
            if (targets[i] < 0) continue;
            const sum = comps.reduce((a, c) => a + c.values[i], 0);
            assert.ok(Math.abs(sum - logits[i * V + targets[i]]) < 1e-4, `position ${i}: ${sum} vs ${logits[i * V + targets[i]]}`);
          }
        }
        await s.release();
      } finally {
        await m.session.release();
      }
    });
  }
});
