// Next-token predictions reduced inside onnxruntime: a few nodes appended to the main graph turn the
// language-model head's logits [1, n, V] into the top-k ids and log-probabilities [1, n, k] and the log-
// probability of the token that actually follows [1, n, 1]. Only those leave the runtime: the logits (200 MB
// at 1,024 tokens of a 50k vocabulary) are never fetched, and the reduction runs in ORT's threads instead
// of a JavaScript loop on the explain's path (0.8 s at 1,024 tokens on the GPT-2-small shape).
//
// The nodes are merged onto the model's bytes the way addCaptureOutputs adds outputs (a serialised
// ModelProto whose graph holds only the additions: protobuf concatenation appends repeated fields;
// appendMessage writes it into the room left after the model), so the user's graph is otherwise untouched. Ops whose signature changed across opsets are written for the
// model's own opset (ReduceMax / ReduceLogSumExp take their axes as an input from opset 18).
import { valueInfo } from './valueInfo';
import { onnx } from 'onnx-proto';
import type { GraphPlan } from './onnxGraph';
import { predictionsFromReduced, TOP_K, type PredictionArrays } from './predictions';

/** Graph outputs the appended nodes produce (see planNextToken). */
export interface NextTokenOutputs {
  /** [1, n, k] float32: log p of the k most likely next tokens, best first. */
  topLogP: string;
  /** [1, n, k] int64: their ids. */
  topIds: string;
  /**
   * [1, n, 1] float32: log p(token i + 1 | ≤ i); meaningless at the last position (nothing follows) and where
   * token i + 1 is no row of the logits (an output named logits that is no LM head): see `vocab`.
   */
  nextLogP: string;
  /** [1] int64: the logits' width V (top-k is min(k, V) wide). */
  vocab: string;
}

const P = 'headlight.next.';
const T = onnx.TensorProto.DataType;

/**
 * The appended nodes for this plan, or undefined where they cannot be written: no logits output, logits of a
 * type other than float / float16, no ids input, or an opset older than TopK's `largest` attribute (11).
 */
