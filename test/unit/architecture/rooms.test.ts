import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildGraph, check, cycles, folderGraph, graphOf, importsOf, parseRooms, roomOf, simpleLoops, tableProblems } from './importGraph';

// docs/ARCHITECTURE.md's room table is the one statement of what may import what; this reads it and the imports of
// every file in src/ and webview/ (the TypeScript parser, type-only imports included) and fails on each import
// across a wall, each file-level cycle and each file in no room.
const ROOT = path.resolve(__dirname, '..', '..', '..');
const DOC = fs.readFileSync(path.join(ROOT, 'docs', 'ARCHITECTURE.md'), 'utf8');

describe("rooms: docs/ARCHITECTURE.md's table holds for src/ and webview/", () => {
  const rooms = parseRooms(DOC);
  const g = graphOf(ROOT);
  const verdict = check(rooms, g);

  it('the table names each room once, only rooms (or vscode) to import, every room holds files, and the rooms are layered', () => {
    const folders = folderGraph(g);
    console.log(
      `      files ${g.files.length}, rooms ${rooms.length}, file arrows ${g.edges.length}, folder arrows ${folders.arrows.length}, ` +
        `file cycles ${cycles(g.files, g.edges).length}, folder cycles ${simpleLoops(folders.folders, folders.arrows).length}`,
    );
    assert.ok(rooms.length >= 5, `only ${rooms.length} rooms parsed`);
    assert.deepEqual(tableProblems(rooms, g.files), []);
  });

  it('the graph is read whole: every relative import names a source file', () => {
    assert.deepEqual(g.unresolved, []);
    // The engine re-exports core's token and attention types: a type-only re-export is an arrow like any import.
    assert.ok(
      g.edges.some((e) => e.from === 'src/engine/types.ts' && e.to === 'src/core/attention.ts'),
      'engine/types.ts → core/attention.ts not seen',
    );
  });

  it('every file belongs to a room', () => {
    assert.deepEqual(verdict.unroomed, []);
  });

  it('no import crosses a wall the table forbids', () => {
    assert.deepEqual(verdict.forbidden, []);
  });

  it('no file-level import cycle, type-only imports included', () => {
    assert.deepEqual(verdict.fileCycles, []);
  });
});

describe('rooms: the check fails on a planted graph', () => {
  const table = [
    '# x',
    '',
    '## Rooms',
    '',
    'prose',
    '',
    '| room | folders | what lives there | may import |',
    '|---|---|---|---|',
    '| **base** | `p/base/**` | leaves | nothing |',
    '| top | `p/top/**`, `p/main.ts` | uses base | `base`, `vscode` |',
    '| mid | `p/mid/**` | types of top only | `base`, `top` (types) |',
    '| special | `p/top/special.ts` | a file named outright wins over its folder | nothing |',
    '',
    '## Next',
    '',
  ].join('\n');
  const files: Record<string, string> = {
    'p/base/a.ts': `import { b } from './b';\nexport const a = 1;`,
    // base → top is planted: base may import nothing.
    'p/base/b.ts': `import type { T } from '../top/t';\nexport const b: T = 2;`,
    // A type-only cycle t ↔ u, through `export type … from` and `import('…')` in a type.
    'p/top/t.ts': `export type { U } from './u';\nexport type T = number;\nimport * as vscode from 'vscode';`,
    'p/top/u.ts': `export type U = import('./t').T;`,
    // mid may import top's types: the value import and the require are planted, the type import is fine.
    'p/mid/m.ts': `import type { T } from '../top/t';\nimport { U } from '../top/u';\nconst x = require('../top/t');\nexport const m = async () => import('../base/a');`,
    'p/mid/vs.ts': `import * as vscode from 'vscode';`,
    'p/top/special.ts': `import { a } from '../base/a';`,
    'p/main.ts': `import { a } from './base/a';`,
    'p/stray/s.ts': `export {};`,
  };
  const rooms = parseRooms(table);
  const g = buildGraph(Object.keys(files).sort(), (f) => files[f]);
  const v = check(rooms, g);

  it('parses the table: bold names, several patterns, (types)', () => {
    assert.deepEqual(
      rooms.map((r) => r.name),
      ['base', 'top', 'mid', 'special'],
    );
    assert.deepEqual(rooms[1].patterns, ['p/top/**', 'p/main.ts']);
    assert.deepEqual(rooms[2], { name: 'mid', patterns: ['p/mid/**'], mayImport: ['base', 'top'], typesOnly: ['top'] });
    assert.equal(roomOf(rooms, 'p/top/special.ts')?.name, 'special');
    assert.equal(roomOf(rooms, 'p/top/t.ts')?.name, 'top');
  });

  it('reads every kind of import', () => {
    const refs = importsOf('p/mid/m.ts', files['p/mid/m.ts']);
    assert.deepEqual(
      refs.map((r) => [r.spec, r.typeOnly, r.line]),
      [
        ['../top/t', true, 1],
        ['../top/u', false, 2],
        ['../top/t', false, 3],
        ['../base/a', false, 4],
      ],
    );
    assert.deepEqual(
      importsOf('x.ts', `import { type A, type B } from './y';\nimport C = require('./z');\nexport * from './w';`).map((r) => [r.spec, r.typeOnly]),
      [
        ['./y', true],
        ['./z', false],
        ['./w', false],
      ],
    );
  });

  it('names each forbidden arrow with its line, and a guarded package', () => {
    assert.deepEqual(v.forbidden.sort(), [
      'p/base/b.ts:1 → p/top/t.ts (base may not import top)',
      'p/mid/m.ts:2 → p/top/u.ts (mid may not import top except as types)',
      'p/mid/m.ts:3 → p/top/t.ts (mid may not import top except as types)',
      'p/mid/vs.ts:1 → vscode (mid may not import vscode)',
      'p/top/special.ts:1 → p/base/a.ts (special may not import base)',
    ]);
  });

  it('names each file cycle, type-only ones included, and each file in no room', () => {
    assert.deepEqual(v.fileCycles, ['p/top/t.ts → p/top/u.ts → p/top/t.ts']);
    assert.deepEqual(v.unroomed, ['p/stray/s.ts']);
  });

  it('finds mistakes in the table itself', () => {
    const bad = parseRooms(table.replace('`base`, `top` (types)', '`base`, `tpo`').replace('`p/mid/**`', '`p/gone/**`'));
    assert.deepEqual(tableProblems(bad, g.files), ['room mid may import tpo, which is no room', 'room mid holds no file (p/gone/**)']);
    assert.deepEqual(tableProblems(rooms, g.files), []);
    const loop = parseRooms(table.replace('| leaves | nothing |', '| leaves | `mid` |'));
    assert.deepEqual(tableProblems(loop, g.files), [
      'rooms may import each other round a loop: base → mid → base',
      'rooms may import each other round a loop: base → mid → top → base',
    ]);
  });

  it('counts cycles: one group per knot, each simple loop', () => {
    const arrows = [
      ['a', 'b'],
      ['b', 'a'],
      ['b', 'c'],
      ['c', 'a'],
      ['d', 'd'],
    ].map(([from, to]) => ({ from, to }));
    assert.deepEqual(cycles(['a', 'b', 'c', 'd', 'e'], arrows), [['a', 'b', 'c'], ['d']]);
    assert.equal(simpleLoops(['a', 'b', 'c', 'd', 'e'], arrows).length, 3);
  });
});
