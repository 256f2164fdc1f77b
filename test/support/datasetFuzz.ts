/**
 * Property-based fuzzing of the JSONL reader and the inspector, shared by the unit test (a few thousand cases)
 * and `npm run fuzz` (as many as asked).
 *
 * Each case is a file built from known parts, so an independent oracle knows what reading it must give:
 * records (serialised by JSON.stringify, one a line or pretty-printed over several), blank lines, and faults
 * injected at known lines (not JSON, JSON scalars, a trailing comma, a stray closer, a NUL byte, nesting past
 * the limit), with LF, CRLF or CR-only line ends, with or without a BOM and a final newline. A third kind of
 * case is arbitrary bytes and JSON-like token soup, where no oracle says what is right; there only crashes,
 * hangs and broken invariants count.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { inspectDataset } from '../../src/engine/dataset/inspect';
import { MAX_NESTING_DEPTH, scanJsonLines, scanJsonLinesText, toOneRecordPerLine, type LineProblem, type ScanSummary } from '../../src/engine/dataset/jsonLines';

/** One logical part of a generated file. */
export type Part =
  | { kind: 'record'; value: Record<string, unknown>; pretty: boolean }
  | { kind: 'array'; value: unknown[] }
  | { kind: 'raw-tab'; value: Record<string, unknown> }
  | { kind: 'blank'; text: string }
  | { kind: 'fault'; text: string; message?: string }
  | { kind: 'deep'; depth: number; prompt: string };

export interface FileCase {
  mode: 'reader' | 'inspector';
  parts: Part[];
  lineEnd: '\n' | '\r\n' | '\r';
  byteOrderMark: boolean;
  finalNewline: boolean;
}

export interface SoupCase {
  mode: 'soup';
  bytes: Uint8Array;
}

export type FuzzCase = FileCase | SoupCase;

// ---------------------------------------------------------------------------------------------------------
// Generators

const anyKey = fc.string({ unit: 'binary', maxLength: 8 });
const jsonLeaf = fc.oneof(fc.string({ unit: 'binary', maxLength: 20 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null));
const jsonValue = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, jsonLeaf, fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(anyKey, tie('value'), { maxKeys: 4 })),
})).value;

const anyRecord = fc.dictionary(anyKey, jsonValue, { maxKeys: 6 }) as fc.Arbitrary<Record<string, unknown>>;
/** Inputs from a small set, so duplicates happen; written so no two differ only by case, space or Unicode form. */
const PROMPTS = Array.from({ length: 12 }, (_, i) => `prompt ${i}`);
const promptRecord = fc.record({ prompt: fc.constantFrom(...PROMPTS), completion: fc.string({ unit: 'binary', maxLength: 30 }) }) as fc.Arbitrary<Record<string, unknown>>;

const FAULTS: { text: string; message?: string }[] = [
  { text: 'not json at all' },
  { text: 'hello world' },
  { text: '42', message: 'line is a JSON number, not an object' },
  { text: '"just a string"', message: 'line is a JSON string, not an object' },
  { text: 'null', message: 'line is a JSON null, not an object' },
  { text: 'true', message: 'line is a JSON boolean, not an object' },
  { text: '}', message: "stray '}' with no record open" },
  { text: '],', message: "stray '],' with no record open" },
  { text: 'x\u0000y', message: 'line holds a NUL byte (binary data?), not a record' },
  { text: '{"prompt": "a" "completion": "b"}' },
  { text: '{"a": 1,}' },
  { text: '{"a": NaN}' },
  { text: "{'single': 'quotes'}" },
];

function partArbitrary(mode: FileCase['mode']): fc.Arbitrary<Part> {
  const record = mode === 'inspector' ? promptRecord : anyRecord;
  return fc.oneof(
    { weight: 10, arbitrary: fc.record({ kind: fc.constant('record' as const), value: record, pretty: fc.boolean() }) },
    { weight: mode === 'reader' ? 2 : 0, arbitrary: fc.record({ kind: fc.constant('array' as const), value: fc.array(jsonValue, { maxLength: 4 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('raw-tab' as const), value: record }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('blank' as const), text: fc.constantFrom('', ' ', '\t', '   ') }) },
    { weight: 3, arbitrary: fc.constantFrom(...FAULTS).map((fault) => ({ kind: 'fault' as const, ...fault })) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('deep' as const), depth: fc.oneof(fc.integer({ min: MAX_NESTING_DEPTH - 3, max: MAX_NESTING_DEPTH + 3 }), fc.integer({ min: 1000, max: 6000 })), prompt: fc.constantFrom(...PROMPTS) }) },
  );
}

