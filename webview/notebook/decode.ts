// An output's inline attention in the browser: base64 → (zlib →) the stored bytes, never inflating past what
// the shape says, then every head checked once (finite, in [0, 1], rows summing to 1), a layer per task so a
// large output does not freeze the notebook. The host decodes the same bytes with Node (src/notebook/analyseOutput.ts).
import { expectedBytes, headOf, headProblem, OutputError, rowTolerance, type InlineAttention, type NotebookOutput } from '../../src/notebook/format';
import { fromBase64 } from '../../src/notebook/messages';

const nextTask = () => new Promise<void>((r) => setTimeout(r, 0));

export async function inlineBytes(o: NotebookOutput, a: InlineAttention, signal: AbortSignal): Promise<Uint8Array> {
  const want = expectedBytes(o, a);
  let packed: Uint8Array;
  try {
    packed = fromBase64(a.data);
  } catch {
    throw new OutputError('"attention.data" is not base64.');
  }
  if (a.compression === 'none') {
    if (packed.length !== want) throw sizeError(o, a, packed.length, want);
    return packed;
  }
  const ds = new DecompressionStream('deflate');
  const writer = ds.writable.getWriter();
  void writer.write(packed as Uint8Array<ArrayBuffer>).catch(() => undefined);
  void writer.close().catch(() => undefined);
  const reader = ds.readable.getReader();
  const out = new Uint8Array(want);
  let at = 0;
  for (;;) {
    let r: ReadableStreamReadResult<Uint8Array>;
    try {
      r = await reader.read();
    } catch (e) {
      throw new OutputError(`"attention.data" is not zlib data (${e instanceof Error ? e.message : String(e)}).`);
    }
    if (r.done) break;
    if (at + r.value.length > want) {
      void reader.cancel().catch(() => undefined);
      throw new OutputError(`"attention.data" decompresses to more than the ${want} bytes its shape needs.`);
    }
    out.set(r.value, at);
    at += r.value.length;
    if (signal.aborted) {
      void reader.cancel().catch(() => undefined);
      throw new DOMException('aborted', 'AbortError');
    }
  }
  if (at !== want) throw sizeError(o, a, at, want);
  return out;
}

function sizeError(o: NotebookOutput, a: InlineAttention, got: number, want: number): OutputError {
  return new OutputError(
    `"attention.data" holds ${got} bytes; ${o.layers} layers × ${o.headsPerLayer} heads × ${o.seq} tokens in ${a.dtype} (${a.layout}) is ${want} bytes.`,
  );
}

/** Whether the model is causal (as the output says, else as layer 0 head 0 shows), after checking every head. */
export async function checkHeads(o: NotebookOutput, a: InlineAttention, raw: Uint8Array, signal: AbortSignal): Promise<boolean> {
  const n = o.seq;
  const A = new Float32Array(n * n);
  let causal = o.causal;
  if (causal === undefined) {
    headOf(raw, o, a, 0, 0, A);
    causal = true;
    for (let i = 0; i < n && causal; i++)
      for (let j = i + 1; j < n; j++)
        if (A[i * n + j] !== 0) {
          causal = false;
          break;
        }
  }
  const checked = { ...o, causal };
  for (let l = 0; l < o.layers; l++) {
    for (let h = 0; h < o.headsPerLayer; h++) {
      const problem = headProblem(headOf(raw, o, a, l, h, A), checked, l, h, rowTolerance(a.dtype));
      if (problem) throw new OutputError(problem);
    }
    await nextTask();
    if (signal.aborted) throw new DOMException('aborted', 'AbortError');
  }
  return causal;
}

/** One head quantised for drawing, as the host's head/matrix answers (weight ≈ byte / 255). */
export function headBytes(o: NotebookOutput, a: InlineAttention, raw: Uint8Array, layer: number, head: number): Uint8Array {
  const A = headOf(raw, o, a, layer, head);
  const out = new Uint8Array(A.length);
  for (let i = 0; i < A.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, A[i])) * 255);
  return out;
}
