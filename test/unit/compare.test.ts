/** Text normalization, per-item metrics and the statistics of the comparison, against hand-derived values. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeText, wordTokens } from '../../src/engine/compare/text';
import {
  METRICS,
  chrF,
  exactMatch,
  labelAccuracy,
  labelDistribution,
  matchLabel,
  rougeL,
  rougeTokens,
  sentenceBleu,
  tokenize13a,
  tokenF1,
  totalVariationDistance,
} from '../../src/engine/compare/metrics';
import {
  binomialCdf,
  binomialUpperTail,
  bootstrapInterval,
  clopperPearsonBounds,
  hoeffdingHalfWidth,
  holmAdjust,
  mcnemar,
  mcnemarOneSided,
  mean,
  normalQuantile,
  pairedBootstrap,
  perplexity,
  wilsonInterval,
} from '../../src/engine/compare/statistics';

function assertClose(actual: number, expected: number, tolerance = 1e-12, message?: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, message ?? `expected ${expected} ± ${tolerance}, got ${actual}`);
}

// ---------------------------------------------------------------------------------------------- text

test('normalizeText: NFKC, lowercase, punctuation and symbols deleted, articles dropped, whitespace collapsed', () => {
  // "The" and "an" are articles; "," "!" "$" are \p{P}/\p{S}; U+00A0 and the double space collapse to one space.
  assert.equal(normalizeText('  The  Quick,\u00a0an  Apple! $5 '), 'quick apple 5');
  // NFKC folds the ﬁ ligature and full-width letters; punctuation is deleted, not spaced, as in SQuAD.
  assert.equal(normalizeText('ﬁne ＡＢＣ don\'t'), 'fine abc dont');
  // Articles go only as whole words: "año" keeps its "a", "theory" and "another" are untouched.
  assert.equal(normalizeText('Año theory another a'), 'año theory another');
  assert.equal(normalizeText('¿?!…'), '');
});

test('wordTokens: CJK ideographs, kana and hangul syllables are one token each, other runs split on whitespace', () => {
  assert.deepEqual(wordTokens('abc中文def'), ['abc', '中', '文', 'def']);
  // The ideographic comma and full stop are punctuation and disappear.
  assert.deepEqual(wordTokens('我爱猫，真的。'), ['我', '爱', '猫', '真', '的']);
  // ー (U+30FC) is Script=Common but Script_Extensions=Hira/Kana, so it is a token of its own too.
  assert.deepEqual(wordTokens('ラーメン 안녕'), ['ラ', 'ー', 'メ', 'ン', '안', '녕']);
  assert.deepEqual(wordTokens('The cat, the hat.'), ['cat', 'hat']);
  assert.deepEqual(wordTokens(''), []);
});

// ------------------------------------------------------------------------------------------- metrics

test('exactMatch ignores case, punctuation, articles, NBSP and compatibility forms, but not word changes', () => {
  assert.equal(exactMatch('The Cat!', 'cat'), 1);
  assert.equal(exactMatch('a\u00a0black   cat', 'Black cat.'), 1);
  assert.equal(exactMatch('ＣＡＴ', 'cat'), 1);
  assert.equal(exactMatch('cats', 'cat'), 0);
  assert.equal(exactMatch('black cat', 'cat black'), 0);
});

test('tokenF1: "the cat sat" vs "a cat sat down" = 0.8', () => {
  // Tokens [cat, sat] vs [cat, sat, down]: overlap 2, P = 2/2, R = 2/3, F1 = 2·1·(2/3)/(1 + 2/3) = 4/5.
  assertClose(tokenF1('the cat sat', 'a cat sat down'), 0.8);
  // Clipped counts: [cat, cat, cat] vs [cat]: overlap min(3, 1) = 1, P = 1/3, R = 1, F1 = (2/3)/(4/3) = 1/2.
  assertClose(tokenF1('cat cat cat', 'cat'), 0.5);
  assert.equal(tokenF1('', ''), 1);
  assert.equal(tokenF1('the', 'an'), 1); // both normalize to no tokens
  assert.equal(tokenF1('', 'cat'), 0);
  assert.equal(tokenF1('dog', 'cat'), 0);
});

test('tokenF1 on Chinese counts characters', () => {
  // [我 爱 北 京 天 安 门] vs [我 爱 北 京]: overlap 4, P = 4/7, R = 4/4, F1 = 2·(4/7)/(11/7) = 8/11.
  assertClose(tokenF1('我爱北京天安门。', '我爱北京'), 8 / 11);
  // [我 爱 猫] vs [我 爱 狗]: overlap 2, P = R = 2/3, F1 = 2/3. (Without per-character tokens this would be 0.)
  assertClose(tokenF1('我爱猫', '我爱狗'), 2 / 3);
});

test('rougeL is rouge-score\'s RougeScorer([\'rougeL\']) F-measure: lower case, [a-z0-9] tokens, LCS', () => {
  // rouge_scorer_test.py testRougeLConsecutive: target "testing one two", prediction "testing one": P = 1, R = 2/3, F = 4/5.
  assertClose(rougeL('testing one', 'testing one two'), 4 / 5);
  // Lin (2004)'s example, with the article kept (rouge-score drops no word): [police kill the gunman] vs
  // [police killed the gunman]: LCS [police the gunman] = 3, P = R = 3/4; [the gunman kill police]: LCS [the gunman] = 2.
  assertClose(rougeL('police kill the gunman', 'police killed the gunman'), 3 / 4);
  assertClose(rougeL('the gunman kill police', 'police killed the gunman'), 1 / 2);
  // Order matters, unlike token F1: reversed 4 words have LCS 1, P = R = 1/4.
  assertClose(rougeL('one two three four', 'four three two one'), 0.25);
  assert.equal(tokenF1('one two three four', 'four three two one'), 1);
  // rouge_scorer_test.py testRougeLAgainstRouge155, whose numbers come from the original ROUGE-1.5.5 (testdata lines 1
  // and 2): R 0.40741 = 11/27, P 0.68750 = 11/16, F 0.51163 = 22/43; then R 17/42, P 17/26, F 0.5.
  const target0 = "ZfbCUIUuePaiLVUlCaUXxkpu XPeWing tUHfPMuZ',-Xd Y BrUgVJing M-HV.-DgdDaY.rFDJCRing Ht-LM EKBDXkME,yz'RBr q'wtion wIojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxer tKM L";
  const prediction0 = "rFDJCRtion Ht-LM EKtDXkME,yz'RBr q'wer wrojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxi";
  const target1 = "KsJdPByEtAor fE-Qg Dpdbring cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMtion psing sbKao Q m qiing LMmer HqqLFXe,XPY,J XsurkMer ,ed nB'wH'bWVHjWFEing tQ.saefZwJtKrTlixYpMMsJing UCAPwNHeYVjDing c T BUySKtion gMPfJpwGw p'NvxAoping eu pBwMBKV'I DNxqelhu,PHPxDEq,mtion SN";
  const prediction1 = "n cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMer pstion sbKao Q m qier LMmed HqqLFXe,XPY,J XsurkMeo ,ed nB'wH'bWVHjWFEer tQ.saefZwJtKrTlixYpMMNJtion UCAPwNHeYVjD";
  assert.deepEqual([rougeTokens(target0).length, rougeTokens(prediction0).length], [27, 16]);
  assertClose(rougeL(prediction0, target0), 22 / 43);
  assertClose(rougeL(prediction0, target0), 0.51163, 5e-6);
  assertClose(rougeL(prediction1, target1), 0.5);
  // The tokenizer: lower case, anything outside [a-z0-9] is a separator, so accented letters fall out.
  assert.deepEqual(rougeTokens('Café au lait, 2 cups!'), ['caf', 'au', 'lait', '2', 'cups']);
  // Empty on either side (also both) → 0, as rouge-score's _score_lcs; so is text with no ASCII letter or digit.
  assert.equal(rougeL('', ''), 0);
  assert.equal(rougeL('cat', ''), 0);
  assert.equal(rougeL('我爱猫', '我爱猫'), 0);
});

test('chrF is sacreBLEU\'s CHRF() with its defaults: char order 6, β = 2, white space excluded, case kept', () => {
  // "ab" vs "abc", orders 1..6 with beta = 2:
  //   n=1: hyp {a,b} (2), ref {a,b,c} (3), matches 2 → P1 = 1, R1 = 2/3
  //   n=2: hyp {ab} (1), ref {ab,bc} (2), matches 1 → P2 = 1, R2 = 1/2
  //   n≥3: "ab" has no 3-grams → not an effective order.
  //   P = 1, R = (2/3 + 1/2)/2 = 7/12; F2 = 5·P·R/(4P + R) = (35/12)/(55/12) = 7/11.
  assertClose(chrF('ab', 'abc'), 7 / 11);
  // White space is removed before counting (whitespace=False), so "a b" is "ab".
  assertClose(chrF('a b', 'abc'), 7 / 11);
  // sacreBLEU's own tests (test_chrf.py, eps_smoothing=False, beta=3): "aa" vs "ab" = 25.0, "a b c" vs "abc" = 100.
  //   Check "aa"/"ab": n=1 hyp {a:2}, ref {a,b}, matches 1 → P1 = R1 = 1/2; n=2 "aa" vs "ab" → P2 = R2 = 0;
  //   P = R = 1/4; F3 = 10·(1/16)/(9/4 + 1/4) = 1/4.
  assertClose(chrF('aa', 'ab', { beta: 3 }), 0.25);
  assertClose(chrF('a b c', 'abc', { beta: 3 }), 1);
  // order = 1 keeps only unigrams: P1 = 1, R1 = 2/3, F2 = 5·(2/3)/(4 + 2/3) = 5/7.
  assertClose(chrF('ab', 'abc', { order: 1 }), 5 / 7);
  // The defaults are order 6 and β = 2: the same number as asking for them, another with order 7 or β = 1.
  const [hypothesis, reference] = ['the quick brown fox', 'the quick brown dog'];
  assert.equal(chrF(hypothesis, reference), chrF(hypothesis, reference, { order: 6, beta: 2 }));
  assert.notEqual(chrF(hypothesis, reference), chrF(hypothesis, reference, { order: 7, beta: 2 }));
  assert.notEqual(chrF(hypothesis, reference), chrF(hypothesis, reference, { order: 6, beta: 1 }));
  // Case kept (lowercase=False): "A" vs "a" share nothing.
  assert.equal(chrF('A', 'a'), 0);
  // No Unicode normalization: "cafe" + U+0301 (5 characters) vs "café" (4): P_n = 3/5, 1/2, 1/3, 0 and
  // R_n = 3/4, 2/3, 1/2, 0 over 4 effective orders; P = 43/120, R = 23/48, F2 = 5PR/(4P + R) = 4945/11016.
  assertClose(chrF('caf\u0065\u0301', 'caf\u00e9'), 4945 / 11016);
  // No effective order → 0, also for two empty strings, as sacreBLEU's _compute_f_score.
  assert.equal(chrF('', 'reference'), 0);
  assert.equal(chrF(' ', ''), 0);
});

test('tokenize13a is sacreBLEU\'s Tokenizer13a (mteval-v13a)', () => {
  // Punctuation padded, except ' - . , inside words; "." and "," split unless between digits; "-" split after a digit;
  // &amp; unescaped first, then "&" is punctuation.
  assert.deepEqual(tokenize13a('A 5-star e-mail (really)! AT&amp;T costs 1,000.5 dollars, 3.14.'),
    ['A', '5', '-', 'star', 'e-mail', '(', 'really', ')', '!', 'AT', '&', 'T', 'costs', '1,000.5', 'dollars', ',', '3.14', '.']);
  assert.deepEqual(tokenize13a("It isn't.\n"), ['It', "isn't", '.']);
  assert.deepEqual(tokenize13a(' \t'), []);
});

test('sentenceBleu is sacreBLEU\'s sentence_bleu: 13a tokens, mixed case, exp smoothing, effective order', () => {
  // sacreBLEU test_sentence_bleu.py (issue #98 pair), smooth 'exp', tokenize '13a': 8.493. By hand: tokens (";" split off)
  // 14 vs 10; p1 = 5/14 (de, zahăr, în, alb, ;), p2 = 2/13 (de zahăr, alb ;), p3 = 0 → 1/(2·12), p4 = 0 → 1/(4·11);
  // BP = 1; BLEU = (10/192192)^(1/4).
  const romanian = sentenceBleu('Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;', 'producţia de zahăr brut se exprimă în zahăr alb;');
  assertClose(romanian, (10 / 192192) ** 0.25);
  assertClose(romanian, 0.08493, 5e-6);
  // Case counts: [The cat sat on the mat .] vs [the cat sat on the mat .]: p1 = 6/7, p2 = 5/6, p3 = 4/5, p4 = 3/4, BP = 1:
  // (3/7)^(1/4) = 0.8091 (on SQuAD-normalized tokens this was 1).
  assertClose(sentenceBleu('The cat sat on the mat.', 'the cat sat on the mat.'), (3 / 7) ** 0.25);
  // A short right answer: [Paris .] vs [The capital of France is Paris .]: p1 = 2/2, p2 = 1/1, effective order 2,
  // BP = exp(1 − 7/2): BLEU = e^−2.5 = 0.0821.
  assertClose(sentenceBleu('Paris.', 'The capital of France is Paris.'), Math.exp(-2.5));
  // exp smoothing: [the cat sat on the mat] vs [the cat is on the mat]: p1 = 5/6, p2 = 3/5, p3 = 1/4, p4 = 0 → 1/(2·3);
  // (5/6 · 3/5 · 1/4 · 1/6)^(1/4) = (1/48)^(1/4).
  assertClose(sentenceBleu('the cat sat on the mat', 'the cat is on the mat'), (1 / 48) ** 0.25);
  // Numbers stay whole: [It costs 1,000 dollars .] vs [It costs 1,000 dollars]: p = 4/5, 3/4, 2/3, 1/2, BP = 1 → (1/5)^(1/4).
  assertClose(sentenceBleu('It costs 1,000 dollars.', 'It costs 1,000 dollars'), 0.2 ** 0.25);
  // sacreBLEU test_bleu.py effective order: "test" vs "a test" = e^(1 − 2) = 0.36788 (BP only).
  assertClose(sentenceBleu('test', 'a test'), Math.exp(-1));
  assert.equal(sentenceBleu('hello world', 'hello world'), 1);
  // sacreBLEU issue #141: no matching unigram → 0; an empty prediction (BP 0), and two empty strings, → 0.
  assert.equal(sentenceBleu('this is a cat', 'okay thanks'), 0);
  assert.equal(sentenceBleu('', 'cat'), 0);
  assert.equal(sentenceBleu('', ''), 0);
});

test('METRICS lists the five text metrics, each 1 on identical text and within [0, 1]', () => {
  assert.deepEqual(
    METRICS.map((metric) => metric.id),
    ['exact_match', 'token_f1', 'rouge_l', 'chrf', 'bleu'],
  );
  for (const metric of METRICS) {
    assert.equal(metric.score('The answer is 42.', 'The answer is 42.'), 1, metric.id);
    const score = metric.score('the answer is forty-two', 'The answer is 42.');
    assert.ok(score >= 0 && score < 1, `${metric.id} gave ${score}`);
    assert.ok(metric.title.length > 0);
  }
});

test('labelAccuracy, labelDistribution and totalVariationDistance', () => {
  assertClose(labelAccuracy(['a', 'b', 'b', 'c'], ['a', 'b', 'c', 'c']), 3 / 4);
  assert.ok(Number.isNaN(labelAccuracy([], [])));
  assert.throws(() => labelAccuracy(['a'], ['a', 'b']), RangeError);

  assert.deepEqual([...labelDistribution(['x', 'y', 'x', 'x'])], [['x', 0.75], ['y', 0.25]]);
  // p = {a: 1/2, b: 1/2}, q = {a: 1/4, b: 1/2, c: 1/4}: ½(|1/2 − 1/4| + 0 + |0 − 1/4|) = 1/4.
  assertClose(totalVariationDistance(['a', 'a', 'b', 'b'], ['a', 'b', 'b', 'c']), 0.25);
  // Disjoint supports are at distance 1; equal distributions (in any order, any length) at 0.
  assert.equal(totalVariationDistance(['a', 'a'], ['b']), 1);
  assert.equal(totalVariationDistance(['a', 'b'], ['b', 'a', 'a', 'b']), 0);
  assert.ok(Number.isNaN(totalVariationDistance([], ['a'])));
});

test('matchLabel: normalized equality, then the longest label the output starts with, else null', () => {
  const labels = ['positive', 'negative', 'very negative'] as const;
  assert.equal(matchLabel('  Positive. ', labels), 'positive');
  assert.equal(matchLabel('NEGATIVE', labels), 'negative');
  assert.equal(matchLabel('Negative, because the plot drags.', labels), 'negative');
  // Both "negative" and "very negative" could be read into this; only "very negative" starts it.
  assert.equal(matchLabel('Very negative: awful.', labels), 'very negative');
  // Whole words only: "positively" is not "positive"; a label later in the output does not count.
  assert.equal(matchLabel('positively glowing', labels), null);
  assert.equal(matchLabel('I think positive', labels), null);
  // Chinese labels match without a space after them.
  assert.equal(matchLabel('正面。这条评论很好', ['负面', '正面']), '正面');
  // Labels that normalize to nothing match only verbatim.
  assert.equal(matchLabel(' + ', ['+', '-']), '+');
  assert.equal(matchLabel('', ['+', '-']), null);
  // The longest prefix wins regardless of order: "new york" beats "new".
  assert.equal(matchLabel('New York City', ['new', 'new york']), 'new york');
});

// ---------------------------------------------------------------------------------------- statistics

test('mean', () => {
  assertClose(mean([1, 2, 3, 4]), 2.5);
  assert.ok(Number.isNaN(mean([])));
});

test('bootstrapInterval is deterministic for a seed, contains the mean, and handles n = 0 and n = 1', () => {
  const values = [0.13, 0.57, 0.91, 0.24, 0.78, 0.36, 0.05, 0.69, 0.42, 0.88, 0.17, 0.63];
  const interval = bootstrapInterval(values, { seed: 42 });
  // Observed once with mulberry32(42), 1000 resamples, type-7 quantiles at 0.025 and 0.975 (positions 24.975 and
  // 974.025 of the sorted means, so the low end is interpolated: a plain m·q index would give 0.318333…).
  assertClose(interval.low, 0.31825, 1e-12);
  assertClose(interval.high, 0.6383333333333333, 1e-12);
  assert.deepEqual(bootstrapInterval(values, { seed: 42 }), interval);
  assert.notDeepEqual(bootstrapInterval(values, { seed: 43 }), interval);
  const m = mean(values);
  assert.ok(interval.low < m && m < interval.high, `${m} not in [${interval.low}, ${interval.high}]`);
  // A narrower confidence gives a narrower interval on the same draws.
  const narrow = bootstrapInterval(values, { seed: 42, confidence: 0.5 });
  assert.ok(narrow.low > interval.low && narrow.high < interval.high);

  const empty = bootstrapInterval([], { seed: 1 });
  assert.ok(Number.isNaN(empty.low) && Number.isNaN(empty.high));
  assert.deepEqual(bootstrapInterval([0.3], { seed: 1 }), { low: 0.3, high: 0.3 });
  assert.throws(() => bootstrapInterval([Number.NaN], { seed: 1 }), RangeError);
  assert.throws(() => bootstrapInterval([1], { seed: 1, confidence: 1 }), RangeError);
});

test('hoeffdingHalfWidth(100, 0.05) = sqrt(ln 40 / 200) = 0.135810…', () => {
  // ln 40 = 3.688879454…; / 200 = 0.018444397…; sqrt = 0.1358101516.
  assertClose(hoeffdingHalfWidth(100, 0.05), 0.1358101516, 1e-10);
  assert.equal(hoeffdingHalfWidth(0, 0.05), Number.POSITIVE_INFINITY);
  assert.throws(() => hoeffdingHalfWidth(10, 0), RangeError);
});

test('wilsonInterval(8, 10) at 95% = [0.4902, 0.9433]', () => {
  // z = Φ⁻¹(0.975) = 1.959963985, z² = 3.841458821; p̂ = 0.8; denominator 1 + z²/10 = 1.384145882.
  // centre = (0.8 + 0.192072941)/1.384145882 = 0.716740060;
  // half = (z/1.384145882)·sqrt(0.016 + 0.009603647) = 1.416008·0.160011397 = 0.226577…
  // → [0.490162, 0.943318] (the textbook Wilson interval for 8/10).
  assertClose(normalQuantile(0.975), 1.959963984540054, 1e-15);
  const { low, high } = wilsonInterval(8, 10);
  assertClose(low, 0.4901624715, 1e-9);
  assertClose(high, 0.9433178485, 1e-9);
  // Edges are exact: 0/10 starts at 0, 10/10 ends at 1.
  assert.equal(wilsonInterval(0, 10).low, 0);
  assert.equal(wilsonInterval(10, 10).high, 1);
  assert.throws(() => wilsonInterval(11, 10), RangeError);
});

function discordantPairs(onlyA: number, onlyB: number, both: number): { a: boolean[]; b: boolean[] } {
  const a = [...Array<boolean>(onlyA).fill(true), ...Array<boolean>(onlyB).fill(false), ...Array<boolean>(both).fill(true)];
  const b = [...Array<boolean>(onlyA).fill(false), ...Array<boolean>(onlyB).fill(true), ...Array<boolean>(both).fill(true)];
  return { a, b };
}

test('mcnemar: exact two-sided binomial on the discordant pairs', () => {
  // d = 10, k = 1: P(X ≤ 1) = (C(10,0) + C(10,1))/2^10 = 11/1024; two-sided 22/1024 = 0.021484375.
  const { a, b } = discordantPairs(1, 9, 5);
  assert.deepEqual(mcnemar(a, b), { onlyA: 1, onlyB: 9, pValue: 0.021484375 });
  assert.equal(mcnemar(b, a).pValue, 0.021484375);
  // No discordant pairs → 1; a balanced split → 2·P(X ≤ 5 | d = 10) > 1, capped at 1.
  assert.deepEqual(mcnemar([true, false], [true, false]), { onlyA: 0, onlyB: 0, pValue: 1 });
  assert.equal(mcnemar(discordantPairs(5, 5, 0).a, discordantPairs(5, 5, 0).b).pValue, 1);
  // d = 1: 2·P(X ≤ 0) = 2·½ = 1.
  assert.equal(mcnemar([true], [false]).pValue, 1);
  assert.throws(() => mcnemar([true], [true, false]), /lengths 1 and 2/);
});

test('mcnemar stays finite and accurate for 10^5 discordant pairs', () => {
  // Large-d path against a value computed with exact integers:
  // 2·Σ_{i≤480} C(1001, i)/2^1001 = 0.206107310832953…
  const medium = discordantPairs(480, 521, 0);
  assertClose(mcnemar(medium.a, medium.b).pValue, 0.20610731083295322, 1e-13);
  // 50,000 vs 50,000 is perfectly balanced → 1. 49,000 vs 51,000 (~6.3 standard deviations), with exact integers:
  // 2·Σ_{i≤49000} C(100000, i)/2^100000 = 2.588716038346898e-10; we ask for 1e-9 relative accuracy.
  const balanced = discordantPairs(50_000, 50_000, 0);
  assert.equal(mcnemar(balanced.a, balanced.b).pValue, 1);
  const skewed = discordantPairs(49_000, 51_000, 0);
  assertClose(mcnemar(skewed.a, skewed.b).pValue, 2.588716038346898e-10, 2.6e-19);
});

test('binomialCdf and binomialUpperTail: exact small cases, and scipy 1.17 values where n is large', () => {
  // P(X ≤ 1 | 50, 0.1) = 0.9^50 + 50·0.1·0.9^49 = 5.9·0.9^49.
  assertClose(binomialCdf(1, 50, 0.1), 5.9 * 0.9 ** 49, 1e-15);
  // P(X ≥ 8 | 9, ½) = (C(9,8) + C(9,9))/2^9 = 10/512.
  assertClose(binomialUpperTail(8, 9, 0.5), 10 / 512, 1e-16);
  // scipy.stats.binom.cdf(2, 50, 0.1), binom.sf(29, 50, 0.1), binom.cdf(4800, 10000, 0.5).
  assertClose(binomialCdf(2, 50, 0.1), 0.1117287563463473, 1e-14);
  assertClose(binomialUpperTail(30, 50, 0.1), 6.169386905412893e-18, 1e-29);
  assertClose(binomialCdf(4800, 10000, 0.5), 3.2967577993361714e-05, 1e-15);
  assert.equal(binomialCdf(-1, 5, 0.3), 0);
  assert.equal(binomialCdf(5, 5, 0.3), 1);
  assert.equal(binomialCdf(0, 5, 0), 1);
  assert.equal(binomialCdf(4, 5, 1), 0);
  assert.throws(() => binomialCdf(1, 5, 1.5), /p must be in \[0, 1\]/);
});

test('clopperPearsonBounds: closed forms at 0 and n, scipy 1.17 binomtest values between', () => {
  // 0 of n: upper = 1 − α^(1/n); n of n: lower = α^(1/n).
  const zero = clopperPearsonBounds(0, 50, 0.975);
  assert.equal(zero.low, 0);
  assertClose(zero.high, 1 - 0.025 ** (1 / 50), 1e-13);
  assertClose(clopperPearsonBounds(20, 20, 0.95).low, 0.05 ** (1 / 20), 1e-13);
  assert.equal(clopperPearsonBounds(20, 20, 0.95).high, 1);
  // binomtest(2, 50, alternative='less').proportion_ci(0.975, 'exact').high; (37, 50, 'greater') at 0.95 .low.
  assertClose(clopperPearsonBounds(2, 50, 0.975).high, 0.13713762560396867, 1e-12);
  assertClose(clopperPearsonBounds(37, 50, 0.95).low, 0.6187364440267683, 1e-12);
  // Below 50% confidence the bounds cross the estimate (the bracket still holds the root): 0 of 1 at 0.3 → 1 − 0.7.
  assertClose(clopperPearsonBounds(0, 1, 0.3).high, 0.3, 1e-13);
  assert.deepEqual(clopperPearsonBounds(0, 0, 0.95), { low: 0, high: 1 });
  assert.throws(() => clopperPearsonBounds(3, 2, 0.95), /successes must be an integer from 0 to n = 2/);
});

test('holmAdjust: step-down multipliers m, m − 1, …, made monotone, in the input order', () => {
  // Sorted 0.005 (×4 = 0.02), 0.01 (×3 = 0.03), 0.03 (×2 = 0.06), 0.04 (×1 = 0.04 → max so far 0.06).
  const adjusted = holmAdjust([0.01, 0.04, 0.03, 0.005]);
  [0.03, 0.06, 0.06, 0.02].forEach((expected, i) => assertClose(adjusted[i]!, expected, 1e-15));
  assert.deepEqual(holmAdjust([0.5, 0.6]), [1, 1]);
  assert.deepEqual(holmAdjust([]), []);
});

test('mcnemarOneSided: P(X ≥ onlyAfter) on the discordant pairs, in the direction asked', () => {
  // 1 pair better before, 9 better after: P(X ≥ 9 | 10, ½) = 11/1024; the other direction P(X ≥ 1) = 1023/1024.
  const { a, b } = discordantPairs(1, 9, 5);
  const better = mcnemarOneSided(a, b);
  assert.deepEqual([better.onlyBefore, better.onlyAfter], [1, 9]);
  assertClose(better.pValue, 11 / 1024, 1e-16);
  assertClose(mcnemarOneSided(b, a).pValue, 1023 / 1024, 1e-15);
  assert.equal(mcnemarOneSided([true], [true]).pValue, 1);
});

test('pairedBootstrap: sign, interval and p-value of mean(b − a)', () => {
  const a = [0, 0, 1, 0, 1, 0, 0, 1, 0, 0];
  const b = [1, 1, 1, 0, 1, 1, 0, 1, 1, 0];
  // d = b − a has four 1s and six 0s: mean 0.4.
  const better = pairedBootstrap(a, b, { seed: 7 });
  assertClose(better.meanDifference, 0.4);
  assert.ok(better.low > 0 && better.high > better.low);
  // Observed once with seed 7: interval [0.1, 0.7], 4 of 1000 resampled means ≤ 0 → p = 0.008.
  assertClose(better.low, 0.1);
  assertClose(better.high, 0.7);
  assertClose(better.pValue, 0.008);
  // Swapping the systems mirrors everything (same resampled indices for the same seed).
  const worse = pairedBootstrap(b, a, { seed: 7 });
  assertClose(worse.meanDifference, -0.4);
  assertClose(worse.low, -0.7);
  assertClose(worse.high, -0.1);
  assertClose(worse.pValue, 0.008);
  // No observed difference → p = 1.
  assert.equal(pairedBootstrap([0, 1, 0, 1], [1, 0, 0, 1], { seed: 7 }).pValue, 1);
  assert.throws(() => pairedBootstrap([1, 2], [1], { seed: 1 }), RangeError);
});

test('perplexity = exp(−total/count)', () => {
  // Two tokens of probability 1/4 each: total = 2·ln(1/4) → exp(ln 4) = 4.
  assertClose(perplexity(2 * Math.log(0.25), 2), 4);
  assert.equal(perplexity(0, 5), 1);
  assert.equal(perplexity(Number.NEGATIVE_INFINITY, 3), Number.POSITIVE_INFINITY);
  assert.throws(() => perplexity(-1, 0), RangeError);
});

test('exact match: answers that normalize to nothing are compared lightly, so an empty output never matches them', () => {
  assert.equal(exactMatch('', 'A'), 0);
  assert.equal(exactMatch('', '?'), 0);
  assert.equal(exactMatch(' a.', 'A'), 1);
  assert.equal(exactMatch('The', 'the'), 1);
  assert.equal(exactMatch('?', '?'), 1);
  assert.equal(exactMatch('', ''), 1);
  assert.equal(matchLabel(' a.', ['A', 'B']), 'A');
  assert.equal(matchLabel('b', ['A', 'B']), 'B');
});
