/**
 * The sample-size bounds of Sharma, "Eliciting Fine-Tuned Transformer Capabilities via Inference-Time
 * Techniques" (arXiv 2506.08060), and the verdict they give before any model runs.
 *
 * The paper's constants are hidden in O(·). We show each bound with the constant C = 1, and beside it the
 * number from the standard inequality of the same form. That inequality is our assumption, labelled as such:
 * the paper does not name it.
 */

export interface BoundInputs {
  /** Error tolerance ε in (0, 1). */
  epsilon: number;
  /** Failure probability δ in (0, 1). */
  delta: number;
  /** Vocabulary size V. */
  vocabularySize: number;
  /** Distinct contexts (inputs) m. */
  contexts: number;
  /** Output length l in tokens (a high percentile of the references). */
  outputLength: number;
  /** Input dimension d for linear classification (an embedding size). */
  inputDimension: number;
}

export type BoundId = 'generation-unbounded' | 'generation-bounded' | 'classification-unbounded' | 'classification-fixed';

export interface Bound {
  id: BoundId;
  task: 'generation' | 'classification';
  context: 'unbounded' | 'bounded';
  /** The paper's form, as stated in its abstract. */
  paperForm: string;
  /** The paper's form with C = 1 (natural logarithms). */
  withUnitConstant: number;
  /** The standard inequality that has the same form: our assumption, named. */
  standardInequality: string;
  standardValue: number;
}

export function computeBounds(inputs: BoundInputs): Bound[] {
  const { epsilon: e, delta: d, vocabularySize: V, contexts: m, outputLength: l, inputDimension: dim } = inputs;
  validate(inputs);
  const hoeffding = Math.log(2 / d) / (2 * e * e);
  return [
    {
      id: 'generation-unbounded', task: 'generation', context: 'unbounded',
      paperForm: 'O( m·V / ε² · log(m/δ) )',
      withUnitConstant: ((m * V) / (e * e)) * Math.log(m / d),
      standardInequality: 'L1 concentration of an empirical distribution over V outcomes, union bound over m contexts: m · (2/ε²)·(V·ln 2 + ln(m/δ))',
      standardValue: m * (2 / (e * e)) * (V * Math.LN2 + Math.log(m / d)),
    },
    {
      id: 'generation-bounded', task: 'generation', context: 'bounded',
      paperForm: 'O( l·log V / ε² · log(1/δ) )',
      withUnitConstant: ((l * Math.log(V)) / (e * e)) * Math.log(1 / d),
      standardInequality: 'Hoeffding with a union bound over all V^l outputs of length l: (l·ln V + ln(2/δ)) / (2ε²)',
      standardValue: (l * Math.log(V) + Math.log(2 / d)) / (2 * e * e),
    },
    {
      id: 'classification-unbounded', task: 'classification', context: 'unbounded',
      paperForm: 'O( d / ε )',
      withUnitConstant: dim / e,
      standardInequality: 'realisable PAC bound for halfspaces, VC dimension d + 1 (Blumer et al. 1989): max( (4/ε)·log₂(2/δ), (8(d+1)/ε)·log₂(13/ε) )',
      standardValue: Math.max((4 / e) * Math.log2(2 / d), ((8 * (dim + 1)) / e) * Math.log2(13 / e)),
    },
    {
      id: 'classification-fixed', task: 'classification', context: 'bounded',
      paperForm: 'O( 1/ε² · log(1/δ) )',
      withUnitConstant: (1 / (e * e)) * Math.log(1 / d),
      standardInequality: 'Hoeffding: ln(2/δ) / (2ε²)',
      standardValue: hoeffding,
    },
  ];
}

function validate(inputs: BoundInputs): void {
  const { epsilon, delta, vocabularySize, contexts, outputLength, inputDimension } = inputs;
  if (!(epsilon > 0 && epsilon < 1)) throw new RangeError(`ε must be between 0 and 1 (exclusive), not ${epsilon}`);
  if (!(delta > 0 && delta < 1)) throw new RangeError(`δ must be between 0 and 1 (exclusive), not ${delta}`);
  for (const [name, value] of [['vocabulary size', vocabularySize], ['contexts m', contexts], ['output length l', outputLength], ['input dimension d', inputDimension]] as const) {
    if (!(value >= 1)) throw new RangeError(`${name} must be at least 1, not ${value}`);
  }
}

export interface ShotFitInputs {
  contextLength: number;
  /** Tokens of the prompt that do not depend on the examples or the query (instruction, template). */
  instructionTokens: number;
  /** Tokens of the query, at the percentile named in `percentile`. */
  queryTokens: number;
  /** Tokens kept free for the output. */
  reservedOutputTokens: number;
  /** Mean tokens of one formatted example (input and reference in the template). */
  meanTokensPerExample: number;
  /** Which percentile the query and output token counts are (e.g. 'p95'). */
  percentile: string;
  /** True when token counts were estimated from characters because no tokenizer was at hand. */
  estimated: boolean;
}

export interface ShotFit extends ShotFitInputs {
  kFit: number;
}

/** k_fit = floor((context − instruction − query − reserved output) / mean tokens per example), never negative. */
export function shotsThatFit(inputs: ShotFitInputs): ShotFit {
  const free = inputs.contextLength - inputs.instructionTokens - inputs.queryTokens - inputs.reservedOutputTokens;
  const kFit = inputs.meanTokensPerExample > 0 ? Math.max(0, Math.floor(free / inputs.meanTokensPerExample)) : 0;
  return { ...inputs, kFit };
}

export type TheoryVerdictKind = 'prompting-suffices' | 'retrieval' | 'no-guarantee';

export interface TheoryVerdict {
  kind: TheoryVerdictKind;
  /** The bound the verdict rests on (the bounded-context bound of the task). */
  bound: BoundId;
  /** Examples that bound asks for (its standard-inequality value, rounded up). */
  needed: number;
  kFit: number;
  available: number;
  sentence: string;
}

/**
 * The rule of bounds.md: the bounded-context bound of the task (classification or generation) against the
 * shots that fit and the examples there are. Theory only: the measured curve decides in the end.
 */
export function theoryVerdict(bounds: readonly Bound[], task: 'generation' | 'classification', kFit: number, available: number): TheoryVerdict {
  const bound = bounds.find((candidate) => candidate.task === task && candidate.context === 'bounded');
  if (!bound) throw new Error(`no bounded-context bound for ${task}`);
  const needed = Math.ceil(bound.standardValue);
  const count = (n: number): string => n.toLocaleString('en-US');
  if (needed <= kFit && needed <= available) {
    return { kind: 'prompting-suffices', bound: bound.id, needed, kFit, available, sentence: `In theory prompting suffices: ${count(needed)} examples are needed, ${count(kFit)} fit in the context and ${count(available)} distinct examples are available.` };
  }
  if (needed <= available) {
    return { kind: 'retrieval', bound: bound.id, needed, kFit, available, sentence: `The ${count(needed)} examples needed exist but do not fit (${count(kFit)} fit): select the ${count(kFit)} most relevant examples per query (retrieval).` };
  }
  return { kind: 'no-guarantee', bound: bound.id, needed, kFit, available, sentence: `No guarantee from theory: ${count(needed)} examples are needed and only ${count(available)} distinct examples are available; decide from the measured curve, and consider fine-tuning.` };
}
