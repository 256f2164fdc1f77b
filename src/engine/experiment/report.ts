/**
 * The report a run yields: plain data, serialisable as JSON, that every face shows (the webview panel,
 * the side panel, the command line's summary, the HTML and Markdown exports).
 */
import type { ShotEstimate } from '../bounds/estimate';
import type { TheoryVerdict } from '../bounds/bounds';
import type { FieldMapping, SchemaName } from '../dataset/schema';
import type { FinishReason } from '../model/languageModel';
import type { SelectionStrategy } from '../prompt/selection';

export const REPORT_VERSION = 1;

export type MetricId = 'exact_match' | 'token_f1' | 'rouge_l' | 'chrf' | 'bleu' | 'label_accuracy';

export interface MetricSummary {
  mean: number;
  /** 95% interval of the mean: Wilson's for scores of 0 and 1 only, else a percentile bootstrap over the items. */
  low: number;
  high: number;
  interval: 'wilson' | 'bootstrap';
}

export interface Disagreement {
  /** r̂(k) = 1 − the primary metric's agreement rate. */
  rate: number;
  /**
   * Wilson interval at confidence 1 − δ for this k alone (pointwise, not adjusted for the other k): the chart's
   * band. The verdict uses the exact one-sided bounds in `MeasuredVerdict.evidence.shotTests`, adjusted for the grid.
   */
  low: number;
  high: number;
  /** Hoeffding's half-width sqrt(ln(2/δ) / 2n), shown beside it as bounds.md suggests. */
  hoeffdingHalfWidth: number;
}

export interface PairedComparison {
  /** Against which shot count. */
  baseline: number;
  test: 'mcnemar' | 'paired-bootstrap';
  metric: MetricId;
  /** Mean of (this k − baseline). */
  difference: number;
  /** The test's own two-sided p-value. */
  pValue: number;
  /** Holm-adjusted over every k compared with the same baseline in this curve (≥ pValue). */
  adjustedPValue: number;
}

/** A mean of per-item values in [0, 1] with its interval at confidence 1 − δ. */
export interface MeanInterval {
  mean: number;
  low: number;
  high: number;
  /** Items the mean is over. */
  n: number;
  /** Hoeffding's two-sided interval: mean ± sqrt(ln(2/δ) / 2n), clipped to [0, 1]. */
  interval: 'hoeffding';
  confidence: number;
}

/** The paper's ε at one k: the mean over held-out items of 1 − p(reference and its end | k-shot prompt). */
export interface MeasuredEpsilon extends MeanInterval {
  /** Held-out items at this k whose reference could not be scored, and why (reason → count). */
  unscored: number;
  unscoredReasons: Record<string, number>;
}

export interface CurvePoint {
  k: number;
  /** Held-out items evaluated at this k. */
  n: number;
  /** Mean shots that fitted the budget (≤ k). */
  meanShotsUsed: number;
  metrics: Partial<Record<MetricId, MetricSummary>>;
  disagreement: Disagreement;
  /** Mean log-probability per token of the references under the prompted model, and its perplexity. */
  referenceLogProbPerToken: number | null;
  referencePerplexity: number | null;
  /** Classification: predicted label → share (unmatched outputs under "(none)"), and TV to the references'. */
  predictedLabels: Record<string, number> | null;
  /** Classification: the held-out references' label shares at this k (the distribution to match). */
  referenceLabels: Record<string, number> | null;
  labelTotalVariation: number | null;
  paired: PairedComparison | null;
  /**
   * ε measured as the paper defines it (see measuredEpsilon.ts); null when no item was evaluated at this k.
   * The fields below marked optional are absent from reports written before they existed.
   */
  measuredEpsilon?: MeasuredEpsilon | null;
  /** Classification: mean per-item TV between the model's distribution over the labels and the reference label. */
  conditionalLabelTV?: MeanInterval | null;
}

export type MeasuredVerdictKind = 'prompting-suffices' | 'still-improving' | 'fine-tune' | 'undecided' | 'not-run';

export interface MeasuredVerdict {
  kind: MeasuredVerdictKind;
  /** The shot count the verdict points at (the smallest that suffices, else the one its test decided at). */
  k: number | null;
  /** One sentence that names the evidence: rate, n, the bound and its confidence, the test and its p-value. */
  sentence: string;
  /** Undecided, or still improving at a rate within ε: held-out items per shot count that would decide at the observed rate (approximate). */
  itemsNeeded: number | null;
  /** The evidence the rule used; null when nothing was measured. */
  evidence: VerdictEvidence | null;
}

/** What decided the verdict (or, for "undecided", the closest call), and every test the rule ran. */
export interface VerdictEvidence {
  epsilon: number;
  delta: number;
  /** Held-out items at `MeasuredVerdict.k` (pairs, for a paired test). */
  n: number;
  /** Disagreement at `MeasuredVerdict.k`. */
  rate: number;
  /** The one-sided bound that decided, at its confidence after the adjustment for several tests. */
  bound: { side: 'upper' | 'lower'; value: number; confidence: number } | null;
  /** The test, named with its adjustment, e.g. "one-sided exact binomial test, Holm over 7 shot counts". */
  test: string;
  /** Its p-value after the adjustment. */
  pValue: number;
  /** Per shot count: the tests against ε. */
  shotTests: ShotTest[];
  /** The paired tests at the curve's end (null when fewer than two shot counts were measured). */
  trend: TrendEvidence | null;
}

