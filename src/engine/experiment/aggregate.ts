/**
 * From per-item rows to the curve against k, and from the curve to the measured verdict (bounds.md,
 * "From bound to verdict": the measured curve decides in the end).
 */
import { labelDistribution, totalVariationDistance } from '../compare/metrics';
import {
  binomialCdf, binomialUpperTail, bootstrapInterval, clopperPearsonBounds, hoeffdingHalfWidth, holmAdjust, mcnemar, mcnemarOneSided, mean,
  normalQuantile, pairedBootstrap, perplexity, wilsonInterval,
} from '../compare/statistics';
import { deriveSeed } from '../random';
import type { CurvePoint, ItemRow, MeasuredVerdict, MetricId, MetricSummary, PairedTrendTest, ShotTest, TrendEvidence, VerdictEvidence } from './report';

export const NO_LABEL = '(none)';

export function curvePoint(
  k: number, rows: readonly ItemRow[], options: { metrics: readonly MetricId[]; primary: MetricId; delta: number; seed: number; baseline?: readonly ItemRow[] },
): CurvePoint {
  const metrics: CurvePoint['metrics'] = {};
  for (const metric of options.metrics) {
    const values = rows.map((row) => row.scores[metric] ?? 0);
    metrics[metric] = { mean: mean(values), ...metricInterval(values, deriveSeed(options.seed, `bootstrap:${k}`)) };
  }
  const agreements = rows.filter((row) => row.scores[options.primary] === 1).length;
  const n = rows.length;
  const agreeInterval = wilsonInterval(agreements, n, 1 - options.delta);
  const scored = rows.filter((row) => row.referenceLogProb !== null && row.referenceTokens);
  const totalLogProb = scored.reduce((sum, row) => sum + row.referenceLogProb!, 0);
  const totalTokens = scored.reduce((sum, row) => sum + row.referenceTokens!, 0);
  const labelled = rows.some((row) => row.predictedLabel !== null) || options.primary === 'label_accuracy';
  const predicted = rows.map((row) => row.predictedLabel ?? NO_LABEL);
  return {
    k, n,
    meanShotsUsed: mean(rows.map((row) => row.shotsUsed)),
    metrics,
    disagreement: { rate: n ? 1 - agreements / n : Number.NaN, low: 1 - agreeInterval.high, high: 1 - agreeInterval.low, hoeffdingHalfWidth: n ? hoeffdingHalfWidth(n, options.delta) : Number.NaN },
    referenceLogProbPerToken: totalTokens ? totalLogProb / totalTokens : null,
    referencePerplexity: totalTokens ? perplexity(totalLogProb, totalTokens) : null,
    predictedLabels: labelled ? Object.fromEntries(labelDistribution(predicted)) : null,
    referenceLabels: labelled ? Object.fromEntries(labelDistribution(rows.map((row) => row.reference))) : null,
    labelTotalVariation: labelled ? totalVariationDistance(predicted, rows.map((row) => row.reference)) : null,
    paired: options.baseline ? paired(rows, options.baseline, options.primary, options.seed) : null,
  };
}

/**
 * A metric's 95% interval. Scores of 0 and 1 only are a proportion: Wilson's interval, which a percentile
 * bootstrap is not (every item right resamples to [100%, 100%]). Others: a percentile bootstrap whose seed is
 * the k's, not the metric's, so every metric resamples the same items and two metrics equal item by item get
 * the same interval.
 */
function metricInterval(values: readonly number[], seed: number): Pick<MetricSummary, 'low' | 'high' | 'interval'> {
  if (values.length > 0 && values.every((value) => value === 0 || value === 1)) {
    return { ...wilsonInterval(values.filter((value) => value === 1).length, values.length, 0.95), interval: 'wilson' };
  }
  return { ...bootstrapInterval(values, { seed }), interval: 'bootstrap' };
}

