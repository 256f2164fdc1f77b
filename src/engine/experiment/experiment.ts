/**
 * The experiment: held-out items answered by the base model at several shot counts, compared with the
 * reference outputs. Every model call is cached on disk and checked for cancellation, so a cancelled run
 * keeps what it did and the next run resumes from it.
 */
import { matchLabel, METRICS } from '../compare/metrics';
import { answerCapWarnings, type ShotEstimate } from '../bounds/estimate';
import { checkDataset, type DatasetCheck } from '../datasetCheck';
import type { DatasetInspection } from '../dataset/inspect';
import type { Example } from '../dataset/schema';
import { settleTokens, type ContinuationScore, type GenerateOptions, type Generation, type LanguageModel, type PromptInput, type Tokenizer } from '../model/languageModel';
import { assemblePrompt, buildPrompt, type BuiltPrompt, type PromptResult, type PromptSettings } from '../prompt/builder';
import { createSelector, isFixedPrompt, type Embedder, type ExampleSelector } from '../prompt/selection';
import { answerLead, templateFor } from '../prompt/template';
import type { CheckSettings } from '../settings';
import { agreementSamples, curvePoint, measuredVerdict, withAdjustedPairedTests } from './aggregate';
import { cacheKey, OutputCache } from './outputCache';
import { SharedPrefixes } from './prefixPlan';
import { degenerateNotes, withoutFormatFailure } from './degenerate';
import { promptNotes } from './promptNotes';
import { REPORT_VERSION, type CurvePoint, type ExperimentReport, type ItemRow, type MetricId, type SkippedItem } from './report';
import { splitExamples } from './split';
import { answerText, distributionCaveat, epsilonAtK, labelDistributionFromScores, referenceTokensWithin, unscorableReason, unscoredWarnings } from './measuredEpsilon';

export interface ExperimentProgress {
  done: number;
  total: number;
  k: number;
  cached: number;
  message: string;
}

export interface ExperimentOptions {
  file: string;
  settings: CheckSettings;
  model: LanguageModel;
  /** Folder of the output cache; null runs without one. */
  cacheFolder: string | null;
  embedder?: Embedder;
  signal?: AbortSignal;
  onProgress?: (progress: ExperimentProgress) => void;
}

/** A run stopped by its signal; `partial` holds the report of what was done. */
export class RunCancelledError extends Error {
  override name = 'AbortError';
  /** `partial` is null when the run was cancelled before its first model call (while reading the dataset). */
  constructor(readonly partial: ExperimentReport | null) {
    super('The run was cancelled; what was done is kept, and running again resumes from it.');
  }
}

/** The dataset cannot be run on: the message says why. */
export class DatasetNotRunnableError extends Error {
  override name = 'DatasetNotRunnableError';
}

const TEXT_METRICS = METRICS.map((metric) => metric.id) as MetricId[];
const NO_ANSWER_END = 'No end of answer was found (no stop sequence follows a reference in the template, or the chat template\'s end of turn could not be read): measured ε scores the reference alone, so it measures "the answer starts with the reference".';

/** Held-out items generated together: progress and cancellation come between batches of this size. */
const BATCH_SIZE = 8;

/** What a run needs once the dataset is read: the split, the shot grid, the selector and the prompt settings. */
export interface ExperimentPlan {
  check: DatasetCheck;
  inspection: DatasetInspection;
  estimate: ShotEstimate;
  heldOut: Example[];
  pool: Example[];
  shots: number[];
  leftOutShots: ExperimentReport['leftOutShots'];
  selector: ExampleSelector;
  promptSettings: PromptSettings;
  classification: boolean;
  labels: string[];
}

export interface ModelView {
  tokenizer: Tokenizer;
  contextLength: number;
  vocabularySize: number;
  id: string;
}

/**
 * Reads the dataset and decides everything but the model calls. Runs and Preview Prompt both call this,
 * so a preview shows exactly the prompt a run sends.
 */
