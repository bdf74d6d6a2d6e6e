// Which ids the model-level repeat probe may draw, and how it starts. One rule for every model,
// bundled or not: a probe of ids the model never saw in training under-scores its induction heads
// (measured: 0.93 on printable bytes vs 0.41 on uniformly drawn byte ids), so the probe draws only
// ordinary tokens — what the tokenizer makes of ordinary text.
import { mulberry32, randInt } from '../core/prng';
import type { LoadedTokenizer } from './tokenize';

/** Longest probe half (random tokens r_1..r_T, then the same again), as in the literature's 50–60-token probes. */
export const PROBE_MAX_T = 64;
/** Below this a second copy has too few queries to tell induction from chance: roles are "not measurable". */
export const PROBE_MIN_T = 8;

/** Control, format, surrogate, private-use and unassigned characters, and U+FFFD (a lone or broken UTF-8 byte). */
const NOT_TEXT = /[\p{C}\uFFFD]/u;

/** Why a candidate id was not ordinary (counted in the plan, shown in the evidence). */
export type Rejection = 'special' | 'not-printable' | 'not-produced';

/**
 * The rule on one id's decoded text and the ids the tokenizer makes of that text:
 * - printable: non-empty, not only whitespace, no control/format/unassigned characters and no U+FFFD
 *   (byte tokens of control bytes, lone UTF-8 continuation bytes, byte-fallback `<0x0A>`);
 * - produced: encoding the text (no template) gives exactly [id] — so the id is what text becomes, not a
 *   reserved, unused or unreachable entry (BERT's `[unused5]` encodes to four other ids).
 */
export function classifyDecoded(id: number, decoded: string, reencoded: ArrayLike<number>): Rejection | undefined {
  if (decoded.trim() === '' || NOT_TEXT.test(decoded)) return 'not-printable';
  if (reencoded.length !== 1 || reencoded[0] !== id) return 'not-produced';
  return undefined;
}

/** BOS-like special tokens by name, in order of preference when the tokenizer's template adds none. */
const BOS_NAMES = ['<|begin_of_text|>', '<s>', '<bos>', '<BOS>', '<|bos|>', '[BOS]', '<|startoftext|>'];
/** GPT-2, GPT-Neo, Pythia, Qwen: one `<|endoftext|>` is BOS and EOS; TransformerLens prepends it. */
const EOS_AS_BOS = ['<|endoftext|>'];

export interface ProbeBos {
  id: number;
  text: string;
  /** 'template': the tokenizer's own template adds it; 'convention': the family's convention (GPT-2's `<|endoftext|>`). */
  from: 'template' | 'convention';
}

/** The BOS a text from this tokenizer starts with, or the one its family conventionally prepends; none for models without. */
export async function probeBos(tok: LoadedTokenizer): Promise<ProbeBos | undefined> {
  const enc = await tok.tokenizer.encode('a');
  const ids = enc.getIds(),
    special = enc.getSpecialTokensMask(),
    names = enc.getTokens();
  if (ids.length > 0 && special[0] === 1) return { id: ids[0], text: names[0], from: 'template' };
  const specials = [...tok.added].filter(([, a]) => a.special);
  for (const name of [...BOS_NAMES, ...EOS_AS_BOS]) {
    const hit = specials.find(([, a]) => a.content === name);
    if (hit) return { id: hit[0], text: name, from: 'convention' };
  }
  return undefined;
}

export interface OrdinaryDraw {
  /** Distinct ordinary ids in draw order (fewer than asked only when the vocabulary has no more). */
  ids: number[];
  /** Candidates examined, and why the rejected ones were. */
  checked: number;
  rejected: Record<Rejection, number>;
}

/**
 * Draw `count` distinct ordinary ids below `limit` with a seeded PRNG: candidates are drawn uniformly,
 * checked in batches (decode, re-encode) and kept in draw order when they pass `classifyDecoded` and are
 * not added/special/unknown tokens. Deterministic for a tokenizer, limit and seed.
 */
