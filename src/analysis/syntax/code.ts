// Code relations from a tree-sitter parse, each as gold edges per token (types.ts):
// - ast-parent: a token → the first token of the smallest enclosing node that starts before it;
// - bracket-pair: a closing bracket or quote → its opener, as the parse pairs them;
// - def-use: an identifier → its previous occurrence visible from it (same scope or an enclosing one);
// - block-opener: a token inside a block → the keyword that opens that block (`def`, `if`, `for`, …).
// Dependents are leading tokens (align.ts) inside the explained text; the document around it is parsed
// too, so a selection that cuts a function in half still sees the function. Nodes inside ERROR regions
// or MISSING nodes give no edges; the relations are then flagged partial.
import type * as TS from '@vscode/tree-sitter-wasm';
import type { Token } from '../../core/attention';
import { alignTokens } from './align';
import type { Relation } from './types';

type Node = TS.Node;

const CLOSER_OF: Record<string, string> = { ')': '(', ']': '[', '}': '{', string_end: 'string_start' };
const QUOTES = new Set(['"', "'", '`', '"""', "'''"]);
const IDENTIFIERS = new Set(['identifier', 'shorthand_property_identifier', 'shorthand_property_identifier_pattern']);
const BLOCKS = new Set(['block', 'statement_block', 'class_body', 'switch_body']);
const SCOPES: Record<'python' | 'js', Set<string>> = {
  python: new Set([
    'module',
    'function_definition',
    'class_definition',
    'lambda',
    'list_comprehension',
    'dictionary_comprehension',
    'set_comprehension',
    'generator_expression',
  ]),
  js: new Set([
    'program',
    'function_declaration',
    'function_expression',
    'function',
    'arrow_function',
    'method_definition',
    'generator_function_declaration',
    'generator_function',
    'class_body',
    'statement_block',
    'for_statement',
    'for_in_statement',
    'catch_clause',
  ]),
};
const KEYWORD = /^[a-z]+$/;

export interface CodeSyntax {
  relations: Relation[];
  tokenSyntax: (string | null)[];
  partial: boolean;
}

/**
 * The part of the tree the relations need, flattened once with a TreeCursor (reading a Node's fields
 * crosses into wasm and allocates; the cursor does neither): every node overlapping the explained text,
 * in document (pre-)order, with its parent — so every ancestor of an explained token is here.
 */
interface Flat {
  type: string[];
  start: number[];
  end: number[];
  named: boolean[];
  /** ERROR or MISSING: the parse guessed here. */
  bad: boolean[];
  parent: number[];
  /** Python: the node is an `attribute` node's attribute field (`x` in `self.x`). */
  attrField: boolean[];
  children: number[][];
}

function flatten(root: Node, from: number, to: number, family: 'python' | 'js'): Flat {
  const f: Flat = { type: [], start: [], end: [], named: [], bad: [], parent: [], attrField: [], children: [] };
  const c = root.walk();
  const stack: number[] = [];
  try {
    for (;;) {
      const s = c.startIndex,
        e = c.endIndex;
      const inside = e > from && s < to;
      if (inside) {
        const k = f.type.length;
        const t = c.nodeType;
        const par = stack.length ? stack[stack.length - 1] : -1;
        f.type.push(t);
        f.start.push(s);
        f.end.push(e);
        f.named.push(c.nodeIsNamed);
        f.bad.push(t === 'ERROR' || c.nodeIsMissing);
        f.parent.push(par);
        f.children.push([]);
        f.attrField.push(family === 'python' && t === 'identifier' && par >= 0 && f.type[par] === 'attribute' && c.currentFieldName === 'attribute');
        if (par >= 0) f.children[par].push(k);
        if (c.gotoFirstChild()) {
          stack.push(k);
          continue;
        }
      }
      // Next sibling, or up until there is one.
      let moved = false;
      while (!moved) {
        if (c.gotoNextSibling()) {
          moved = true;
          break;
        }
        if (!c.gotoParent()) return f;
        stack.pop();
      }
    }
  } finally {
    c.delete();
  }
}

/** Which relations lost an edge to an ERROR or MISSING node. */
interface Dropped {
  parent: boolean;
  bracket: boolean;
  defUse: boolean;
  opener: boolean;
}

/** The flattened parse seen from the explained text: node → token, and the edges dropped so far. */
interface Scan {
  f: Flat;
  /** The token holding a document offset, or −1. */
  tokenOf: (docPos: number) => number;
  dropped: Dropped;
}