/** The same items at k and at the baseline k: McNemar on the primary (binary) metric. */
function paired(rows: readonly ItemRow[], baseline: readonly ItemRow[], primary: MetricId, seed: number): CurvePoint['paired'] {
  const baseByLine = new Map(baseline.map((row) => [row.line, row]));
  const pairs = rows.filter((row) => baseByLine.has(row.line)).map((row) => [baseByLine.get(row.line)!, row] as const);
  if (pairs.length === 0) return null;
  const base = pairs.map(([a]) => a.scores[primary] ?? 0);
  const now = pairs.map(([, b]) => b.scores[primary] ?? 0);
  const binary = [...base, ...now].every((value) => value === 0 || value === 1);
  if (binary) {
    const test = mcnemar(base.map((value) => value === 1), now.map((value) => value === 1));
    return { baseline: pairs[0]![0].k, test: 'mcnemar', metric: primary, difference: mean(now) - mean(base), pValue: test.pValue, adjustedPValue: test.pValue };
  }
  const test = pairedBootstrap(base, now, { seed: deriveSeed(seed, `paired:${rows[0]?.k}`) });
  return { baseline: pairs[0]![0].k, test: 'paired-bootstrap', metric: primary, difference: test.meanDifference, pValue: test.pValue, adjustedPValue: test.pValue };
}


/**
 * The curve's paired tests against the baseline, Holm-adjusted over the grid: each point keeps its own p-value
 * and gets `adjustedPValue`, so "k differs from the baseline" holds at the stated level for all k at once.
 */
export function withAdjustedPairedTests(curve: readonly CurvePoint[]): CurvePoint[] {
  const tested = curve.filter((point) => point.paired !== null);
  const adjusted = holmAdjust(tested.map((point) => point.paired!.pValue));
  return curve.map((point) => {
    const index = tested.indexOf(point);
    return index < 0 ? point : { ...point, paired: { ...point.paired!, adjustedPValue: adjusted[index]! } };
  });
}

/** One shot count's outcome on the primary metric for each held-out item (by its line): agreed or not. */
export interface AgreementSample {
  k: number;
  agreed: ReadonlyMap<number, boolean>;
}

/** The rows grouped by shot count, in the order of `shots`; an item agrees when its primary score is 1. */
export function agreementSamples(items: readonly ItemRow[], shots: readonly number[], primary: MetricId): AgreementSample[] {
  return shots.map((k) => ({
    k, agreed: new Map(items.filter((row) => row.k === k).map((row) => [row.line, row.scores[primary] === 1])),
  }));
}

/**
 * The measured verdict. With m shot counts measured, r(k) the true disagreement at k and x(k) of n(k) items
 * disagreeing, the rule and what each verdict guarantees:
 *
 * - **prompting suffices** at the smallest k where Holm's step-down procedure, over the m one-sided exact binomial
 *   tests of H0(k): r(k) ≥ ε (p = P(X ≤ x | n, ε)), rejects at level δ. Holm controls the family-wise error under
 *   any dependence (the same items answer at every k), so P(saying it suffices at a k whose r(k) ≥ ε) ≤ δ.
 *   The bound shown is the one-sided Clopper–Pearson upper bound at the confidence Holm's step tested that k at
 *   (1 − δ/m for the smallest p, up to 1 − δ), which is ≤ ε exactly where the procedure rejects.
 * - **still improving** when disagreement fell into the largest k: one-sided exact McNemar tests from each of the
 *   two shot counts before it, Holm over the two, reject at δ. P(saying so when r(largest) ≥ r of both) ≤ δ:
 *   a flat or rising end of the curve is called still improving at most δ of the time.
 * - **fine-tune** when not still improving, at least two k were measured, the largest k is not the lowest point of
 *   the curve (a curve lowest at its end may still fall), and at every k the one-sided exact test
 *   of H0(k): r(k) ≤ ε (p = P(X ≥ x | n, ε)) rejects at δ, i.e. every one-sided Clopper–Pearson lower bound at
 *   1 − δ is above ε. An intersection–union test (Berger 1982) needs no adjustment: P(saying fine-tune when some
 *   measured k has r(k) ≤ ε) ≤ δ.
 * - otherwise **undecided**, with the items per k that would decide at the observed rate.
 *
 * What r(k) is a rate of: held-out items drawn from the dataset, answered with the prompt the selection gives.
 * With a fixed prompt (`first`, `random`, `stratified`: one draw from the pool, which the held-out items are not
 * in) it is that prompt's disagreement: the guarantees hold given the draw, and say nothing of another draw of
 * examples (another seed may do better or worse). With `similar` it is the disagreement of the retrieval rule.
 *
 * Not controlled, and said so in the sentence: a curve that stays above ε and still falls, but by less than the
 * paired tests can see with n items, is called fine-tune (the README's simulation gives the rates). Each verdict's
 * guarantee is separate; no verdict is reached from a single shot count except "prompting suffices".
 */
