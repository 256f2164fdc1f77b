/** `prompt-or-finetune inspect`: what the dataset is, what is wrong with it, and what the bounds say. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { ParseArgsConfig } from 'node:util';
import { checkDataset, type DatasetCheck, type ModelFacts } from '../engine/datasetCheck';
import { parseFieldOverride, SCHEMA_NAMES, type SchemaName } from '../engine/dataset/schema';
import { inspectionJson } from '../engine/report/inspectionJson';
import { parseTemplate, type PromptTemplate } from '../engine/prompt/template';
import { DEFAULT_SETTINGS, type CheckSettings } from '../engine/settings';
import { UsageError, UserFacingError } from './errors';
import { ProgressLine } from './progress';
import { modelsFolder } from '../engine/cacheFolders';
import { cacheRoot } from './cacheFolder';

export const INSPECT_OPTIONS = {
  json: { type: 'boolean' },
  'context-length': { type: 'string' },
  epsilon: { type: 'string' },
  delta: { type: 'string' },
  'input-dimension': { type: 'string' },
  model: { type: 'string' },
  fields: { type: 'string' },
  template: { type: 'string' },
  schema: { type: 'string' },
  dtype: { type: 'string' },
  'cache-dir': { type: 'string' },
  offline: { type: 'boolean' },
} satisfies ParseArgsConfig['options'];

type Values = Record<string, string | boolean | undefined>;

export async function inspectCommand(positionals: string[], values: Values): Promise<number> {
  const file = datasetArgument(positionals, 'inspect');
  const settings = checkSettings(values);
  const model = typeof values.model === 'string' ? await modelFacts(values) : undefined;
  const progress = new ProgressLine(`Reading ${file}`);
  let check: DatasetCheck;
  try {
    check = await checkDataset(file, settings, { model, onProgress: (read, total) => progress.update(read / Math.max(1, total)) });
  } finally {
    progress.done();
  }
  if (values.json) process.stdout.write(JSON.stringify(inspectionJson(check), null, 2) + '\n');
  else if (!check.inspection.notJsonLines) process.stdout.write(describeCheck(check) + '\n');
  if (check.inspection.notJsonLines) {
    process.stderr.write(`prompt-or-finetune: ${file}: ${check.inspection.notJsonLines}\n`);
    return 1;
  }
  if (check.inspection.records === 0) {
    process.stderr.write(`prompt-or-finetune: ${file}: no line is a readable record (${check.inspection.invalid} invalid lines; the first: line ${check.inspection.errors[0]?.line}, ${check.inspection.errors[0]?.message}).\n`);
    return 1;
  }
  return 0;
}

export function datasetArgument(positionals: string[], command: string): string {
  const [file, ...extra] = positionals;
  if (!file) throw new UsageError(`${command} needs a dataset: prompt-or-finetune ${command} <file.jsonl>`);
  if (extra.length) throw new UsageError(`${command} takes one dataset, got ${positionals.length}: ${positionals.join(' ')}`);
  if (!existsSync(file)) throw new UserFacingError(`${file}: no such file`);
  const info = statSync(file);
  if (info.isDirectory()) throw new UserFacingError(`${file} is a folder; name a .jsonl file in it`);
  // Reading a FIFO would wait forever for a writer; a device never ends.
  if (!info.isFile()) throw new UserFacingError(`${file} is not a regular file (a pipe, socket or device): save the data to a file first`);
  return file;
}

export function numberOption(values: Values, name: string, fallback: number, check: (value: number) => boolean, expected: string): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(value) || !check(value)) {
    throw new UsageError(`--${name} must be ${expected}, not "${String(raw)}"`);
  }
  return value;
}

/** A whole-number flag between `min` and `max` (the same bounds as the setting in package.json). */
export function integerOption(values: Values, name: string, fallback: number, min: number, max: number, what = 'a whole number'): number {
  const range = `${what} from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}`;
  return numberOption(values, name, fallback, (v) => Number.isInteger(v) && v >= min && v <= max, range);
}

/** Upper bounds of the numeric flags and settings: far beyond any real use, low enough to fail fast. */
export const LIMITS = {
  contextLength: 16_777_216,
  inputDimension: 1_048_576,
  heldOut: 1_000_000,
  seed: 4_294_967_295,
  threads: 1024,
  /** Requests in flight to a serving engine (`--concurrency`, `promptOrFinetune.concurrency`). */
  concurrency: 1024,
} as const;

export function checkSettings(values: Values): CheckSettings {
  const schema = values.schema;
  if (schema !== undefined && !SCHEMA_NAMES.includes(schema as SchemaName)) {
    throw new UsageError(`--schema must be one of ${SCHEMA_NAMES.join(', ')}, not "${String(schema)}"`);
  }
  let fields = {};
  try {
    fields = typeof values.fields === 'string' ? parseFieldOverride(values.fields) : {};
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const between = (value: number): boolean => value > 0 && value < 1;
  let template: Partial<PromptTemplate> | undefined;
  if (typeof values.template === 'string') {
    if (!existsSync(values.template)) throw new UserFacingError(`${values.template}: no such template file`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(values.template, 'utf8'));
    } catch (error) {
      throw new UserFacingError(`${values.template}: not a JSON template (${(error as Error).message})`);
    }
    try {
      template = parseTemplate(parsed, values.template);
    } catch (error) {
      throw new UserFacingError((error as Error).message);
    }
  }
  return {
    ...DEFAULT_SETTINGS,
    epsilon: numberOption(values, 'epsilon', DEFAULT_SETTINGS.epsilon, between, 'between 0 and 1'),
    delta: numberOption(values, 'delta', DEFAULT_SETTINGS.delta, between, 'between 0 and 1'),
    contextLength: integerOption(values, 'context-length', DEFAULT_SETTINGS.contextLength, 1, LIMITS.contextLength, 'a whole number of tokens'),
    inputDimension: integerOption(values, 'input-dimension', DEFAULT_SETTINGS.inputDimension, 1, LIMITS.inputDimension),
    fields,
    ...(template ? { template } : {}),
    ...(schema ? { schema: schema as SchemaName } : {}),
  };
}

