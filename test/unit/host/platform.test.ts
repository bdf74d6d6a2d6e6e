import { strict as assert } from 'node:assert';
import { unpackagedProviders } from '../../../src/engine/providers';
import { SUPPORTED_TARGETS, unsupportedPlatformMessage } from '../../../src/host/platform';

describe('platform support message at activation', () => {
  it('says nothing on the five packaged platforms', () => {
    for (const t of ['linux-x64', 'linux-arm64', 'darwin-arm64', 'win32-x64', 'win32-arm64']) {
      const [p, a] = t.split('-');
      assert.equal(unsupportedPlatformMessage(p, a), undefined, t);
    }
    assert.equal(SUPPORTED_TARGETS.length, 5);
  });

  it('tells an Intel Mac clearly why models cannot run and what still works', () => {
    const m = unsupportedPlatformMessage('darwin', 'x64')!;
    assert.match(m, /Intel Mac/);
    assert.match(m, /onnxruntime-node 1\.30 ships no macOS x64 binary/);
    assert.match(m, /Open Attention Dump/);
  });

  it('names the supported platforms elsewhere (e.g. 32-bit Windows)', () => {
    assert.match(unsupportedPlatformMessage('win32', 'ia32')!, /win32-ia32: .*linux-x64, linux-arm64, darwin-arm64, win32-x64, win32-arm64/);
  });
});

describe('execution providers a platform package leaves out', () => {
  const win = 'ort-bin';
  it('dml on Windows without DirectML.dll beside onnxruntime.dll is named, with the file', () => {
    assert.deepEqual(
      unpackagedProviders(['dml', 'cpu'], 'win32', win, () => false),
      [{ name: 'dml', file: 'DirectML.dll', size: '18 MB' }],
    );
  });
  it('dml with DirectML.dll present (a source checkout), cpu anywhere, and other platforms pass', () => {
    assert.deepEqual(
      unpackagedProviders(['dml', 'cpu'], 'win32', win, () => true),
      [],
    );
    assert.deepEqual(
      unpackagedProviders(['cpu'], 'win32', win, () => false),
      [],
    );
    assert.deepEqual(
      unpackagedProviders(['dml'], 'linux', win, () => false),
      [],
    );
    assert.deepEqual(
      unpackagedProviders(['dml'], 'win32', undefined, () => false),
      [],
    );
  });
});