export function measuredVerdict(samples: readonly AgreementSample[], epsilon: number, delta: number, agreementName: string): MeasuredVerdict {
  const measured = samples.filter((sample) => sample.agreed.size > 0).slice().sort((a, b) => a.k - b.k);
  if (measured.length === 0) return { kind: 'not-run', k: null, sentence: 'Nothing was measured yet.', itemsNeeded: null, evidence: null };
  const shotTests = testsAgainstEpsilon(measured, epsilon, delta);
  const trend = measured.length >= 2 ? trendAtTheEnd(measured, shotTests, delta) : null;
  const context: RuleContext = { epsilon, delta, agreementName, shotTests, trend, eps: formatShare(epsilon) };

  const suffices = shotTests.find((test) => test.sufficesAdjustedPValue <= delta);
  if (suffices) return promptingSuffices(context, suffices);
  if (trend?.stillFalling) return stillImproving(context, trend);
  // Above ε at every k: the intersection–union test, whose p is the largest of the k's one-sided p-values.
  const closest = shotTests.reduce((a, b) => (b.aboveEpsilonPValue > a.aboveEpsilonPValue ? b : a));
  if (closest.aboveEpsilonPValue <= delta) {
    if (!trend) return singleShotCountAboveEpsilon(context, closest);
    const last = shotTests[shotTests.length - 1]!;
    // A curve whose lowest point is its largest k may still be falling, too slowly for the paired test to show:
    // that is not a curve that has stopped improving, so it is not "fine-tune".
    if (shotTests.slice(0, -1).every((test) => last.rate < test.rate)) return fallNotShown(context, trend, closest);
    return fineTune(context, trend, closest);
  }
  return straddlesEpsilon(context);
}

interface RuleContext {
  epsilon: number;
  delta: number;
  agreementName: string;
  shotTests: ShotTest[];
  trend: TrendEvidence | null;
  /** ε as the sentences show it. */
  eps: string;
}

function evidenceBase(context: RuleContext): Pick<VerdictEvidence, 'epsilon' | 'delta' | 'shotTests' | 'trend'> {
  return { epsilon: context.epsilon, delta: context.delta, shotTests: context.shotTests, trend: context.trend };
}

function holmName(context: RuleContext): string {
  return context.shotTests.length > 1 ? `, Holm over ${context.shotTests.length} shot counts` : '';
}

function promptingSuffices(context: RuleContext, at: ShotTest): MeasuredVerdict {
  const adjusted = context.shotTests.length > 1 ? 'Holm-adjusted ' : '';
  return {
    kind: 'prompting-suffices', k: at.k, itemsNeeded: null,
    evidence: {
      ...evidenceBase(context), n: at.n, rate: at.rate, bound: { side: 'upper', value: at.upperBound, confidence: at.upperConfidence },
      test: `one-sided exact binomial test${holmName(context)}`, pValue: at.sufficesAdjustedPValue,
    },
    sentence: `Prompting suffices at k = ${at.k}: disagreement ${percent(at.rate)} (n = ${at.n}, upper ${formatShare(at.upperConfidence)} bound ${percent(at.upperBound)} ` +
      `≤ ε = ${context.eps}, ${adjusted}p = ${formatP(at.sufficesAdjustedPValue)}).`,
  };
}

function stillImproving(context: RuleContext, trend: TrendEvidence): MeasuredVerdict {
  const fall = trend.falls.reduce((a, b) => (b.adjustedPValue < a.adjustedPValue ? b : a));
  const last = context.shotTests[context.shotTests.length - 1]!;
  const test = mcnemarName(trend);
  // The fall may reach back two steps over a last step that is flat; and a rate already within ε lacks items, not
  // shots. Both are said, so "still improving" never reads as "more shots will help" where the data do not say so.
  const previous = context.shotTests[context.shotTests.length - 2]!;
  const flat = previous.rate === last.rate ? `, flat since k = ${previous.k} (${percent(previous.rate)})`
    : previous.rate < last.rate ? `, up from ${percent(previous.rate)} at k = ${previous.k}` : '';
  const itemsNeeded = last.rate <= context.epsilon ? itemsToDecide(last.rate, context.epsilon, context.delta, context.shotTests.length) : null;
  const next = last.rate > context.epsilon
    ? 'more shots, retrieval of similar examples or a longer context may close the gap, otherwise fine-tune.'
    : `the rate is within ε but too few items show it${itemsNeeded ? `: about ${itemsNeeded.toLocaleString('en-US')} held-out items per shot count would decide at this rate` : ''}.`;
  return {
    kind: 'still-improving', k: last.k, itemsNeeded,
    evidence: { ...evidenceBase(context), n: fall.n, rate: last.rate, bound: null, test, pValue: fall.adjustedPValue },
    sentence: `Still improving at k = ${last.k}: disagreement ${percent(last.rate)} fell from ${rateAt(context, fall.from)} at k = ${fall.from} ` +
      `(n = ${fall.n} paired items, ${test}: p = ${formatP(fall.adjustedPValue)})${flat}, ${last.rate > context.epsilon ? 'above' : 'not yet shown within'} ε = ${context.eps}; ${next}`,
  };
}

