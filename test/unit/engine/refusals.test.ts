// Every bad model file gets its own code and an actionable message — and never a crash or hang.
// These run the same checks the worker runs before any session exists (no native code involved).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { EngineError, type EngineErrorCode } from '../../../src/core/errors';
import { decodeModel, planGraph, readModelBytes } from '../../../src/engine/onnxGraph';
import { buildFused, buildNoAttention, buildTiny, buildWithTensor, externalTensor, floatTensor, intTensor, node, rng } from '../../fixtures/onnxBuilder';

function plan(file: string) {
  return planGraph(decodeModel(readModelBytes(file), path.basename(file)), path.dirname(file), path.basename(file));
}
function refuses(file: string, code: EngineErrorCode, mustMention: RegExp): void {
  assert.throws(
    () => plan(file),
    (e: unknown) => {
      assert.ok(e instanceof EngineError, `not an EngineError: ${String(e)}`);
      assert.equal(e.code, code, e.message);
      assert.match(e.message, mustMention);
      return true;
    },
  );
}

describe('engine: refusing bad model files', () => {
  let dir: string;
  const put = (name: string, bytes: Uint8Array | string) => {
    const p = path.join(dir, name);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, bytes);
    return p;
  };
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-refuse-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('zero-byte file → empty-file', () => refuses(put('zero.onnx', new Uint8Array(0)), 'empty-file', /empty \(0 bytes\)/));
  it('missing file → file-not-found', () => refuses(path.join(dir, 'nope.onnx'), 'file-not-found', /nope\.onnx/));
  it('truncated model → corrupt-model', () => {
    const { bytes } = buildTiny({ kind: 'gpt2' });
    refuses(put('trunc.onnx', bytes.subarray(0, Math.floor(bytes.length * 0.6))), 'corrupt-model', /truncated or damaged/);
  });
  it('random bytes → not-onnx, over many seeds, without throwing anything else', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const r = rng(seed);
      const bytes = Uint8Array.from({ length: 64 + seed * 37 }, () => Math.floor((r() + 0.5) * 256));
      if (bytes[0] === 0x08) bytes[0] = 0x09; // a leading 0x08 would look like ONNX's first field
      const f = put(`rand${seed}.onnx`, bytes);
      assert.throws(
        () => plan(f),
        (e: unknown) => e instanceof EngineError && ['not-onnx', 'corrupt-model'].includes(e.code),
      );
    }
    refuses(
      put(
        'rand.onnx',
        Uint8Array.from({ length: 4096 }, (_, i) => ((i * 2654435761) >>> 24) | 1),
      ),
      'not-onnx',
      /not an ONNX model/,
    );
  });
  it('not ONNX at all (text, JSON, zip) → not-onnx with a hint', () => {
    refuses(put('readme.onnx', 'hello, I am a text file\n'), 'not-onnx', /not an ONNX model/);
    refuses(put('tok.onnx', '{"model": {}}'), 'not-onnx', /JSON/);
    refuses(put('ckpt.onnx', Buffer.from('PK\x03\x04 pytorch zip')), 'not-onnx', /torch\.onnx\.export/);
  });
  it('a fused kernel with no CPU path → fused-attention naming the node, the op, why, and the exports that work', () => {
    refuses(
      put('fused.onnx', buildFused()),
      'fused-attention',
      /com\.microsoft\.PackedAttention node "PackedAttention_y".*no CPU kernel.*Any of these opens.*GroupQueryAttention/s,
    );
    refuses(put('dmmha.onnx', buildFused('DecoderMaskedMultiHeadAttention')), 'fused-attention', /DecoderMaskedMultiHeadAttention.*one new token at a time/s);
    refuses(put('paged.onnx', buildFused('PagedAttention')), 'fused-attention', /PagedAttention.*float16\/bfloat16 only/s);
  });
  it('no Softmax → no-attention', () => refuses(put('plain.onnx', buildNoAttention()), 'no-attention', /no attention/));
  it('external data outside the folder (relative and absolute) → external-data-outside', () => {
    refuses(put('ext1/model.onnx', buildWithTensor(externalTensor('wte', [10, 4], '../../etc/passwd'))), 'external-data-outside', /\.\.\/\.\.\/etc\/passwd/);
    refuses(put('ext2/model.onnx', buildWithTensor(externalTensor('wte', [10, 4], '/etc/passwd'))), 'external-data-outside', /outside the model's folder/);
  });
  it('external data missing → external-data-missing; too short → tensor-size-mismatch', () => {
    refuses(put('ext3/model.onnx', buildWithTensor(externalTensor('wte', [10, 4], 'weights.bin'))), 'external-data-missing', /weights\.bin/);
    put('ext4/weights.bin', new Uint8Array(16));
    refuses(put('ext4/model.onnx', buildWithTensor(externalTensor('wte', [10, 4], 'weights.bin'))), 'tensor-size-mismatch', /160 bytes/);
  });
  it('a symlink inside the folder leading outside → external-data-outside', () => {
    put('ext5/placeholder', '');
    fs.symlinkSync('/etc/hostname', path.join(dir, 'ext5/w.bin'));
    refuses(put('ext5/model.onnx', buildWithTensor(externalTensor('wte', [1, 1], 'w.bin'))), 'external-data-outside', /link/);
  });
  it('a tensor declaring a huge size in a tiny file → tensor-size-mismatch', () => {
    const t = floatTensor('wte', [100000, 100000], new Float32Array(4));
    refuses(put('huge.onnx', buildWithTensor(t)), 'tensor-size-mismatch', /\[100000, 100000\]/);
  });
  it('opset below 13 → unsupported-input naming the opset', () => {
    const m = onnx.ModelProto.decode(buildTiny({ kind: 'gpt2' }).bytes);
    m.opsetImport = [onnx.OperatorSetIdProto.create({ domain: '', version: 11 })];
    refuses(put('old.onnx', onnx.ModelProto.encode(m).finish()), 'unsupported-input', /opset 11/);
  });

  it('finds Softmax attention structurally and with shape hints, in layer order', () => {
    for (const hints of [false, true]) {
      const p = plan(put(`tiny${hints}.onnx`, buildTiny({ kind: 'gpt2', layers: 3, hints }).bytes));
      assert.deepEqual(p.attentionOutputs, ['l0_probs', 'l1_probs', 'l2_probs']);
      assert.equal(p.rewritten, true);
      assert.equal(p.vocabRows, 300);
      assert.equal(p.positionRows, 64);
    }
  });
  it('the position limit is read only off a table of positions: not a T5-style bucket table, not a table indexed by something else', () => {
    // A T5-style model: no absolute position table, a [32, heads] relative-bias table indexed by clipped
    // |j − i| buckets, and a [16, d] "chunk" table indexed by position / 64. Neither limits the sequence.
    const m = onnx.ModelProto.decode(buildTiny({ kind: 'gpt2' }).bytes);
    const g = m.graph!;
    const wpeGather = g.node!.findIndex((x) => x.opType === 'Gather' && x.input?.[0] === 'wpe');
    g.node!.splice(wpeGather, 1, node('Mul', ['tok_emb', 'c0f'], ['pos_emb']));
    g.initializer!.push(
      floatTensor('c0f', [], new Float32Array([0])),
      floatTensor('rel_bias', [32, 2], new Float32Array(64)),
      floatTensor('chunk_emb', [16, 16], new Float32Array(256)),
      intTensor('c31', [], [31]),
      intTensor('c64', [], [64]),
      intTensor('ax0b', [1], [0]),
      intTensor('ax1b', [1], [1]),
    );
    g.node!.push(
      node('Unsqueeze', ['pos', 'ax0b'], ['pos_row']),
      node('Unsqueeze', ['pos', 'ax1b'], ['pos_col']),
      node('Sub', ['pos_row', 'pos_col'], ['rel']),
      node('Abs', ['rel'], ['rel_abs']),
      node('Min', ['rel_abs', 'c31'], ['bucket']),
      node('Gather', ['rel_bias', 'bucket'], ['rel_out']),
      node('Div', ['pos', 'c64'], ['chunk']),
      node('Gather', ['chunk_emb', 'chunk'], ['chunk_out']),
    );
    const p = plan(put('t5ish.onnx', onnx.ModelProto.encode(m).finish()));
    assert.equal(p.positionRows, undefined);
    assert.equal(p.vocabRows, 300);
    // And a real learned table still is one, also behind an offset (past length added to the arange).
    const k = plan(put('past-pos.onnx', buildTiny({ kind: 'gpt2', past: true, layers: 1, positions: 48 }).bytes));
    assert.equal(k.positionRows, 48);
    // A one-hot table sliced to the sequence length (the planted model's eye_pos[:T]) bounds it as well.
    assert.equal(plan(path.join(__dirname, '..', '..', '..', 'media', 'models', 'planted', 'model.onnx')).positionRows, 256);
  });
  it('uses exported attn.N outputs (sorted by N), without rewriting', () => {
    const p = plan(put('attn.onnx', buildTiny({ kind: 'gpt2', layers: 3, attnOutputs: true }).bytes));
    assert.deepEqual(p.attentionOutputs, ['attn.0', 'attn.1', 'attn.2']);
    assert.equal(p.rewritten, false);
  });
  it('classifies BERT and past_key_values inputs', () => {
    const b = plan(put('bert.onnx', buildTiny({ kind: 'bert' }).bytes));
    assert.deepEqual(
      b.inputs.map((i) => [i.name, i.role]),
      [
        ['input_ids', 'ids'],
        ['attention_mask', 'mask'],
        ['token_type_ids', 'token-type'],
      ],
    );
    const k = plan(put('past.onnx', buildTiny({ kind: 'gpt2', past: true, layers: 1 }).bytes));
    assert.deepEqual(
      k.inputs.map((i) => i.role),
      ['ids', 'past', 'past'],
    );
  });
});
