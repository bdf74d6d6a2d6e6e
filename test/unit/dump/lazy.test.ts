// A large dump generated at test time (4 layers × 4 heads × 512 tokens, F32 = 16 MiB) is read lazily:
// opening reads the header only, one head costs one read of exactly that head's bytes, and the LRU
// keeps a few heads so rollout's per-layer pass does not reread.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AttentionDump } from '../../../src/dump/attentionDump';
import { attentionPathway, asReader } from '../../../src/analysis';
import { headView, type AttentionSet } from '../../../src/engine/types';
import { attentionSet, dirichletHead, mulberry32 } from '../analysis/support/synth';
import { charTokens, writeDumpFolder } from './support/writeDump';

const L = 4,
  H = 4,
  N = 512;
const HEAD_BYTES = N * N * 4;

let tmp: string;
let att: AttentionSet;
let dir: string;
before(function () {
  this.timeout(120000);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'headlight-dump-large-'));
  const rng = mulberry32(512);
  att = attentionSet(
    Array.from({ length: L }, () => Array.from({ length: H }, () => dirichletHead(rng, N, true, 0.3))),
    N,
    true,
  );
  const text = 'x'.repeat(N - 1);
  dir = writeDumpFolder(path.join(tmp, 'large'), att, text, charTokens(text));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Records every fs.readSync (fd, length, position) while `fn` runs. */
function spyReads<T>(fn: () => T): { result: T; reads: { length: number; position: number }[] } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module object itself, whose readSync the spy replaces
  const nodeFs = require('node:fs') as typeof fs;
  const original = nodeFs.readSync;
  const reads: { length: number; position: number }[] = [];
  nodeFs.readSync = ((fd: number, buffer: NodeJS.ArrayBufferView, offset: number, length: number, position: number) => {
    reads.push({ length, position });
    return original(fd, buffer, offset, length, position);
  }) as typeof fs.readSync;
  try {
    return { result: fn(), reads };
  } finally {
    nodeFs.readSync = original;
  }
}

describe('dump: large dumps are read lazily', () => {
  it('the generated file is the size of the whole attention', () => {
    assert.ok(fs.statSync(path.join(dir, 'attention.safetensors')).size > L * H * HEAD_BYTES);
  });

  it('opening reads only the header; one head reads exactly its own bytes at its offset', () => {
    const { result: d, reads: openReads } = spyReads(() => AttentionDump.open(dir));
    try {
      assert.ok(openReads.reduce((s, r) => s + r.length, 0) < 4096, `open read ${JSON.stringify(openReads)}`);
      const dataStart = openReads[0].length + openReads[1].length; // 8-byte length + header
      const { result: A, reads } = spyReads(() => d.head(2, 3));
      assert.deepEqual(reads, [{ length: HEAD_BYTES, position: dataStart + (2 * H + 3) * HEAD_BYTES }]);
      assert.deepEqual(A, headView(att, 2, 3));
      // Cached: a second read of the same head touches no bytes.
      assert.equal(spyReads(() => d.head(2, 3)).reads.length, 0);
      assert.equal(d.headReads, 1);
    } finally {
      d.close();
    }
  });

  it('the LRU holds at most cacheHeads heads', () => {
    const d = AttentionDump.open(dir, { cacheHeads: 2 });
    try {
      d.head(0, 0);
      d.head(0, 1);
      d.head(0, 0);
      d.head(0, 2); // evicts (0,1), the least recently used
      assert.equal(d.headReads, 3);
      d.head(0, 0);
      assert.equal(d.headReads, 3);
      d.head(0, 1);
      assert.equal(d.headReads, 4);
    } finally {
      d.close();
    }
  });

  it('a rollout pathway over the dump equals the in-memory one and reads each head once (cache = a layer)', () => {
    const d = AttentionDump.open(dir, { cacheHeads: H });
    try {
      const fromDump = attentionPathway(d, N - 1);
      const inMemory = attentionPathway(att, N - 1);
      assert.deepEqual(fromDump.perLayer, inMemory.perLayer);
      assert.equal(d.headReads, L * H);
      assert.deepEqual(attentionPathway(asReader(att), 7).perLayer, attentionPathway(d, 7).perLayer);
    } finally {
      d.close();
    }
  });

  it('walking every head reads the data once, in head-sized reads, never the whole file', () => {
    // (RSS is no measure here: evicted heads wait for the GC. The reads say what was touched.)
    const d = AttentionDump.open(dir, { cacheHeads: 2 });
    try {
      const { reads } = spyReads(() => {
        for (let l = 0; l < L; l++) for (let h = 0; h < H; h++) d.head(l, h);
      });
      assert.equal(reads.length, L * H);
      assert.ok(reads.every((r) => r.length === HEAD_BYTES));
      assert.equal(new Set(reads.map((r) => r.position)).size, L * H);
    } finally {
      d.close();
    }
  });
});
