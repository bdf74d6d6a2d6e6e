// One error class for everything the engine refuses, with a stable `code` the host and tests switch on.
// Messages say what is wrong AND what to do about it; `details` carries numbers (token counts, op names). In core:
// the dump readers and the notebook output format (bundled into the notebook renderer) throw it too.

export type EngineErrorCode =
  | 'cancelled'
  | 'empty-text'
  | 'too-many-tokens'
  | 'too-many-positions'
  | 'file-not-found'
  | 'empty-file'
  | 'not-onnx'
  | 'corrupt-model'
  | 'model-too-large'
  | 'fused-attention'
  | 'no-attention'
  | 'external-data-outside'
  | 'external-data-missing'
  | 'tensor-size-mismatch'
  | 'unsupported-input'
  | 'tokenizer-invalid'
  | 'tokenizer-vocab-mismatch'
  | 'session-failed'
  | 'provider-unavailable'
  | 'inference-failed'
  | 'worker-crashed'
  | 'bad-request'
  /** A kept run (bounded-memory mode) is gone: released, evicted with its model, or its worker replaced. */
  | 'expired'
  /** Head effects cannot be measured on this export (heads folded into the batch axis, a gated copy refused). */
  | 'effects-unavailable'
  /** Information-flow routes cannot be traced here (no residual path to the logits found, nothing kept for them). */
  | 'routes-unavailable'
  /** An attention dump (safetensors + tokens.json) that cannot be read as documented in docs/dump-format.md. */
  | 'dump-invalid'
  /** A well-formed dump whose parts disagree (tensor shapes, token count). */
  | 'dump-mismatch';

export interface EngineErrorShape {
  code: EngineErrorCode;
  message: string;
  details?: Record<string, string | number | boolean>;
}

export class EngineError extends Error implements EngineErrorShape {
  override readonly name = 'EngineError';
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    readonly details?: Record<string, string | number | boolean>,
  ) {
    super(message);
  }
  toJSON(): EngineErrorShape {
    return { code: this.code, message: this.message, details: this.details };
  }
  static from(shape: EngineErrorShape): EngineError {
    return new EngineError(shape.code, shape.message, shape.details);
  }
}

export function isEngineError(e: unknown): e is EngineError {
  return e instanceof EngineError;
}

/** Which exports Headlight reads; appended to fused-kernel and no-attention refusals. */
export const EXPORT_ADVICE =
  'Any of these opens: an eager export (torch.onnx.export with attn_implementation="eager", or ' +
  '`optimum-cli export onnx --no-post-process`), torch.onnx.export(dynamo=True, opset_version=23) (ONNX Attention), ' +
  'the ONNX Runtime transformer optimizer or optimum --optimize O2/O3 (com.microsoft Attention / MultiHeadAttention), ' +
  'and the onnxruntime-genai model builder (GroupQueryAttention, 4-bit MatMulNBits).';