export function fileCase(mode: FileCase['mode']): fc.Arbitrary<FileCase> {
  return fc.record({
    mode: fc.constant(mode),
    parts: fc.array(partArbitrary(mode), { maxLength: 25 }),
    lineEnd: fc.constantFrom('\n' as const, '\r\n' as const, '\r' as const),
    byteOrderMark: fc.boolean(),
    finalNewline: fc.boolean(),
  });
}

/** Token soup: bytes that are mostly JSON punctuation and line ends, where joins and re-reads happen. */
const SOUP_TOKENS = ['{', '}', '[', ']', '"', ':', ',', '\\', 'a', '1', ' ', '\n', '\n', '\r\n', '\r', '\t', '\u0000', 'é', '🙂', '\uFEFF', '{"a":1}', '{"prompt":"p","completion":"c"}', 'null', '"k":'];
export const soupCase: fc.Arbitrary<SoupCase> = fc.oneof(
  fc.array(fc.constantFrom(...SOUP_TOKENS), { maxLength: 120 }).map((tokens) => Buffer.from(tokens.join(''))),
  fc.uint8Array({ maxLength: 600 }),
).map((bytes) => ({ mode: 'soup' as const, bytes: new Uint8Array(bytes) }));

export const anyCase: fc.Arbitrary<FuzzCase> = fc.oneof(fileCase('reader'), fileCase('inspector'), soupCase);

// ---------------------------------------------------------------------------------------------------------
// The oracle: what reading a generated file must give, from how it was built

interface ExpectedRecord { line: number; endLine: number; json: string }

export interface Expected {
  bytes: Buffer;
  text: string;
  records: ExpectedRecord[];
  /** Line → the exact message where the fault has one ('' where any message will do). */
  errors: Map<number, string>;
  invalidLines: number;
  warningLines: number[];
  lines: number;
  blankLines: number;
  crlfLines: number;
  crOnly: boolean;
  endsWithNewline: boolean;
  /** True when the whole file must be called not JSON Lines (no record, or one array line). */
  notJsonLines: boolean;
  /** The share of control bytes at the start is so near the binary threshold that either answer is right. */
  ambiguous: boolean;
}

/** `depth` levels: an object holding arrays nested depth − 1 deep. */
function nested(depth: number): unknown {
  let value: unknown[] = [];
  for (let level = 2; level < depth; level++) value = [value];
  return value;
}

