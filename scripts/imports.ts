// The import graph's numbers: `npx tsx scripts/imports.ts [--list]` (--list: the folder arrows, the cycles, and what
// the room table forbids). test/unit/architecture/rooms.test.ts enforces the table; this prints what a reviewer
// compares before and after a change. Files: every .ts under src/ and webview/; arrows: relative imports, type-only
// ones included. File cycles count groups of files that import each other round a loop (strongly connected
// components); folder cycles count the simple loops of the folder graph (each file's directory, src/'s own files each
// standing alone).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { check, cycles, folderGraph, graphOf, loopThrough, parseRooms, roomOf, simpleLoops } from '../test/unit/architecture/importGraph';

// --root DIR reads another checkout (e.g. `git archive` of an older commit) against this checkout's table.
const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const root = path.resolve(arg('--root') ?? path.join(__dirname, '..'));
const g = graphOf(root);
const folders = folderGraph(g);
const fileCycles = cycles(g.files, g.edges);
const folderLoops = simpleLoops(folders.folders, folders.arrows);
const doc = path.join(__dirname, '..', 'docs', 'ARCHITECTURE.md');
let rooms: ReturnType<typeof parseRooms> = [];
try {
  rooms = parseRooms(fs.readFileSync(doc, 'utf8'));
} catch (e) {
  console.log(`no room table: ${(e as Error).message}`);
}
const verdict = rooms.length ? check(rooms, g) : undefined;
// The room graph: distinct room → room arrows and their simple loops (a loop between rooms is allowed by no table
// row alone, but two rows may each allow one half of it).
const roomArrows = new Map<string, { from: string; to: string }>();
for (const e of g.edges) {
  const a = roomOf(rooms, e.from)?.name,
    b = roomOf(rooms, e.to)?.name;
  if (a && b && a !== b) roomArrows.set(`${a}\0${b}`, { from: a, to: b });
}
const roomLoops = simpleLoops(
  rooms.map((r) => r.name),
  [...roomArrows.values()],
);
console.log(
  `files ${g.files.length}, rooms ${rooms.length}, file arrows ${g.edges.length}, folder arrows ${folders.arrows.length}, ` +
    `file cycles ${fileCycles.length} (${fileCycles.reduce((n, c) => n + c.length, 0)} files), folder cycles ${folderLoops.length}` +
    (verdict
      ? `, room arrows ${roomArrows.size}, room cycles ${roomLoops.length}, imports the room table forbids ${verdict.forbidden.length}, ` +
        `files in no room ${verdict.unroomed.length}`
      : ''),
);
if (process.argv.includes('--list')) {
  for (const a of [...folders.arrows].sort((x, y) => `${x.from} ${x.to}`.localeCompare(`${y.from} ${y.to}`))) console.log(`  ${a.from} → ${a.to}`);
  for (const c of fileCycles) console.log(`file cycle {${c.join(', ')}}, e.g. ${loopThrough(c, g.edges).join(' → ')}`);
  for (const l of folderLoops) console.log(`folder cycle: ${l.join(' → ')}`);
  for (const a of roomArrows.values()) console.log(`  room ${a.from} → ${a.to}`);
  for (const l of roomLoops) console.log(`room cycle: ${l.join(' → ')}`);
  for (const f of verdict?.unroomed ?? []) console.log(`no room: ${f}`);
  for (const f of verdict?.forbidden ?? []) console.log(`forbidden: ${f}`);
  for (const u of g.unresolved) console.log(`unresolved: ${u}`);
}