export interface ShotTest {
  k: number;
  n: number;
  /** Items that did not agree. */
  disagreements: number;
  rate: number;
  /** "Prompting suffices" at this k: one-sided exact binomial p = P(X ≤ disagreements | n, ε), and Holm over the grid. */
  sufficesPValue: number;
  sufficesAdjustedPValue: number;
  /** One-sided Clopper–Pearson upper bound at the confidence Holm's procedure tested this k at: ≤ ε exactly where it rejects. */
  upperBound: number;
  upperConfidence: number;
  /** "Above ε" at this k: p = P(X ≥ disagreements | n, ε) and the one-sided Clopper–Pearson lower bound at 1 − δ. */
  aboveEpsilonPValue: number;
  lowerBound: number;
  lowerConfidence: number;
}

export interface TrendEvidence {
  /** One-sided exact McNemar tests that disagreement fell into the largest k, from each of the two before it. */
  falls: PairedTrendTest[];
  /** Whether the largest k beats a smaller one after Holm over `falls`: the only way to "still improving". */
  stillFalling: boolean;
  /** When the best k is not the largest: the one-sided test that disagreement rose after it (Bonferroni over the candidates). */
  riseAfterBest: PairedTrendTest | null;
}

export interface PairedTrendTest {
  from: number;
  to: number;
  /** Items measured at both k. */
  n: number;
  /** Items that agree only at `from`, and only at `to`. */
  onlyFrom: number;
  onlyTo: number;
  /** Disagreement at `to` minus at `from`, on these items. */
  difference: number;
  pValue: number;
  /** After the adjustment named in `TrendEvidence` (≥ pValue). */
  adjustedPValue: number;
}

export interface ItemRow {
  k: number;
  /** Line of the held-out record in the dataset. */
  line: number;
  prompt: string;
  promptTokens: number;
  shotsUsed: number;
  exampleLines: number[];
  output: string;
  finishReason: FinishReason;
  reference: string;
  /** Classification: the label the output maps to, or null. */
  predictedLabel: string | null;
  scores: Partial<Record<MetricId, number>>;
  referenceLogProb: number | null;
  referenceTokens: number | null;
  /** p(reference followed by the answer's end | prompt), teacher-forced; null when it could not be scored. */
  referenceProbability?: number | null;
  /** Why the reference could not be scored (too long for the context…); null when it was. */
  unscoredReason?: string | null;
  /** Classification: the model's distribution over the labels (each label's answer and end scored, normalized). */
  labelProbabilities?: Record<string, number> | null;
  /** Classification: 1 − the reference label's probability in that distribution (TV to its point mass). */
  conditionalLabelTV?: number | null;
  cached: boolean;
  milliseconds: number;
}

export interface SkippedItem {
  k: number;
  line: number;
  reason: string;
}

export interface RunTiming {
  seconds: number;
  /** Answers generated and continuations scored by the model (not forward passes: a batch computes several). */
  modelCalls: number;
  cachedCalls: number;
  generatedTokens: number;
  scoredTokens: number;
  /** Over the time spent inside the model's calls (not the run's whole time, nor the cached ones). */
  generatedTokensPerSecond: number | null;
  scoredTokensPerSecond: number | null;
}

export interface ExperimentReport {
  version: typeof REPORT_VERSION;
  createdAt: string;
  /** False when the run was cancelled: the curve covers what was done. */
  complete: boolean;
  dataset: { file: string; name: string; schema: SchemaName; fields: FieldMapping; records: number; usable: number; invalid: number };
  model: {
    id: string; fingerprint: string; contextLength: number; vocabularySize: number;
    /** A served model (endpoint): how each capability is provided, in words. Absent for in-process models. */
    capabilities?: Record<string, string>;
  };
  /**
   * Measurements this model could not give, and why (e.g. a server without log-probabilities for given text: no
   * reference log-probability or perplexity). Absent when everything was measured. Never a made-up value instead.
   */
  unavailableMeasurements?: { measurement: 'reference-log-probability' | 'token-counts' | 'vocabulary-size'; reason: string }[];
  settings: {
    epsilon: number; delta: number; seed: number; selection: SelectionStrategy; maxNewTokens: number;
    requestedShots: number[]; heldOut: number; chatTemplate: boolean;
  };
  split: { heldOut: number; pool: number };
  /** The shot counts measured, and those left out with why. */
  shots: number[];
  leftOutShots: { k: number; reason: string }[];
  primaryMetric: MetricId;
  estimate: ShotEstimate;
  verdict: { theory: TheoryVerdict; measured: MeasuredVerdict };
  curve: CurvePoint[];
  items: ItemRow[];
  skippedItems: SkippedItem[];
  /** What ends an answer when references are scored ("\n", "<|im_end|>"…; empty when nothing was found). */
  answerEnd?: string;
  /**
   * Things the reader must know to trust the numbers, one sentence each: references longer than the answer cap,
   * unscored references, an output cache that could not be written…
   */
  warnings?: string[];
  timing: RunTiming;
  /** Plain sentences on a degenerate run (no shot fits, the query alone exceeds the context, no valid label); see degenerate.ts. */
  notes?: string[];
}
