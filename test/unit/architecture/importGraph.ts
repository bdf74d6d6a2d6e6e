import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

// The import graph of src/ and webview/, and the room table of docs/ARCHITECTURE.md, for rooms.test.ts and
// scripts/imports.ts. Paths are repository-relative with forward slashes.

export const SOURCE_DIRS = ['src', 'webview'];

/** One import of a file: what it names, whether the whole import is erased at compile time, and its line. */
export type ImportRef = { spec: string; typeOnly: boolean; line: number };
/** A file→file arrow (relative specifiers that resolve to a source file). */
export type Edge = { from: string; to: string; typeOnly: boolean; line: number };
export type Graph = { files: string[]; edges: Edge[]; packages: { from: string; spec: string; typeOnly: boolean; line: number }[] };

export type Room = { name: string; patterns: string[]; mayImport: string[]; typesOnly: string[] };

/** Every .ts file (declarations included) under the source folders, sorted. */
export function sourceFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(rel);
      else if (e.isFile() && /\.(ts|mts|cts)$/.test(e.name)) out.push(rel);
    }
  };
  for (const d of SOURCE_DIRS) if (fs.existsSync(path.join(root, d))) walk(d);
  return out.sort();
}

/**
 * Every module a file names: import and export declarations (`import type` and `export type` included),
 * `import x = require()`, `import('…')` in code and in types, and `require('…')` with a literal.
 */
export function importsOf(fileName: string, text: string): ImportRef[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const refs: ImportRef[] = [];
  const add = (lit: ts.Node, typeOnly: boolean) => {
    if (!ts.isStringLiteralLike(lit)) return;
    refs.push({ spec: lit.text, typeOnly, line: sf.getLineAndCharacterOfPosition(lit.getStart(sf)).line + 1 });
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node)) {
      const c = node.importClause;
      // `import { type A, type B }` is erased as well as `import type { A, B }`.
      const named = c?.namedBindings && ts.isNamedImports(c.namedBindings) ? c.namedBindings.elements : undefined;
      const erased = !!c && (c.isTypeOnly || (!c.name && !!named && named.length > 0 && named.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier, erased);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      const named = node.exportClause && ts.isNamedExports(node.exportClause) ? node.exportClause.elements : undefined;
      add(node.moduleSpecifier, node.isTypeOnly || (!!named && named.length > 0 && named.every((e) => e.isTypeOnly)));
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression, node.isTypeOnly);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, true);
    } else if (ts.isCallExpression(node) && node.arguments.length >= 1) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require')) add(node.arguments[0], false);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return refs;
}

/** The source file a relative specifier names (`./x`, `./x.js`, `./x/index`), or undefined when it is none. */
export function resolve(from: string, spec: string, known: ReadonlySet<string>): string | undefined {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  const stem = base.replace(/\.(js|mjs|cjs)$/, '');
  for (const c of [base, `${stem}.ts`, `${stem}.mts`, `${stem}.cts`, `${stem}.d.ts`, `${base}/index.ts`]) if (known.has(c)) return c;
  return undefined;
}

/** The graph from files on disk under `root`; `read` is swappable so the self-test can plant a graph. */
export function buildGraph(files: string[], read: (f: string) => string): Graph & { unresolved: string[] } {
  const known = new Set(files);
  const edges: Edge[] = [];
  const packages: Graph['packages'] = [];
  const unresolved: string[] = [];
  for (const from of files) {
    for (const r of importsOf(from, read(from))) {
      if (!r.spec.startsWith('.')) {
        packages.push({ from, ...r });
        continue;
      }
      const to = resolve(from, r.spec, known);
      if (to) edges.push({ from, to, typeOnly: r.typeOnly, line: r.line });
      // A relative import of a non-source asset (CSS, JSON, a .wasm path) is no arrow between rooms.
      else if (!/\.(css|json|wasm|svg|png|html)$/.test(r.spec)) unresolved.push(`${from}:${r.line} '${r.spec}'`);
    }
  }
  return { files, edges, packages, unresolved };
}

export function graphOf(root: string): Graph & { unresolved: string[] } {
  return buildGraph(sourceFiles(root), (f) => fs.readFileSync(path.join(root, f), 'utf8'));
}

