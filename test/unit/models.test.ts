// The bundled models in media/models: each loads, matches its card and tokenizer, and (planted) equals its
// PyTorch construction / (headlight-mini, headlight-small) reproduces its card's measured head scores. No retraining.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { Tokenizer } from 'tokenizers';

const MODELS = path.join(__dirname, '..', '..', 'media', 'models');

type ScoreName = 'previous-token' | 'induction' | 'duplicate-token' | 'first-token-sink' | 'self';
interface HeadCard {
  layer: number;
  head: number;
  roles: string[];
  scores: Record<ScoreName, number>;
}
interface Card {
  name: string;
  kind: 'causal' | 'bidirectional';
  layers: number;
  headsPerLayer: number;
  vocabSize: number;
  maxPositions: number;
  inputs: string[];
  attentionOutputs: string[] | null;
  specialTokens: Record<string, string>;
  tokenizer?: string;
  probe: { repeatLength: number; sequences: number[][] };
  heads: HeadCard[];
  checkpoints?: { label: string; step: number; path: string }[];
  checkpoint?: string;
}
interface Reference {
  text: string;
  inputIds: number[];
  attention: number[][][][];
}

const readJson = <T>(p: string): T => JSON.parse(fs.readFileSync(p, 'utf8')) as T;

const BUNDLED = ['planted', 'headlight-mini', 'headlight-small', 'tiny-bert'];

/** A bundled model's checkpoint folders (`checkpoints/step-N/`), in step order; none when it ships none. */
function checkpointDirs(model: string): string[] {
  const ck = path.join(MODELS, model, 'checkpoints');
  return fs.existsSync(ck)
    ? fs
        .readdirSync(ck)
        .sort()
        .map((d) => path.join(ck, d))
    : [];
}

/** Model folders: the four bundled models plus every checkpoint shipped (only headlight-small has them). */
function modelDirs(): string[] {
  return BUNDLED.flatMap((m) => [path.join(MODELS, m), ...checkpointDirs(m)]);
}

/** A folder's model file; a final checkpoint's folder holds only its card and means the model's own file. */
function modelFile(dir: string, card: Card): string {
  const own = path.join(dir, 'model.onnx');
  if (fs.existsSync(own)) return own;
  assert.equal(card.checkpoint, 'final', `${dir}: no model.onnx, and the card does not mark the final checkpoint`);
  return path.join(dir, '..', '..', 'model.onnx');
}

/** Test-only graph rewrite: expose every Softmax output as a graph output (the engine has its own). */
function exposeSoftmax(bytes: Uint8Array): { bytes: Uint8Array; names: string[] } {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph;
  if (!graph) throw new Error('model has no graph');
  const names = (graph.node ?? []).filter((n) => n.opType === 'Softmax').map((n) => (n.output ?? [])[0]);
  graph.output ??= [];
  for (const name of names) {
    graph.output.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }));
  }
  return { bytes: onnx.ModelProto.encode(model).finish(), names };
}

interface Loaded {
  card: Card;
  session: ort.InferenceSession;
  attnNames: string[];
  softmaxCount: number;
}
const cache = new Map<string, Promise<Loaded>>();
function load(dir: string): Promise<Loaded> {
  let p = cache.get(dir);
  if (!p) {
    p = (async () => {
      const card = readJson<Card>(path.join(dir, 'card.json'));
      const raw = fs.readFileSync(modelFile(dir, card));
      const exposed = exposeSoftmax(raw);
      const attnNames = card.attentionOutputs ?? exposed.names;
      const session = await ort.InferenceSession.create(card.attentionOutputs ? raw : exposed.bytes);
      return { card, session, attnNames, softmaxCount: exposed.names.length };
    })();
    cache.set(dir, p);
  }
  return p;
}

async function run(m: Loaded, seqs: number[][], mask?: number[][]): Promise<{ logits: ort.Tensor; attn: ort.Tensor[] }> {
  const n = seqs.length,
    T = seqs[0].length;
  const i64 = (rows: number[][]) => new ort.Tensor('int64', BigInt64Array.from(rows.flat().map((v) => BigInt(v))), [n, T]);
  const feeds: Record<string, ort.Tensor> = { input_ids: i64(seqs) };
  if (m.card.inputs.includes('attention_mask')) feeds.attention_mask = i64(mask ?? seqs.map((r) => r.map(() => 1)));
  if (m.card.inputs.includes('token_type_ids')) feeds.token_type_ids = i64(seqs.map((r) => r.map(() => 0)));
  const out = await m.session.run(feeds, ['logits', ...m.attnNames]);
  return { logits: out.logits, attn: m.attnNames.map((k) => out[k]) };
}

