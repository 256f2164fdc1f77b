/**
 * From a dataset (and a model's tokenizer, when one is selected) to the bound inputs, the shots that fit and
 * the theory's verdict. Every input says where it came from, since a number without a source misleads.
 */
import type { DatasetInspection } from '../dataset/inspect';
import type { Example } from '../dataset/schema';
import { percentile } from '../dataset/statistics';
import type { Tokenizer } from '../model/languageModel';
import { assemblePrompt, type PromptSettings } from '../prompt/builder';
import { renderExample, renderInstruction, renderQuery, templateFor, type PromptTemplate } from '../prompt/template';
import { computeBounds, shotsThatFit, theoryVerdict, type Bound, type BoundInputs, type ShotFit, type TheoryVerdict } from './bounds';

export interface EstimateSettings {
  epsilon: number;
  delta: number;
  contextLength: number;
  /** From the model's tokenizer; without a model, a typical Llama vocabulary, labelled as such. */
  vocabularySize?: number;
  /** d for the linear-classification bounds. */
  inputDimension: number;
  /** The answer never needs more room than this; null: from the references (`answerCap`). */
  maxNewTokens: number | null;
  template?: Partial<PromptTemplate>;
  /** As in a run: 'auto' measures prompts in the model's chat template when it has one. */
  chatTemplate?: 'auto' | 'never';
}

export type BoundInputSources = Record<keyof BoundInputs, string>;

export interface ShotEstimate {
  task: 'generation' | 'classification';
  inputs: BoundInputs;
  sources: BoundInputSources;
  bounds: Bound[];
  fit: ShotFit;
  verdict: TheoryVerdict;
  /** The answer cap a run generates with, and where it comes from. */
  answer: AnswerCap;
}

export interface AnswerCap {
  maxNewTokens: number;
  source: string;
}

export const DEFAULT_VOCABULARY_SIZE = 32_000;
/** Without a tokenizer, tokens are estimated as characters / 4 (a common rule of thumb for English BPE). */
const CHARACTERS_PER_TOKEN = 4;

export function estimateShots(inspection: DatasetInspection, settings: EstimateSettings, tokenizer?: Tokenizer): ShotEstimate {
  const task = inspection.schema === 'classification' ? 'classification' : 'generation';
  const template = templateFor(inspection.schema, settings.template);
  const count = tokenizer
    ? (text: string): number => tokenizer.countTokens(text)
    : (text: string): number => Math.ceil(text.length / CHARACTERS_PER_TOKEN);
  const sample: Example[] = inspection.examples.slice(0, 500);
  const sorted = (values: number[]): Float64Array => Float64Array.from(values).sort();
  const referenceTokens = sorted(sample.map((example) => count(example.reference)));
  const outputLength = Math.max(1, percentile(referenceTokens, 0.95));
  const labels = Object.keys(inspection.labels ?? {});
  const parts = tokenizer
    ? measuredPromptParts(sample, tokenizer, { schema: inspection.schema, template, labels, chatTemplate: settings.chatTemplate ?? 'auto' })
    : {
      instructionTokens: count(renderInstruction(template, labels)),
      queryTokens: sorted(sample.map((example) => count(renderQuery(template, example)))),
      meanTokensPerExample: mean(sample.map((example) => count(renderExample(template, example) + template.separator))),
    };
  const unit = tokenizer ? 'tokens' : `tokens estimated as characters ÷ ${CHARACTERS_PER_TOKEN} (no model selected)`;

  const inputs: BoundInputs = {
    epsilon: settings.epsilon,
    delta: settings.delta,
    vocabularySize: settings.vocabularySize ?? DEFAULT_VOCABULARY_SIZE,
    contexts: Math.max(1, inspection.distinctInputs),
    outputLength,
    inputDimension: settings.inputDimension,
  };
  const sources: BoundInputSources = {
    epsilon: 'setting',
    delta: 'setting',
    vocabularySize: settings.vocabularySize ? "the model's tokenizer" : `default ${DEFAULT_VOCABULARY_SIZE.toLocaleString('en-US')} (no model selected)`,
    contexts: 'distinct inputs in the dataset',
    outputLength: `p95 of the reference outputs, in ${unit}, over ${sample.length} records`,
    inputDimension: 'setting (an embedding size)',
  };
  const queryTokens = percentile(parts.queryTokens, 0.95);
  const answer = answerCap(settings.maxNewTokens, outputLength, { contextLength: settings.contextLength, afterQuery: settings.contextLength - parts.instructionTokens - queryTokens }, unit);
  const fit = shotsThatFit({
    contextLength: settings.contextLength,
    instructionTokens: parts.instructionTokens,
    queryTokens,
    // The whole answer cap: a prompt that fills the context up to less would have its longer answers cut
    // silently by the context's end.
    reservedOutputTokens: answer.maxNewTokens,
    meanTokensPerExample: parts.meanTokensPerExample,
    percentile: 'p95',
    estimated: !tokenizer,
  });
  const bounds = computeBounds(inputs);
  // Examples available are distinct inputs: a duplicate shows the model nothing new, so counting records would let
  // a file of repeated lines claim the examples a bound needs.
  return { task, inputs, sources, bounds, fit, verdict: theoryVerdict(bounds, task, fit.kFit, inspection.distinctInputs), answer };
}

