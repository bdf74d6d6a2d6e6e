import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveModelPaths } from '../../src/host/modelPaths';

// Windows-shaped inputs, tested on every machine: headlight.modelPath with drive letters and backslashes
// (resolved with path.win32), CRLF documents, and a model folder whose name has spaces and non-ASCII.
const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'headlight.js');
const W = path.win32;

interface CliJson {
  tokens: { text: string; start: number; end: number; special: boolean }[];
  heads: { id: string; roles: { name: string }[] }[];
}
function explain(file: string, out: string, model?: string): CliJson {
  const r = spawnSync(process.execPath, [BIN, 'explain', file, ...(model ? ['--model', model] : []), '--json', out], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(fs.readFileSync(out, 'utf8')) as CliJson;
}

describe('Windows-shaped paths and documents', function () {
  this.timeout(60_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'headlight-win-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  describe('headlight.modelPath on Windows (path.win32)', () => {
    const ws = 'C:\\Users\\me\\project';
    it('a drive-letter path with backslashes is kept; the tokenizer defaults to its folder', () => {
      assert.deepEqual(resolveModelPaths('D:\\models\\gpt2\\model.onnx', '', ws, W), {
        modelPath: 'D:\\models\\gpt2\\model.onnx',
        tokenizerPath: 'D:\\models\\gpt2\\tokenizer.json',
        name: 'gpt2',
      });
    });
    it('forward slashes and a lower-case drive are normalised to one Windows path', () => {
      assert.equal(resolveModelPaths('C:/Users/me/models/tiny.onnx', '', ws, W)!.modelPath, 'C:\\Users\\me\\models\\tiny.onnx');
      assert.equal(resolveModelPaths('C:/Users/me/models/tiny.onnx', '', ws, W)!.name, 'tiny.onnx');
    });
    it('relative paths (backslashes or slashes) resolve against the workspace folder', () => {
      const r = resolveModelPaths('models\\m\\model.onnx', 'tok/tokenizer.json', ws, W)!;
      assert.equal(r.modelPath, 'C:\\Users\\me\\project\\models\\m\\model.onnx');
      assert.equal(r.tokenizerPath, 'C:\\Users\\me\\project\\tok\\tokenizer.json');
      assert.equal(resolveModelPaths('..\\shared-models\\model.onnx', '', ws, W)!.modelPath, 'C:\\Users\\me\\shared-models\\model.onnx');
    });
    it('a root-relative path lands on the workspace drive; a UNC share stays a share', () => {
      assert.equal(resolveModelPaths('\\models\\model.onnx', '', ws, W)!.modelPath, 'C:\\models\\model.onnx');
      assert.deepEqual(resolveModelPaths('\\\\server\\share\\m\\model.onnx', '', ws, W), {
        modelPath: '\\\\server\\share\\m\\model.onnx',
        tokenizerPath: '\\\\server\\share\\m\\tokenizer.json',
        name: 'm',
      });
    });
    it('empty or blank modelPath means the bundled model; blank tokenizerPath means the default', () => {
      assert.equal(resolveModelPaths('  ', 'x', ws, W), undefined);
      assert.equal(resolveModelPaths('D:\\models\\a.onnx', '   ', ws, W)!.tokenizerPath, 'D:\\models\\tokenizer.json');
    });
    it('the same function on POSIX paths', () => {
      assert.deepEqual(resolveModelPaths('models/m/model.onnx', '', '/home/me/project', path.posix), {
        modelPath: '/home/me/project/models/m/model.onnx',
        tokenizerPath: '/home/me/project/models/m/tokenizer.json',
        name: 'm',
      });
    });
  });

  it("a CRLF document: spans index the CRLF text (\\r\\n = two UTF-16 units, as VS Code's offsetAt counts), both tokenizer kinds", () => {
    const text = fs
      .readFileSync(path.join(ROOT, 'samples', 'code.py'), 'utf8')
      .replace(/\r?\n/g, '\r\n')
      .slice(0, 1200);
    assert.ok(text.includes('\r\n'));
    const file = path.join(tmp, 'crlf.py');
    fs.writeFileSync(file, text);
    for (const model of ['headlight-mini', 'tiny-bert']) {
      // byte-level BPE and WordPiece
      const j = explain(file, path.join(tmp, `crlf-${model}.json`), path.join(ROOT, 'media', 'models', model));
      const real = j.tokens.filter((t) => !t.special);
      assert.ok(real.length > 20, model);
      let pos = 0;
      for (const t of real) {
        assert.ok(t.start >= pos && t.end > t.start && t.end <= text.length, `${model}: ${JSON.stringify(t)}`);
        assert.equal(text.slice(t.start, t.end), t.text, `${model}: the span holds the token's text`);
        // A token with visible text never has an edge between \r and \n (VS Code's positionAt would clamp it
        // to the line end: the highlight would be off). A byte-level BPE may make "\r" and "\n" two tokens.
        if (/\S/.test(t.text))
          for (const edge of [t.start, t.end]) assert.ok(!(text[edge - 1] === '\r' && text[edge] === '\n'), `${model}: ${JSON.stringify(t)} splits a CRLF`);
        assert.match(text.slice(pos, t.start), /^[\s\p{Cc}\p{Cf}]*$/u, `${model}: only whitespace between tokens`);
        pos = t.end;
      }
      // Offsets did not drift by a unit per line: the last visible token sits on the last lines of the text.
      const last = real.filter((t) => /\S/.test(t.text)).at(-1)!;
      assert.ok(text.length - last.end < 40, `${model}: last visible token ends at ${last.end} of ${text.length}`);
    }
  });

  it('a model folder with spaces and non-ASCII characters explains the same as the bundled one', () => {
    const src = path.join(ROOT, 'media', 'models', 'headlight-mini');
    const dir = path.join(tmp, 'my models', 'モデル é');
    fs.mkdirSync(dir, { recursive: true });
    for (const f of ['model.onnx', 'tokenizer.json', 'card.json']) fs.copyFileSync(path.join(src, f), path.join(dir, f));
    const input = path.join(tmp, 'my models', 'texte à expliquer.txt');
    fs.copyFileSync(path.join(ROOT, 'samples', 'repeats.txt'), input);
    const there = explain(input, path.join(dir, 'résultat.json'), dir);
    const here = explain(input, path.join(tmp, 'bundled.json'), src);
    assert.deepEqual(there.tokens, here.tokens);
    assert.deepEqual(
      there.heads.map((h) => [h.id, h.roles.map((r) => r.name)]),
      here.heads.map((h) => [h.id, h.roles.map((r) => r.name)]),
    );
    assert.ok(there.heads.some((h) => h.roles.length > 0));
  });
});