export async function drawOrdinary(tok: LoadedTokenizer, limit: number, count: number, seed: number): Promise<OrdinaryDraw> {
  const rng = mulberry32(seed);
  const seen = new Set<number>();
  const out: OrdinaryDraw = { ids: [], checked: 0, rejected: { special: 0, 'not-printable': 0, 'not-produced': 0 } };
  const batch = Math.max(32, 2 * count);
  while (out.ids.length < count && seen.size < limit) {
    const cands: number[] = [];
    // Rejection-free draw of unseen ids: once most are seen, fall back to a scan so this always ends.
    for (let tries = 0; cands.length < batch && seen.size < limit; tries++) {
      let id = randInt(rng, limit);
      if (seen.has(id)) {
        if (tries < 8 * batch) continue;
        id = 0;
        while (seen.has(id)) id++;
      }
      seen.add(id);
      cands.push(id);
    }
    const plain = cands.filter((id) => !tok.added.has(id) && id !== tok.unkId);
    const decoded = await tok.tokenizer.decodeBatch(
      plain.map((id) => [id]),
      false,
    );
    const encs = await Promise.all(decoded.map((d) => (d.trim() === '' ? undefined : tok.tokenizer.encode(d, undefined, { addSpecialTokens: false }))));
    const verdict = new Map<number, Rejection | undefined>();
    plain.forEach((id, k) => verdict.set(id, classifyDecoded(id, decoded[k], encs[k]?.getIds() ?? [])));
    for (const id of cands) {
      if (out.ids.length >= count) break;
      out.checked++;
      const why = verdict.has(id) ? verdict.get(id) : 'special';
      if (why) out.rejected[why]++;
      else out.ids.push(id);
    }
  }
  return out;
}

/** Probe half-length for a model with `positions` rows (undefined: no table) and `bos` 0 or 1 prepended tokens. */
export function probeLength(positions: number | undefined, bos: number): number {
  const room = positions === undefined ? Infinity : Math.floor((positions - bos) / 2);
  return Math.min(PROBE_MAX_T, room);
}

export interface ProbePlan {
  /** [BOS?] r_1..r_T r_1..r_T; empty when `reason` says the probe cannot be measured. */
  ids: number[];
  T: number;
  bos?: ProbeBos;
  /** The model's position limit, when the graph has a position table. */
  positions?: number;
  /** The ordinary ids drawn, with the candidates checked. */
  draw: OrdinaryDraw;
  /** Set when the model-level roles cannot be measured on this model (too few positions or ordinary ids). */
  reason?: string;
}

/** The whole plan: BOS by the family's convention, T that fits the positions, r of ordinary ids. */
export async function planProbe(tok: LoadedTokenizer, vocabRows: number | undefined, positions: number | undefined, seed: number): Promise<ProbePlan> {
  const bos = await probeBos(tok);
  const b = bos ? 1 : 0;
  let T = probeLength(positions, b);
  // Draw only below the tokenizer's own vocabulary: embedding rows past it are padding nobody trained.
  const limit = Math.min(tok.tokenizer.getVocabSize(false), tok.idLimit, vocabRows ?? Infinity);
  const draw =
    T >= PROBE_MIN_T ? await drawOrdinary(tok, limit, T, seed) : { ids: [], checked: 0, rejected: { special: 0, 'not-printable': 0, 'not-produced': 0 } };
  let reason: string | undefined;
  if (T < PROBE_MIN_T) {
    reason = `the model has ${positions} positions: room for a ${T}-token repeat, and induction needs at least ${PROBE_MIN_T}`;
  } else if (draw.ids.length < PROBE_MIN_T) {
    reason = `the tokenizer has only ${draw.ids.length} ordinary tokens (of ${draw.checked} checked), and the probe needs at least ${PROBE_MIN_T}`;
  }
  if (reason) return { ids: [], T: 0, bos, positions, draw, reason };
  T = Math.min(T, draw.ids.length);
  const r = draw.ids.slice(0, T);
  return { ids: [...(bos ? [bos.id] : []), ...r, ...r], T, bos, positions, draw };
}