/**
 * Relations of `tokens` (spans into the explained text) from `root`, the parse of a document in which the
 * explained text starts at UTF-16 offset `offset`; `doc` is that document's text.
 */
export function codeRelations(root: Node, tokens: Token[], offset: number, family: 'python' | 'js', doc: string): CodeSyntax {
  const n = tokens.length;
  const al = alignTokens(tokens);
  const from = offset,
    to = offset + al.length;
  const scan: Scan = {
    f: flatten(root, from, to, family),
    tokenOf: (docPos) => al.tokenAt(docPos - offset),
    dropped: { parent: false, bracket: false, defUse: false, opener: false },
  };
  const parent = new Int32Array(n).fill(-1);
  const bracket = new Int32Array(n).fill(-1);
  const defUse = new Int32Array(n).fill(-1);
  const opener = new Int32Array(n).fill(-1);
  const tokenSyntax: (string | null)[] = new Array<string | null>(n).fill(null);
  const leafAt = leaves(scan.f, from, to);
  for (let i = 0; i < n; i++) {
    const a = al.anchor[i];
    const leaf = a < 0 ? -1 : leafAt[a];
    if (leaf < 0) continue;
    tokenSyntax[i] = syntaxOf(scan.f, leaf);
    // Parent and block opener: for tokens that begin a leaf (the later pieces of a split identifier are not counted twice).
    if (!al.leads[i] || scan.f.start[leaf] !== a + offset) continue;
    parent[i] = parentToken(scan, leaf, i);
    opener[i] = openerToken(scan, leaf, i);
  }
  pairBrackets(scan, bracket);
  linkDefUse(scan, SCOPES[family], doc, defUse);
  const { dropped } = scan;
  const partial = root.hasError || dropped.parent || dropped.bracket || dropped.defUse || dropped.opener;
  const relations: Relation[] = [
    { name: 'ast-parent', what: 'the first token of its AST parent', gold: parent, reversible: false, partial: partial || undefined },
    { name: 'bracket-pair', what: 'the opening bracket or quote the parse pairs it with', gold: bracket, reversible: false, partial: partial || undefined },
    { name: 'def-use', what: 'the previous occurrence of the same identifier in scope', gold: defUse, reversible: false, partial: partial || undefined },
    { name: 'block-opener', what: 'the keyword that opens its block', gold: opener, reversible: false, partial: partial || undefined },
  ];
  return { relations, tokenSyntax, partial };
}

/** The smallest node covering each character of the explained text [from, to): deeper nodes come later in pre-order. */
function leaves(f: Flat, from: number, to: number): Int32Array {
  const leafAt = new Int32Array(to - from).fill(-1);
  for (let k = 0; k < f.type.length; k++) {
    const lo = Math.max(f.start[k], from),
      hi = Math.min(f.end[k], to);
    for (let x = lo; x < hi; x++) leafAt[x - from] = k;
  }
  return leafAt;
}

/** A token's syntax label: its leaf's type, with the parent's type when the leaf is anonymous (`( in call`). */
function syntaxOf(f: Flat, leaf: number): string {
  const up = f.parent[leaf];
  return f.named[leaf] || up < 0 ? f.type[leaf] : `${f.type[leaf]} in ${f.type[up]}`;
}

/** An ERROR or MISSING node on the path from k up to `top` (inclusive). */
function broken(f: Flat, k: number, top: number): boolean {
  for (let p = k; p >= 0; p = f.parent[p]) {
    if (f.bad[p]) return true;
    if (p === top) break;
  }
  return false;
}

/** The keyword opening a block: the block's parent's first child when it is an anonymous keyword. */
function openerOf(f: Flat, block: number): number {
  const par = f.parent[block];
  if (par < 0) return -1;
  for (const ch of f.children[par]) {
    if (f.start[ch] >= f.start[block]) break;
    if (!f.named[ch] && KEYWORD.test(f.type[ch])) return ch;
    if (f.named[ch] && f.type[ch] !== 'decorator' && f.type[ch] !== 'comment') return -1;
  }
  return -1;
}

