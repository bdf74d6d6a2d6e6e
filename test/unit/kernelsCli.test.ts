// The command line on fused-kernel exports, as a user runs it: `headlight explain FILE --model DIR` on the
// onnxruntime-genai builder's layout (GroupQueryAttention with packed QKV, 4-bit MatMulNBits, an empty past with a
// symbolic head size) and on the transformer optimizer's com.microsoft Attention gives the roles the unfused twin
// with the same weights gives, and writes the HTML report.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildTwin, type TwinSpec } from '../fixtures/twins';
import { cliScratch, ROOT, runCli } from '../fixtures/cli';

interface CliHead {
  id: string;
  roles: { name: string }[];
}

describe('cli: fused attention kernels', function () {
  this.timeout(120_000);
  const tmp = cliScratch('headlight-cli-kernels-');
  const text = path.join(ROOT, 'samples/repeats.txt');
  const roles = (json: string) =>
    (JSON.parse(fs.readFileSync(json, 'utf8')) as { heads: CliHead[] }).heads.map(
      (h) =>
        `${h.id}: ${h.roles
          .map((r) => r.name)
          .sort()
          .join(',')}`,
    );

  for (const spec of [
    { base: 'headlight-small', kernel: 'gqa', packed: true, past: 'symbolic', weights: 'int4' },
    { base: 'headlight-small', kernel: 'ms-attention', mask: 'keys', neighbours: 'fast-gelu' },
  ] as TwinSpec[]) {
    it(`${spec.kernel}${spec.weights ? ` (${spec.weights})` : ''}: the unfused twin's roles, and a report`, () => {
      const twin = buildTwin(spec);
      // The unfused twin in a folder of its own, as a user would point --model at it.
      const plainDir = path.join(tmp, `${twin.name}-plain`);
      fs.mkdirSync(plainDir);
      fs.copyFileSync(twin.plainPath, path.join(plainDir, 'model.onnx'));
      fs.copyFileSync(twin.tokenizerPath, path.join(plainDir, 'tokenizer.json'));
      const [a, b, report] = [path.join(tmp, `${twin.name}.json`), path.join(tmp, `${twin.name}-plain.json`), path.join(tmp, `${twin.name}.html`)];
      const fused = runCli(['explain', text, '--model', twin.dir, '--json', a, '--report', report]);
      assert.equal(fused.status, 0, fused.stderr);
      const plain = runCli(['explain', text, '--model', plainDir, '--json', b]);
      assert.equal(plain.status, 0, plain.stderr);
      assert.deepEqual(roles(a), roles(b));
      assert.ok(
        roles(a).some((r) => r.includes('induction')),
        'the trained induction heads are found through the kernel',
      );
      assert.match(fs.readFileSync(report, 'utf8'), /<script nonce=/);
    });
  }
});