export function planNextToken(plan: GraphPlan, logitsType: number | undefined, k = TOP_K): { outputs: NextTokenOutputs; addition: Uint8Array } | undefined {
  const logits = plan.logitsOutput;
  const ids = plan.inputs.find((i) => i.role === 'ids');
  if (!logits || !ids || plan.opset < 11 || (logitsType !== T.FLOAT && logitsType !== T.FLOAT16)) return undefined;
  const outputs: NextTokenOutputs = { topLogP: `${P}topLogP`, topIds: `${P}topIds`, nextLogP: `${P}nextLogP`, vocab: `${P}vocab` };
  const attr = (name: string, v: number | number[]) =>
    Array.isArray(v)
      ? onnx.AttributeProto.create({ name, ints: v, type: onnx.AttributeProto.AttributeType.INTS })
      : onnx.AttributeProto.create({ name, i: v, type: onnx.AttributeProto.AttributeType.INT });
  const node = (opType: string, input: string[], output: string[], attribute: onnx.AttributeProto[] = []) =>
    onnx.NodeProto.create({ opType, input, output, attribute, name: `${P}${output[0].slice(P.length)}` });
  const int64 = (name: string, values: number[]) =>
    onnx.TensorProto.create({ name: `${P}${name}`, dataType: T.INT64, dims: [values.length], int64Data: values });
  // Reduce over the vocabulary, keeping the axis: [1, n, 1].
  const reduce = (op: string, input: string, output: string) =>
    plan.opset >= 18
      ? node(op, [input, `${P}axisLast`], [output], [attr('keepdims', 1)])
      : node(op, [input], [output], [attr('axes', [-1]), attr('keepdims', 1)]);
  const x = logitsType === T.FLOAT ? logits : `${P}logitsFloat`;
  const nodes: onnx.NodeProto[] = [
    ...(logitsType === T.FLOAT ? [] : [node('Cast', [logits], [x], [attr('to', T.FLOAT)])]),
    // The logits' width V, and min(k, V): a narrow "logits" output must not make the model's run fail.
    node('Shape', [x], [`${P}shape`]),
    node('Gather', [`${P}shape`, `${P}two`], [outputs.vocab], [attr('axis', 0)]),
    node('Less', [outputs.vocab, `${P}k`], [`${P}narrow`]),
    node('Where', [`${P}narrow`, outputs.vocab, `${P}k`], [`${P}kk`]),
    // log Σ exp over the vocabulary, as max + log Σ exp(x − max) (ORT's ReduceLogSumExp does the same).
    reduce('ReduceLogSumExp', x, `${P}lse`),
    node('TopK', [x, `${P}kk`], [`${P}topLogits`, outputs.topIds], [attr('axis', -1), attr('largest', 1), attr('sorted', 1)]),
    node('Sub', [`${P}topLogits`, `${P}lse`], [outputs.topLogP]),
    // The id that follows each position: ids shifted left by one, the last padded with id 0 (its entry is
    // unused), and 0 where the id is no row of the logits (its entry is unused too: predictionsFromReduced).
    node('Cast', [ids.name], [`${P}ids64`], [attr('to', T.INT64)]),
    node('Slice', [`${P}ids64`, `${P}one`, `${P}end`, `${P}one`], [`${P}after`]),
    node('Concat', [`${P}after`, `${P}pad`], [`${P}next`], [attr('axis', 1)]),
    node('Less', [`${P}next`, outputs.vocab], [`${P}inside`]),
    node('Where', [`${P}inside`, `${P}next`, `${P}pad`], [`${P}nextSafe`]),
    node('Reshape', [`${P}nextSafe`, `${P}col`], [`${P}nextCol`]),
    node('GatherElements', [x, `${P}nextCol`], [`${P}nextLogit`], [attr('axis', -1)]),
    node('Sub', [`${P}nextLogit`, `${P}lse`], [outputs.nextLogP]),
  ];
  const initializer = [
    int64('k', [k]),
    int64('one', [1]),
    int64('two', [2]),
    int64('end', [2 ** 53 - 1]),
    int64('col', [1, -1, 1]),
    onnx.TensorProto.create({ name: `${P}pad`, dataType: T.INT64, dims: [1, 1], int64Data: [0] }),
    ...(plan.opset >= 18 ? [int64('axisLast', [-1])] : []),
  ];
  const extra = onnx.ModelProto.encode(
    onnx.ModelProto.create({
      graph: onnx.GraphProto.create({
        node: nodes,
        initializer,
        output: [
          valueInfo(outputs.topLogP, T.FLOAT),
          valueInfo(outputs.topIds, T.INT64),
          valueInfo(outputs.nextLogP, T.FLOAT),
          valueInfo(outputs.vocab, T.INT64),
        ],
      }),
    }),
  ).finish();
  return { outputs, addition: extra };
}

/** Every output of the reduction: what an explain fetches for its predictions. */
export function nextTokenFetches(o: NextTokenOutputs): string[] {
  return [o.topLogP, o.topIds, o.nextLogP, o.vocab];
}

/** The predictions of `ids` from the reduction's fetched outputs (top-k is min(k, V) wide). */
export function predictionsFromOutputs(
  t: Record<string, { data: unknown; dims: readonly number[] }>,
  o: NextTokenOutputs,
  ids: ArrayLike<number>,
): PredictionArrays {
  const top = t[o.topLogP];
  const V = Number((t[o.vocab].data as BigInt64Array)[0]);
  return predictionsFromReduced(
    top.data as Float32Array,
    t[o.topIds].data as BigInt64Array,
    t[o.nextLogP].data as Float32Array,
    ids.length,
    Number(top.dims[2]),
    ids,
    V,
  );
}
