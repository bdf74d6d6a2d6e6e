// Head gates: a rewrite of the user's graph in which every attention head's probabilities are multiplied
// by a gate input before they weight the values — so one session serves every ablation. Gate 1 is the
// model as exported (×1 is exact in floating point); gate 0 zero-ablates the head (its output before the
// output projection is 0). The batch axis carries gate sets: one run ablates a different head per row.
// For causal LMs the graph also computes log p(actual next token) per position, so only [batch, seq]
// numbers leave the runtime instead of [batch, seq, vocab] logits.
import { valueInfo } from './valueInfo';
import { onnx } from 'onnx-proto';
import { decodeModel, elemTypes, type GraphPlan } from './onnxGraph';

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

export const gateInputName = (layer: number): string => `headlight.gate.${layer}`;
export const TARGETS_INPUT = 'headlight.targets';
export const LOGP_OUTPUT = 'headlight.logp';

export interface GatedGraph {
  bytes: Uint8Array;
  /** One gate input per layer, shaped [batch, ...head axes, 1, 1]. */
  gates: string[];
  /** Causal LMs: targets [batch, seq] in, log p(target) [batch, seq] out. */
  logp?: { targets: string; output: string };
  /** Without logits: the output whose change is measured (hidden states or the model's first output). */
  output?: string;
}

const int = (name: string, v: number): onnx.AttributeProto => onnx.AttributeProto.create({ name, i: v, type: onnx.AttributeProto.AttributeType.INT });

/**
 * The gated graph. `attention` lists the tensors holding each layer's probabilities (the Softmax outputs, or
 * the attention outputs the model exports), in layer order; `rank` is their run-time rank (4: [b, h, q, k],
 * 5: [b, kv, groups, q, k]). A fused kernel (an attention name in plan.kernels) has no probability tensor: its
 * output is gated instead, each head's slice of it before the output projection — the same ablation, since a
 * head's output is its probabilities times its values. `heads` is the query heads per layer.
 */
export function addGates(original: Uint8Array, plan: GraphPlan, attention: string[], rank: number, causal: boolean, heads = 0): GatedGraph {
  const model = decodeModel(original, 'model');
  const graph = model.graph!;
  const nodes = graph.node ?? [];
  const types = elemTypes(
    model,
    attention.map((p) => plan.kernels.get(p)?.output ?? p),
  );
  const gates = attention.map((probs, l) => gateLayer(graph, nodes, plan, probs, l, types[l], rank, heads));
  const out: GatedGraph = { bytes: new Uint8Array(), gates };
  // Next-token loss only where there is a next-token prediction: a bidirectional model's logits (BERT's
  // masked-LM head) predict the token itself, so its effect is read as a change of output vectors.
  if (plan.logitsOutput && causal) {
    addLogp(model, nodes, plan.logitsOutput);
    out.logp = { targets: TARGETS_INPUT, output: LOGP_OUTPUT };
  } else {
    out.output = plan.logitsOutput ?? plan.mainOutput;
  }
  out.bytes = onnx.ModelProto.encode(model).finish();
  return out;
}

