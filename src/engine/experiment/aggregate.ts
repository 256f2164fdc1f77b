/**
 * From per-item rows to the curve against k, and from the curve to the measured verdict (bounds.md,
 * "From bound to verdict": the measured curve decides in the end).
 */
import { labelDistribution, totalVariationDistance } from '../compare/metrics';
import { bootstrapInterval, hoeffdingHalfWidth, mcnemar, mean, pairedBootstrap, perplexity, wilsonInterval } from '../compare/statistics';
import { deriveSeed } from '../random';
import type { CurvePoint, ItemRow, MeasuredVerdict, MetricId } from './report';

export const NO_LABEL = '(none)';

export function curvePoint(
  k: number, rows: readonly ItemRow[], options: { metrics: readonly MetricId[]; primary: MetricId; delta: number; seed: number; baseline?: readonly ItemRow[] },
): CurvePoint {
  const metrics: CurvePoint['metrics'] = {};
  for (const metric of options.metrics) {
    const values = rows.map((row) => row.scores[metric] ?? 0);
    metrics[metric] = { mean: mean(values), ...bootstrapInterval(values, { seed: deriveSeed(options.seed, `${metric}:${k}`) }) };
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
    return { baseline: pairs[0]![0].k, test: 'mcnemar', metric: primary, difference: mean(now) - mean(base), pValue: test.pValue };
  }
  const test = pairedBootstrap(base, now, { seed: deriveSeed(seed, `paired:${rows[0]?.k}`) });
  return { baseline: pairs[0]![0].k, test: 'paired-bootstrap', metric: primary, difference: test.meanDifference, pValue: test.pValue };
}

/**
 * - the upper end of r̂(k)'s interval ≤ ε at some measured k: prompting suffices (at the smallest such k);
 * - the lower end > ε at the best k: if the best is the largest k and r̂ was still falling, more shots,
 *   retrieval or a longer context may close it; otherwise it has levelled off above ε: fine-tune;
 * - else undecided: the interval is too wide; it says how many items would decide.
 */
export function measuredVerdict(curve: readonly CurvePoint[], epsilon: number, delta: number, agreementName: string): MeasuredVerdict {
  const measured = curve.filter((point) => point.n > 0);
  if (measured.length === 0) return { kind: 'not-run', k: null, sentence: 'Nothing was measured yet.', itemsNeeded: null };
  const percent = (value: number): string => `${(value * 100).toFixed(1)}%`;
  const suffices = measured.find((point) => point.disagreement.high <= epsilon);
  if (suffices) {
    return {
      kind: 'prompting-suffices', k: suffices.k, itemsNeeded: null,
      sentence: `Prompting suffices: with ${suffices.k} shots the disagreement is ${percent(suffices.disagreement.rate)} (at most ${percent(suffices.disagreement.high)}), within ε = ${percent(epsilon)}.`,
    };
  }
  const best = measured.reduce((a, b) => (b.disagreement.rate < a.disagreement.rate ? b : a));
  const last = measured[measured.length - 1]!;
  const previous = measured[measured.length - 2];
  if (best.disagreement.low > epsilon) {
    const stillFalling = best === last && previous !== undefined && last.disagreement.rate < previous.disagreement.rate;
    if (stillFalling) {
      return {
        kind: 'still-improving', k: best.k, itemsNeeded: null,
        sentence: `Still improving at ${best.k} shots (disagreement ${percent(best.disagreement.rate)}, above ε = ${percent(epsilon)}): more shots, retrieval of similar examples or a longer context may close the gap; otherwise fine-tune.`,
      };
    }
    return {
      kind: 'fine-tune', k: best.k, itemsNeeded: null,
      sentence: `Fine-tune: the disagreement levels off at ${percent(best.disagreement.rate)} (best at ${best.k} shots), above ε = ${percent(epsilon)}.`,
    };
  }
  // Items for a Hoeffding interval at the observed rate to clear ε on either side: n ≥ ln(2/δ) / (2 (ε − r̂)²).
  const gap = Math.abs(epsilon - best.disagreement.rate);
  const itemsNeeded = gap > 0 ? Math.ceil(Math.log(2 / delta) / (2 * gap * gap)) : null;
  return {
    kind: 'undecided', k: best.k, itemsNeeded,
    sentence: `Not decided: the best ${agreementName} is at ${best.k} shots with disagreement ${percent(best.disagreement.rate)}, but its interval [${percent(best.disagreement.low)}, ${percent(best.disagreement.high)}] straddles ε = ${percent(epsilon)}${itemsNeeded ? `; about ${itemsNeeded.toLocaleString('en-US')} held-out items would decide` : ''}.`,
  };
}