/** Same definitions as scripts/models/gpt.py scores_from_attention. */
function scores(attn: ort.Tensor[], L: number): HeadCard['scores'][] {
  const res: HeadCard['scores'][] = [];
  for (const t of attn) {
    const [n, H, T] = t.dims;
    const a = t.data as Float32Array;
    const at = (b: number, h: number, i: number, j: number): number => a[((b * H + h) * T + i) * T + j];
    for (let h = 0; h < H; h++) {
      const s: HeadCard['scores'] = { 'previous-token': 0, induction: 0, 'duplicate-token': 0, 'first-token-sink': 0, self: 0 };
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
      res.push(s);
    }
  }
  return res;
}

function tokenizerFor(dir: string, card: Card): Tokenizer {
  return Tokenizer.fromFile(path.join(dir, card.tokenizer ?? 'tokenizer.json'));
}

/** The model's and each checkpoint's card scores, measured again from its ONNX file, within `tol`. */
async function cardScoresReproduced(root: string, tol: number): Promise<void> {
  for (const dir of [root, ...modelDirs().filter((d) => d.startsWith(path.join(root, 'checkpoints')))]) {
    const m = await load(dir);
    const measured = scores((await run(m, m.card.probe.sequences)).attn, m.card.probe.repeatLength);
    m.card.heads.forEach((h, k) => {
      for (const [name, v] of Object.entries(h.scores)) {
        assert.ok(Math.abs(measured[k][name as ScoreName] - v) <= tol, `${dir} L${h.layer}H${h.head} ${name}`);
      }
    });
  }
}

