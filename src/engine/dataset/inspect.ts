/**
 * Inspecting a dataset: one streaming pass that detects the schema, maps the fields, counts what is there
 * and reports every line that cannot be used, with its line number.
 */
import { basename } from 'node:path';
import type { TokenCounter } from '../model/languageModel';
import { scanJsonLines, type RecordLine, type LineProblem, type ScanSummary } from './jsonLines';
import {
  detectSchema, extractExample, topLevelFields, type Example, type FieldMapping, type ReferenceCandidate, type SchemaName,
} from './schema';
import { DuplicateTracker } from './duplicates';
import { DistributionAccumulator, type Distribution } from './statistics';

export interface InspectOptions {
  /** Overrides of the detected field mapping; a schema override too. */
  fields?: Partial<FieldMapping>;
  schema?: SchemaName;
  /** Counts tokens of inputs and references when given (a model's tokenizer). */
  tokenizer?: TokenCounter;
  /** Keep every usable record in memory (for a run); off for a plain inspection of a file of any size. */
  collectExamples?: boolean;
  signal?: AbortSignal;
  onProgress?: (bytesRead: number, totalBytes: number) => void;
}

/** Problems kept in full; past this only counted, so a broken 1 GB file does not fill memory. */
export const MAX_LISTED_PROBLEMS = 1000;

export interface LengthStatistics {
  unit: 'characters' | 'tokens';
  input: Distribution;
  reference: Distribution;
}

export interface DatasetInspection {
  file: string;
  name: string;
  bytes: number;
  /** Records that are valid JSON objects. */
  records: number;
  /** Non-blank lines that are part of no record (the README's `invalid`). */
  invalid: number;
  /** Errors found; one error may cover several invalid lines (a broken pretty-printed record). */
  errorCount: number;
  errors: LineProblem[];
  warnings: LineProblem[];
  warningCount: number;
  /** Records that are valid JSON but lack what the schema needs (no reference, no assistant turn…). */
  unusable: number;
  schemaProblems: LineProblem[];
  /** Records that give an example to prompt with or evaluate. */
  usable: number;
  schema: SchemaName;
  fields: FieldMapping;
  referenceCandidates: ReferenceCandidate[];
  /** How often each top-level field is present. */
  fieldCounts: Record<string, number>;
  /** Label → count, for classification. */
  labels: Record<string, number> | null;
  characters: LengthStatistics;
  tokens: LengthStatistics | null;
  distinctInputs: number;
  duplicateInputs: number;
  conflictingInputs: number;
  scan: ScanSummary;
  /** One sentence when the file is not JSON Lines at all (and so holds no record). */
  notJsonLines: string | null;
  /** Every usable record with `collectExamples`; else the first SAMPLE_EXAMPLES, for estimates and previews. */
  examples: Example[];
}

export const SAMPLE_EXAMPLES = 500;

/** Bytes read before the record count of the whole file is estimated (for the duplicate table's size). */
const RESERVE_AFTER_BYTES = 4 * 1024 * 1024;

/** Records kept before the schema is decided; they are then processed like the rest. */
const DETECTION_SAMPLE = 200;

