// Checks an answer-key fixture (test/fixtures/answer-key/<name>/) against PyTorch with onnxruntime-node:
// the npm tokenizers package encodes the card's test selection to the ids PyTorch used (bytes after BOS),
// the ONNX logits match PyTorch's, and the attention of the Softmax nodes (exposed in memory) gives the
// card's per-head previous-token and first-token scores on that selection.
// usage: node check_bytes.js FIXTURE_DIR work/bytes/<name>/reference.json
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');
const { onnx } = require('onnx-proto');
const { Tokenizer } = require('tokenizers');

async function main() {
  const [dir, refPath] = process.argv.slice(2);
  const card = JSON.parse(fs.readFileSync(path.join(dir, 'card.json'), 'utf8'));
  const ref = JSON.parse(fs.readFileSync(refPath, 'utf8'));
  const sel = card.answerKey.selections[0];
  const enc = await Tokenizer.fromFile(path.join(dir, 'tokenizer.json')).encode(sel.text);
  const ids = enc.getIds();
  if (JSON.stringify(ids) !== JSON.stringify(ref.ids)) throw new Error(`tokenizer ids ${ids} != PyTorch ids ${ref.ids}`);
  const offs = enc.getOffsets();
  for (let i = 1; i < ids.length; i++) if (offs[i][0] !== i - 1 || offs[i][1] !== i) throw new Error(`offset ${i}: ${offs[i]}`);

  const model = onnx.ModelProto.decode(fs.readFileSync(path.join(dir, 'model.onnx')));
  const names = model.graph.node.filter((n) => n.opType === 'Softmax').map((n) => n.output[0]);
  for (const name of names) model.graph.output.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }));
  const session = await ort.InferenceSession.create(onnx.ModelProto.encode(model).finish());
  const n = ids.length;
  const out = await session.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, n]) });
  let dl = 0;
  const V = out.logits.dims[2];
  for (let i = 0; i < n; i++) for (let v = 0; v < V; v++) dl = Math.max(dl, Math.abs(out.logits.data[i * V + v] - ref.logits[i][v]));
  if (dl > 1e-3) throw new Error(`logits differ from PyTorch by ${dl}`);
  let da = 0;
  names.forEach((name, layer) => {
    const t = out[name],
      H = t.dims[1],
      a = t.data;
    for (let h = 0; h < H; h++) {
      const A = (i, j) => a[(h * n + i) * n + j];
      let prev = 0,
        sum = 0,
        first = 0;
      for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) sum += A(i, j);
      for (let i = 1; i < n; i++) {
        prev += A(i, i - 1);
        first += A(i, 0);
      }
      const want = sel.heads.find((x) => x.id === `L${layer}H${h}`);
      da = Math.max(da, Math.abs(prev / sum - want.previous), Math.abs(first / (n - 1) - want.firstToken));
    }
  });
  if (da > 1e-3) throw new Error(`attention scores differ from the card by ${da}`);
  console.log(
    `${path.basename(dir)}: ${names.length} Softmax nodes; tokenizer ids match; logits within ${dl.toExponential(1)}, selection scores within ${da.toExponential(1)} of PyTorch`,
  );
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