async function modelFacts(values: Values): Promise<ModelFacts> {
  if (values.dtype !== undefined && !['fp32', 'fp16', 'q8', 'q4'].includes(String(values.dtype))) {
    throw new UsageError(`--dtype must be fp32, fp16, q8 or q4, not "${String(values.dtype)}"`);
  }
  const { loadLanguageModel } = await import('../engine/model/transformers/transformersModel');
  const model = await loadLanguageModel({
    model: String(values.model), dtype: (values.dtype as 'fp32' | undefined) ?? 'fp32',
    cacheDir: modelsFolder(cacheRoot(values)), allowDownload: !values.offline,
  });
  return { tokenizer: model.tokenizer, contextLength: model.contextLength, vocabularySize: model.vocabularySize, id: model.id };
}

const number = (value: number): string => value.toLocaleString('en-US', { maximumFractionDigits: 2 });

/** The human-readable inspection: a few lines a person reads top to bottom. */
export function describeCheck(check: DatasetCheck): string {
  const { inspection: result, estimate } = check;
  if (result.notJsonLines) return `${result.file}: ${result.notJsonLines}`;
  const lines: string[] = [];
  lines.push(`${result.file}: ${number(result.records)} records, ${number(result.invalid)} invalid lines; schema ${result.schema}`);
  const { fields } = result;
  lines.push(`  fields: input ${fields.input ?? '—'}${fields.context ? ` (+ ${fields.context})` : ''}, reference ${fields.reference ?? '—'}${fields.label ? `, label ${fields.label}` : ''}`);
  if (result.referenceCandidates.length > 1) {
    lines.push(`  reference candidates: ${result.referenceCandidates.map((c) => `${c.path} (${c.kind})`).join(', ')}; choose with --fields reference=…`);
  }
  const notes = [
    result.scan.hasByteOrderMark && 'UTF-8 byte-order mark',
    result.scan.crlfLines && `${number(result.scan.crlfLines)} CRLF line ends`,
    result.scan.crOnlyLineEnds && 'CR-only line ends (classic Mac OS)',
    result.scan.blankLines && `${number(result.scan.blankLines)} blank lines`,
    !result.scan.endsWithNewline && result.bytes > 0 && 'no final newline',
  ].filter(Boolean);
  if (notes.length) lines.push(`  file: ${notes.join(', ')}`);
  if (result.labels) lines.push(`  labels: ${Object.entries(result.labels).map(([label, count]) => `${label} ${number(count)}`).join(', ')}`);
  const chars = result.characters;
  lines.push(`  lengths (characters): input p50 ${number(chars.input.p50)}, p95 ${number(chars.input.p95)}, max ${number(chars.input.max)}; reference p50 ${number(chars.reference.p50)}, p95 ${number(chars.reference.p95)}, max ${number(chars.reference.max)}`);
  if (result.tokens) {
    lines.push(`  lengths (tokens): input p50 ${number(result.tokens.input.p50)}, p95 ${number(result.tokens.input.p95)}; reference p50 ${number(result.tokens.reference.p50)}, p95 ${number(result.tokens.reference.p95)}`);
  }
  lines.push(`  inputs: ${number(result.distinctInputs)} distinct, ${number(result.duplicateInputs)} duplicates, ${number(result.conflictingInputs)} with conflicting references`);
  const listed = (title: string, problems: { line: number; column: number; message: string }[], total: number): void => {
    if (total === 0) return;
    lines.push(`  ${title} (${number(total)}${problems.length < total ? `, first ${problems.length} listed` : ''}):`);
    for (const problem of problems.slice(0, 10)) lines.push(`    line ${problem.line}, column ${problem.column}: ${problem.message}`);
    if (total > 10) lines.push(`    … ${number(total - 10)} more (all of them with --json)`);
  };
  listed('errors', result.errors, result.errorCount);
  listed('records that cannot be used', result.schemaProblems, result.unusable);
  listed('warnings', result.warnings, result.warningCount);
  if (estimate) {
    const { fit, verdict } = estimate;
    lines.push(`  shots that fit: ${number(fit.kFit)} in ${number(fit.contextLength)} tokens (${check.contextLengthSource}; query ${fit.percentile} ${number(fit.queryTokens)}, ${number(fit.meanTokensPerExample)} per example${fit.estimated ? ', estimated from characters' : ''})`);
    lines.push(`  bounds (ε = ${estimate.inputs.epsilon}, δ = ${estimate.inputs.delta}, C = 1 in the paper's form; the standard inequality beside it):`);
    for (const bound of estimate.bounds) {
      lines.push(`    ${bound.task}, ${bound.context} context: ${bound.paperForm} ≈ ${scientific(bound.withUnitConstant)}; standard ≈ ${scientific(bound.standardValue)}`);
    }
    lines.push(`  verdict (theory): ${verdict.sentence}`);
  }
  return lines.map(printable).join('\n');
}

/** A line for a terminal: control characters from the data (escape sequences, line breaks in a key) shown as U+FFFD. */
function printable(line: string): string {
  return line.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g, '\uFFFD');
}

export function scientific(value: number): string {
  if (value < 1e6) return number(Math.ceil(value));
  const exponent = Math.floor(Math.log10(value));
  return `${(value / 10 ** exponent).toFixed(2)} × 10^${exponent}`;
}