/** Gate layer `l`'s probabilities `probs` (or its fused kernel's output) by a new graph input, returned. */
function gateLayer(
  graph: onnx.IGraphProto,
  nodes: onnx.INodeProto[],
  plan: GraphPlan,
  probs: string,
  l: number,
  t: number | undefined,
  rank: number,
  heads: number,
): string {
  const gate = gateInputName(l);
  graph.input!.push(valueInfo(gate, FLOAT, ['headlight_sets', ...Array.from({ length: rank - 3 }, (_, k) => `headlight_h${k}`), 1, 1]));
  const kernel = plan.kernels.get(probs);
  const src = kernel ? kernel.output : probs;
  const gated = `${src}.headlight.gated`;
  // Every consumer reads the gated tensor; a graph output of the same name stays the ungated one.
  for (const n of nodes) n.input = (n.input ?? []).map((x) => (x === src ? gated : x));
  const added: onnx.NodeProto[] = [];
  let g = gate;
  if (t !== undefined && t !== FLOAT) {
    added.push(onnx.NodeProto.create({ opType: 'Cast', name: `headlight.gate.cast.${l}`, input: [gate], output: [`${gate}.cast`], attribute: [int('to', t)] }));
    g = `${gate}.cast`;
  }
  if (kernel?.outputLayout === 'bsd') {
    // [B, S, H·dv] → [B, S, H, dv] × gate [sets, 1, H, 1] → [B, S, H·dv].
    const init = (name: string, v: number[]) =>
      (graph.initializer ??= []).push(onnx.TensorProto.create({ name, dataType: INT64, dims: [v.length], int64Data: v }));
    init(`headlight.gate.heads.${l}`, [0, 0, heads, -1]);
    init(`headlight.gate.gshape.${l}`, [0, 1, heads, 1]);
    init(`headlight.gate.merge.${l}`, [0, 0, -1]);
    added.push(
      onnx.NodeProto.create({ opType: 'Reshape', name: `headlight.gate.split.${l}`, input: [src, `headlight.gate.heads.${l}`], output: [`${gated}.heads`] }),
      onnx.NodeProto.create({ opType: 'Reshape', name: `headlight.gate.g.${l}`, input: [g, `headlight.gate.gshape.${l}`], output: [`${gate}.bs`] }),
      onnx.NodeProto.create({ opType: 'Mul', name: `headlight.gate.mul.${l}`, input: [`${gated}.heads`, `${gate}.bs`], output: [`${gated}.mul`] }),
      onnx.NodeProto.create({ opType: 'Reshape', name: `headlight.gate.merge.${l}`, input: [`${gated}.mul`, `headlight.gate.merge.${l}`], output: [gated] }),
    );
  } else {
    added.push(onnx.NodeProto.create({ opType: 'Mul', name: `headlight.gate.mul.${l}`, input: [src, g], output: [gated] }));
  }
  // Right after the producer keeps the graph topologically sorted.
  const at = nodes.findIndex((n) => (n.output ?? []).includes(src));
  nodes.splice(at + 1, 0, ...added);
  return gate;
}

/** Causal LMs: a targets input and log p(target) [sets, seq] computed from `logits` in the graph. */
function addLogp(model: onnx.ModelProto, nodes: onnx.INodeProto[], logits: string): void {
  const graph = model.graph!;
  const [lt] = elemTypes(model, [logits]);
  let x = logits;
  if (lt !== undefined && lt !== FLOAT) {
    nodes.push(
      onnx.NodeProto.create({
        opType: 'Cast',
        name: 'headlight.logits.cast',
        input: [logits],
        output: ['headlight.logits.f32'],
        attribute: [int('to', FLOAT)],
      }),
    );
    x = 'headlight.logits.f32';
  }
  graph.input!.push(valueInfo(TARGETS_INPUT, INT64, ['headlight_sets', 'headlight_seq']));
  (graph.initializer ??= []).push(onnx.TensorProto.create({ name: 'headlight.axis2', dataType: INT64, dims: [1], int64Data: [2] }));
  nodes.push(
    onnx.NodeProto.create({ opType: 'LogSoftmax', name: 'headlight.logsoftmax', input: [x], output: ['headlight.logprobs'], attribute: [int('axis', -1)] }),
    onnx.NodeProto.create({ opType: 'Unsqueeze', name: 'headlight.targets.unsq', input: [TARGETS_INPUT, 'headlight.axis2'], output: ['headlight.targets3'] }),
    onnx.NodeProto.create({
      opType: 'GatherElements',
      name: 'headlight.gather',
      input: ['headlight.logprobs', 'headlight.targets3'],
      output: ['headlight.logp3'],
      attribute: [int('axis', 2)],
    }),
    onnx.NodeProto.create({ opType: 'Squeeze', name: 'headlight.logp.sq', input: ['headlight.logp3', 'headlight.axis2'], output: [LOGP_OUTPUT] }),
  );
  graph.output!.push(valueInfo(LOGP_OUTPUT, FLOAT, ['headlight_sets', 'headlight_seq']));
}