describe('bundled models (media/models)', () => {
  for (const dir of modelDirs()) {
    const label = path.relative(MODELS, dir);
    it(`${label}: loads, and its card matches the ONNX file and tokenizer`, async () => {
      const m = await load(dir);
      const { card } = m;
      assert.deepEqual([...m.session.inputNames].sort(), [...card.inputs].sort());
      if (card.attentionOutputs) {
        assert.deepEqual(m.session.outputNames, ['logits', ...card.attentionOutputs]);
      } else {
        assert.deepEqual(
          m.session.outputNames.filter((n) => !m.attnNames.includes(n)),
          ['logits'],
        );
      }
      assert.equal(m.softmaxCount, card.layers, 'one Softmax node per layer');
      const tok = tokenizerFor(dir, card);
      assert.ok(tok.getVocabSize(true) <= card.vocabSize, 'tokenizer ids fit the embedding');
      const text = 'The cat sat. The cat sat.';
      const enc = await tok.encode(text);
      const ids = enc.getIds();
      const { logits, attn } = await run(m, [ids]);
      assert.deepEqual(logits.dims, [1, ids.length, card.vocabSize]);
      assert.equal(attn.length, card.layers);
      for (const a of attn) assert.deepEqual(a.dims, [1, card.headsPerLayer, ids.length, ids.length]);
      // Offsets come back and cover the text (special tokens have empty spans).
      const offsets = enc.getOffsets();
      const special = enc.getSpecialTokensMask();
      const covered = offsets
        .filter((_, k) => special[k] === 0)
        .map(([s, e]) => text.slice(s, e))
        .join('');
      assert.equal(covered.replace(/ /g, '').toLowerCase(), text.replace(/ /g, '').toLowerCase());
      if (card.kind === 'causal') {
        assert.equal(ids[0], tok.tokenToId(card.specialTokens.bos), 'BOS prepended');
      } else {
        assert.equal(ids[0], tok.tokenToId('[CLS]'));
        assert.equal(ids[ids.length - 1], tok.tokenToId('[SEP]'));
        assert.ok(
          Object.keys(tok.getVocab(false)).some((t) => t.startsWith('##')),
          '## continuing prefix',
        );
      }
      // Each head's rows sum to 1.
      const a0 = attn[0].data as Float32Array;
      for (let r = 0; r < a0.length / ids.length; r++) {
        let s = 0;
        for (let j = 0; j < ids.length; j++) s += a0[r * ids.length + j];
        assert.ok(Math.abs(s - 1) < 1e-4);
      }
    });
  }

  it('planted: ONNX attention equals the PyTorch construction (reference.json) to 1e-5', async () => {
    const dir = path.join(MODELS, 'planted');
    const ref = readJson<Reference>(path.join(dir, 'reference.json'));
    const m = await load(dir);
    const enc = await tokenizerFor(dir, m.card).encode(ref.text);
    assert.deepEqual(enc.getIds(), ref.inputIds);
    const { attn } = await run(m, [ref.inputIds]);
    let worst = 0;
    attn.forEach((t, l) =>
      ref.attention[l].flat(2).forEach((v, k) => {
        worst = Math.max(worst, Math.abs(v - (t.data as Float32Array)[k]));
      }),
    );
    assert.ok(worst <= 1e-5, `max diff ${worst}`);
    // The planted patterns are near-hard: previous-token head (L0H0) puts >= 0.95 on i-1 for every i >= 1.
    const T = ref.inputIds.length;
    const a = attn[0].data as Float32Array;
    for (let i = 1; i < T; i++) assert.ok(a[i * T + i - 1] >= 0.95);
    // Induction head (L1H0): second "cat" (query at the second 'c') attends to 'a' after the first "c".
    const q = ref.text.indexOf('c', 5) + 1,
      k = ref.text.indexOf('c') + 2;
    assert.ok((attn[1].data as Float32Array)[q * T + k] >= 0.95);
  });

  it('planted: card scores match the ONNX file, and the no-role heads have none', async () => {
    const dir = path.join(MODELS, 'planted');
    const m = await load(dir);
    const measured = scores((await run(m, m.card.probe.sequences)).attn, m.card.probe.repeatLength);
    m.card.heads.forEach((h, k) => {
      for (const [name, v] of Object.entries(h.scores)) assert.ok(Math.abs(measured[k][name as ScoreName] - v) < 1e-3);
      if (h.roles.length === 0) for (const v of Object.values(measured[k])) assert.ok(v < 0.2, `L${h.layer}H${h.head}`);
    });
    assert.ok(measured[8].induction > 0.9 && measured[0]['previous-token'] > 0.99);
  });

  it('headlight-mini: card scores are reproduced from the ONNX file within 0.02', async () => {
    const root = path.join(MODELS, 'headlight-mini');
    await cardScoresReproduced(root, 0.02);
    const final = (await load(root)).card;
    const best = (s: ScoreName) => Math.max(...final.heads.map((h) => h.scores[s]));
    // On ordinary-token probes the layer-0 heads lean on the previous token (0.45, a uniform head ~0.05)
    // without reaching the card's 0.5 role threshold: a finding of the generic probe, recorded in the card.
    assert.ok(best('previous-token') >= 0.4, 'a previous-token-leaning head');
    assert.ok(best('induction') >= 0.8, 'general induction heads (leg 3)');
    assert.ok(final.heads.filter((h) => h.roles.includes('induction')).length >= 2);
  });

  it("each card lists exactly the checkpoint folders its model ships (headlight-mini's are training history only)", () => {
    for (const m of BUNDLED) {
      const card = readJson<Card>(path.join(MODELS, m, 'card.json'));
      const listed = (card.checkpoints ?? []).map((c) => path.resolve(MODELS, m, c.path)).sort();
      assert.deepEqual(listed, checkpointDirs(m), m);
    }
    // The steps headlight-mini's training picked stay in its card, marked as not shipped.
    const mini = readJson<Card & { trainingCheckpoints: { label: string; step: number }[]; trainingCheckpointsNote: string }>(
      path.join(MODELS, 'headlight-mini', 'card.json'),
    );
    assert.deepEqual(
      mini.trainingCheckpoints.map((c) => c.step),
      [0, 2700, 3000, 3972, 4500],
    );
    assert.match(mini.trainingCheckpointsNote, /not shipped/);
  });

  it('headlight-mini runs at its maxPositions (1,024 tokens)', async () => {
    const m = await load(path.join(MODELS, 'headlight-mini'));
    assert.ok(m.card.maxPositions >= 1024);
    const seq = Array.from({ length: m.card.maxPositions }, (_, i) => (i === 0 ? 2047 : (i * 7919) % 2000));
    const { logits, attn } = await run(m, [seq]);
    assert.ok((logits.data as Float32Array).every(Number.isFinite));
    assert.deepEqual(attn[0].dims, [1, m.card.headsPerLayer, 1024, 1024]);
  });

  it('tiny-bert: the attention_mask input hides padded keys', async () => {
    const dir = path.join(MODELS, 'tiny-bert');
    const m = await load(dir);
    const tok = tokenizerFor(dir, m.card);
    const ids = (await tok.encode('the cat sat on the mat')).getIds();
    const pad = tok.tokenToId('[PAD]');
    if (pad === null) throw new Error('no [PAD] token');
    const padded = [...ids, pad, pad, pad];
    const mask = padded.map((_, i) => (i < ids.length ? 1 : 0));
    const full = await run(m, [padded], [mask]);
    const short = await run(m, [ids]);
    const T = padded.length,
      n = ids.length;
    const a = full.attn[1].data as Float32Array,
      b = short.attn[1].data as Float32Array;
    for (let h = 0; h < m.card.headsPerLayer; h++) {
      for (let i = 0; i < n; i++) {
        for (let j = n; j < T; j++) assert.ok(a[(h * T + i) * T + j] < 1e-4, 'padded key gets no weight');
        for (let j = 0; j < n; j++) assert.ok(Math.abs(a[(h * T + i) * T + j] - b[(h * n + i) * n + j]) < 1e-4);
      }
    }
  });

  it('headlight-small and its checkpoints: card scores (PyTorch, shipped weights) are reproduced from the ONNX file within 1e-3', async () => {
    const root = path.join(MODELS, 'headlight-small');
    await cardScoresReproduced(root, 1e-3);
    const final = (await load(root)).card;
    assert.ok(final.layers >= 4 && final.maxPositions >= 256);
    assert.ok(final.heads.filter((h) => h.roles.includes('induction')).length >= 2, 'induction heads on ordinary ids');
    assert.ok((final.checkpoints ?? []).length >= 5);
    const init = (await load(path.join(root, 'checkpoints', fs.readdirSync(path.join(root, 'checkpoints')).sort()[0]))).card;
    assert.ok(Math.max(...init.heads.map((h) => h.scores.induction)) < 0.05, 'no induction at initialisation');
  });

  // Every model shipped with float16 weights (headlight-small and its checkpoints, headlight-mini, tiny-bert) has a
  // reference.json: the attention of its float32 weights, computed in PyTorch (scripts/models/fp16.py, export_small.py).
  for (const dir of modelDirs().filter((d) => fs.existsSync(path.join(d, 'reference.json')) && !d.endsWith('planted'))) {
    it(`${path.relative(MODELS, dir)}: float16 weights keep attention within 1e-3 of the float32 model (reference.json)`, async () => {
      const ref = readJson<{ inputIds: number[]; attentionF32Base64: string[] }>(path.join(dir, 'reference.json'));
      const m = await load(dir);
      const weights = onnx.ModelProto.decode(fs.readFileSync(path.join(dir, 'model.onnx'))).graph?.initializer ?? [];
      assert.ok(
        weights.some((t) => t.dataType === onnx.TensorProto.DataType.FLOAT16),
        'weights are stored as float16',
      );
      const { attn } = await run(m, [ref.inputIds]);
      assert.equal(attn.length, ref.attentionF32Base64.length);
      let worst = 0;
      attn.forEach((t, l) => {
        const b = Buffer.from(ref.attentionF32Base64[l], 'base64');
        const want = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
        assert.equal(want.length, (t.data as Float32Array).length);
        want.forEach((v, k) => {
          worst = Math.max(worst, Math.abs(v - (t.data as Float32Array)[k]));
        });
      });
      console.log(`      max |float32 - float16| attention ${worst.toExponential(2)}`);
      assert.ok(worst <= 1e-3, `max diff ${worst}`);
    });
  }

  it('planted keeps float32 weights; every other model file is float16, and the ones converted from float32 have its reference', () => {
    const isF16 = (file: string) =>
      (onnx.ModelProto.decode(fs.readFileSync(file)).graph?.initializer ?? []).some((t) => t.dataType === onnx.TensorProto.DataType.FLOAT16);
    for (const dir of modelDirs().filter((d) => fs.existsSync(path.join(d, 'model.onnx')))) {
      const label = path.relative(MODELS, dir);
      assert.equal(isF16(path.join(dir, 'model.onnx')), label !== 'planted', label);
      // headlight-small's checkpoints were exported float16 from the GPU run's weights, which the repo does not hold.
      if (!label.startsWith('headlight-small/') && label !== 'planted') assert.ok(fs.existsSync(path.join(dir, 'reference.json')), `${label}: reference.json`);
    }
  });

  it('all bundled models together stay within 40 MB', () => {
    let total = 0;
    const walk = (d: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else total += fs.statSync(p).size;
      }
    };
    walk(MODELS);
    assert.ok(total <= 40 * 1024 * 1024, `${(total / 1048576).toFixed(1)} MB`);
  });
});
