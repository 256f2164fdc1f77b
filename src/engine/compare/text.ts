/**
 * Text normalization and tokenization shared by the comparison metrics. Normalization follows the
 * SQuAD evaluation script (lowercase, drop punctuation, drop English articles, fix whitespace),
 * widened to Unicode so that outputs in any script compare sensibly.
 */

// Punctuation and symbols are deleted, not replaced by a space, as the SQuAD script does ("don't" → "dont").
const PUNCTUATION_OR_SYMBOL = /[\p{P}\p{S}]/gu;
// JavaScript's \s already covers U+00A0, U+2000–U+200A, U+3000 and the line terminators.
const WHITESPACE_RUN = /\s+/gu;
const ARTICLES: ReadonlySet<string> = new Set(['a', 'an', 'the']);

// Scripts written without spaces between words: each character is a token of its own. Script_Extensions
// (not Script) so that marks shared by hiragana and katakana, such as the long-vowel mark ー, count too.
const CJK_CHARACTER = String.raw`\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}\p{scx=Hangul}`;
const TOKEN = new RegExp(`[${CJK_CHARACTER}]|[^\\s${CJK_CHARACTER}]+`, 'gu');

/**
 * Normalization for "normalized exact match": Unicode NFKC, then `toLowerCase()` (locale-independent),
 * then delete every \p{P} and \p{S} character, drop the whole words "a", "an", "the", and collapse
 * whitespace runs (\s, including U+00A0) to one space, trimmed.
 */
export function normalizeText(s: string): string {
  const cleaned = s.normalize('NFKC').toLowerCase().replace(PUNCTUATION_OR_SYMBOL, '');
  // Articles are removed by comparing whole whitespace-separated words, not with a regex \b, because
  // JavaScript's \b is ASCII-only and would cut the "a" off "año".
  return cleaned
    .split(WHITESPACE_RUN)
    .filter((word) => word !== '' && !ARTICLES.has(word))
    .join(' ');
}

/**
 * The lighter normalization used where `normalizeText` leaves nothing (answers like "A", "The", "?", "🙂"):
 * NFKC, lower case, white space collapsed and trimmed, one trailing run of . ! 。 removed when text remains.
 */
export function normalizeLightly(s: string): string {
  const collapsed = s.normalize('NFKC').toLowerCase().replace(WHITESPACE_RUN, ' ').trim();
  const stripped = collapsed.replace(/[.!。]+$/u, '').trimEnd();
  return stripped || collapsed;
}

/**
 * Tokens of `normalizeText(s)`: every Han, hiragana, katakana or hangul character (by Script_Extensions)
 * is one token; the other characters form tokens split on whitespace ("abc中文" → ["abc", "中", "文"]).
 */
export function wordTokens(s: string): string[] {
  return normalizeText(s).match(TOKEN) ?? [];
}