/** Strongly connected components with more than one file, or a file importing itself: each is a cycle. */
export function cycles(nodes: string[], arrows: { from: string; to: string }[]): string[][] {
  const next = new Map<string, string[]>(nodes.map((n) => [n, []]));
  for (const a of arrows) next.get(a.from)?.push(a.to);
  // Tarjan, iterative so a long import chain cannot overflow the stack.
  const index = new Map<string, number>(),
    low = new Map<string, number>(),
    on = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let counter = 0;
  for (const start of nodes) {
    if (index.has(start)) continue;
    const work: [string, number][] = [[start, 0]];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    on.add(start);
    while (work.length) {
      const top = work[work.length - 1];
      const [v, i] = top;
      const succ = next.get(v) ?? [];
      if (i < succ.length) {
        top[1]++;
        const w = succ[i];
        if (!index.has(w)) {
          index.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          on.add(w);
          work.push([w, 0]);
        } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
        continue;
      }
      work.pop();
      if (work.length) {
        const u = work[work.length - 1][0];
        low.set(u, Math.min(low.get(u)!, low.get(v)!));
      }
      if (low.get(v) === index.get(v)) {
        const comp: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          on.delete(w);
          comp.push(w);
        } while (w !== v);
        if (comp.length > 1 || succ.includes(v)) out.push(comp.sort());
      }
    }
  }
  return out.sort((a, b) => a[0].localeCompare(b[0]));
}

/**
 * Every simple loop (no node twice), each started at its smallest node: the count a reviewer reads as "how many
 * cycles". Exponential in the worst case, so it stops at `cap`; the source graphs have a handful.
 */
export function simpleLoops(nodes: string[], arrows: { from: string; to: string }[], cap = 10_000): string[][] {
  const next = new Map<string, string[]>(nodes.map((n) => [n, []]));
  for (const a of arrows) next.get(a.from)?.push(a.to);
  const order = [...nodes].sort();
  const out: string[][] = [];
  for (let s = 0; s < order.length && out.length < cap; s++) {
    const start = order[s];
    const later = new Set(order.slice(s));
    const walk = (v: string, trail: string[]) => {
      for (const w of next.get(v) ?? []) {
        if (out.length >= cap) return;
        if (w === start) out.push([...trail, start]);
        else if (later.has(w) && !trail.includes(w)) walk(w, [...trail, w]);
      }
    };
    walk(start, [start]);
  }
  return out;
}

/** One concrete loop through a cycle's files (shortest from its first file back to itself), for the message. */
export function loopThrough(comp: string[], arrows: { from: string; to: string }[]): string[] {
  const inside = new Set(comp);
  const start = comp[0];
  const prev = new Map<string, string>();
  const queue = [start];
  const seen = new Set<string>();
  while (queue.length) {
    const v = queue.shift()!;
    for (const a of arrows) {
      if (a.from !== v || !inside.has(a.to)) continue;
      if (a.to === start) {
        const loop = [start];
        for (let u = v; u !== start; u = prev.get(u)!) loop.splice(1, 0, u);
        return [...loop, start];
      }
      if (!seen.has(a.to)) {
        seen.add(a.to);
        prev.set(a.to, v);
        queue.push(a.to);
      }
    }
  }
  return comp;
}

/**
 * A file's folder for the folder-level numbers: its directory, except that the files directly in src/ (cli.ts,
 * extension.ts, noTelemetry.ts, protocol.ts before it became a folder) are rooms or entry points of their own,
 * not one folder, and each stands for itself.
 */
export const folderOf = (f: string) => (path.posix.dirname(f) === 'src' ? f : path.posix.dirname(f));

/** Folder-level arrows (distinct pairs of different folders) and the folder graph's cycles. */
export function folderGraph(g: Graph) {
  const pairs = new Map<string, { from: string; to: string }>();
  for (const e of g.edges) {
    const from = folderOf(e.from),
      to = folderOf(e.to);
    if (from !== to) pairs.set(`${from}\0${to}`, { from, to });
  }
  const arrows = [...pairs.values()];
  const folders = [...new Set(g.files.map(folderOf))].sort();
  return { folders, arrows, cycles: cycles(folders, arrows) };
}

// ---- the room table -------------------------------------------------------------------------------------

const cells = (row: string) =>
  row
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split('|')
    .map((c) => c.trim());
const ticked = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);

/**
 * The table under "## Rooms": column 1 the room (its name in bold or plain), column 2 its files as
 * backticked globs, column 4 the rooms it may import as backticked names; a name followed by "(types)"
 * may be imported with `import type` only.
 */