/** Token i's AST parent (the first token of the smallest node starting before its leaf), or −1. */
function parentToken({ f, tokenOf, dropped }: Scan, leaf: number, i: number): number {
  let p = leaf;
  const D = f.start[leaf];
  while (p >= 0 && f.start[p] >= D) p = f.parent[p];
  if (p < 0) return -1;
  if (broken(f, leaf, p)) {
    dropped.parent = true;
    return -1;
  }
  const g = tokenOf(f.start[p]);
  return g >= 0 && g !== i ? g : -1;
}

/** The keyword opening the innermost block around token i's leaf, or −1. */
function openerToken({ f, tokenOf, dropped }: Scan, leaf: number, i: number): number {
  for (let b = leaf; b >= 0; b = f.parent[b]) {
    if (!BLOCKS.has(f.type[b])) continue;
    const kw = openerOf(f, b);
    if (kw < 0) return -1;
    if (broken(f, leaf, b) || f.bad[kw]) {
      dropped.opener = true;
      return -1;
    }
    const g = tokenOf(f.start[kw]);
    return g >= 0 && g !== i ? g : -1;
  }
  return -1;
}

/**
 * Closing brackets and quotes → their openers (a token holding several closers, `])`, keeps the last one
 * visited: the outermost pair).
 */
function pairBrackets({ f, tokenOf, dropped }: Scan, bracket: Int32Array): void {
  for (let k = 0; k < f.type.length; k++) {
    const t = f.type[k];
    if (!((!f.named[k] && (t in CLOSER_OF || QUOTES.has(t))) || t === 'string_end')) continue;
    const par = f.parent[k];
    if (par < 0) continue;
    const open = openerNode(f, k, par);
    if (open < 0) continue;
    if (f.bad[k] || f.bad[open] || f.bad[par]) dropped.bracket = true;
    else {
      const d = tokenOf(f.start[k]),
        g = tokenOf(f.start[open]);
      if (d >= 0 && g >= 0 && g < d) bracket[d] = g;
    }
  }
}

/** The sibling that closer node k (child of `par`) pairs with, or −1. */
function openerNode(f: Flat, k: number, par: number): number {
  const t = f.type[k];
  const want = CLOSER_OF[t] ?? t;
  const kids = f.children[par];
  let open = -1;
  if (QUOTES.has(t)) {
    // Quotes pair only as a string's first and last child.
    const first = kids[0],
      last = kids[kids.length - 1];
    if (first !== k && last === k && f.type[first] === t) open = first;
  } else if (want === 'string_start') {
    for (const ch of kids) if (f.start[ch] < f.start[k] && f.type[ch] === want) open = ch;
  } else {
    // The innermost unclosed opener of that type before it among the siblings.
    let depth = 0;
    for (let q = kids.length - 1; q >= 0; q--) {
      const ch = kids[q];
      if (f.start[ch] >= f.start[k]) continue;
      if (f.type[ch] === t) depth++;
      else if (f.type[ch] === want) {
        if (depth === 0) {
          open = ch;
          break;
        }
        depth--;
      }
    }
  }
  return open;
}

/** Identifiers, in document order → the previous occurrence of the same name in a scope visible from them. */
function linkDefUse({ f, tokenOf, dropped }: Scan, scopes: Set<string>, doc: string, defUse: Int32Array): void {
  const nearestScope = (k: number): number => {
    for (let p = f.parent[k]; p >= 0; p = f.parent[p]) if (scopes.has(f.type[p])) return p;
    return -1;
  };
  const seen = new Map<string, { node: number; token: number; scope: number }[]>();
  for (let k = 0; k < f.type.length; k++) {
    if (!IDENTIFIERS.has(f.type[k]) || f.attrField[k]) continue;
    const d = tokenOf(f.start[k]);
    if (d < 0) continue;
    const name = doc.slice(f.start[k], f.end[k]);
    const here = nearestScope(k);
    // The scopes visible from here: this one and those enclosing it.
    const mine = new Set<number>();
    for (let p = here; p >= 0; p = nearestScope(p)) mine.add(p);
    const list = seen.get(name) ?? [];
    for (let q = list.length - 1; q >= 0; q--) {
      const prev = list[q];
      if (prev.scope === here || mine.has(prev.scope)) {
        const pp = f.parent[k],
          qp = f.parent[prev.node];
        if ((pp >= 0 && f.bad[pp]) || (qp >= 0 && f.bad[qp])) dropped.defUse = true;
        else if (prev.token !== d) defUse[d] = prev.token;
        break;
      }
    }
    list.push({ node: k, token: d, scope: here });
    seen.set(name, list);
  }
}