export async function planExperiment(
  file: string, settings: CheckSettings, model: ModelView, options: { embedder?: Embedder; signal?: AbortSignal } = {},
): Promise<ExperimentPlan> {
  const check = await checkDataset(file, settings, { model, collectExamples: true, signal: options.signal });
  const { inspection, estimate } = check;
  if (inspection.notJsonLines) throw new DatasetNotRunnableError(`${inspection.name}: ${inspection.notJsonLines}`);
  if (!estimate || inspection.usable < 2) {
    const why = inspection.schemaProblems[0] ? ` (line ${inspection.schemaProblems[0].line}: ${inspection.schemaProblems[0].message})` : '';
    throw new DatasetNotRunnableError(`${inspection.name}: ${inspection.usable} usable records; a run needs at least 2${why}.`);
  }
  const classification = inspection.schema === 'classification';
  const labels = Object.keys(inspection.labels ?? {});
  const { heldOut, pool } = splitExamples(inspection.examples, settings.heldOut, settings.seed);
  const kFit = estimate.fit.kFit;
  const leftOutShots: ExperimentReport['leftOutShots'] = [];
  const shots = settings.shots.filter((k) => {
    if (k === 0) return true;
    if (k > pool.length) leftOutShots.push({ k, reason: `only ${pool.length} examples in the pool` });
    else if (k > kFit) leftOutShots.push({ k, reason: `${kFit} shots fit in ${model.contextLength} tokens` });
    else return true;
    return false;
  });
  const template = templateFor(inspection.schema, settings.template);
  const promptSettings: PromptSettings = {
    schema: inspection.schema, template, chatTemplate: settings.chatTemplate, contextLength: model.contextLength,
    reservedOutputTokens: estimate.fit.reservedOutputTokens, labels,
    exampleOrder: isFixedPrompt(settings.selection) ? 'as-given' : 'most-relevant-last',
  };
  // A fixed prompt draws only examples that fit beside the longest held-out query: one that cannot would take
  // every item's prompt down to the examples before it.
  const longest = heldOut.reduce<Example | undefined>((a, b) => (a === undefined || textLength(b) > textLength(a) ? b : a), undefined);
  const fits = longest && (async (example: Example): Promise<boolean> => {
    const result = await settleTokens(model.tokenizer, () => assemblePrompt(longest, [example], model.tokenizer, promptSettings), options.signal);
    return result.ok && result.built.shots === 1;
  });
  const selector = await createSelector(pool, { strategy: settings.selection, seed: settings.seed, embedder: options.embedder, signal: options.signal, fits: fits || undefined });
  return { check, inspection, estimate, heldOut, pool, shots, leftOutShots, selector, promptSettings, classification, labels };
}

/** The prompt a record gets at k shots, as a run would build it. */
export async function previewPrompt(plan: ExperimentPlan, line: number, k: number, tokenizer: Tokenizer): Promise<{ example: Example; result: PromptResult; heldOut: boolean }> {
  const example = plan.inspection.examples.find((candidate) => candidate.line === line);
  if (!example) throw new DatasetNotRunnableError(`line ${line} holds no usable record`);
  const examples = k === 0 ? [] : await plan.selector.select(example, k);
  const result = await settleTokens(tokenizer, () => buildPrompt(example, examples, tokenizer, plan.promptSettings));
  return { example, result, heldOut: plan.heldOut.includes(example) };
}