function fineTune(context: RuleContext, trend: TrendEvidence, closest: ShotTest): MeasuredVerdict {
  const best = context.shotTests.reduce((a, b) => (b.rate < a.rate ? b : a));
  const rise = trend.riseAfterBest;
  const shape = rise && rise.adjustedPValue <= context.delta
    ? `disagreement rose after k = ${rise.from} (McNemar p = ${formatP(rise.adjustedPValue)}, Bonferroni over ${context.shotTests.length - 1} candidates)`
    : `no fall into k = ${context.shotTests[context.shotTests.length - 1]!.k} was shown (${endOfCurve(context, trend)})`;
  return {
    kind: 'fine-tune', k: closest.k, itemsNeeded: null,
    evidence: {
      ...evidenceBase(context), n: closest.n, rate: closest.rate, bound: { side: 'lower', value: closest.lowerBound, confidence: closest.lowerConfidence },
      test: 'one-sided exact binomial test at every k (intersection–union)', pValue: closest.aboveEpsilonPValue,
    },
    sentence: `Fine-tune: disagreement is above ε = ${context.eps} at every k measured, lowest ${percent(best.rate)} at k = ${best.k} ` +
      `(n = ${closest.n}, lower ${formatShare(closest.lowerConfidence)} bound at k = ${closest.k} ${percent(closest.lowerBound)} > ε, exact binomial p = ${formatP(closest.aboveEpsilonPValue)}); ` +
      `${shape}. A slower fall than these items can show is not excluded.`,
  };
}

function fallNotShown(context: RuleContext, trend: TrendEvidence, closest: ShotTest): MeasuredVerdict {
  const last = context.shotTests[context.shotTests.length - 1]!;
  const fall = trend.falls[0]!;
  const itemsNeeded = itemsToShowFall(fall, context.delta / trend.falls.length);
  return {
    kind: 'undecided', k: last.k, itemsNeeded,
    evidence: { ...evidenceBase(context), n: fall.n, rate: last.rate, bound: null, test: mcnemarName(trend), pValue: fall.adjustedPValue },
    sentence: `Not decided: disagreement is above ε = ${context.eps} at every k measured (lower ${formatShare(closest.lowerConfidence)} bound at k = ${closest.k} ` +
      `${percent(closest.lowerBound)}, exact binomial p = ${formatP(closest.aboveEpsilonPValue)}) and lowest at the largest, ${percent(last.rate)} at k = ${last.k}, ` +
      `but the fall is not significant (${endOfCurve(context, trend)}): whether more shots would close the gap is not decided` +
      `${itemsNeeded ? `; about ${itemsNeeded.toLocaleString('en-US')} paired items would show a fall of this size (80% power)` : ''}.`,
  };
}

function singleShotCountAboveEpsilon(context: RuleContext, only: ShotTest): MeasuredVerdict {
  return {
    kind: 'undecided', k: only.k, itemsNeeded: null,
    evidence: {
      ...evidenceBase(context), n: only.n, rate: only.rate, bound: { side: 'lower', value: only.lowerBound, confidence: only.lowerConfidence },
      test: 'one-sided exact binomial test', pValue: only.aboveEpsilonPValue,
    },
    sentence: `Not decided: at k = ${only.k}, the only shot count measured, disagreement is ${percent(only.rate)} (n = ${only.n}, lower ${formatShare(only.lowerConfidence)} bound ` +
      `${percent(only.lowerBound)} > ε = ${context.eps}); whether more examples help is not measured: run more shot counts.`,
  };
}

