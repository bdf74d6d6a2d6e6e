// Code relations from a tree-sitter parse, each as gold edges per token (types.ts):
// - ast-parent: a token → the first token of the smallest enclosing node that starts before it;
// - bracket-pair: a closing bracket or quote → its opener, as the parse pairs them;
// - def-use: an identifier → its previous occurrence visible from it (same scope or an enclosing one);
// - block-opener: a token inside a block → the keyword that opens that block (`def`, `if`, `for`, …).
// Dependents are leading tokens (align.ts) inside the explained text; the document around it is parsed
// too, so a selection that cuts a function in half still sees the function. Nodes inside ERROR regions
// or MISSING nodes give no edges; the relations are then flagged partial.
import type * as TS from '@vscode/tree-sitter-wasm';
import type { Token } from '../../engine/types';
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
 * An ERROR or MISSING node on the path from `node` up to `top` (inclusive): the parse guessed between the
 * two ends of the edge. Tree-sitter often wraps a whole file in an ERROR around one mistake, so only the
 * path that makes the edge counts, not every ancestor.
 */
function broken(node: Node | null, top: Node | null): boolean {
  for (let p = node; p; p = p.parent) {
    if (p.isError || p.isMissing) return true;
    if (top && p.id === top.id) break;
  }
  return false;
}

/** The keyword opening a block: the block's parent's first child when it is an anonymous keyword. */
function openerOf(block: Node): Node | null {
  const parent = block.parent;
  if (!parent) return null;
  for (const c of parent.children) {
    if (!c) continue;
    if (c.startIndex >= block.startIndex) break;
    if (!c.isNamed && KEYWORD.test(c.type)) return c;
    if (c.isNamed && c.type !== 'decorator' && c.type !== 'comment') return null;
  }
  return null;
}

/**
 * Relations of `tokens` (spans into the explained text) from `root`, the parse of a document in which the
 * explained text starts at UTF-16 offset `offset`.
 */
