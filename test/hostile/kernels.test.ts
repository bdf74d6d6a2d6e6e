// Fused attention kernels Headlight cannot read, through the worker as "Explain attention" uses it: kernels with
// no CPU path or one token at a time, layouts of runnable kernels the CPU provider cannot run, and hostile
// variants of runnable twins (heads that do not divide the width, a past that contradicts the mask, unknown
// attributes). Each is refused with its own message naming the op (and the node where the kernel is the reason),
// nothing crashes, and the engine keeps serving.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineClient, EngineError, type EngineErrorCode, type ModelRef } from '../../src/engine';
import { buildTwin } from '../fixtures/twins';
import { CPU_UNSUPPORTED, HOSTILE, REFUSALS } from '../fixtures/twins/refusals';

const ROOT = path.resolve(__dirname, '..', '..');
const SMALL = path.join(ROOT, 'media', 'models', 'headlight-small');

/** What each refusal must say: its code and a phrase saying why (the op is checked for every case). */
const EXPECT: Record<string, [EngineErrorCode, RegExp]> = {
  'packed-attention': ['fused-attention', /node "[^"]+".*no CPU kernel.*Any of these opens/s],
  'packed-multi-head-attention': ['fused-attention', /node "[^"]+".*no CPU kernel/s],
  'decoder-masked-multi-head-attention': ['fused-attention', /node "[^"]+".*one new token at a time/s],
  'paged-attention': ['fused-attention', /node "[^"]+".*float16\/bfloat16 only/s],
  'gqa-heads-do-not-divide-hidden': ['fused-attention', /width 128 is not num_heads = 3 heads/],
  'ms-attention-heads-do-not-divide-hidden': ['fused-attention', /num_heads 3 does not divide the hidden sizes/],
  'onnx-attention-heads-do-not-divide-hidden': ['fused-attention', /width 128 is not kv_num_heads = 3 heads/],
  'past-length-disagrees-with-mask': ['unsupported-input', /fixed past length of 8.*empty cache/s],
  'gqa-unknown-attribute': ['fused-attention', /sliding_window that Headlight does not know/],
  'onnx-attention-unknown-attribute': ['fused-attention', /sliding_window that Headlight does not know/],
};

describe('hostile: fused attention kernels that cannot be read', function () {
  this.timeout(60_000);
  let dir: string;
  let client: EngineClient;
  const good = (): ModelRef => ({ modelPath: path.join(SMALL, 'model.onnx'), tokenizerPath: path.join(SMALL, 'tokenizer.json') });
  async function refuses(ref: ModelRef, code: EngineErrorCode, op: string, why: RegExp): Promise<void> {
    await assert.rejects(client.explain('the cat sat on the mat', ref), (e: unknown) => {
      assert.ok(e instanceof EngineError, `not an EngineError: ${String(e)}`);
      assert.equal(e.code, code, e.message);
      // The kernel is named where it is the reason (a cache declaration is about the input, and says which).
      if (code !== 'unsupported-input') assert.ok(e.message.includes(op.replace(/^com\.microsoft\./, '')), `${e.message} names ${op}`);
      assert.match(e.message, why);
      return true;
    });
    const ok = await client.explain('still fine', good());
    assert.ok(ok.tokens.length > 0, 'the engine keeps serving');
  }

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-hostile-kernels-'));
    client = new EngineClient();
  });
  after(async () => {
    await client.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const r of [...REFUSALS, ...HOSTILE]) {
    it(`${r.name}: ${r.why}`, () => {
      const file = path.join(dir, `${r.name}.onnx`);
      fs.writeFileSync(file, r.bytes());
      const [code, why] = EXPECT[r.name];
      return refuses({ modelPath: file, tokenizerPath: path.join(SMALL, 'tokenizer.json') }, code, r.op, why);
    });
  }
  for (const u of CPU_UNSUPPORTED) {
    it(`${u.op} in a layout the CPU provider cannot run (${JSON.stringify(u.spec)}): the runtime's own reason`, () => {
      const twin = buildTwin(u.spec);
      return refuses(
        { modelPath: twin.modelPath, tokenizerPath: twin.tokenizerPath },
        'inference-failed',
        u.op,
        new RegExp(`${u.ortSays.source}.*does not run on this ONNX Runtime`, 's'),
      );
    });
  }
});
