// A Qwen2.5-0.5B-shaped decoder written the way the onnxruntime-genai model builder writes its int4 CPU
// export: 24 layers, 14 query heads over 2 KV heads of size 64, d_model 896, SwiGLU MLP 4,864, RMSNorm as
// SimplifiedLayerNormalization / SkipSimplifiedLayerNormalization, Q/K/V bias (Qwen) on one packed QKV
// projection, rotary inside GroupQueryAttention (do_rotary, cos/sin caches for 32,768 positions),
// seqlens_k / total_sequence_length computed from attention_mask, past_key_values.* inputs and present.*
// outputs, and every projection and the LM head as 4-bit MatMulNBits (block 32, accuracy_level 4).
// Random weights (seeded): random 4-bit blobs with scales chosen so every layer's output keeps unit-ish
// scale, so activations stay finite at thousands of tokens. Vocabulary 32,768; the tokenizer is
// headlight-mini's (its 2,048 ids are a subset, like the GPT-2-small-shaped bench model's).
//
// Generated on first use into bench/results/qwen05b/ (git-ignored, ~360 MB), never committed.
// CLI: npx tsx bench/makeQwen05b.ts [--force] [--check]   (--check: one 1,024-token run, NaN/Inf scan)
import { copyFileSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { Graph, T, type Attrs } from '../test/fixtures/twins/graph';

const ROOT = path.resolve(__dirname, '..');
export const QWEN05B_DIR = path.join(ROOT, 'bench', 'results', 'qwen05b');

export const QWEN05B = {
  layers: 24,
  heads: 14,
  kvHeads: 2,
  headSize: 64,
  d: 896,
  ff: 4864,
  vocab: 32768,
  maxPositions: 32768,
  ropeTheta: 1000000,
  eps: 1e-6,
  blockSize: 32,
  accuracyLevel: 4,
} as const;

/** xorshift128: fast seeded bytes (hundreds of MB of weights; Math.random is not reproducible). */
function randomWords(seed: number): () => number {
  let a = seed >>> 0 || 1,
    b = 0x9e3779b9,
    c = 0x243f6a88,
    d = 0xb7e15162;
  return () => {
    const t = a ^ (a << 11);
    a = b;
    b = c;
    c = d;
    d = (d ^ (d >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    return d;
  };
}

/**
 * One MatMulNBits x · W (W [K, N]) with uniform random 4-bit codes (zero point 8 implied) and per-block
 * scales giving outputs of standard deviation ≈ `outStd` for inputs of standard deviation `inStd`.
 */
function nbits(g: Graph, next: () => number, x: string, scope: string, K: number, N: number, inStd: number, outStd: number): string {
  const { blockSize, accuracyLevel } = QWEN05B;
  const blocks = Math.ceil(K / blockSize),
    blob = new Uint8Array(N * blocks * (blockSize / 2));
  const words = new Uint32Array(blob.buffer, 0, blob.length >> 2);
  for (let i = 0; i < words.length; i++) words[i] = next();
  // codes uniform in 0…15 around zero point 8: E[(q − 8)²] = 21.5
  const base = outStd / (inStd * Math.sqrt(K * 21.5));
  const scales = new Float32Array(N * blocks);
  for (let i = 0; i < scales.length; i++) scales[i] = base * (0.75 + 0.5 * (next() / 4294967296));
  const name = scope.replace(/^\//, '').replace(/\//g, '.');
  const attrs: Attrs = { K, N, bits: 4, block_size: blockSize, accuracy_level: accuracyLevel };
  return g.op1(
    'MatMulNBits',
    `${scope}/MatMul_Quant`,
    [x, g.tensor(`${name}.MatMul.weight_Q4`, [N, blocks, blockSize / 2], T.UINT8, blob), g.f32(`${name}.MatMul.weight_scales`, [N * blocks], scales)],
    attrs,
    'com.microsoft',
  );
}

function uniform(next: () => number, n: number, lo: number, hi: number): Float32Array {
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * (next() / 4294967296));
}

/** The model as ONNX bytes. */
export function buildQwen05b(seed = 5): Uint8Array {
  const { layers, heads, kvHeads, headSize, d, ff, vocab, maxPositions, ropeTheta, eps } = QWEN05B;
  const next = randomWords(seed);
  const g = new Graph(14);
  const MS = 'com.microsoft';
  g.input('input_ids', T.INT64, ['batch_size', 'sequence_length']);
  g.input('attention_mask', T.INT64, ['batch_size', 'total_sequence_length']);
  for (let l = 0; l < layers; l++)
    for (const kv of ['key', 'value']) g.input(`past_key_values.${l}.${kv}`, T.FLOAT, ['batch_size', kvHeads, 'past_sequence_length', headSize]);
  g.output('logits', T.FLOAT, ['batch_size', 'sequence_length', vocab]);
  for (let l = 0; l < layers; l++)
    for (const kv of ['key', 'value']) g.output(`present.${l}.${kv}`, T.FLOAT, ['batch_size', kvHeads, 'total_sequence_length', headSize]);

  // attention-mask reformatting, once (the builder's attn_mask_reformat subgraph)
  const sum = g.reduce('ReduceSum', '/model/attn_mask_reformat/attn_mask_subgraph/ReduceSum', 'attention_mask', 1, 0);
  const seqlensK = g.op1(
    'Cast',
    '/model/attn_mask_reformat/attn_mask_subgraph/Sub/Cast',
    [g.op1('Sub', '/model/attn_mask_reformat/attn_mask_subgraph/Sub', [sum, g.i64([1], [])])],
    { to: T.INT32 },
  );
  const shape = g.op1('Shape', '/model/attn_mask_reformat/attn_mask_subgraph/Shape', ['attention_mask']);
  const totalLen = g.op1(
    'Cast',
    '/model/attn_mask_reformat/attn_mask_subgraph/Gather/Cast',
    [g.op1('Gather', '/model/attn_mask_reformat/attn_mask_subgraph/Gather', [shape, g.i64([1], [])], { axis: 0 })],
    { to: T.INT32 },
  );

  // rotary caches [maxPositions, headSize/2]
  const half = headSize / 2,
    cos = new Float32Array(maxPositions * half),
    sin = new Float32Array(maxPositions * half);
  for (let p = 0; p < maxPositions; p++)
    for (let i = 0; i < half; i++) {
      const a = p * ropeTheta ** (-(2 * i) / headSize);
      cos[p * half + i] = Math.cos(a);
      sin[p * half + i] = Math.sin(a);
    }
  g.f32('cos_cache', [maxPositions, half], cos);
  g.f32('sin_cache', [maxPositions, half], sin);

  // embedding: float32 rows of unit scale
  const emb = uniform(next, vocab * d, -Math.sqrt(3), Math.sqrt(3));
  let residual = g.op1('Gather', '/model/embed_tokens/Gather', [g.f32('model.embed_tokens.weight', [vocab, d], emb), 'input_ids']);
  const normW = (name: string) => g.f32(name, [d], uniform(next, d, 0.8, 1.2));
  let h = g.op1('SimplifiedLayerNormalization', '/model/layers.0/input_layernorm/LayerNorm', [residual, normW('model.layers.0.input_layernorm.weight')], {
    axis: -1,
    epsilon: { f: eps },
    stash_type: 1,
  });
  const qkvN = (heads + 2 * kvHeads) * headSize;
  for (let l = 0; l < layers; l++) {
    const p = `/model/layers.${l}`;
    // packed Q/K/V (q, k: unit scale so scores are O(1) at scale 1/8; v: unit) + Qwen's bias
    let qkv = nbits(g, next, h, `${p}/attn/qkv_proj`, d, qkvN, 1, 1);
    qkv = g.op1('Add', `${p}/attn/qkv_proj/Add`, [qkv, g.f32(`model.layers.${l}.attn.qkv_proj.bias`, [qkvN], uniform(next, qkvN, -0.2, 0.2))]);
    const outs = [g.fresh(`${p}/attn/GroupQueryAttention/output_0`), `present.${l}.key`, `present.${l}.value`];
    g.named(
      'GroupQueryAttention',
      `${p}/attn/GroupQueryAttention`,
      [qkv, '', '', `past_key_values.${l}.key`, `past_key_values.${l}.value`, seqlensK, totalLen, 'cos_cache', 'sin_cache'],
      outs,
      {
        num_heads: heads,
        kv_num_heads: kvHeads,
        scale: { f: 1 / Math.sqrt(headSize) },
        local_window_size: -1,
        do_rotary: 1,
        rotary_interleaved: 0,
        softcap: { f: 0 },
      },
      MS,
    );
    const o = nbits(g, next, outs[0], `${p}/attn/o_proj`, heads * headSize, d, 0.6, 0.5);
    const [h2, , , res2] = g.op(
      'SkipSimplifiedLayerNormalization',
      `${p}/post_attention_layernorm/SkipLayerNorm`,
      [residual, o, normW(`model.layers.${l}.post_attention_layernorm.weight`)],
      { epsilon: { f: eps } },
      4,
      MS,
    );
    const gate = nbits(g, next, h2, `${p}/mlp/gate_proj`, d, ff, 1, 1);
    const up = nbits(g, next, h2, `${p}/mlp/up_proj`, d, ff, 1, 1);
    const act = g.op1('Mul', `${p}/mlp/act_fn/Mul`, [gate, g.op1('Sigmoid', `${p}/mlp/act_fn/Sigmoid`, [gate])]);
    const down = nbits(g, next, g.op1('Mul', `${p}/mlp/Mul`, [act, up]), `${p}/mlp/down_proj`, ff, d, 0.6, 0.5);
    const nextNorm = l + 1 < layers ? `model.layers.${l + 1}.input_layernorm.weight` : 'model.norm.weight';
    const nextScope = l + 1 < layers ? `/model/layers.${l + 1}/input_layernorm/SkipLayerNorm` : '/model/norm/SkipLayerNorm';
    [h, , , residual] = g.op('SkipSimplifiedLayerNormalization', nextScope, [res2, down, normW(nextNorm)], { epsilon: { f: eps } }, 4, MS);
  }
  const logits = nbits(g, next, h, '/lm_head', d, vocab, 1, 3);
  g.named('Identity', '/lm_head/Identity', [logits], ['logits']);
  return g.encode('qwen05b-shape', { [MS]: 1 }, 8);
}

/** The model and tokenizer paths, generating them on first use. */
export function ensureQwen05b(opts: { force?: boolean; log?: (s: string) => void } = {}): { modelPath: string; tokenizerPath: string } {
  const modelPath = path.join(QWEN05B_DIR, 'model.onnx'),
    tokenizerPath = path.join(QWEN05B_DIR, 'tokenizer.json');
  if (!opts.force && existsSync(modelPath) && existsSync(tokenizerPath)) return { modelPath, tokenizerPath };
  mkdirSync(QWEN05B_DIR, { recursive: true });
  const t0 = Date.now();
  const bytes = buildQwen05b();
  // written under a temporary name and renamed: an interrupted run never leaves a truncated model behind
  writeFileSync(`${modelPath}.partial`, bytes);
  renameSync(`${modelPath}.partial`, modelPath);
  copyFileSync(path.join(ROOT, 'media', 'models', 'headlight-mini', 'tokenizer.json'), tokenizerPath);
  opts.log?.(`qwen05b: wrote ${(bytes.length / 2 ** 20).toFixed(0)} MB in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { modelPath, tokenizerPath };
}

/** One prompt of n tokens through onnxruntime-node: logits finite? (min, max, NaN/Inf count, ms). */
export async function checkQwen05b(modelPath: string, n: number): Promise<{ ms: number; nonFinite: number; min: number; max: number }> {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(modelPath);
  const { layers, kvHeads, headSize } = QWEN05B;
  const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {
    input_ids: new ort.Tensor(
      'int64',
      BigInt64Array.from({ length: n }, (_, i) => BigInt((i * 7919) % 2048)),
      [1, n],
    ),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
  };
  for (let l = 0; l < layers; l++)
    for (const kv of ['key', 'value']) feeds[`past_key_values.${l}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [1, kvHeads, 0, headSize]);
  const t0 = Date.now();
  const logits = (await session.run(feeds, ['logits'])).logits.data as Float32Array;
  const ms = Date.now() - t0;
  let nonFinite = 0,
    min = Infinity,
    max = -Infinity;
  for (const v of logits) {
    if (!Number.isFinite(v)) nonFinite++;
    else {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
  }
  await session.release();
  return { ms, nonFinite, min, max };
}

if (require.main === module) {
  const { modelPath } = ensureQwen05b({ force: process.argv.includes('--force'), log: console.log });
  console.log(modelPath);
  if (process.argv.includes('--check')) {
    void checkQwen05b(modelPath, 1024).then((r) => {
      console.log(`1,024 tokens: ${r.ms} ms, logits in [${r.min.toFixed(2)}, ${r.max.toFixed(2)}], ${r.nonFinite} NaN/Inf`);
      if (r.nonFinite) process.exitCode = 1;
    });
  }
}