/** No k is shown within ε nor every k above it: the lowest k whose interval crosses ε is the closest call. */
function straddlesEpsilon(context: RuleContext): MeasuredVerdict {
  const { shotTests, delta, epsilon } = context;
  const at = shotTests.filter((test) => test.aboveEpsilonPValue > delta).reduce((a, b) => (b.rate < a.rate ? b : a));
  const itemsNeeded = itemsToDecide(at.rate, epsilon, delta, shotTests.length);
  const adjusted = shotTests.length > 1 ? 'Holm-adjusted ' : '';
  return {
    kind: 'undecided', k: at.k, itemsNeeded,
    evidence: {
      ...evidenceBase(context), n: at.n, rate: at.rate, bound: { side: 'upper', value: at.upperBound, confidence: at.upperConfidence },
      test: `one-sided exact binomial test${holmName(context)}`, pValue: at.sufficesAdjustedPValue,
    },
    sentence: `Not decided: at k = ${at.k} (n = ${at.n}) disagreement on ${context.agreementName} is ${percent(at.rate)}, but its upper ${formatShare(at.upperConfidence)} bound ` +
      `${percent(at.upperBound)} is above ε = ${context.eps} (${adjusted}p = ${formatP(at.sufficesAdjustedPValue)}) and its lower ${formatShare(at.lowerConfidence)} bound ${percent(at.lowerBound)} is not` +
      `${itemsNeeded ? `; about ${itemsNeeded.toLocaleString('en-US')} held-out items per shot count would decide at this rate` : ''}` +
      `${context.trend ? `; ${endOfCurve(context, context.trend)}` : ''}.`,
  };
}

function mcnemarName(trend: TrendEvidence): string {
  return `one-sided exact McNemar test${trend.falls.length > 1 ? `, Holm over ${trend.falls.length} steps` : ''}`;
}

function rateAt(context: RuleContext, k: number): string {
  return percent(context.shotTests.find((test) => test.k === k)!.rate);
}

/** Per k: the exact one-sided tests against ε both ways, Holm over the grid for "suffices", and the bounds that match. */
function testsAgainstEpsilon(measured: readonly AgreementSample[], epsilon: number, delta: number): ShotTest[] {
  const counts = measured.map((sample) => {
    const n = sample.agreed.size;
    let disagreements = 0;
    for (const agreed of sample.agreed.values()) if (!agreed) disagreements++;
    return { k: sample.k, n, disagreements };
  });
  const m = counts.length;
  const raw = counts.map(({ n, disagreements }) => binomialCdf(disagreements, n, epsilon));
  const adjusted = holmAdjust(raw);
  // Holm tests the j-th smallest p (0-based) at δ/(m − j) and stops at the first it cannot reject; a k it did not
  // reach gets the level of the step where it stopped, so that its upper bound is > ε exactly as its adjusted p is > δ.
  const order = raw.map((p, index) => ({ p, index })).sort((a, b) => a.p - b.p || a.index - b.index);
  let stop = m;
  for (let rank = 0; rank < m; rank++) if ((m - rank) * order[rank]!.p > delta) { stop = rank; break; }
  const level = new Array<number>(m);
  order.forEach(({ index }, rank) => { level[index] = delta / (m - Math.min(rank, stop)); });
  return counts.map(({ k, n, disagreements }, index) => {
    const upperConfidence = 1 - level[index]!;
    return {
      k, n, disagreements, rate: disagreements / n,
      sufficesPValue: raw[index]!, sufficesAdjustedPValue: adjusted[index]!,
      upperBound: clopperPearsonBounds(disagreements, n, upperConfidence).high, upperConfidence,
      aboveEpsilonPValue: binomialUpperTail(disagreements, n, epsilon),
      lowerBound: clopperPearsonBounds(disagreements, n, 1 - delta).low, lowerConfidence: 1 - delta,
    };
  });
}