/**
 * The answer cap: an explicit setting wins; else the references' p95 length plus a margin (a quarter of it, at
 * least 8 tokens: room for the answer's end and the longer references), at most what the context leaves after the
 * instruction and a p95 query, but never cut below a quarter of the context by long queries (generation stops at
 * the context's end anyway). A fixed default (64 tokens against references of 2,000) would make exact match
 * impossible for long answers and force "fine-tune" silently.
 */
export function answerCap(explicit: number | null, outputLength: number, context: { contextLength: number; afterQuery: number }, unit = 'tokens'): AnswerCap {
  if (explicit !== null) return { maxNewTokens: explicit, source: 'setting' };
  const wanted = Math.ceil(outputLength) + Math.max(8, Math.ceil(outputLength / 4));
  if (wanted <= context.afterQuery) return { maxNewTokens: wanted, source: `p95 of the references (${Math.ceil(outputLength)} ${unit}) plus a margin` };
  const quarter = Math.floor(context.contextLength / 4);
  if (context.afterQuery >= Math.min(wanted, quarter)) {
    const room = Math.max(1, Math.floor(context.afterQuery));
    return { maxNewTokens: room, source: `p95 of the references plus a margin (${wanted} ${unit}), capped by the ${room} the context leaves after the query` };
  }
  const floor = Math.max(1, Math.min(wanted, quarter));
  return floor === wanted
    ? { maxNewTokens: wanted, source: `p95 of the references (${Math.ceil(outputLength)} ${unit}) plus a margin` }
    : { maxNewTokens: floor, source: `p95 of the references plus a margin (${wanted} ${unit}), capped at a quarter of the context (long queries leave less)` };
}

function mean(values: readonly number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0;
}

/** Records measured for the prompt's parts; enough for a stable mean and p95, cheap to tokenize. */
const MEASURED_RECORDS = 100;

/**
 * The parts of k_fit measured with the prompt builder itself, so they hold for the text templates and the model's
 * chat template alike: the fixed overhead (a prompt for an empty query), each query's prompt beyond it, and what
 * one more example adds to a prompt.
 */
function measuredPromptParts(
  sample: readonly Example[], tokenizer: Tokenizer,
  options: { schema: PromptSettings['schema']; template: PromptTemplate; labels: readonly string[]; chatTemplate: 'auto' | 'never' },
): { instructionTokens: number; queryTokens: Float64Array; meanTokensPerExample: number } {
  const settings: PromptSettings = { ...options, contextLength: Number.MAX_SAFE_INTEGER, reservedOutputTokens: 0 };
  const tokens = (query: Example, examples: Example[]): number => {
    const result = assemblePrompt(query, examples, tokenizer, settings);
    return result.ok ? result.built.promptTokens : result.promptTokens;
  };
  const measured = sample.slice(0, MEASURED_RECORDS);
  const empty: Example = { line: 0, input: '', context: '', reference: '', ...(measured[0]?.messages ? { messages: [{ role: 'user', content: '' }] } : {}) };
  const instructionTokens = tokens(empty, []);
  const alone = measured.map((query) => tokens(query, []));
  const added = measured.map((query, index) => {
    const shot = measured[(index + 1) % measured.length]!;
    // A one-record sample serves as its own shot: only its size matters here (its line is renamed for the builder).
    return tokens(query, [{ ...shot, line: -1 - index }]) - alone[index]!;
  });
  return {
    instructionTokens,
    queryTokens: Float64Array.from(alone.map((total) => Math.max(0, total - instructionTokens))).sort(),
    meanTokensPerExample: mean(added),
  };
}

/**
 * Warnings for a run whose answer cap is shorter than some held-out references (their outputs are cut, so they
 * cannot match exactly): how many, against which cap and where it came from.
 */
export function answerCapWarnings(heldOut: readonly Example[], cap: AnswerCap, tokenizer: Tokenizer, lead: (query: Example) => string): string[] {
  const longer = heldOut.filter((query) => tokenizer.countTokens(lead(query) + query.reference) > cap.maxNewTokens).length;
  if (longer === 0) return [];
  const fix = cap.source.includes('capped by') ? 'the context leaves no more room' : 'set maxNewTokens (--max-new-tokens) higher to let them finish';
  return [`${longer} of ${heldOut.length} held-out references are longer than the answer cap of ${cap.maxNewTokens} tokens (${cap.source}): their outputs are cut, so they cannot match exactly; ${fix}.`];
}
