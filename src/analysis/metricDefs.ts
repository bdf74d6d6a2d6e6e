// One-line definitions of every metric, for the UI tooltip and the README.
// Sources: the papers cited in each definition below (and in the README, "Metrics and roles").
import type { MetricKey } from './types';

export interface MetricDef {
  key: MetricKey;
  label: string;
  definition: string;
}

export const METRICS: readonly MetricDef[] = [
  {
    key: 'entropy',
    label: 'Entropy (normalised)',
    definition:
      'Entropy of each query row divided by log(number of visible keys), averaged over queries with ≥ 2 visible keys: 0 = one key, 1 = uniform (Clark et al. 2019).',
  },
  {
    key: 'distance',
    label: 'Mean distance (tokens)',
    definition: 'Σ_j a_ij·|i − j| averaged over queries: how many tokens away the attention lands (Vig & Belinkov 2019).',
  },
  {
    key: 'charDistance',
    label: 'Mean distance (characters)',
    definition:
      'Like mean distance, in characters between token starts; special tokens skipped on both sides and each row renormalised over the non-special keys.',
  },
  { key: 'sink', label: 'First-token mass', definition: '(1/n) Σ_i a_i0: share of attention on the first token, the usual attention sink (Xiao et al. 2023).' },
  { key: 'self', label: 'Self mass', definition: '(1/n) Σ_i a_ii: share of attention a token pays to itself.' },
  {
    key: 'previous',
    label: 'Previous-token mass',
    definition: '(1/n) Σ_{i≥1} a_i,i−1: share of attention on the token just before (row 0 has none and counts as 0).',
  },
  {
    key: 'punctuation',
    label: 'Punctuation mass',
    definition:
      'Share of attention on punctuation/separator tokens (all-punctuation tokens, line breaks, special tokens after the first), averaged over queries.',
  },
  {
    key: 'duplicate',
    label: 'Duplicate-token mass',
    definition: 'Over queries whose token id occurred earlier: attention on those earlier copies, averaged. Undefined when nothing repeats.',
  },
  {
    key: 'induction',
    label: 'Induction mass',
    definition: 'Over queries whose token id occurred earlier: attention on the token right after each earlier copy, averaged. Undefined when nothing repeats.',
  },
  { key: 'maxWeight', label: 'Max weight', definition: 'The largest weight of each query row, averaged over queries.' },
  { key: 'topK', label: 'Top-k concentration', definition: 'Mass of the k largest weights of each row (k = 3 unless set), averaged over queries.' },
  {
    key: 'tlPrevious',
    label: 'Previous-token score (TransformerLens)',
    definition: 'TransformerLens detect_head "previous_token_head": Σ(A ⊙ P)/Σ A with P[i, i−1] = 1, no exclusions.',
  },
  {
    key: 'tlDuplicate',
    label: 'Duplicate-token score (TransformerLens)',
    definition: 'TransformerLens detect_head "duplicate_token_head": Σ(A ⊙ P)/Σ A with P[i, j] = 1 where j < i and token_j = token_i.',
  },
  {
    key: 'tlInduction',
    label: 'Induction score (TransformerLens)',
    definition: 'TransformerLens detect_head "induction_head": Σ(A ⊙ P)/Σ A with P[i, j] = 1 where j ≤ i and token_{j−1} = token_i.',
  },
  {
    key: 'probeInduction',
    label: 'Induction (repeat probe)',
    definition: 'On random tokens r_1..r_T repeated twice: mean over second-copy queries i of A[i, i − T + 1] (Olsson et al. 2022).',
  },
  {
    key: 'probeDuplicate',
    label: 'Duplicate (repeat probe)',
    definition: 'On the repeat probe: mean over second-copy queries i of A[i, i − T], the earlier copy of the same token.',
  },
  {
    key: 'probePrevious',
    label: 'Previous-token (repeat probe)',
    definition: 'TransformerLens previous-token score Σ(A ⊙ P)/Σ A measured on the repeat probe.',
  },
];