/** The paired tests of the curve's end: did disagreement fall into the largest k, and did it rise after the best? */
function trendAtTheEnd(measured: readonly AgreementSample[], shotTests: readonly ShotTest[], delta: number): TrendEvidence {
  const m = measured.length;
  const last = measured[m - 1]!;
  const falls = measured.slice(Math.max(0, m - 3), m - 1).reverse().map((from) => pairedTrend(from, last));
  const adjusted = holmAdjust(falls.map((test) => test.pValue));
  falls.forEach((test, index) => { test.adjustedPValue = adjusted[index]!; });
  let bestIndex = 0;
  shotTests.forEach((test, index) => { if (test.rate < shotTests[bestIndex]!.rate) bestIndex = index; });
  let riseAfterBest: PairedTrendTest | null = null;
  if (bestIndex < m - 1) {
    // "Rose" is the one-sided test the other way: the best k agrees where the largest does not.
    const rise = pairedTrend(last, measured[bestIndex]!);
    riseAfterBest = {
      from: rise.to, to: rise.from, n: rise.n, onlyFrom: rise.onlyTo, onlyTo: rise.onlyFrom, difference: -rise.difference,
      pValue: rise.pValue, adjustedPValue: Math.min(1, (m - 1) * rise.pValue),
    };
  }
  return { falls, stillFalling: falls.some((test) => test.adjustedPValue <= delta), riseAfterBest };
}

/** One-sided exact McNemar test that `to` agrees more often than `from`, on the items measured at both. */
function pairedTrend(from: AgreementSample, to: AgreementSample): PairedTrendTest {
  const before: boolean[] = [];
  const after: boolean[] = [];
  for (const [line, agreed] of from.agreed) {
    const later = to.agreed.get(line);
    if (later === undefined) continue;
    before.push(agreed);
    after.push(later);
  }
  const test = mcnemarOneSided(before, after);
  const n = before.length;
  return {
    from: from.k, to: to.k, n, onlyFrom: test.onlyBefore, onlyTo: test.onlyAfter,
    difference: n ? (test.onlyBefore - test.onlyAfter) / n : 0, pValue: test.pValue, adjustedPValue: test.pValue,
  };
}

function endOfCurve(context: RuleContext, trend: TrendEvidence): string {
  return trend.falls.map((test) => `k = ${test.from} → ${test.to}: ${rateAt(context, test.from)} → ${rateAt(context, test.to)}, one-sided McNemar p = ${formatP(test.adjustedPValue)}`).join('; ') +
    (trend.falls.length > 1 ? ' (Holm over both steps)' : '');
}

/**
 * Items per shot count for the one-sided bound at the observed rate r̂ to clear ε, by the normal approximation
 * n ≈ z²·r̂(1 − r̂)/(ε − r̂)², with z at Holm's strictest level δ/m below ε and at δ above it; at least the n an
 * all-or-nothing outcome needs (ln α / ln(1 − ε) or ln α / ln ε). Null when r̂ = ε: no n decides at that rate.
 */
function itemsToDecide(rate: number, epsilon: number, delta: number, m: number): number | null {
  if (rate === epsilon) return null;
  const alpha = rate < epsilon ? delta / m : delta;
  const z = normalQuantile(1 - alpha);
  const normal = (z * z * rate * (1 - rate)) / ((epsilon - rate) ** 2);
  const floor = Math.log(alpha) / Math.log(rate < epsilon ? 1 - epsilon : epsilon);
  return Math.ceil(Math.max(normal, floor));
}

/**
 * Paired items for the one-sided McNemar test at level α to show the observed fall with 80% power, by the usual
 * normal approximation n ≈ (z(1 − α) + z(0.8))²·d / Δ², with d the share of discordant pairs and Δ the fall
 * (both as observed). Null when nothing fell.
 */
function itemsToShowFall(fall: PairedTrendTest, alpha: number): number | null {
  if (fall.n === 0 || fall.onlyTo <= fall.onlyFrom) return null;
  const discordant = (fall.onlyFrom + fall.onlyTo) / fall.n;
  const difference = (fall.onlyTo - fall.onlyFrom) / fall.n;
  return Math.ceil(((normalQuantile(1 - alpha) + normalQuantile(0.8)) ** 2 * discordant) / difference ** 2);
}

const percent = (value: number): string => `${(value * 100).toFixed(1)}%`;

/** A share such as ε or a confidence level, without trailing zeros: 10%, 97.5%, 99.29%. */
function formatShare(value: number): string {
  return `${Number((value * 100).toFixed(2))}%`;
}

function formatP(p: number): string {
  if (p >= 0.001) return String(Number(p.toFixed(3)));
  return p.toExponential(1);
}
