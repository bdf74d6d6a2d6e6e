// English prose: word classes from wink-nlp's English model (Universal POS tags), then only the relations
// a tagger alone gives reliably — short-range pairs inside a noun phrase — and two target sets:
// - determiner-noun: a determiner → the head noun of its noun phrase (the last noun of the first run of
//   nouns after it, skipping adjectives, adverbs and numbers: `the [long] [brown] river bank` → `bank`);
// - adjective-noun: an adjective → the head noun it modifies, by the same run;
// - keyword: content words (NOUN, PROPN, VERB, ADJ, ADV) against function words;
// - sentiment: words of the AFINN-165 lexicon (the `sentiment` package's English labels) with a non-zero score.
// Words are aligned to tokens by character (align.ts): a word is its first token.
import type { Token } from '../../core/attention';
import { alignTokens } from './align';
import type { MassTarget, Relation } from './types';

export interface Word {
  start: number;
  end: number;
  text: string;
  pos: string;
}

interface Tagger {
  tag(text: string): Word[];
}
let tagger: Tagger | undefined;
let lexicon: Record<string, number> | undefined;

/** wink-nlp with its English lite model, loaded on first use (≈ 80 ms), then kept. */
export function englishTagger(): Tagger {
  if (tagger) return tagger;
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded on first prose (≈ 80 ms), not with the extension */
  const winkNLP = require('wink-nlp') as (model: unknown, pipe?: string[]) => WinkNlp;
  const model = require('wink-eng-lite-web-model') as unknown;
  /* eslint-enable @typescript-eslint/no-require-imports */
  const nlp = winkNLP(model, ['sbd', 'pos']);
  const its = nlp.its;
  tagger = {
    tag(text: string): Word[] {
      const doc = nlp.readDoc(text);
      const toks = doc.tokens();
      const values = toks.out() as string[];
      const pos = toks.out(its.pos) as string[];
      const spaces = toks.out(its.precedingSpaces) as string[];
      // wink keeps every character: each token's value follows its preceding whitespace.
      const words: Word[] = [];
      let at = 0;
      for (let k = 0; k < values.length; k++) {
        at += spaces[k].length;
        const v = values[k];
        const found = text.startsWith(v, at) ? at : text.indexOf(v, at);
        if (found < 0) continue; // a value wink normalised: skip the word rather than misplace it
        words.push({ start: found, end: found + v.length, text: v, pos: pos[k] });
        at = found + v.length;
      }
      return words;
    },
  };
  return tagger;
}

interface WinkNlp {
  its: { pos: unknown; precedingSpaces: unknown };
  readDoc(text: string): { tokens(): { out(f?: unknown): unknown } };
}

/** AFINN-165 word → valence (−5 … 5), from the `sentiment` package. */
export function afinn(): Record<string, number> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the lexicon is loaded on first use
  lexicon ??= require('sentiment/languages/en/labels.json') as Record<string, number>;
  return lexicon;
}

const NOUNS = new Set(['NOUN', 'PROPN']);
const CONTENT = new Set(['NOUN', 'PROPN', 'VERB', 'ADJ', 'ADV']);
/** Inside a noun phrase between a determiner/adjective and its noun. */
const MODIFIERS = new Set(['ADJ', 'ADV', 'NUM']);

export interface ProseSyntax {
  relations: Relation[];
  masses: MassTarget[];
  tokenSyntax: (string | null)[];
}

/** The head noun after word k: the last noun of the first run of nouns, past modifiers (and a CCONJ between adjectives); −1 if none. */
function headNounAfter(words: Word[], k: number): number {
  let j = k + 1;
  while (
    j < words.length &&
    (MODIFIERS.has(words[j].pos) ||
      (words[j].pos === 'CCONJ' && j + 1 < words.length && words[j + 1].pos === 'ADJ') ||
      (words[j].pos === 'PUNCT' && words[j].text === ',' && j + 1 < words.length && words[j + 1].pos === 'ADJ'))
  )
    j++;
  if (j >= words.length || !NOUNS.has(words[j].pos)) return -1;
  while (j + 1 < words.length && NOUNS.has(words[j + 1].pos)) j++;
  return j;
}

/** Relations and target sets of `tokens` over `text` (the explained text the spans index). */
export function proseRelations(text: string, tokens: Token[], words: Word[] = englishTagger().tag(text)): ProseSyntax {
  const n = tokens.length;
  const al = alignTokens(tokens);
  const det = new Int32Array(n).fill(-1);
  const adj = new Int32Array(n).fill(-1);
  const keyword = new Uint8Array(n);
  const sentiment = new Uint8Array(n);
  const tokenSyntax: (string | null)[] = new Array<string | null>(n).fill(null);
  const lex = afinn();
  const firstToken = words.map((w) => al.tokenAt(w.start));
  words.forEach((w, k) => {
    // Every token a word covers gets its class; the sets mark every piece (attention to any piece of the word counts).
    for (let c = w.start; c < w.end; c++) {
      const t = al.tokenAt(c);
      if (t < 0) continue;
      tokenSyntax[t] ??= w.pos;
      if (CONTENT.has(w.pos)) keyword[t] = 1;
      if ((lex[w.text.toLowerCase()] ?? 0) !== 0) sentiment[t] = 1;
    }
    const d = firstToken[k];
    if (d < 0 || !al.leads[d]) return;
    if (w.pos === 'DET' || w.pos === 'ADJ') {
      const h = headNounAfter(words, k);
      const g = h >= 0 ? firstToken[h] : -1;
      if (g >= 0 && g !== d) (w.pos === 'DET' ? det : adj)[d] = g;
    }
  });
  return {
    relations: [
      { name: 'determiner-noun', what: 'the noun it belongs to', whatBack: 'its determiner', gold: det, reversible: true },
      { name: 'adjective-noun', what: 'the noun it modifies', whatBack: 'the (nearest) adjective modifying it', gold: adj, reversible: true },
    ],
    masses: [
      { name: 'keyword', what: 'content words (nouns, verbs, adjectives, adverbs)', target: keyword },
      { name: 'sentiment', what: 'sentiment words (AFINN-165)', target: sentiment },
    ],
    tokenSyntax,
  };
}
