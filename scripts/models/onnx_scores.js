// Measures head scores FROM an ONNX file with onnxruntime-node (python has no onnxruntime here).
// Attention comes from the card's attentionOutputs, or else from the Softmax nodes, which are added as graph
// outputs in memory with onnx-proto. Probe = card.probe.sequences ([BOS, r, r], r random, length L; for
// headlight-mini r is drawn from the tokenizer's ordinary ids, as Headlight's repeat probe draws: export_mini.py).
// usage: node onnx_scores.js model.onnx card.json [--reference reference.json] [--out scores.json]
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');
const { onnx } = require('onnx-proto');

/** Returns the model bytes with every Softmax output exposed, and those output names in graph order. */
function exposeSoftmax(bytes) {
  const model = onnx.ModelProto.decode(bytes);
  const names = model.graph.node.filter((n) => n.opType === 'Softmax').map((n) => n.output[0]);
  for (const name of names) {
    model.graph.output.push(
      onnx.ValueInfoProto.create({
        name,
        type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } },
      }),
    );
  }
  return { bytes: onnx.ModelProto.encode(model).finish(), names };
}

async function attention(modelPath, card, seqs) {
  let bytes = fs.readFileSync(modelPath);
  let names = card.attentionOutputs;
  if (!names) ({ bytes, names } = exposeSoftmax(bytes));
  const session = await ort.InferenceSession.create(bytes);
  const n = seqs.length,
    T = seqs[0].length;
  const feeds = {};
  const ids = new ort.Tensor('int64', BigInt64Array.from(seqs.flat().map(BigInt)), [n, T]);
  feeds.input_ids = ids;
  if (card.inputs.includes('attention_mask')) feeds.attention_mask = new ort.Tensor('int64', new BigInt64Array(n * T).fill(1n), [n, T]);
  if (card.inputs.includes('token_type_ids')) feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(n * T), [n, T]);
  const out = await session.run(feeds, names);
  return names.map((nm) => out[nm]);
}

function scores(atts, L) {
  const res = [];
  atts.forEach((t, layer) => {
    const [n, H, T] = t.dims;
    const a = t.data;
    const at = (b, h, i, j) => a[((b * H + h) * T + i) * T + j];
    for (let h = 0; h < H; h++) {
      const s = { 'previous-token': 0, induction: 0, 'duplicate-token': 0, 'first-token-sink': 0, self: 0 };
      for (let b = 0; b < n; b++) {
        for (let i = 1; i < T; i++) {
          s['previous-token'] += at(b, h, i, i - 1) / (n * (T - 1));
          s['first-token-sink'] += at(b, h, i, 0) / (n * (T - 1));
          s.self += at(b, h, i, i) / (n * (T - 1));
        }
        for (let i = L + 1; i < T; i++) {
          s.induction += at(b, h, i, i - L + 1) / (n * (T - L - 1));
          s['duplicate-token'] += at(b, h, i, i - L) / (n * (T - L - 1));
        }
      }
      res.push({ layer, head: h, scores: s });
    }
  });
  return res;
}

async function main() {
  const args = process.argv.slice(2);
  const [modelPath, cardPath] = args;
  const opt = (k) => {
    const i = args.indexOf(k);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const card = JSON.parse(fs.readFileSync(cardPath, 'utf8'));
  const atts = await attention(modelPath, card, card.probe.sequences);
  const res = scores(atts, card.probe.repeatLength);
  let worst = 0;
  for (const r of res) {
    const c = card.heads.find((h) => h.layer === r.layer && h.head === r.head);
    if (c) for (const k of Object.keys(r.scores)) worst = Math.max(worst, Math.abs(c.scores[k] - r.scores[k]));
  }
  console.log(`${modelPath}: ${atts.length} layers x ${atts[0].dims[1]} heads; max |card - onnx| score = ${worst.toExponential(2)}`);
  if (worst > 2e-4) {
    console.error('card scores do not match the ONNX file (> 2e-4)');
    process.exit(1);
  }
  const refPath = opt('--reference');
  if (refPath) {
    const ref = JSON.parse(fs.readFileSync(refPath, 'utf8'));
    const [a] = [await attention(modelPath, card, [ref.inputIds])];
    let d = 0;
    a.forEach((t, l) =>
      ref.attention[l].flat(2).forEach((v, k) => {
        d = Math.max(d, Math.abs(v - t.data[k]));
      }),
    );
    console.log(`reference parity: max |pytorch - onnx| attention = ${d.toExponential(2)}`);
    if (d > 1e-4) {
      console.error('parity FAILED');
      process.exit(1);
    }
  }
  const outPath = opt('--out');
  if (outPath) fs.writeFileSync(outPath, JSON.stringify(res, null, 1));
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
