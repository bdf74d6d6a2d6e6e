// Decision constants for the roles. Every score is chance-corrected (0 = what a uniform head
// over the same visible keys gives, 1 = everything on the target), so one threshold means the
// same thing at 10 tokens and at 1,000.

/**
 * Mass roles (previous-token, first-token-sink, self, local, duplicate-token, induction,
 * punctuation, bracket-matching): the head must put at least half of the attention that chance
 * would spread elsewhere onto the target. Random Dirichlet heads of any concentration stay well
 * below it (test/unit/analysis/falsePositives.test.ts); planted heads with 0.8 on the target and
 * noise land at ~0.75.
 */
export const MASS_THRESHOLD = 0.5;

/**
 * Induction and duplicate-token measured on the repeat probe (T random ordinary tokens, then the same
 * again): the target is one key among the 2T + 1 a second-copy query sees, so a uniform head puts
 * 1/(T + 1 … 2T + 1) ≈ 1–3% there and chance-corrected 0.3 is already 10–30× chance, on T ≥ 8 rows
 * of a test built to have exactly one right answer. 0.3 is also the convention of the model cards
 * (planted, headlight-mini: induction and duplicate-token ≥ 0.3 on the probe) and of the answer-key
 * rule (test/fixtures/answer-key), written from the literature rather than from this code. Random-weight
 * exports of every family stay far below it (test/unit/session/randomProbe.test.ts). On the user's text,
 * where targets are fewer and noisier, the same roles keep MASS_THRESHOLD.
 */
export const PROBE_THRESHOLD = 0.3;

/**
 * Positional (Voita et al. 2019): argmax at one relative offset for ≥ 90% of queries. We apply 0.9
 * to the chance-corrected fraction, slightly stricter than the paper's raw 90%.
 */
export const POSITIONAL_THRESHOLD = 0.9;

/**
 * Broad: mean normalised row entropy ≥ 0.9. A uniform head scores 1. A Dirichlet(α) random head
 * scores ≈ 1 − c(α)/log m: α ≥ 3 clears 0.9 at ~30+ keys (its attention really is spread over
 * everything, so we call it broad); α ≤ 0.3 never does. A planted head with 0.8 on one key scores ~0.3.
 */
export const BROAD_THRESHOLD = 0.9;

/**
 * Local: besides the window mass, no single offset may carry more than this share of the
 * window's mass — otherwise it is a previous-token, self or positional head, not a local one.
 */
export const LOCAL_MAX_OFFSET_SHARE = 0.6;

/**
 * Positional explained by a repeat: when at least this share of a positional head's argmax hits land on the
 * targets of a duplicate-token, induction or bracket-matching role the text awards, the fixed offset is where
 * those targets happen to sit (a repeated sequence puts them at −T, −T+1), not a preference for the offset.
 * 0.5: the repeat explains the hits more often than not.
 */
export const POSITIONAL_REPEAT_SHARE = 0.5;

/** Fewer eligible query rows than this and a mass role is "not measurable": 1–3 rows are anecdotes. */
export const MIN_ROWS = 4;

/**
 * Positional needs more rows: with few rows a random argmax can line up by luck
 * (P ≈ (1/m)^rows); 8 rows make that negligible.
 */
export const MIN_POSITIONAL_ROWS = 8;

/**
 * Sink-aware roles (sinkAware.ts): a head that parks most of its attention on a sink gets a content role
 * from the rest of each row only when that rest is at least this share of each row on average. Below
 * it, renormalising would magnify a sliver of attention (×10 at 0.1) into a "pattern" that does little;
 * at 0.1 and above the planted sink mixtures of test/unit/analysis/sinkMixtures.test.ts are all named
 * and noise on the rest never is.
 */
export const MIN_REST_MASS = 0.1;

/**
 * Slack on MIN_REST_MASS for float32 rounding: a row built to keep exactly 0.1 off the sinks sums to
 * 0.1 ± a few ulps in float32, and must count as keeping 0.1. 1e-4 is far above that rounding and far
 * below any difference the threshold is meant to draw.
 */
export const REST_MASS_ROUNDING = 1e-4;

/**
 * Relation roles (syntax: ast-parent, bracket-pair, def-use, block-opener, determiner-noun,
 * adjective-noun), scored as Clark et al. 2019 score BERT's heads: accuracy = the share of a relation's
 * dependents whose most-attended (non-sink) key is the gold token. 0.5: the head's choice is the gold
 * token more often than everything else put together — Clark et al.'s best heads reach 0.8–0.95, and a
 * random head's argmax is right about once in m visible keys (< 0.1 beyond the first few tokens).
 */
export const RELATION_ACCURACY = 0.5;

/**
 * …and it must beat the relation's fixed-offset baseline (the best single relative position for the
 * same dependents: Clark et al.'s baseline) by this margin. Parents and nouns are often adjacent: a
 * previous-token head scores exactly the baseline's offset −1 share on them, so it can never pass, and a
 * head that does pass follows the relation where the relation is not a fixed offset. 0.10 is an absolute
 * margin of one dependent in ten, above the noise of a fixed offset's share on a few dozen dependents.
 */
export const RELATION_MARGIN = 0.1;

/**
 * Fewer dependents than this and a relation role is "not measurable": at 8 dependents a random argmax
 * over ≥ 10 keys reaches 0.5 with probability < 0.5% (binomial, p = 0.1), and 8 is the positional role's
 * minimum too (MIN_POSITIONAL_ROWS).
 */
export const MIN_RELATION_DEPENDENTS = 8;