export function parseRooms(markdown: string): Room[] {
  const lines = markdown.split('\n');
  const at = lines.findIndex((l) => /^## Rooms\s*$/.test(l));
  if (at < 0) throw new Error('no "## Rooms" section');
  let i = at + 1;
  while (i < lines.length && !lines[i].startsWith('|')) {
    if (/^## /.test(lines[i])) throw new Error('no table under "## Rooms"');
    i++;
  }
  const header = cells(lines[i]).map((c) => c.toLowerCase());
  const col = (name: string) => {
    const k = header.indexOf(name);
    if (k < 0) throw new Error(`the rooms table has no "${name}" column (has: ${header.join(', ')})`);
    return k;
  };
  const [cRoom, cFiles, cMay] = [col('room'), col('folders'), col('may import')];
  const rooms: Room[] = [];
  for (i += 2; i < lines.length && lines[i].startsWith('|'); i++) {
    const c = cells(lines[i]);
    const name = c[cRoom].replace(/\*\*/g, '').trim();
    const may = c[cMay];
    const mayImport = ticked(may);
    const typesOnly = [...may.matchAll(/`([^`]+)`\s*\(types\)/g)].map((m) => m[1]);
    rooms.push({ name, patterns: ticked(c[cFiles]), mayImport, typesOnly });
  }
  return rooms;
}

/** `dir/**` matches everything below dir; any other pattern matches one file exactly. */
export function matches(pattern: string, file: string): boolean {
  if (pattern.endsWith('/**')) return file.startsWith(pattern.slice(0, -2));
  if (pattern.includes('*')) throw new Error(`unsupported pattern ${pattern}: use dir/** or a file`);
  return file === pattern;
}

/** The room of a file: the room whose matching pattern is the most specific (an exact file, then the longest folder). */
export function roomOf(rooms: Room[], file: string): Room | undefined {
  let best: { room: Room; score: number } | undefined;
  for (const room of rooms) {
    for (const p of room.patterns) {
      if (!matches(p, file)) continue;
      const score = p.endsWith('/**') ? p.length : Number.MAX_SAFE_INTEGER;
      if (!best || score > best.score) best = { room, score };
    }
  }
  return best?.room;
}

/** Modules the table may grant like a room (a room that may not name one may not import it). */
export const GUARDED_PACKAGES = ['vscode'];

/**
 * Mistakes in the table itself: a room twice, a may-import naming no room, a room that holds no file, and rooms that
 * may import each other round a loop (the rooms stay layered, so no two rows together allow a cycle between rooms).
 */
export function tableProblems(rooms: Room[], files: string[]): string[] {
  const names = rooms.map((r) => r.name);
  const out: string[] = [];
  for (const r of rooms) {
    if (names.indexOf(r.name) !== names.lastIndexOf(r.name)) out.push(`room ${r.name} has two rows`);
    if (!r.patterns.length) out.push(`room ${r.name} names no folders`);
    for (const m of r.mayImport) if (!names.includes(m) && !GUARDED_PACKAGES.includes(m)) out.push(`room ${r.name} may import ${m}, which is no room`);
    if (!files.some((f) => roomOf(rooms, f) === r)) out.push(`room ${r.name} holds no file (${r.patterns.join(', ')})`);
  }
  const allowed = rooms.flatMap((r) => r.mayImport.filter((m) => m !== r.name).map((to) => ({ from: r.name, to })));
  for (const loop of simpleLoops(names, allowed)) out.push(`rooms may import each other round a loop: ${loop.join(' → ')}`);
  return out;
}

export type Verdict = { unroomed: string[]; forbidden: string[]; fileCycles: string[] };

/** What the table forbids in a graph: files in no room, arrows across walls (and guarded packages), and every file cycle. */
export function check(rooms: Room[], g: Graph): Verdict {
  const unroomed = g.files.filter((f) => !roomOf(rooms, f));
  const forbidden: string[] = [];
  for (const p of g.packages) {
    const a = roomOf(rooms, p.from);
    if (a && GUARDED_PACKAGES.includes(p.spec) && !a.mayImport.includes(p.spec))
      forbidden.push(`${p.from}:${p.line} → ${p.spec} (${a.name} may not import ${p.spec})`);
  }
  for (const e of g.edges) {
    const a = roomOf(rooms, e.from),
      b = roomOf(rooms, e.to);
    if (!a || !b || a === b) continue;
    const allowed = a.mayImport.includes(b.name) && (e.typeOnly || !a.typesOnly.includes(b.name));
    if (!allowed) forbidden.push(`${e.from}:${e.line} → ${e.to} (${a.name} may not import ${b.name}${a.typesOnly.includes(b.name) ? ' except as types' : ''})`);
  }
  const fileCycles = cycles(g.files, g.edges).map((c) => loopThrough(c, g.edges).join(' → '));
  return { unroomed, forbidden, fileCycles };
}