export async function runExperiment(options: ExperimentOptions): Promise<ExperimentReport> {
  const started = Date.now();
  const { model, signal } = options;
  let plan: ExperimentPlan;
  try {
    plan = await planExperiment(options.file, options.settings, model, { embedder: options.embedder, signal });
  } catch (error) {
    if (signal?.aborted) throw new RunCancelledError(null);
    throw error;
  }
  const { inspection, estimate, heldOut, pool, shots, leftOutShots, selector, promptSettings, classification, labels } = plan;
  // The answer cap the run generates with: the explicit setting, else from the references (estimate.ts, answerCap).
  const settings = { ...options.settings, maxNewTokens: estimate.answer.maxNewTokens };
  // Through settleTokens: a server's tokenizer fetches the counts first (cancelling then is cancelling before any model call).
  const warnings = await settleTokens(model.tokenizer, () => answerCapWarnings(heldOut, estimate.answer, model.tokenizer, (query) => answerLead(promptSettings.template, query)), signal)
    .catch((error: unknown) => { throw signal?.aborted ? new RunCancelledError(null) : error; });
  const cache = options.cacheFolder ? new OutputCache(options.cacheFolder, model.fingerprint) : null;
  const primary: MetricId = classification ? 'label_accuracy' : 'exact_match';
  const metrics: MetricId[] = classification ? ['label_accuracy', ...TEXT_METRICS] : TEXT_METRICS;

  const items: ItemRow[] = [];
  const skippedItems: SkippedItem[] = [];
  let answerEndSeen: string | undefined;
  const timing = { modelCalls: 0, cachedCalls: 0, generatedTokens: 0, scoredTokens: 0, generationSeconds: 0, scoringSeconds: 0 };
  const total = shots.length * heldOut.length;
  const canScore = !model.unavailableMeasurements?.some((entry) => entry.measurement === 'reference-log-probability');
  // The instruction and examples prompts share are computed once (see prefixPlan.ts).
  const prefixes = new SharedPrefixes(model);

  const report = (complete: boolean): ExperimentReport => {
    const curve: CurvePoint[] = [];
    const rowsAt = (k: number): ItemRow[] => items.filter((row) => row.k === k);
    for (const k of shots) {
      const rows = rowsAt(k);
      if (rows.length === 0) continue;
      curve.push({
        ...curvePoint(k, rows, { metrics, primary, delta: settings.delta, seed: settings.seed, baseline: k === shots[0] ? undefined : rowsAt(shots[0]!) }),
        // A model that cannot score given text has no measured ε: the report lists why (unavailableMeasurements).
        ...(canScore ? epsilonAtK(rows, settings.delta) : {}),
      });
    }
    const measured = withoutFormatFailure(
      measuredVerdict(agreementSamples(items, shots, primary), settings.epsilon, settings.delta, classification ? 'label accuracy' : 'exact match'),
      items, classification,
    );
    const caveat = distributionCaveat(measured, curve, settings.epsilon);
    const built: ExperimentReport = {
      version: REPORT_VERSION, createdAt: new Date().toISOString(), complete,
      dataset: { file: inspection.file, name: inspection.name, schema: inspection.schema, fields: inspection.fields, records: inspection.records, usable: inspection.usable, invalid: inspection.invalid },
      model: {
        id: model.id, fingerprint: model.fingerprint, contextLength: model.contextLength, vocabularySize: model.vocabularySize,
        ...(model.capabilities ? { capabilities: { ...model.capabilities } } : {}),
      },
      ...(model.unavailableMeasurements?.length ? { unavailableMeasurements: model.unavailableMeasurements.map((entry) => ({ ...entry })) } : {}),
      settings: {
        epsilon: settings.epsilon, delta: settings.delta, seed: settings.seed, selection: settings.selection, maxNewTokens: settings.maxNewTokens,
        requestedShots: settings.shots, heldOut: settings.heldOut, chatTemplate: settings.chatTemplate === 'auto' && model.tokenizer.hasChatTemplate,
      },
      split: { heldOut: heldOut.length, pool: pool.length },
      shots, leftOutShots, primaryMetric: primary, estimate,
      verdict: { theory: estimate.verdict, measured },
      curve: withAdjustedPairedTests(curve), items, skippedItems, answerEnd: answerEndSeen ?? '', warnings: [...(caveat ? [caveat] : []), ...warnings, ...(canScore ? unscoredWarnings(curve) : []), ...(answerEndSeen === '' ? [NO_ANSWER_END] : []), ...(cache?.warnings ?? [])],
      timing: {
        seconds: (Date.now() - started) / 1000, modelCalls: timing.modelCalls, cachedCalls: timing.cachedCalls,
        generatedTokens: timing.generatedTokens, scoredTokens: timing.scoredTokens,
        generatedTokensPerSecond: timing.generationSeconds > 0 ? timing.generatedTokens / timing.generationSeconds : null,
        scoredTokensPerSecond: timing.scoringSeconds > 0 ? timing.scoredTokens / timing.scoringSeconds : null,
      },
    };
    return { ...built, notes: [...degenerateNotes(built), ...promptNotes(built)] };
  };

  /**
   * Generations for several prompts that share their stop sequences: cached ones from the cache, the rest in
   * one batched call where the model has one (2.8× the throughput at 8 rows on 2 cores), else one by one.
   */
  const generateAll = async (prompts: readonly PromptInput[], stopSequences: string[], drafts: readonly string[]): Promise<{ generation: Generation; cached: boolean }[]> => {
    const keys = prompts.map((prompt) => cacheKey({ kind: 'generate', model: model.fingerprint, prompt, maxNewTokens: settings.maxNewTokens, stopSequences }));
    const results: ({ generation: Generation; cached: boolean } | undefined)[] = keys.map((key) => {
      const hit = cache?.generation(key);
      return hit ? { generation: hit, cached: true } : undefined;
    });
    timing.cachedCalls += results.filter(Boolean).length;
    const missing = results.flatMap((result, index) => (result ? [] : [index]));
    if (missing.length) {
      signal?.throwIfAborted();
      const began = performance.now();
      const prefix = await prefixes.prefixFor(missing.map((index) => prompts[index]!));
      // Each generation is cached as soon as it is done: a batch that then fails (a server gone) loses none.
      const keep = (index: number, generation: Generation): void => {
        if (results[index]) return;
        timing.modelCalls++;
        timing.generatedTokens += generation.tokenIds.length;
        cache?.putGeneration(keys[index]!, generation);
        results[index] = { generation, cached: false };
      };
      const options: GenerateOptions = {
        maxNewTokens: settings.maxNewTokens, stopSequences, signal, prefix, onEach: (position, generation) => keep(missing[position]!, generation),
        drafts: missing.map((index) => drafts[index]!),
      };
      try {
        if (model.generateBatch) {
          const generations = await model.generateBatch(missing.map((index) => prompts[index]!), options);
          missing.forEach((index, position) => keep(index, generations[position]!));
        } else {
          for (const index of missing) keep(index, await model.generate(prompts[index]!, options));
        }
      } finally {
        timing.generationSeconds += (performance.now() - began) / 1000;
      }
    }
    return results as { generation: Generation; cached: boolean }[];
  };

  /**
   * Teacher-forced scores of the references after their prompts: cached ones from the cache, the rest in one
   * batched call where the model has one, else one by one. Null where a reference cannot be scored (empty, or
   * longer than the context left after its prompt: its likelihood is then left out).
   */
  const scoreAll = async (pairs: readonly { prompt: PromptInput; continuation: string }[]): Promise<(ContinuationScore | null)[]> => {
    // A model that cannot score given text (a serving engine without log-probabilities) has it listed, and the report says so.
    if (!canScore) return pairs.map(() => null);
    const results: (ContinuationScore | null | undefined)[] = await settleTokens(model.tokenizer, () => pairs.map(({ prompt, continuation }) => {
      if (continuation === '') return null;
      if (model.tokenizer.encode(prompt.text + continuation, { addSpecialTokens: prompt.addSpecialTokens }).length > model.contextLength) return null;
      return undefined;
    }), signal);
    const keys = pairs.map(({ prompt, continuation }) => cacheKey({ kind: 'score', model: model.fingerprint, prompt, reference: continuation }));
    keys.forEach((key, index) => {
      if (results[index] !== undefined) return;
      const hit = cache?.score(key);
      if (hit) {
        timing.cachedCalls++;
        results[index] = hit;
      }
    });
    const missing = results.flatMap((result, index) => (result === undefined ? [index] : []));
    if (missing.length) {
      signal?.throwIfAborted();
      const began = performance.now();
      // Each score is cached as soon as it is done, as generations are.
      const keep = (index: number, result: ContinuationScore): void => {
        if (results[index] !== undefined) return;
        timing.modelCalls++;
        timing.scoredTokens += result.tokenCount;
        cache?.putScore(keys[index]!, result);
        results[index] = result;
      };
      try {
        if (model.scoreBatch && missing.length > 1) {
          const prefix = await prefixes.prefixFor(missing.map((index) => pairs[index]!.prompt));
          const scored = await model.scoreBatch(missing.map((index) => pairs[index]!), { signal, prefix, onEach: (position, result) => keep(missing[position]!, result) });
          missing.forEach((index, position) => keep(index, scored[position]!));
        } else {
          for (const index of missing) keep(index, await model.score(pairs[index]!.prompt, pairs[index]!.continuation, { signal }));
        }
      } finally {
        timing.scoringSeconds += (performance.now() - began) / 1000;
      }
    }
    return results as (ContinuationScore | null)[];
  };

  let done = 0;
  try {
    for (const k of shots) {
      for (let first = 0; first < heldOut.length; first += BATCH_SIZE) {
        const chunk = heldOut.slice(first, first + BATCH_SIZE);
        options.onProgress?.({ done, total, k, cached: timing.cachedCalls, message: `${k} shots: items ${first + 1}–${first + chunk.length} of ${heldOut.length}` });
        for (const row of await evaluate(chunk, k)) {
          if ('reason' in row) skippedItems.push(row);
          else items.push(row);
        }
        done += chunk.length;
      }
    }
  } catch (error) {
    if (signal?.aborted) throw new RunCancelledError(report(false));
    throw error;
  } finally {
    prefixes.dispose();
  }
  options.onProgress?.({ done, total, k: shots[shots.length - 1] ?? 0, cached: timing.cachedCalls, message: 'done' });
  return report(true);

  /** One shot count for a few held-out items: prompts built one by one, generated together, scored one by one. */
  async function evaluate(queries: readonly Example[], k: number): Promise<(ItemRow | SkippedItem)[]> {
    const began = performance.now();
    const built: { query: Example; prompt: BuiltPrompt }[] = [];
    const skipped: SkippedItem[] = [];
    const shotsOf: Example[][] = [];
    for (const query of queries) shotsOf.push(k === 0 ? [] : await selector.select(query, k));
    // All prompts of the batch at once: a server's tokenizer fetches what they need together (settleTokens).
    const results = await settleTokens(model.tokenizer, () => queries.map((query, index) => buildPrompt(query, shotsOf[index]!, model.tokenizer, promptSettings)), signal);
    for (const [index, query] of queries.entries()) {
      const result = results[index]!;
      if (result.ok) built.push({ query, prompt: result.built });
      else skipped.push({ k, line: query.line, reason: result.reason });
    }
    // At one k every prompt has the template's stop sequences (none with a chat template).
    // Each prompt's expected answer is its draft: checked token by token against the model's own greedy choice, it
    // changes no output, and an answer the model gives anyway costs a chunk of the prompt pass instead of a step per token.
    const drafts = built.map(({ query, prompt }) => answerText(prompt.answerLead, query.reference, prompt.answerEnd));
    const generations = built.length ? await generateAll(built.map((entry) => entry.prompt.prompt), built[0]!.prompt.stopSequences, drafts) : [];
    answerEndSeen ??= built[0]?.prompt.answerEnd;
    const scoring = canScore ? await settleTokens(model.tokenizer, () => built.map(({ query, prompt }) => answersToScore(query, prompt)), signal) : [];
    const scores = await scoreAll(scoring.flatMap((item) => item.pairs));
    const rows: (ItemRow | SkippedItem)[] = [...skipped];
    let offset = 0;
    for (const [index, { query, prompt }] of built.entries()) {
      const { generation, cached } = generations[index]!;
      const item = scoring[index];
      const itemScores = item ? scores.slice(offset, offset + item.pairs.length) : [];
      offset += item?.pairs.length ?? 0;
      const measured = item ? measuredScores(item, itemScores, prompt) : NOT_MEASURED;
      const scored = measured.reference;
      // The answer brings the space the query no longer ends with (" old" after "Label:"): compare without it.
      const lead = prompt.answerLead;
      const output = lead && generation.text.startsWith(lead) ? generation.text.slice(lead.length) : generation.text;
      const predictedLabel = classification ? matchLabel(output, labels) : null;
      const metricScores: ItemRow['scores'] = {};
      for (const metric of METRICS) metricScores[metric.id] = metric.score(output, query.reference);
      // Agreement with the reference (the fine-tuned output, or whatever field the user chose), like every metric.
      if (classification) metricScores.label_accuracy = predictedLabel === query.reference ? 1 : 0;
      rows.push({
        k, line: query.line, prompt: prompt.prompt.text, promptTokens: prompt.promptTokens, shotsUsed: prompt.shots,
        exampleLines: prompt.exampleLines, output, finishReason: generation.finishReason, reference: query.reference,
        predictedLabel, scores: metricScores, referenceLogProb: scored?.logProb ?? null, referenceTokens: scored?.tokenCount ?? null,
        referenceProbability: measured.probability, unscoredReason: measured.unscoredReason,
        labelProbabilities: measured.labelProbabilities, conditionalLabelTV: measured.conditionalLabelTV,
        cached, milliseconds: (performance.now() - began) / queries.length,
      });
    }
    return rows;
  }

  /**
   * What one item's scoring needs: its answer (lead, reference, end: the measured ε), for classification every
   * other label's answer (the model's distribution over the labels), and the reference without its end when the
   * end's tokens cannot be told apart from the reference's (the per-token log-probability).
   */
  function answersToScore(query: Example, built: BuiltPrompt): ItemScoring {
    const { prompt, answerLead: lead, answerEnd: end } = built;
    const answer = answerText(lead, query.reference, end);
    const referenceTokens = end ? referenceTokensWithin(model.tokenizer, prompt, lead + query.reference, answer) : null;
    const unscoredReason = unscorableReason(model.tokenizer, prompt, answer, model.contextLength);
    const pairs = [{ prompt, continuation: answer }];
    const referenceAlone = end !== '' && referenceTokens === null && !unscoredReason;
    if (referenceAlone) pairs.push({ prompt, continuation: lead + query.reference });
    const otherLabels = classification && labels.includes(query.reference) && !unscoredReason ? labels.filter((label) => label !== query.reference) : [];
    for (const label of otherLabels) pairs.push({ prompt, continuation: answerText(lead, label, end) });
    return { query, pairs, referenceTokens: end ? referenceTokens : null, referenceAlone, otherLabels, unscoredReason };
  }

  function measuredScores(item: ItemScoring, scored: readonly (ContinuationScore | null)[], built: BuiltPrompt): {
    reference: ContinuationScore | null; probability: number | null; unscoredReason: string | null;
    labelProbabilities: Record<string, number> | null; conditionalLabelTV: number | null;
  } {
    const answer = scored[0] ?? null;
    if (!answer) {
      const unscoredReason = item.unscoredReason ?? unscorableReason(model.tokenizer, built.prompt, item.pairs[0]!.continuation, model.contextLength) ?? 'not scored';
      return { reference: null, probability: null, unscoredReason, labelProbabilities: null, conditionalLabelTV: null };
    }
    // The reference without its end: the answer's first tokens, or its own pass.
    let reference: ContinuationScore | null = answer;
    if (item.referenceTokens !== null) {
      const tokenLogProbs = answer.tokenLogProbs.slice(0, item.referenceTokens);
      reference = { logProb: tokenLogProbs.reduce((sum, value) => sum + value, 0), tokenCount: tokenLogProbs.length, tokenLogProbs };
    } else if (item.referenceAlone) reference = scored[1] ?? null;
    let labelProbabilities: Record<string, number> | null = null;
    if (item.otherLabels.length) {
      const first = item.referenceAlone ? 2 : 1;
      const logProbs = new Map<string, number>([[item.query.reference, answer.logProb]]);
      item.otherLabels.forEach((label, index) => logProbs.set(label, scored[first + index]?.logProb ?? Number.NEGATIVE_INFINITY));
      labelProbabilities = labelDistributionFromScores(logProbs);
    }
    return {
      reference, probability: Math.exp(answer.logProb), unscoredReason: null, labelProbabilities,
      conditionalLabelTV: labelProbabilities ? 1 - labelProbabilities[item.query.reference]! : null,
    };
  }
}

/** The characters of a record's input and context, to find the longest query cheaply. */
function textLength(example: Example): number {
  return example.input.length + example.context.length;
}

/** An item of a model that cannot score given text: nothing measured, and no per-item reason (the report's `unavailableMeasurements` says why). */
const NOT_MEASURED = { reference: null, probability: null, unscoredReason: null, labelProbabilities: null, conditionalLabelTV: null } as const;

/** The scoring calls of one item, and how to read their results back. */
interface ItemScoring {
  query: Example;
  /** [answer, reference alone when `referenceAlone`, other labels' answers…] */
  pairs: { prompt: PromptInput; continuation: string }[];
  referenceTokens: number | null;
  referenceAlone: boolean;
  otherLabels: string[];
  unscoredReason: string | null;
}
