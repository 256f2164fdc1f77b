/**
 * The dataset view's data: what an inspection found, made into what a person reads — label counts, histograms
 * of input and reference lengths (in tokens with a tokenizer), groups of duplicate inputs with their lines (and
 * whether their references conflict), the field mapping with the other reference candidates, and the problems.
 * Plain data for a webview; dataset text in it is data, never markup.
 */
import type { TokenCounter } from '../model/languageModel';
import { duplicateKey } from './statistics';
import type { DatasetInspection } from './inspect';
import type { FieldMapping, ReferenceCandidate, SchemaName } from './schema';

export interface HistogramBin {
  /** Inclusive lower and exclusive upper edge (the last bin includes its upper edge). */
  from: number;
  to: number;
  count: number;
}

export interface Histogram {
  bins: HistogramBin[];
  count: number;
}

export interface DuplicateGroup {
  /** The input as written in its first record, clipped for display. */
  input: string;
  /** 1-based lines of the records that share it. */
  lines: number[];
  /** True when the records disagree on the reference. */
  conflicting: boolean;
}

export interface OverviewProblem {
  line: number;
  column: number;
  message: string;
  severity: 'error' | 'warning' | 'unusable';
}

export interface DatasetOverview {
  file: string;
  name: string;
  bytes: number;
  records: number;
  usable: number;
  invalid: number;
  unusable: number;
  warningCount: number;
  schema: SchemaName;
  fields: FieldMapping;
  /** Every field that could be the reference; `fields.reference` is the one compared. */
  referenceCandidates: ReferenceCandidate[];
  labels: { label: string; count: number }[] | null;
  lengths: { unit: 'tokens' | 'characters'; input: Histogram; reference: Histogram };
  duplicateGroups: DuplicateGroup[];
  distinctInputs: number;
  duplicateInputs: number;
  conflictingInputs: number;
  problems: OverviewProblem[];
  /** Records behind the histograms and duplicate groups: all usable ones, or the first ones of a large file. */
  recordsShown: number;
}

const MAX_GROUPS = 200;
const MAX_PROBLEMS = 500;
const INPUT_SHOWN = 160;
const BINS = 12;

export function datasetOverview(inspection: DatasetInspection, tokenizer?: TokenCounter): DatasetOverview {
  const examples = inspection.examples;
  const measure = (text: string): number => (tokenizer ? tokenizer.countTokens(text) : text.length);
  const inputLengths = examples.map((example) => measure(example.context ? `${example.input}\n${example.context}` : example.input));
  const referenceLengths = examples.map((example) => measure(example.reference));

  // Inputs group as the inspection counts duplicates (duplicateKey); references conflict as it counts conflicts
  // (different once trimmed), so the groups and the count say the same.
  const groups = new Map<string, { input: string; lines: number[]; references: Set<string> }>();
  for (const example of examples) {
    const text = example.context ? `${example.input}\n${example.context}` : example.input;
    const key = duplicateKey(text);
    const group = groups.get(key);
    if (group) {
      group.lines.push(example.line);
      group.references.add(example.reference.trim());
    } else groups.set(key, { input: text, lines: [example.line], references: new Set([example.reference.trim()]) });
  }
  const duplicateGroups = [...groups.values()]
    .filter((group) => group.lines.length > 1)
    .map((group): DuplicateGroup => ({
      input: group.input.length > INPUT_SHOWN ? `${group.input.slice(0, INPUT_SHOWN)}…` : group.input,
      lines: group.lines, conflicting: group.references.size > 1,
    }))
    // Conflicts first: they are what makes a reference untrustworthy.
    .sort((a, b) => Number(b.conflicting) - Number(a.conflicting) || b.lines.length - a.lines.length || a.lines[0]! - b.lines[0]!)
    .slice(0, MAX_GROUPS);

  const problems: OverviewProblem[] = [
    ...inspection.errors.map((problem) => ({ ...problem, severity: 'error' as const })),
    ...inspection.schemaProblems.map((problem) => ({ ...problem, severity: 'unusable' as const })),
    ...inspection.warnings.map((problem) => ({ ...problem, severity: 'warning' as const })),
  ].sort((a, b) => a.line - b.line || a.column - b.column).slice(0, MAX_PROBLEMS);

  return {
    file: inspection.file, name: inspection.name, bytes: inspection.bytes,
    records: inspection.records, usable: inspection.usable, invalid: inspection.invalid, unusable: inspection.unusable,
    warningCount: inspection.warningCount, schema: inspection.schema, fields: inspection.fields,
    referenceCandidates: inspection.referenceCandidates,
    labels: inspection.labels ? Object.entries(inspection.labels).map(([label, count]) => ({ label, count })) : null,
    lengths: { unit: tokenizer ? 'tokens' : 'characters', input: histogram(inputLengths), reference: histogram(referenceLengths) },
    duplicateGroups,
    distinctInputs: inspection.distinctInputs, duplicateInputs: inspection.duplicateInputs, conflictingInputs: inspection.conflictingInputs,
    problems, recordsShown: examples.length,
  };
}

/** Equal-width bins over whole numbers from the smallest to the largest value (at most BINS of them). */
export function histogram(values: readonly number[]): Histogram {
  if (values.length === 0) return { bins: [], count: 0 };
  let min = Infinity;
  let max = -Infinity;
  for (const value of values) {
    if (value < min) min = value;
    if (value > max) max = value;
  }
  const width = Math.max(1, Math.ceil((max - min + 1) / BINS));
  const bins: HistogramBin[] = [];
  for (let from = min; from <= max; from += width) bins.push({ from, to: from + width, count: 0 });
  for (const value of values) bins[Math.min(bins.length - 1, Math.floor((value - min) / width))]!.count++;
  return { bins, count: values.length };
}