export function expectedOf(fileCase: FileCase): Expected {
  const physical: string[] = [];
  const records: ExpectedRecord[] = [];
  const errors = new Map<number, string>();
  const warningLines: number[] = [];
  let invalidLines = 0;
  let arrayLines = 0;
  const nextLine = (): number => physical.length + 1;
  for (const part of fileCase.parts) {
    switch (part.kind) {
      case 'record': {
        const json = JSON.stringify(part.value);
        const lines = part.pretty ? JSON.stringify(part.value, null, 2).split('\n') : [json];
        records.push({ line: nextLine(), endLine: nextLine() + lines.length - 1, json });
        physical.push(...lines);
        break;
      }
      case 'array': {
        records.push({ line: nextLine(), endLine: nextLine(), json: JSON.stringify(Object.fromEntries(part.value.map((element, index) => [String(index), element]))) });
        arrayLines++;
        physical.push(JSON.stringify(part.value));
        break;
      }
      case 'raw-tab': {
        // The tab is written raw, first, so no other key can be "tab" and no escaped "\t" in the rest is touched.
        const rest = Object.fromEntries(Object.entries(part.value).filter(([key]) => key !== 'tab'));
        const restJson = JSON.stringify(rest);
        records.push({ line: nextLine(), endLine: nextLine(), json: JSON.stringify({ tab: 'a\tb', ...rest }) });
        warningLines.push(nextLine());
        physical.push(`{"tab":"a\tb"${restJson === '{}' ? '}' : `,${restJson.slice(1)}`}`);
        break;
      }
      case 'blank':
        physical.push(part.text);
        break;
      case 'fault':
        errors.set(nextLine(), part.message ?? '');
        invalidLines++;
        physical.push(part.text);
        break;
      case 'deep': {
        const head = { prompt: part.prompt, completion: 'c' };
        const text = `${JSON.stringify(head).slice(0, -1)},"d":${'['.repeat(part.depth - 1)}${']'.repeat(part.depth - 1)}}`;
        if (part.depth > MAX_NESTING_DEPTH) {
          errors.set(nextLine(), `record is nested more than ${MAX_NESTING_DEPTH} levels deep; skipped`);
          invalidLines++;
        } else {
          records.push({ line: nextLine(), endLine: nextLine(), json: JSON.stringify({ ...head, d: nested(part.depth) }) });
        }
        physical.push(text);
        break;
      }
    }
  }
  const { lineEnd } = fileCase;
  const body = physical.join(lineEnd) + (fileCase.finalNewline && physical.length ? lineEnd : '');
  const text = (fileCase.byteOrderMark ? '\uFEFF' : '') + body;
  const bytes = Buffer.from(text, 'utf8');
  // The lines as a reader sees them: a terminator ends a line; what follows the last one, if anything, is one more.
  const endsWithNewline = body.endsWith(lineEnd);
  const seen = body === '' ? [] : body.split(lineEnd);
  if (endsWithNewline) seen.pop();
  if (seen.length === 0 && fileCase.byteOrderMark) seen.push('');
  const crOnly = lineEnd === '\r' && text.includes('\r');
  if (crOnly) warningLines.unshift(1);
  const terminated = endsWithNewline ? seen.length : Math.max(0, seen.length - 1);
  const contentLines = seen.filter((line) => line.trim() !== '').length;
  // The binary test looks at the first 8 KiB: NUL and other control bytes there, against a tenth of it.
  const sample = bytes.subarray(0, 8192);
  let controls = 0;
  for (const byte of sample) if (byte < 0x09 || (byte > 0x0d && byte < 0x20)) controls++;
  const threshold = sample.length * 0.1;
  return {
    bytes, text, records, errors, invalidLines, warningLines,
    lines: seen.length,
    blankLines: seen.filter((line) => line.trim() === '').length,
    crlfLines: lineEnd === '\r\n' ? terminated : 0,
    crOnly,
    endsWithNewline,
    notJsonLines: records.length === 0 || (contentLines === 1 && arrayLines === 1),
    // Only a start cut inside a multi-byte character adds (up to 3) replacement characters to the count.
    ambiguous: bytes.length > 8192 && controls <= threshold && controls + 3 > threshold,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Running a case and comparing

interface Observed {
  records: ExpectedRecord[];
  errors: LineProblem[];
  warnings: LineProblem[];
  summary: ScanSummary;
}

function collect(): { observed: Omit<Observed, 'summary'>; handlers: Parameters<typeof scanJsonLinesText>[1] } {
  const observed = { records: [] as ExpectedRecord[], errors: [] as LineProblem[], warnings: [] as LineProblem[] };
  return {
    observed,
    handlers: {
      onRecord: (value, span) => observed.records.push({ line: span.line, endLine: span.endLine, json: JSON.stringify(value) }),
      onError: (problem) => observed.errors.push(problem),
      onWarning: (problem) => observed.warnings.push(problem),
    },
  };
}

/** Differences between what was read and what was expected, one line each; empty when they agree. */
export async function checkCase(fuzzCase: FuzzCase, folder: string, index: number): Promise<string[]> {
  const file = join(folder, `case-${index}.jsonl`);
  if (fuzzCase.mode === 'soup') {
    writeFileSync(file, fuzzCase.bytes);
    return checkInvariants(file);
  }
  const expected = expectedOf(fuzzCase);
  writeFileSync(file, expected.bytes);
  if (expected.ambiguous) return [];
  return fuzzCase.mode === 'reader' ? checkReader(file, expected) : checkInspector(file, expected);
}

const same = (label: string, actual: unknown, wanted: unknown): string[] =>
  JSON.stringify(actual) === JSON.stringify(wanted) ? [] : [`${label}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(wanted)}`];

function binaryExpected(expected: Expected): boolean {
  const sample = expected.bytes.subarray(0, 8192);
  let controls = 0;
  for (const byte of sample) if (byte < 0x09 || (byte > 0x0d && byte < 0x20)) controls++;
  return controls > sample.length * 0.1;
}

async function checkReader(file: string, expected: Expected): Promise<string[]> {
  const { observed, handlers } = collect();
  const summary = await scanJsonLines(file, handlers);
  if (binaryExpected(expected)) return same('notJsonLines', summary.notJsonLines, 'The file is binary (it holds NUL bytes), not JSON Lines text.');
  const problems = [
    ...same('records', observed.records, expected.records),
    ...same('error lines', observed.errors.map((error) => error.line), [...expected.errors.keys()]),
    ...observed.errors.flatMap((error) => {
      const message = expected.errors.get(error.line);
      return message ? same(`error message at line ${error.line}`, error.message, message) : [];
    }),
    ...same('warning lines', observed.warnings.map((warning) => warning.line), expected.warningLines),
    ...same('invalid lines', summary.invalidLines, expected.invalidLines),
    ...same('lines', summary.lines, expected.lines),
    ...same('blank lines', summary.blankLines, expected.blankLines),
    ...same('CRLF lines', summary.crlfLines, expected.crlfLines),
    ...same('CR only', summary.crOnlyLineEnds, expected.crOnly),
    ...same('ends with a newline', summary.endsWithNewline, expected.endsWithNewline),
    ...same('byte-order mark', summary.hasByteOrderMark, expected.text.startsWith('\uFEFF')),
    ...same('not JSON Lines', summary.notJsonLines !== undefined, expected.notJsonLines),
  ];
  // The editor's reading of the same text must agree with the file's.
  const fromText = collect();
  const textSummary = scanJsonLinesText(expected.text, fromText.handlers);
  problems.push(
    ...same('text reader: records', fromText.observed.records, observed.records),
    ...same('text reader: errors', fromText.observed.errors, observed.errors),
    ...same('text reader: warnings', fromText.observed.warnings, observed.warnings),
  );
  // The quick fix that puts pretty-printed records on one line each keeps every record and every other line.
  const rewritten = collect();
  const summaryAfter = scanJsonLinesText(toOneRecordPerLine(expected.text), rewritten.handlers);
  const multiLine = observed.records.filter((record) => record.endLine > record.line);
  problems.push(
    ...same('one record per line: records', rewritten.observed.records.map((record) => record.json), observed.records.map((record) => record.json)),
    ...same('one record per line: multi-line records', summaryAfter.multiLineRecords, 0),
    ...same('one record per line: lines', summaryAfter.lines, textSummary.lines - multiLine.reduce((sum, record) => sum + record.endLine - record.line, 0)),
    ...same('one record per line: invalid lines', summaryAfter.invalidLines, summary.invalidLines),
  );
  return problems;
}

async function checkInspector(file: string, expected: Expected): Promise<string[]> {
  const result = await inspectDataset(file);
  if (binaryExpected(expected)) return same('notJsonLines', result.notJsonLines, 'The file is binary (it holds NUL bytes), not JSON Lines text.');
  const records = expected.records.map((record) => ({ line: record.line, value: JSON.parse(record.json) as { prompt: string; completion: string } }));
  const problems = [
    ...same('records', result.records, expected.notJsonLines ? 0 : records.length),
    ...same('invalid', result.invalid, expected.invalidLines),
    ...same('error lines', result.errors.map((error) => error.line), [...expected.errors.keys()]),
    // The inspector puts one line-1 warning first when records span several lines.
    ...same('warning lines', result.warnings.map((warning) => warning.line), [...(expected.records.some((record) => record.endLine > record.line) ? [1] : []), ...expected.warningLines]),
    ...same('not JSON Lines', result.notJsonLines !== null, expected.notJsonLines),
  ];
  if (expected.notJsonLines) return problems;
  const inputs = new Map<string, Set<string>>();
  for (const { value } of records) {
    const references = inputs.get(value.prompt) ?? new Set<string>();
    references.add(value.completion.trim());
    inputs.set(value.prompt, references);
  }
  problems.push(
    ...same('schema', [result.schema, result.fields.input, result.fields.reference], ['prompt-completion', 'prompt', 'completion']),
    ...same('usable', result.usable, records.length),
    ...same('examples', result.examples.map((example) => [example.line, example.input, example.reference]), records.map(({ line, value }) => [line, value.prompt, value.completion])),
    ...same('longest input', result.characters.input.max, Math.max(...records.map(({ value }) => value.prompt.length))),
    ...same('longest reference', result.characters.reference.max, Math.max(...records.map(({ value }) => value.completion.length))),
    ...same('distinct inputs', result.distinctInputs, inputs.size),
    ...same('duplicate inputs', result.duplicateInputs, records.length - inputs.size),
    ...same('conflicting inputs', result.conflictingInputs, [...inputs.values()].filter((references) => references.size > 1).length),
  );
  return problems;
}

/** Arbitrary bytes: no oracle, but what is read must hang together. */
async function checkInvariants(file: string): Promise<string[]> {
  const { observed, handlers } = collect();
  const summary = await scanJsonLines(file, handlers);
  const result = await inspectDataset(file);
  const problems: string[] = [];
  const nonBlank = summary.lines - summary.blankLines;
  if (!summary.notJsonLines && observed.records.length + summary.invalidLines > nonBlank) {
    problems.push(`${observed.records.length} records and ${summary.invalidLines} invalid lines in ${nonBlank} non-blank lines`);
  }
  for (const problem of [...observed.errors, ...observed.warnings]) {
    if (!(problem.line >= 1 && problem.line <= Math.max(1, summary.lines)) || !(problem.column >= 1)) problems.push(`problem outside the file: ${JSON.stringify(problem)}`);
  }
  for (const record of observed.records) {
    if (record.line > record.endLine || record.endLine > summary.lines) problems.push(`record span outside the file: ${record.line}–${record.endLine}`);
  }
  if (observed.errors.length > 0 && summary.invalidLines === 0) problems.push(`${observed.errors.length} errors but no invalid line`);
  problems.push(
    ...same('inspector records', result.records, summary.notJsonLines ? 0 : observed.records.length),
    ...same('inspector invalid', result.invalid, summary.invalidLines),
    ...same('inspector errors', result.errors.length, Math.min(observed.errors.length, 1000)),
  );
  return problems;
}
