// Where a plain run's time goes: ONNX Runtime's own profiler (`enableProfiling`) on the unmodified graph,
// the session options the engine uses, its kernel times grouped into the parts of a transformer.
//   npx tsx bench/runProfile.ts [MODEL.onnx] [--tokens 128,512,1024] [--reps 3]
// Default model: the GPT-2-small shape (bench/results/gpt2-small/model.onnx). Prints one table per token
// count: share of the summed kernel time per group, and the same by multiply-adds for comparison.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { feedTensor } from '../src/engine/feeds';
import { decodeModel, planGraph, readModelBytes } from '../src/engine/onnxGraph';

interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string; node_index?: string };
}

/** The part of the model a node belongs to, from its name and op (torch exports name nodes after modules). */
export function groupOf(node: string, op: string, lmHead: string | undefined): string {
  if (lmHead && node === lmHead) return 'LM head (unembedding)';
  const n = node.toLowerCase();
  if (/(^|\/)(lnf|norm|ln_f|final_layer_norm)(\/|$)/.test(n) && !/blocks|layers|\/h\./.test(n)) return 'final norm';
  if (
    /\bln_?\d|layernorm|\/ln1|\/ln2|input_layernorm|post_attention_layernorm|norm/.test(n) ||
    op === 'LayerNormalization' ||
    op === 'SimplifiedLayerNormalization' ||
    op === 'SkipLayerNormalization'
  )
    return 'norms';
  if (/mlp|ffn|\/fc|\/out\/|feed_forward|gelu|\/c_fc|\/c_proj/.test(n) && !/attn|attention/.test(n)) return 'MLP';
  if (/softmax|attn|attention|\/qkv|\/proj|q_proj|k_proj|v_proj|o_proj/.test(n) && !/^\/(blocks|h|layers|layer)\.\d+\/[A-Z]/.test(node)) {
    if (op === 'MatMul' || op === 'Gemm' || op === 'FusedMatMul' || op === 'FusedGemm') {
      return /qkv|q_proj|k_proj|v_proj|\/proj|o_proj|c_attn/.test(n) ? 'attention projections (QKV, W_O)' : 'attention scores and mixing (QKᵀ, softmax, ·V)';
    }
    return 'attention scores and mixing (QKᵀ, softmax, ·V)';
  }
  // An op directly under a block, outside its named modules (torch names it /blocks.N/MatMul, /blocks.N/Where…):
  // the attention's own arithmetic — scores, mask, softmax, mixing and the head reshapes between.
  if (/^\/(blocks|h|layers|layer)\.\d+\/[A-Z]/.test(node)) return 'attention scores and mixing (QKᵀ, softmax, ·V)';
  if (/wte|wpe|embed|gather/.test(n) && op === 'Gather') return 'embeddings';
  return 'other (shapes, reshapes, masks)';
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const modelPath = path.resolve(args.find((a) => !a.startsWith('--') && !/^\d/.test(a)) ?? path.join(__dirname, 'results', 'gpt2-small', 'model.onnx'));
  const opt = (k: string, d: string) => {
    const i = args.indexOf(k);
    return i >= 0 ? args[i + 1] : d;
  };
  const sizes = opt('--tokens', '128,512,1024').split(',').map(Number);
  const reps = Number(opt('--reps', '3'));
  const proto = decodeModel(readModelBytes(modelPath), path.basename(modelPath));
  const plan = planGraph(proto, path.dirname(modelPath), path.basename(modelPath));
  const lmHead =
    (proto.graph?.node ?? []).find((n) => (n.output ?? []).includes(plan.logitsOutput ?? '') && (n.opType === 'MatMul' || n.opType === 'Gemm'))?.name ??
    undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'headlight-profile-'));
  for (const n of sizes) {
    const session = await ort.InferenceSession.create(modelPath, {
      logSeverityLevel: 3,
      graphOptimizationLevel: 'all',
      enableProfiling: true,
      profileFilePrefix: path.join(dir, `p${n}`),
    });
    const ids = Array.from({ length: n }, (_, i) => 1 + ((i * 7919) % 200));
    const feeds: Record<string, ort.Tensor> = {};
    for (const spec of plan.inputs) feeds[spec.name] = feedTensor(spec, n, ids);
    const wall: number[] = [];
    for (let r = 0; r <= reps; r++) {
      const t = performance.now();
      const out = await session.run(feeds);
      if (r > 0) wall.push(performance.now() - t);
      for (const v of Object.values(out)) v.dispose?.();
    }
    session.endProfiling();
    await session.release();
    const file = fs
      .readdirSync(dir)
      .filter((f) => f.startsWith(`p${n}`))
      .map((f) => path.join(dir, f))
      .sort()
      .pop()!;
    const events = JSON.parse(fs.readFileSync(file, 'utf8')) as ProfileEvent[];
    const kernels = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
    // The first run is the warm-up: its kernels are dropped (events come in run order, nodes × runs).
    const perRun = kernels.length / (reps + 1);
    const measured = kernels.slice(Math.round(perRun));
    const byGroup = new Map<string, number>();
    const byOp = new Map<string, number>();
    let total = 0;
    for (const e of measured) {
      const node = e.name.replace(/_kernel_time$/, '');
      const op = e.args?.op_name ?? '';
      const g = groupOf(node, op, lmHead);
      byGroup.set(g, (byGroup.get(g) ?? 0) + e.dur);
      byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
      total += e.dur;
    }
    const median = [...wall].sort((a, b) => a - b)[Math.floor(wall.length / 2)];
    console.log(
      `\n${path.basename(path.dirname(modelPath))} at ${n} tokens: wall ${median.toFixed(0)} ms per run (median of ${reps}); kernels ${(total / reps / 1000).toFixed(0)} ms per run`,
    );
    for (const [g, us] of [...byGroup].sort((a, b) => b[1] - a[1]))
      console.log(`  ${g.padEnd(48)} ${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / reps / 1000).toFixed(1).padStart(7)} ms`);
    console.log(
      '  by op: ' +
        [...byOp]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 8)
          .map(([o, us]) => `${o} ${((100 * us) / total).toFixed(1)}%`)
          .join(', '),
    );
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

if (require.main === module)
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
