// The role targets the planted-head tests write attention onto: for query i with m visible keys, the
// keys a head with that role attends to (from the text's own repeat, punctuation and bracket lists).
import { LOCAL_WINDOW, type TextContext } from '../../../../src/analysis';

export interface Plant {
  role: string;
  targets: (i: number, m: number) => number[];
}

const list = (T: { start: Int32Array; idx: Int32Array }, i: number): number[] => Array.from(T.idx.subarray(T.start[i], T.start[i + 1]));

/** One plant per role (positional at −2 causal, +1 bidirectional), in the order the tests expect them. */
export function rolePlants(ctx: TextContext): Plant[] {
  const { causal } = ctx;
  return [
    { role: 'previous-token', targets: (i) => [i - 1] },
    { role: 'first-token-sink', targets: () => [0] },
    { role: 'self', targets: (i) => [i] },
    { role: 'positional', targets: (i) => [causal ? i - 2 : i + 1] },
    { role: 'local', targets: (i, m) => Array.from({ length: 2 * LOCAL_WINDOW + 1 }, (_, k) => i - LOCAL_WINDOW + k).filter((j) => j >= 0 && j < m) },
    { role: 'duplicate-token', targets: (i) => list(ctx.dup, i) },
    { role: 'induction', targets: (i) => list(ctx.ind, i) },
    { role: 'punctuation', targets: (_i, m) => Array.from({ length: m }, (_, j) => j).filter((j) => ctx.punct[j] === 1) },
    { role: 'bracket-matching', targets: (i) => list(ctx.brackets, i) },
  ];
}

/** How many queries of the text have a bracket target (a short text may hold too few to measure). */
export function bracketRows(ctx: TextContext): number {
  let c = 0;
  for (let i = 0; i < ctx.n; i++) if (ctx.brackets.start[i + 1] > ctx.brackets.start[i]) c++;
  return c;
}
