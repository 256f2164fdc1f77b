/**
 * The paper's ε, measured: for each held-out item, the probability the prompted model gives its reference,
 * teacher-forced, the end of the answer included (the template's stop as the demonstrations show it, or the chat
 * template's end of turn). For a deterministic reference (the fine-tuned model's output), 1 − p(reference | prompt)
 * is the total variation distance between the prompted base model's output distribution and the fine-tuned
 * output's point mass: the quantity the bounds of arXiv 2506.08060 bound. Per k: its mean with a Hoeffding
 * interval at confidence 1 − δ (valid for any values in [0, 1], no distributional assumption).
 *
 * The canonical tokenization of reference and end is scored; other tokenizations of the same text and other ways
 * to stop (EOS) add probability, so p is a lower bound and ε an upper bound: it never flatters the base model.
 */
import { hoeffdingHalfWidth, mean } from '../compare/statistics';
import type { PromptInput, Tokenizer } from '../model/languageModel';
import type { CurvePoint, ItemRow, MeanInterval } from './report';

/** The answer as scored: what the answer brings first (" " after "Label:"), the text, then its end. */
export function answerText(lead: string, text: string, end: string): string {
  const answer = lead + text;
  return end && answer.endsWith(end) ? answer : answer + end;
}

/**
 * How many tokens of `answer`'s teacher-forced score belong to `lead + reference` (the rest is the end), when
 * prompt, prompt + reference and prompt + answer tokenize as prefixes of each other; null when the end merges with
 * the reference's last token, and the reference alone needs its own pass.
 */
export function referenceTokensWithin(tokenizer: Tokenizer, prompt: PromptInput, reference: string, answer: string): number | null {
  const encode = (text: string): number[] => tokenizer.encode(text, { addSpecialTokens: prompt.addSpecialTokens });
  const promptIds = encode(prompt.text);
  const referenceIds = encode(prompt.text + reference);
  const answerIds = encode(prompt.text + answer);
  const isPrefix = (short: readonly number[], long: readonly number[]): boolean => short.length <= long.length && short.every((id, i) => long[i] === id);
  return isPrefix(promptIds, referenceIds) && isPrefix(referenceIds, answerIds) ? referenceIds.length - promptIds.length : null;
}

/** Why a continuation cannot be scored after its prompt (null when it can). */
export function unscorableReason(tokenizer: Tokenizer, prompt: PromptInput, continuation: string, contextLength: number): string | null {
  if (continuation === '') return 'empty reference and no end to score';
  const tokens = tokenizer.encode(prompt.text + continuation, { addSpecialTokens: prompt.addSpecialTokens }).length;
  return tokens > contextLength ? 'prompt and reference are longer than the context' : null;
}

/** Log-probabilities of every label's answer → the model's distribution over the labels (log-sum-exp normalized). */
export function labelDistributionFromScores(logProbs: ReadonlyMap<string, number>): Record<string, number> {
  const top = Math.max(...logProbs.values());
  const total = [...logProbs.values()].reduce((sum, value) => sum + Math.exp(value - top), 0);
  return Object.fromEntries([...logProbs].map(([label, value]) => [label, Math.exp(value - top) / total]));
}

/** Mean of values in [0, 1] with Hoeffding's two-sided interval at confidence 1 − δ, clipped to [0, 1]. */
export function hoeffdingMean(values: readonly number[], delta: number): MeanInterval | null {
  if (values.length === 0) return null;
  const center = mean(values);
  const half = hoeffdingHalfWidth(values.length, delta);
  return { mean: center, low: Math.max(0, center - half), high: Math.min(1, center + half), n: values.length, interval: 'hoeffding', confidence: 1 - delta };
}

/** The curve's measured-ε fields at one k, from its rows. */
export function epsilonAtK(rows: readonly ItemRow[], delta: number): Pick<CurvePoint, 'measuredEpsilon' | 'conditionalLabelTV'> {
  const scored = rows.filter((row) => row.referenceProbability !== null && row.referenceProbability !== undefined);
  const unscoredReasons: Record<string, number> = {};
  for (const row of rows) {
    if (row.referenceProbability === null || row.referenceProbability === undefined) {
      const reason = row.unscoredReason ?? 'not scored';
      unscoredReasons[reason] = (unscoredReasons[reason] ?? 0) + 1;
    }
  }
  const epsilon = hoeffdingMean(scored.map((row) => 1 - row.referenceProbability!), delta);
  const tv = rows.filter((row) => typeof row.conditionalLabelTV === 'number').map((row) => row.conditionalLabelTV!);
  return {
    measuredEpsilon: epsilon || rows.length ? { ...(epsilon ?? emptyInterval(delta)), unscored: rows.length - scored.length, unscoredReasons } : null,
    conditionalLabelTV: hoeffdingMean(tv, delta),
  };
}

function emptyInterval(delta: number): MeanInterval {
  return { mean: Number.NaN, low: Number.NaN, high: Number.NaN, n: 0, interval: 'hoeffding', confidence: 1 - delta };
}

/** One warning per reason references could not be scored, with how many and at which k (none when all were). */
export function unscoredWarnings(curve: readonly CurvePoint[]): string[] {
  const byReason = new Map<string, { count: number; ks: number[] }>();
  for (const point of curve) {
    for (const [reason, times] of Object.entries(point.measuredEpsilon?.unscoredReasons ?? {})) {
      const entry = byReason.get(reason) ?? { count: 0, ks: [] };
      entry.count += times;
      entry.ks.push(point.k);
      byReason.set(reason, entry);
    }
  }
  return [...byReason].map(([reason, { count, ks }]) =>
    `${count} item ${count === 1 ? 'run' : 'runs'} (at k = ${ks.join(', ')}) could not be scored for measured ε: ${reason}; ε is over the others.`);
}
