/**
 * From a dataset (and a model's tokenizer, when one is selected) to the bound inputs, the shots that fit and
 * the theory's verdict. Every input says where it came from, since a number without a source misleads.
 */
import type { DatasetInspection } from '../dataset/inspect';
import type { Example } from '../dataset/schema';
import { percentile } from '../dataset/statistics';
import type { TokenCounter } from '../model/languageModel';
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
  /** The answer never needs more room than this. */
  maxNewTokens: number;
  template?: Partial<PromptTemplate>;
}

export type BoundInputSources = Record<keyof BoundInputs, string>;

export interface ShotEstimate {
  task: 'generation' | 'classification';
  inputs: BoundInputs;
  sources: BoundInputSources;
  bounds: Bound[];
  fit: ShotFit;
  verdict: TheoryVerdict;
}

export const DEFAULT_VOCABULARY_SIZE = 32_000;
/** Without a tokenizer, tokens are estimated as characters / 4 (a common rule of thumb for English BPE). */
const CHARACTERS_PER_TOKEN = 4;

export function estimateShots(inspection: DatasetInspection, settings: EstimateSettings, tokenizer?: TokenCounter): ShotEstimate {
  const task = inspection.schema === 'classification' ? 'classification' : 'generation';
  const template = templateFor(inspection.schema, settings.template);
  const count = tokenizer
    ? (text: string): number => tokenizer.countTokens(text)
    : (text: string): number => Math.ceil(text.length / CHARACTERS_PER_TOKEN);
  const sample: Example[] = inspection.examples.slice(0, 500);
  const sorted = (values: number[]): Float64Array => Float64Array.from(values).sort();
  const referenceTokens = sorted(sample.map((example) => count(example.reference)));
  const queryTokens = sorted(sample.map((example) => count(renderQuery(template, example))));
  const exampleTokens = sample.map((example) => count(renderExample(template, example) + template.separator));
  const meanExample = exampleTokens.length ? exampleTokens.reduce((a, b) => a + b, 0) / exampleTokens.length : 0;
  const outputLength = Math.max(1, percentile(referenceTokens, 0.95));
  const labels = Object.keys(inspection.labels ?? {});
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
  const fit = shotsThatFit({
    contextLength: settings.contextLength,
    instructionTokens: count(renderInstruction(template, labels)),
    queryTokens: percentile(queryTokens, 0.95),
    reservedOutputTokens: Math.min(settings.maxNewTokens, outputLength),
    meanTokensPerExample: meanExample,
    percentile: 'p95',
    estimated: !tokenizer,
  });
  const bounds = computeBounds(inputs);
  return { task, inputs, sources, bounds, fit, verdict: theoryVerdict(bounds, task, fit.kFit, inspection.usable) };
}
