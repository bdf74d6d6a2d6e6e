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
  python: new Set(['module', 'function_definition', 'class_definition', 'lambda', 'list_comprehension', 'dictionary_comprehension', 'set_comprehension', 'generator_expression']),
  js: new Set(['program', 'function_declaration', 'function_expression', 'function', 'arrow_function', 'method_definition', 'generator_function_declaration', 'generator_function', 'class_body', 'statement_block', 'for_statement', 'for_in_statement', 'catch_clause']),
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
      const s = c.startIndex, e = c.endIndex;
      const inside = e > from && s < to;
      if (inside) {
        const k = f.type.length;
        const t = c.nodeType;
        const par = stack.length ? stack[stack.length - 1] : -1;
        f.type.push(t); f.start.push(s); f.end.push(e); f.named.push(c.nodeIsNamed);
        f.bad.push(t === 'ERROR' || c.nodeIsMissing); f.parent.push(par); f.children.push([]);
        f.attrField.push(family === 'python' && t === 'identifier' && par >= 0 && f.type[par] === 'attribute' && c.currentFieldName === 'attribute');
        if (par >= 0) f.children[par].push(k);
        if (c.gotoFirstChild()) { stack.push(k); continue; }
      }
      // Next sibling, or up until there is one.
      let moved = false;
      while (!moved) {
        if (c.gotoNextSibling()) { moved = true; break; }
        if (!c.gotoParent()) return f;
        stack.pop();
      }
    }
  } finally {
    c.delete();
  }
}

/**
 * Relations of `tokens` (spans into the explained text) from `root`, the parse of a document in which the
 * explained text starts at UTF-16 offset `offset`; `doc` is that document's text.
 */
export function codeRelations(root: Node, tokens: Token[], offset: number, family: 'python' | 'js', doc: string): CodeSyntax {
  const n = tokens.length;
  const al = alignTokens(tokens);
  const tokenOf = (docPos: number): number => al.tokenAt(docPos - offset);
  const parent = new Int32Array(n).fill(-1);
  const bracket = new Int32Array(n).fill(-1);
  const defUse = new Int32Array(n).fill(-1);
  const opener = new Int32Array(n).fill(-1);
  const tokenSyntax: (string | null)[] = new Array<string | null>(n).fill(null);
  const dropped = { parent: false, bracket: false, defUse: false, opener: false };
  const from = offset, to = offset + al.length;
  const f = flatten(root, from, to, family);
  const N = f.type.length;

  // The smallest node covering each character of the explained text: deeper nodes come later in pre-order.
  const leafAt = new Int32Array(to - from).fill(-1);
  for (let k = 0; k < N; k++) {
    const lo = Math.max(f.start[k], from), hi = Math.min(f.end[k], to);
    for (let x = lo; x < hi; x++) leafAt[x - from] = k;
  }
  /** An ERROR or MISSING node on the path from k up to `top` (inclusive). */
  const broken = (k: number, top: number): boolean => {
    for (let p = k; p >= 0; p = f.parent[p]) {
      if (f.bad[p]) return true;
      if (p === top) break;
    }
    return false;
  };
  /** The keyword opening a block: the block's parent's first child when it is an anonymous keyword. */
  const openerOf = (block: number): number => {
    const par = f.parent[block];
    if (par < 0) return -1;
    for (const ch of f.children[par]) {
      if (f.start[ch] >= f.start[block]) break;
      if (!f.named[ch] && KEYWORD.test(f.type[ch])) return ch;
      if (f.named[ch] && f.type[ch] !== 'decorator' && f.type[ch] !== 'comment') return -1;
    }
    return -1;
  };

  // Per token: its leaf, its parent, its block opener.
  for (let i = 0; i < n; i++) {
    const a = al.anchor[i];
    if (a < 0) continue;
    const D = a + offset;
    const leaf = leafAt[a];
    if (leaf < 0) continue;
    const up = f.parent[leaf];
    tokenSyntax[i] = f.named[leaf] || up < 0 ? f.type[leaf] : `${f.type[leaf]} in ${f.type[up]}`;
    if (!al.leads[i] || f.start[leaf] !== D) continue;
    let p = leaf;
    while (p >= 0 && f.start[p] >= D) p = f.parent[p];
    if (p >= 0) {
      if (broken(leaf, p)) dropped.parent = true;
      else {
        const g = tokenOf(f.start[p]);
        if (g >= 0 && g !== i) parent[i] = g;
      }
    }
    // Block opener: for tokens that begin a leaf (the later pieces of a split identifier are not counted twice).
    for (let b = leaf; b >= 0; b = f.parent[b]) {
      if (!BLOCKS.has(f.type[b])) continue;
      const kw = openerOf(b);
      if (kw < 0) break;
      if (broken(leaf, b) || f.bad[kw]) { dropped.opener = true; break; }
      const g = tokenOf(f.start[kw]);
      if (g >= 0 && g !== i) opener[i] = g;
      break;
    }
  }

  // Closing brackets and quotes (a token holding several closers, `])`, keeps the last one visited: the
  // outermost pair), and identifiers in document order.
  const scopes = SCOPES[family];
  const nearestScope = (k: number): number => {
    for (let p = f.parent[k]; p >= 0; p = f.parent[p]) if (scopes.has(f.type[p])) return p;
    return -1;
  };
  const seen = new Map<string, { node: number; token: number; scope: number }[]>();
  for (let k = 0; k < N; k++) {
    const t = f.type[k];
    if ((!f.named[k] && (t in CLOSER_OF || QUOTES.has(t))) || t === 'string_end') {
      const par = f.parent[k];
      if (par >= 0) {
        const want = CLOSER_OF[t] ?? t;
        const kids = f.children[par];
        let open = -1;
        if (QUOTES.has(t)) {
          // Quotes pair only as a string's first and last child.
          const first = kids[0], last = kids[kids.length - 1];
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
            else if (f.type[ch] === want) { if (depth === 0) { open = ch; break; } depth--; }
          }
        }
        if (open >= 0) {
          if (f.bad[k] || f.bad[open] || f.bad[par]) dropped.bracket = true;
          else {
            const d = tokenOf(f.start[k]), g = tokenOf(f.start[open]);
            if (d >= 0 && g >= 0 && g < d) bracket[d] = g;
          }
        }
      }
    }
    if (IDENTIFIERS.has(t) && !f.attrField[k]) {
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
          const pp = f.parent[k], qp = f.parent[prev.node];
          if ((pp >= 0 && f.bad[pp]) || (qp >= 0 && f.bad[qp])) dropped.defUse = true;
          else if (prev.token !== d) defUse[d] = prev.token;
          break;
        }
      }
      list.push({ node: k, token: d, scope: here });
      seen.set(name, list);
    }
  }

  const partial = root.hasError || dropped.parent || dropped.bracket || dropped.defUse || dropped.opener;
  const relations: Relation[] = [
    { name: 'ast-parent', what: 'the first token of its AST parent', gold: parent, reversible: false, partial: partial || undefined },
    { name: 'bracket-pair', what: 'the opening bracket or quote the parse pairs it with', gold: bracket, reversible: false, partial: partial || undefined },
    { name: 'def-use', what: 'the previous occurrence of the same identifier in scope', gold: defUse, reversible: false, partial: partial || undefined },
    { name: 'block-opener', what: 'the keyword that opens its block', gold: opener, reversible: false, partial: partial || undefined },
  ];
  return { relations, tokenSyntax, partial };
}