export async function inspectDataset(file: string, options: InspectOptions = {}): Promise<DatasetInspection> {
  const errors: LineProblem[] = [];
  const warnings: LineProblem[] = [];
  const schemaProblems: LineProblem[] = [];
  let errorCount = 0;
  let warningCount = 0;
  let unusable = 0;
  let records = 0;
  const fieldCounts = new Map<string, number>();
  const labels = new Map<string, number>();
  const characters = { input: new DistributionAccumulator(), reference: new DistributionAccumulator() };
  const tokens = options.tokenizer ? { input: new DistributionAccumulator(), reference: new DistributionAccumulator() } : null;
  const duplicates = new DuplicateTracker();
  let reserved = false;
  const examples: Example[] = [];

  // Field counts by runs of records with the same keys in the same order (most files: one run), so that a
  // record costs a comparison of its keys, not a map update each.
  let runKeys: string[] = [];
  let runLength = 0;
  const endRun = (): void => {
    for (const key of runKeys) fieldCounts.set(key, (fieldCounts.get(key) ?? 0) + runLength);
  };
  const countFields = (record: Record<string, unknown>): void => {
    let index = 0;
    for (const key in record) {
      if (runKeys[index] !== key) {
        endRun();
        runKeys = Object.keys(record);
        runLength = 1;
        return;
      }
      index++;
    }
    if (index !== runKeys.length) {
      endRun();
      runKeys = Object.keys(record);
      runLength = 0;
    }
    runLength++;
  };

  let sample: { record: Record<string, unknown>; line: number }[] | null = [];
  let schema: SchemaName = 'unknown';
  let fields: FieldMapping = { input: null, context: null, reference: null, label: null };
  let referenceCandidates: ReferenceCandidate[] = [];

  /** `recordLine`: the record's line, for the duplicate hash to read instead of the strings. */
  const process = (record: Record<string, unknown>, line: number, recordLine?: RecordLine): void => {
    const extraction = extractExample(record, line, schema, fields);
    if (!extraction.ok) {
      unusable++;
      if (schemaProblems.length < MAX_LISTED_PROBLEMS) schemaProblems.push({ line, column: 1, message: extraction.reason });
      return;
    }
    const example = extraction.example;
    // The input as a prompt shows it is `${input}\n${context}`; only a tokenizer needs it built.
    characters.input.add(example.context ? example.input.length + 1 + example.context.length : example.input.length);
    characters.reference.add(example.reference.length);
    if (tokens && options.tokenizer) {
      tokens.input.add(options.tokenizer.countTokens(example.context ? `${example.input}\n${example.context}` : example.input));
      tokens.reference.add(options.tokenizer.countTokens(example.reference));
    }
    duplicates.add(example.input, example.reference, example.context, recordLine);
    if (example.label !== undefined) labels.set(example.label, (labels.get(example.label) ?? 0) + 1);
    if (options.collectExamples || examples.length < SAMPLE_EXAMPLES) examples.push(example);
  };

  const decide = (): void => {
    if (!sample) return;
    const detection = detectSchema(sample.map((entry) => entry.record));
    schema = options.schema ?? detection.schema;
    fields = { ...detection.fields, ...options.fields };
    referenceCandidates = detection.referenceCandidates;
    duplicates.readLinesBy(topLevelFields(schema, fields));
    const decided = sample;
    sample = null;
    for (const entry of decided) process(entry.record, entry.line);
  };

  const scan = await scanJsonLines(file, {
    onRecord(record, span, recordLine) {
      records++;
      countFields(record);
      if (sample) {
        sample.push({ record, line: span.line });
        if (sample.length >= DETECTION_SAMPLE) decide();
      } else process(record, span.line, recordLine);
    },
    onError(problem) {
      errorCount++;
      if (errors.length < MAX_LISTED_PROBLEMS) errors.push(problem);
    },
    onWarning(problem) {
      warningCount++;
      if (warnings.length < MAX_LISTED_PROBLEMS) warnings.push(problem);
    },
  }, {
    signal: options.signal,
    onProgress(bytesRead, totalBytes) {
      // Once a few MiB are read, the table of inputs is sized for the records the whole file will hold.
      if (!reserved && bytesRead >= RESERVE_AFTER_BYTES && records > 0) {
        reserved = true;
        duplicates.reserve(Math.ceil((records / bytesRead) * totalBytes));
      }
      options.onProgress?.(bytesRead, totalBytes);
    },
  });
  decide();
  endRun();

  if (scan.multiLineRecords > 0) {
    warningCount++;
    warnings.unshift({
      line: 1, column: 1,
      message: `${scan.multiLineRecords} record${scan.multiLineRecords === 1 ? ' spans' : 's span'} several lines (pretty-printed JSON): JSON Lines wants one record per line`,
    });
  }
  if (scan.arrayLines > 0) {
    warningCount++;
    warnings.unshift({ line: 1, column: 1, message: `${scan.arrayLines} line${scan.arrayLines === 1 ? ' is a JSON array' : 's are JSON arrays'}, not objects: read as records with fields "0", "1", …` });
  }

  const notJsonLines = scan.notJsonLines ?? null;
  return {
    file, name: basename(file), bytes: scan.bytes,
    records: notJsonLines ? 0 : records,
    invalid: scan.invalidLines, errorCount, errors, warnings, warningCount, unusable, schemaProblems,
    usable: notJsonLines ? 0 : records - unusable,
    schema, fields, referenceCandidates,
    fieldCounts: Object.fromEntries(fieldCounts),
    labels: (schema as SchemaName) === 'classification' || fields.label ? Object.fromEntries([...labels].sort((a, b) => b[1] - a[1])) : null,
    characters: { unit: 'characters', input: characters.input.result(), reference: characters.reference.result() },
    tokens: tokens ? { unit: 'tokens', input: tokens.input.result(), reference: tokens.reference.result() } : null,
    distinctInputs: duplicates.distinctInputs,
    duplicateInputs: duplicates.duplicates,
    conflictingInputs: duplicates.conflictingInputs,
    scan, notJsonLines,
    examples: notJsonLines ? [] : examples,
  };
}
