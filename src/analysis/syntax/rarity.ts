// Rarity of a token for the rare-token role (Voita et al. 2019: a head whose argmax is the rarest token
// of the sentence). Voita et al. ranked tokens by their frequency in the training data; Headlight has no
// training corpus for a user's model, so it uses what the tokenizer already knows: its ids. Byte-level BPE
// (GPT-2 and the models trained like it, headlight-mini) and Hugging Face's WordPiece trainer (tiny-bert,
// BERT) number their vocabulary in merge order, and merges are made greedily from the most frequent pair
// down, so a larger id is a token the tokenizer's corpus had fewer of: rank = id. Known limits: the first
// ids are the alphabet or the 256 bytes (rare single characters count as frequent), and hand-ordered
// vocabularies (SentencePiece by score, added tokens) follow the rule less well. Special tokens take no part.
import type { Token } from '../../core/attention';

export function rarityById(tokens: Token[]): Float64Array {
  const r = new Float64Array(tokens.length);
  tokens.forEach((t, i) => {
    r[i] = t.special || t.start < 0 ? NaN : t.id;
  });
  return r;
}