export function codeRelations(root: Node, tokens: Token[], offset: number, family: 'python' | 'js'): CodeSyntax {
  const n = tokens.length;
  const al = alignTokens(tokens);
  const tokenOf = (docPos: number): number => al.tokenAt(docPos - offset);
  const parent = new Int32Array(n).fill(-1);
  const bracket = new Int32Array(n).fill(-1);
  const defUse = new Int32Array(n).fill(-1);
  const opener = new Int32Array(n).fill(-1);
  const tokenSyntax: (string | null)[] = new Array<string | null>(n).fill(null);
  let partial = root.hasError;
  const dropped = { parent: false, bracket: false, defUse: false, opener: false };

  // Per token: its leaf, its parent, its block opener.
  for (let i = 0; i < n; i++) {
    const a = al.anchor[i];
    if (a < 0) continue;
    const D = a + offset;
    const leaf = root.descendantForIndex(D, D + 1);
    if (!leaf) continue;
    const up = leaf.parent;
    tokenSyntax[i] = leaf.isNamed || !up ? leaf.type : `${leaf.type} in ${up.type}`;
    if (!al.leads[i]) continue;
    if (leaf.startIndex === D) {
      let p: Node | null = leaf;
      while (p && p.startIndex >= D) p = p.parent;
      if (p) {
        if (broken(leaf, p)) dropped.parent = true;
        else {
          const g = tokenOf(p.startIndex);
          if (g >= 0 && g !== i) parent[i] = g;
        }
      }
    }
    // Block opener: for tokens that begin a leaf (the later pieces of a split identifier are not counted twice).
    for (let p: Node | null = leaf.startIndex === D ? leaf : null; p; p = p.parent) {
      if (!BLOCKS.has(p.type)) continue;
      const kw = openerOf(p);
      if (!kw) break;
      if (broken(leaf, p) || kw.isMissing) { dropped.opener = true; break; }
      const g = tokenOf(kw.startIndex);
      if (g >= 0 && g !== i) opener[i] = g;
      break;
    }
  }

  // One walk over the nodes overlapping the explained text: closing brackets and identifiers. A token holding
  // several closers (`])`) keeps the last one visited, the outermost pair.
  const from = offset, to = offset + al.length;
  const seen = new Map<string, { node: Node; token: number; scopes: Set<number> }[]>();
  const scopeChain = (node: Node): Set<number> => {
    const s = new Set<number>();
    for (let p = node.parent; p; p = p.parent) if (SCOPES[family].has(p.type)) s.add(p.id);
    return s;
  };
  const nearestScope = (node: Node): number => {
    for (let p = node.parent; p; p = p.parent) if (SCOPES[family].has(p.type)) return p.id;
    return -1;
  };
  const visit = (node: Node): void => {
    if (node.endIndex <= from || node.startIndex >= to) return;
    const t = node.type;
    if (!node.isNamed && (t in CLOSER_OF || QUOTES.has(t)) || t === 'string_end') {
      const par = node.parent;
      if (par) {
        const want = CLOSER_OF[t] ?? t;
        let open: Node | null = null;
        const kids = par.children;
        for (const c of kids) {
          if (!c || c.startIndex >= node.startIndex) break;
          if (c.type === want) open = c;
        }
        // Quotes pair only as a string's first and last child.
        if (QUOTES.has(t) && (kids[0]?.type !== t || kids[kids.length - 1]?.id !== node.id || kids[0]?.id === node.id)) open = null;
        if (open && CLOSER_OF[t] && want !== 'string_start') {
          // The innermost unclosed opener of that type before it among the siblings.
          open = null;
          let depth = 0;
          for (let k = kids.length - 1; k >= 0; k--) {
            const c = kids[k];
            if (!c || c.startIndex >= node.startIndex) continue;
            if (c.type === t) depth++;
            else if (c.type === want) { if (depth === 0) { open = c; break; } depth--; }
          }
        }
        if (open) {
          if (node.isMissing || open.isMissing || par.isError) dropped.bracket = true;
          else {
            const d = tokenOf(node.startIndex), g = tokenOf(open.startIndex);
            if (d >= 0 && g >= 0 && g < d) bracket[d] = g;
          }
        }
      }
    }
    if (IDENTIFIERS.has(t) && !(family === 'python' && node.parent?.type === 'attribute' && node.parent.childForFieldName('attribute')?.id === node.id)) {
      const name = node.text;
      const d = tokenOf(node.startIndex);
      if (d >= 0) {
        const list = seen.get(name) ?? [];
        const mine = scopeChain(node);
        const here = nearestScope(node);
        for (let k = list.length - 1; k >= 0; k--) {
          const prev = list[k];
          // Visible from here: the previous occurrence's scope is this one or encloses it.
          const ps = nearestScope(prev.node);
          if (ps === here || mine.has(ps)) {
            if (node.parent?.isError || prev.node.parent?.isError) dropped.defUse = true;
            else if (prev.token !== d) defUse[d] = prev.token;
            break;
          }
        }
        list.push({ node, token: d, scopes: mine });
        seen.set(name, list);
      }
    }
    for (const c of node.children) if (c) visit(c);
  };
  visit(root);

  partial = partial || dropped.parent || dropped.bracket || dropped.defUse || dropped.opener;
  const relations: Relation[] = [
    { name: 'ast-parent', what: 'the first token of its AST parent', gold: parent, reversible: false, partial: partial || undefined },
    { name: 'bracket-pair', what: 'the opening bracket or quote the parse pairs it with', gold: bracket, reversible: false, partial: partial || undefined },
    { name: 'def-use', what: 'the previous occurrence of the same identifier in scope', gold: defUse, reversible: false, partial: partial || undefined },
    { name: 'block-opener', what: 'the keyword that opens its block', gold: opener, reversible: false, partial: partial || undefined },
  ];
  return { relations, tokenSyntax, partial };
}
