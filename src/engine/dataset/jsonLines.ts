/**
 * Streams a JSON Lines file record by record, never holding the whole file in memory.
 *
 * Real files are messy, so the scanner is forgiving where the intent is clear and loud about it:
 * - a UTF-8 byte-order mark, CRLF line ends, blank lines and a missing final newline are accepted; CR-only line
 *   ends (classic Mac OS) too, with a warning;
 * - a record pretty-printed over several lines is joined and read, with a warning;
 * - raw control characters (a tab) inside strings are invalid JSON, but the record is read, with a warning;
 * - a key that appears twice in one object is reported (JSON.parse silently keeps the last value);
 * - every line that cannot be read gives an error with its line, column and a short reason, and reading goes on:
 *   a stray NUL byte, a line too long to hold, a value nested too deep for the recursive code downstream
 *   (JSON.stringify, structured clone) are each one error on their line, never the end of the file.
 */
import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { parse as tolerantParse, type ParseError } from 'jsonc-parser';

export interface RecordSpan {
  /** 1-based line where the record starts. */
  line: number;
  /** 1-based line where it ends (equal to `line` for a well-formed JSONL record). */
  endLine: number;
}

export interface LineProblem {
  line: number;
  /** 1-based column in characters, where known. */
  column: number;
  message: string;
}

/**
 * Where the line of a record read from one line stands in the file's bytes, when they are known to be valid
 * UTF-8 (the line's text is then exactly what they spell): a JSON object, with white space perhaps around it.
 * `bytes` is the chunk of the file read, never changed once read; the object itself is reused for the next
 * line, so it is valid during onRecord only.
 */
export interface RecordLine {
  bytes: Buffer;
  start: number;
  end: number;
}

export interface ScanHandlers {
  /** `line`: where the record's line stands in the file, where known (see RecordLine). */
  onRecord(value: Record<string, unknown>, span: RecordSpan, line?: RecordLine): void;
  onError(problem: LineProblem): void;
  onWarning(problem: LineProblem): void;
}

export interface ScanOptions {
  signal?: AbortSignal;
  onProgress?: (bytesRead: number, totalBytes: number) => void;
}

/** What the scan saw of the file as a whole. */
export interface ScanSummary {
  bytes: number;
  lines: number;
  blankLines: number;
  hasByteOrderMark: boolean;
  crlfLines: number;
  endsWithNewline: boolean;
  /** Records that spanned several lines. */
  multiLineRecords: number;
  /** Lines that were JSON arrays and were read as records with fields "0", "1", …. */
  arrayLines: number;
  /** Lines that were JSON but neither object nor array (numbers, strings, null). */
  scalarLines: number;
  /** Lines end with CR alone (classic Mac OS); they were read as line breaks. */
  crOnlyLineEnds: boolean;
  /** Non-blank lines that are part of no record: what the README calls `invalid`. */
  invalidLines: number;
  /** Set when the file as a whole is not JSON Lines: one sentence saying what it is. */
  notJsonLines?: string;
}

/** Longest line we will hold; anything longer is reported and skipped, not loaded. */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;
/**
 * Deepest nesting of arrays and objects a record may have. JSON.parse copes with any depth, but the code after
 * it (JSON.stringify of a field, structured clone to a worker or webview) is recursive and overflows the stack
 * a few thousand levels down; no real dataset comes near a hundred.
 */
export const MAX_NESTING_DEPTH = 100;
/** How far a pretty-printed record may spread before we stop joining lines and call it unclosed. */
const MAX_RECORD_LINES = 10_000;
const MAX_RECORD_CHARS = 16 * 1024 * 1024;

const LFS_POINTER = 'version https://git-lfs.github.com/spec/v1';

export async function scanJsonLines(path: string, handlers: ScanHandlers, options: ScanOptions = {}): Promise<ScanSummary> {
  const info = await stat(path);
  // A FIFO would block the read until a writer comes; a device never ends.
  if (!info.isFile()) throw new Error(`${path} is not a regular file (a pipe, socket or device): save the data to a file first`);
  const totalBytes = info.size;
  const summary: ScanSummary = {
    bytes: totalBytes, lines: 0, blankLines: 0, hasByteOrderMark: false, crlfLines: 0, endsWithNewline: false,
    multiLineRecords: 0, arrayLines: 0, scalarLines: 0, crOnlyLineEnds: false, invalidLines: 0,
  };
  const assembler = new RecordAssembler(handlers, summary);
  /** The byte that ends a line: LF, or CR in a file with CR-only line ends. */
  let lineEnd = 0x0a;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let skippingLongLine = false;
  let bytesRead = 0;
  let lineNumber = 0;
  let firstChunk = true;
  let lastByte = -1;
  const place: RecordLine = { bytes: Buffer.alloc(0), start: 0, end: 0 };

  /** The line in `bytes` from `start` to `end`; `knownUtf8` when a check of a larger span found it valid UTF-8. */
  const finishLine = (bytes: Buffer, start: number, end: number, knownUtf8: boolean): void => {
    lineNumber++;
    let text = bytes.toString('utf8', start, end);
    let textStart = start;
    let textEnd = end;
    // Bytes that are not UTF-8 (a Latin-1 file) become U+FFFD: say so, since the text is then not what was written.
    if (!knownUtf8 && text.includes('\uFFFD') && !isUtf8(bytes.subarray(start, end))) {
      handlers.onWarning({ line: lineNumber, column: 1, message: 'line is not valid UTF-8 (another encoding?); undecodable bytes read as U+FFFD' });
    }
    if (lineNumber === 1 && text.charCodeAt(0) === 0xfeff) {
      summary.hasByteOrderMark = true;
      text = text.slice(1);
      textStart += 3;
    }
    if (lineEnd === 0x0a && text.charCodeAt(text.length - 1) === 0x0d) {
      summary.crlfLines++;
      text = text.slice(0, -1);
      textEnd--;
    }
    // The text's bytes, when they are known to be what it was decoded from.
    if (knownUtf8) {
      place.bytes = bytes;
      place.start = textStart;
      place.end = textEnd;
    }
    assembler.line(text, lineNumber, knownUtf8 ? place : undefined);
  };

  const stream = createReadStream(path, { highWaterMark: 1024 * 1024 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      options.signal?.throwIfAborted();
      if (firstChunk) {
        firstChunk = false;
        const diagnosis = diagnoseBinary(chunk);
        if (diagnosis) {
          summary.notJsonLines = diagnosis;
          return summary;
        }
        if (hasCrOnlyLineEnds(chunk)) {
          lineEnd = 0x0d;
          summary.crOnlyLineEnds = true;
          handlers.onWarning(CR_ONLY_WARNING);
        }
      }
      bytesRead += chunk.length;
      lastByte = chunk[chunk.length - 1] ?? lastByte;
      let start = 0;
      // One native check of the chunk's whole lines (from after its first line end to its last) spares each of
      // them its own; lines that began in an earlier chunk are checked alone.
      const firstEnd = chunk.indexOf(lineEnd);
      const lastEnd = firstEnd === -1 ? -1 : chunk.lastIndexOf(lineEnd);
      const wholeLinesUtf8 = lastEnd > firstEnd && isUtf8(chunk.subarray(firstEnd + 1, lastEnd));
      for (let newline = firstEnd; newline !== -1; newline = chunk.indexOf(lineEnd, start)) {
        if (skippingLongLine) {
          skippingLongLine = false;
        } else if (pending.length) {
          const joined = Buffer.concat([...pending, chunk.subarray(start, newline)]);
          finishLine(joined, 0, joined.length, false);
        } else {
          finishLine(chunk, start, newline, wholeLinesUtf8 && start > firstEnd);
        }
        pending = [];
        pendingBytes = 0;
        start = newline + 1;
      }
      if (start < chunk.length && !skippingLongLine) {
        pending.push(chunk.subarray(start));
        pendingBytes += chunk.length - start;
        if (pendingBytes > MAX_LINE_BYTES) {
          lineNumber++;
          assembler.tooLong(lineNumber);
          pending = [];
          pendingBytes = 0;
          skippingLongLine = true;
        }
      }
      options.onProgress?.(bytesRead, totalBytes);
    }
  } finally {
    stream.destroy();
  }
  if (pending.length) {
    const rest = Buffer.concat(pending);
    finishLine(rest, 0, rest.length, false);
  }
  else if (skippingLongLine) { /* the long line ran to the end of the file and was already reported */ }
  summary.endsWithNewline = lastByte === lineEnd;
  summary.lines = lineNumber;
  assembler.end();
  summary.notJsonLines ??= assembler.diagnoseWholeFile(totalBytes);
  return summary;
}

const CR_ONLY_WARNING: LineProblem = { line: 1, column: 1, message: 'line ends are CR only (classic Mac OS): read as line breaks' };

/** A start of a file with CR bytes and not one LF: its lines end with CR alone. */
function hasCrOnlyLineEnds(chunk: Buffer): boolean {
  return chunk.indexOf(0x0a) === -1 && chunk.indexOf(0x0d) !== -1;
}

/**
 * Random bytes and other binary files are told apart from text by the evidence of the whole first 8 KiB: a
 * file is binary when more than a tenth of it is NUL bytes, other control bytes or bytes that are not UTF-8.
 * One stray NUL among good records is an error on its line, not a verdict on the file.
 */
function diagnoseBinary(chunk: Buffer): string | undefined {
  if ((chunk[0] === 0xff && chunk[1] === 0xfe) || (chunk[0] === 0xfe && chunk[1] === 0xff)) {
    return 'The file is UTF-16 text, not UTF-8: convert it, e.g. `iconv -f UTF-16 -t UTF-8 file.jsonl`.';
  }
  const sample = chunk.subarray(0, 8192);
  let controls = 0;
  let nuls = 0;
  for (const byte of sample) {
    if (byte === 0) nuls++;
    if (byte < 0x09 || (byte > 0x0d && byte < 0x20)) controls++;
  }
  const text = sample.toString('utf8');
  let replacements = 0;
  for (const char of text) if (char === '\uFFFD') replacements++;
  if (controls + replacements > sample.length * 0.1) {
    return nuls > 0 ? 'The file is binary (it holds NUL bytes), not JSON Lines text.' : 'The file is binary (not UTF-8 text), not JSON Lines.';
  }
  return undefined;
}

/** True when `value` has arrays or objects nested deeper than `limit` (iterative, so any depth is safe). */
function nestedDeeperThan(value: object, limit: number): boolean {
  // Most records hold no object or array at all: found without the walk's allocations.
  if (!Array.isArray(value) && !holdsObject(value)) return false;
  const stack: unknown[] = [value];
  const depths: number[] = [1];
  while (stack.length) {
    const current = stack.pop()!;
    const depth = depths.pop()!;
    if (depth > limit) return true;
    const children = Array.isArray(current) ? current : Object.values(current as object);
    for (const child of children) {
      if (child !== null && typeof child === 'object') {
        stack.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

function holdsObject(value: object): boolean {
  for (const key in value) {
    const child = (value as Record<string, unknown>)[key];
    if (child !== null && typeof child === 'object') return true;
  }
  return false;
}

/**
 * Turns lines into records: one line, one record, except where a line opens an object it does not close,
 * in which case lines are joined until the brackets balance (pretty-printed JSON).
 */
class RecordAssembler {
  private joined: { text: string[]; startLine: number; chars: number; depth: BracketDepth; fromReplay: boolean; nonBlankLines: number } | undefined;
  /** True while the lines of an abandoned record are read again (see abandonJoin). */
  private replaying = false;
  private firstContentLine: string | undefined;
  private records = 0;
  private contentLines = 0;
  private arrayOfRecordsAtTop = false;
  /** Non-blank lines read, and those that are part of a record: the rest are the invalid lines. */
  private nonBlankLines = 0;
  private recordLines = 0;
  private tooLongLines = 0;

  constructor(private readonly handlers: ScanHandlers, private readonly summary: ScanSummary) {}

  /**
   * A line of the file (not a line read again after a broken record: those are counted once, here); `bytes`,
   * where the line's text stands in the file, when known.
   */
  line(text: string, lineNumber: number, bytes?: RecordLine): void {
    // A printable ASCII character first (a record's brace) shows it without the search.
    const first = text.charCodeAt(0);
    if ((first > 0x20 && first < 0x7f) || /\S/.test(text)) this.nonBlankLines++;
    this.read(text, lineNumber, bytes);
  }

  /** A line longer than MAX_LINE_BYTES, skipped without being read. */
  tooLong(lineNumber: number): void {
    this.nonBlankLines++;
    this.tooLongLines++;
    this.handlers.onError({ line: lineNumber, column: 1, message: `line is longer than ${MAX_LINE_BYTES / 1024 / 1024} MiB; skipped` });
  }

  private read(text: string, lineNumber: number, bytes?: RecordLine): void {
    if (this.joined) {
      this.continueJoined(text, lineNumber);
      return;
    }
    const trimmed = text.trim();
    if (trimmed === '') {
      this.summary.blankLines++;
      return;
    }
    // Re-reading a broken record's lines: only what stands at the left margin can be a record of its own;
    // the rest belongs to the broken record, which is already reported.
    if (this.replaying && !/^[{[]/.test(text)) return;
    this.contentLines++;
    if (this.firstContentLine === undefined) {
      this.firstContentLine = trimmed;
      if (trimmed === LFS_POINTER) return;
      if (trimmed === '[') this.arrayOfRecordsAtTop = true;
    }
    const parsed = parseLine(trimmed);
    if (parsed.ok) {
      if (this.accept(parsed.value, { line: lineNumber, endLine: lineNumber }, parsed.warnings, text, bytes)) this.recordLines++;
      return;
    }
    const depth = bracketDepth(trimmed);
    const opens = (trimmed.startsWith('{') || trimmed.startsWith('[')) && depth.open > 0 && !depth.broken;
    if (this.replaying && !opens) return;
    if (opens) {
      this.joined = { text: [text], startLine: lineNumber, chars: text.length, depth, fromReplay: this.replaying, nonBlankLines: 1 };
      return;
    }
    this.handlers.onError({ line: lineNumber, column: columnOf(parsed.error, text), message: describeParseError(parsed.error, trimmed) });
  }

  end(): void {
    while (this.joined) {
      this.abandonJoin(`a record opened here is never closed (${this.joined.text.length} lines to the end of the file)`);
    }
    this.summary.invalidLines = this.nonBlankLines - this.recordLines;
  }

  /**
   * The lines joined since `startLine` were not one pretty-printed record after all: report its first line, and
   * read the others again for whole records among them, so one broken line never costs the records after it.
   * Lines are read again at most once (a record opened while re-reading is not re-read itself), which keeps
   * a file of many unclosed lines linear.
   */
  private abandonJoin(message: string, column = 1): void {
    const joined = this.joined!;
    this.joined = undefined;
    this.handlers.onError({ line: joined.startLine, column, message });
    if (joined.fromReplay) return;
    this.replaying = true;
    try {
      joined.text.slice(1).forEach((restLine, index) => this.read(restLine, joined.startLine + 1 + index));
    } finally {
      this.replaying = false;
    }
  }

  diagnoseWholeFile(totalBytes: number): string | undefined {
    const oneArrayLine = this.contentLines === 1 && this.summary.arrayLines === 1;
    if (this.records > 0 && !this.arrayOfRecordsAtTop && !oneArrayLine) return undefined;
    if (this.records === 0 && this.tooLongLines > 0 && this.tooLongLines === this.nonBlankLines) {
      const limit = `longer than ${MAX_LINE_BYTES / 1024 / 1024} MiB, the longest line this tool reads`;
      return `No line of the file could be read: ${this.tooLongLines === 1 ? `the only line is ${limit}` : `all ${this.tooLongLines} lines are ${limit}`}.`;
    }
    if (totalBytes === 0 || this.firstContentLine === undefined) return 'The file is empty: it holds no records.';
    if (this.firstContentLine === LFS_POINTER) {
      return 'This is a Git LFS pointer, not the data: run `git lfs pull` to fetch the real file.';
    }
    if (this.arrayOfRecordsAtTop || oneArrayLine || this.firstContentLine.startsWith('[')) {
      return 'The file is one JSON array, not JSON Lines (one object per line): convert it, e.g. `jq -c ".[]" file.json > file.jsonl`.';
    }
    if (this.summary.scalarLines > 0 && this.records === 0) {
      return 'The lines are JSON values but not objects: each line of a dataset must be a JSON object.';
    }
    return 'No line of the file is a JSON object: it is not JSON Lines.';
  }

  private continueJoined(text: string, lineNumber: number): void {
    const joined = this.joined!;
    // A line at the left margin that is a whole record by itself starts a new record, unless the open one is
    // waiting for a value (after ',', '[' or ':'), where an object may well stand at the margin.
    if (text.startsWith('{') && !/[,[:]\s*$/.test(joined.text[joined.text.length - 1]!) && isWholeObject(text)) {
      this.abandonJoin(`'${joined.text[0]!.trim().slice(0, 1)}' opens a record that is not closed before line ${lineNumber}`, joined.text[0]!.length + 1);
      this.read(text, lineNumber);
      return;
    }
    joined.text.push(text);
    if (/\S/.test(text)) joined.nonBlankLines++;
    joined.chars += text.length + 1;
    joined.depth = bracketDepth(text, joined.depth);
    if (joined.depth.open <= 0 || joined.depth.broken) {
      this.joined = undefined;
      const whole = joined.text.join('\n');
      const parsed = parseLine(whole);
      if (parsed.ok) {
        if (this.accept(parsed.value, { line: joined.startLine, endLine: lineNumber }, parsed.warnings, whole)) {
          this.summary.multiLineRecords++;
          this.recordLines += joined.nonBlankLines;
        }
      } else {
        // Its brackets balance, so these lines are one record, broken: one error, nothing to read again.
        this.handlers.onError({ line: joined.startLine, column: 1, message: `a record spanning lines ${joined.startLine}–${lineNumber} is not valid JSON: ${shortReason(parsed.error)}` });
      }
      return;
    }
    if (joined.text.length > MAX_RECORD_LINES || joined.chars > MAX_RECORD_CHARS) {
      this.abandonJoin(`'${joined.text[0]!.trim().slice(0, 1)}' opens a record that is not closed within ${MAX_RECORD_LINES} lines`, joined.text[0]!.length + 1);
    }
  }

  /** Hands a parsed value on as a record, or reports why it is none; true when it was a record. */
  private accept(value: unknown, span: RecordSpan, warnings: readonly string[], text: string, bytes?: RecordLine): boolean {
    // A line that is the compact JSON of string values (most lines of most files) nests nothing and repeats no key.
    const compact = span.line === span.endLine && value !== null && typeof value === 'object' && !Array.isArray(value) && isCompactStringRecord(value, text);
    // Nesting deeper than the limit takes at least two characters a level: short lines need no walk.
    if (!compact && text.length > 2 * MAX_NESTING_DEPTH && value !== null && typeof value === 'object' && nestedDeeperThan(value, MAX_NESTING_DEPTH)) {
      this.handlers.onError({ line: span.line, column: 1, message: `record is nested more than ${MAX_NESTING_DEPTH} levels deep; skipped` });
      return false;
    }
    // An array's line is not its record's (the record's fields are "0", "1", …).
    let line = bytes;
    if (Array.isArray(value)) {
      if (this.arrayOfRecordsAtTop) return false;
      this.summary.arrayLines++;
      const asRecord: Record<string, unknown> = {};
      value.forEach((element, index) => { asRecord[String(index)] = element; });
      value = asRecord;
      line = undefined;
    } else if (value === null || typeof value !== 'object') {
      this.summary.scalarLines++;
      this.handlers.onError({ line: span.line, column: 1, message: `line is a JSON ${value === null ? 'null' : typeof value}, not an object` });
      return false;
    }
    for (const warning of warnings) this.handlers.onWarning({ line: span.line, column: 1, message: warning });
    // The line's length, or else native searches, rule out a repeated key in most lines; the character scan
    // decides the others.
    const mayRepeat = span.line === span.endLine && !compact && !eachKeyWrittenOnce(value as object, text);
    const duplicate = mayRepeat ? duplicateTopLevelKey(text) : undefined;
    if (duplicate) {
      this.handlers.onWarning({
        line: span.line, column: duplicate.column,
        message: `key "${duplicate.key}" appears more than once in this record; the last value is used`,
      });
    }
    this.records++;
    this.handlers.onRecord(value as Record<string, unknown>, span, line);
    return true;
  }
}

type ParseResult = { ok: true; value: unknown; warnings: readonly string[] } | { ok: false; error: Error };

const NO_WARNINGS: readonly string[] = [];

function parseLine(text: string): ParseResult {
  try {
    return { ok: true, value: JSON.parse(text), warnings: NO_WARNINGS };
  } catch (error) {
    // Raw tabs and other control characters inside strings are the most common near-miss: read them as escapes.
    if (/[\u0000-\u001f]/.test(text)) {
      const escaped = escapeRawControlCharacters(text);
      try {
        return { ok: true, value: JSON.parse(escaped), warnings: ['raw control character (e.g. a tab) inside a string, which JSON forbids; read as an escape'] };
      } catch { /* fall through to the original error */ }
    }
    return { ok: false, error: error as Error };
  }
}

function escapeRawControlCharacters(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    const code = char.charCodeAt(0);
    if (inString && char === '\\') {
      out += char + (text[i + 1] ?? '');
      i++;
      continue;
    }
    if (char === '"') inString = !inString;
    if (inString && code < 0x20) out += '\\u' + code.toString(16).padStart(4, '0');
    else out += char;
  }
  return out;
}

interface BracketDepth { open: number; inString: boolean; escaped: boolean; broken: boolean }

/** Bracket depth after `text`, ignoring brackets inside strings; `broken` when a closer has no opener. */
function bracketDepth(text: string, from: BracketDepth = { open: 0, inString: false, escaped: false, broken: false }): BracketDepth {
  let { open, inString, escaped } = from;
  let broken = from.broken;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (escaped) escaped = false;
      else if (char === 0x5c) escaped = true;
      else if (char === 0x22) inString = false;
      continue;
    }
    if (char === 0x22) inString = true;
    else if (char === 0x7b || char === 0x5b) open++;
    else if (char === 0x7d || char === 0x5d) {
      open--;
      if (open < 0) broken = true;
    }
  }
  // A string never spans lines in JSON; a line that ends inside one is broken, not pretty-printed.
  if (inString) broken = true;
  return { open, inString: false, escaped: false, broken };
}

/**
 * True when the line is exactly the compact JSON of an object whose values are all strings, with no escape:
 * as an escape is longer than the character it spells, the line is at least as long as the sum of the
 * parsed object's parts (`{`, and for each key `"key":"value"` and a comma or `}`), and equal only when it
 * holds nothing more: no white space, no escape, and no repeated key (an earlier `"key":value,` is at least
 * five characters). So a repeated key is ruled out by two additions a key, where searching the line for each
 * key costs a pass over it.
 */
function isCompactStringRecord(value: object, text: string): boolean {
  let length = 1;
  for (const key in value) {
    const child = (value as Record<string, unknown>)[key];
    if (typeof child !== 'string') return false;
    length += key.length + child.length + 6;
  }
  return length === text.length;
}

/**
 * True when every key of the parsed object appears exactly once in its line as a quoted string, which rules
 * out a repeated key without a character-by-character scan (native searches instead: the scan's hot path).
 * Only where no escape in the line could spell a key another way (`\u0061` for `a`, `\/` for `/`), so that
 * each key can only be written as JSON.stringify writes it. False means "not sure": scan.
 */
function eachKeyWrittenOnce(value: object, text: string): boolean {
  if (text.includes('\\') && ESCAPE_SPELLING_A_KEY.test(text)) return false;
  for (const key in value) {
    const quoted = quotedKey(key);
    const first = text.indexOf(quoted);
    if (first === -1 || text.indexOf(quoted, first + quoted.length) !== -1) return false;
  }
  return true;
}

/** An escape that could spell a key's character another way than JSON.stringify writes it. */
const ESCAPE_SPELLING_A_KEY = /\\[u/]/;

/** JSON.stringify(key), remembered: the same few keys come back on every line (bounded for files that vary them). */
const quotedKeys = new Map<string, string>();

function quotedKey(key: string): string {
  let quoted = quotedKeys.get(key);
  if (quoted === undefined) {
    if (quotedKeys.size >= 10_000) quotedKeys.clear();
    quotedKeys.set(key, (quoted = JSON.stringify(key)));
  }
  return quoted;
}

/** The first key that appears twice at the top level of a one-line object, with its column. */
function duplicateTopLevelKey(text: string): { key: string; column: number } | undefined {
  if (text.indexOf('"', text.indexOf('"') + 1) === -1) return undefined;
  const seen = new Set<string>();
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (char === 0x22) {
      const start = i;
      i++;
      while (i < text.length && text.charCodeAt(i) !== 0x22) i += text.charCodeAt(i) === 0x5c ? 2 : 1;
      if (depth !== 1) continue;
      let j = i + 1;
      while (j < text.length && (text.charCodeAt(j) === 0x20 || text.charCodeAt(j) === 0x09)) j++;
      if (text.charCodeAt(j) !== 0x3a) continue;
      const key = text.slice(start + 1, i);
      if (seen.has(key)) return { key, column: start + 1 };
      seen.add(key);
    } else if (char === 0x7b || char === 0x5b) depth++;
    else if (char === 0x7d || char === 0x5d) depth--;
  }
  return undefined;
}

/**
 * The 1-based column where a line stops being JSON. V8's messages do not always say (Node 20: "Unexpected token
 * 'N', … is not valid JSON"), so the broken line, and only a broken line, is parsed again by jsonc-parser,
 * which reports the offset of its first error.
 */
function columnOf(error: Error, line: string): number {
  const leading = line.length - line.trimStart().length;
  const match = /position (\d+)/.exec(error.message);
  if (match) return Number(match[1]) + leading + 1;
  const errors: ParseError[] = [];
  tolerantParse(line.trim(), errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  return errors[0] ? errors[0].offset + leading + 1 : line.length + 1;
}

/** V8's message without the quoted snippet of the line (dataset text does not belong in a diagnostic). */
function shortReason(error: Error): string {
  return error.message
    .replace(/, (\.\.\.)?"[\s\S]*"(\.\.\.)? is not valid JSON$/, '')
    .replace(/ in JSON at position \d+.*$/, '')
    .replace(/ \(line \d+ column \d+\)$/, '');
}

function isWholeObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value);
  } catch {
    return false;
  }
}

function describeParseError(error: Error, trimmed: string): string {
  if (trimmed === LFS_POINTER || /^(oid sha256:|size \d+$)/.test(trimmed)) return 'Git LFS pointer line, not a record';
  if (/^[}\]],?$/.test(trimmed)) return `stray '${trimmed}' with no record open`;
  if (trimmed.includes('\u0000')) return 'line holds a NUL byte (binary data?), not a record';
  if (trimmed.startsWith('{')) return `not valid JSON: ${shortReason(error)}`;
  return `not a JSON object: ${shortReason(error)}`;
}

/** The same reading on text already in memory (an editor's document), for quick fixes. */
export function scanJsonLinesText(text: string, handlers: ScanHandlers): ScanSummary {
  const summary: ScanSummary = {
    bytes: Buffer.byteLength(text), lines: 0, blankLines: 0, hasByteOrderMark: text.charCodeAt(0) === 0xfeff, crlfLines: 0,
    endsWithNewline: text.endsWith('\n'), multiLineRecords: 0, arrayLines: 0, scalarLines: 0,
    crOnlyLineEnds: !text.includes('\n') && text.includes('\r'), invalidLines: 0,
  };
  const assembler = new RecordAssembler(handlers, summary);
  const lineEnd = summary.crOnlyLineEnds ? '\r' : '\n';
  if (summary.crOnlyLineEnds) {
    summary.endsWithNewline = text.endsWith('\r');
    handlers.onWarning(CR_ONLY_WARNING);
  }
  const lines = (summary.hasByteOrderMark ? text.slice(1) : text).split(lineEnd);
  if (summary.endsWithNewline) lines.pop();
  lines.forEach((line, index) => {
    const crlf = !summary.crOnlyLineEnds && line.endsWith('\r');
    if (crlf) summary.crlfLines++;
    assembler.line(crlf ? line.slice(0, -1) : line, index + 1);
  });
  summary.lines = lines.length;
  assembler.end();
  summary.notJsonLines = assembler.diagnoseWholeFile(summary.bytes);
  return summary;
}

/**
 * Rewrites pretty-printed records one per line by removing the white space between their tokens: the
 * record's own text, so numbers like 12345678901234567890 or 1.0 stay exactly as written. Every other line,
 * blank or broken, stays as it was, so nothing is lost.
 */
export function toOneRecordPerLine(text: string): string {
  const spans: { line: number; endLine: number }[] = [];
  scanJsonLinesText(text, {
    onRecord: (_, span) => { if (span.endLine > span.line) spans.push(span); },
    onError: () => undefined,
    onWarning: () => undefined,
  });
  // Lines as the scan saw them: CR-only line ends are line ends here too.
  const crOnly = !text.includes('\n') && text.includes('\r');
  const eol = crOnly ? '\r' : text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.replace(/^\uFEFF/, '').split(crOnly ? '\r' : /\r?\n/);
  for (const span of spans.reverse()) {
    lines.splice(span.line - 1, span.endLine - span.line + 1, compactJson(lines.slice(span.line - 1, span.endLine).join('\n')));
  }
  return (text.startsWith('\uFEFF') ? '\uFEFF' : '') + lines.join(eol);
}

/** JSON text without the white space outside its strings. */
function compactJson(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (inString) {
      out += char;
      if (char === '\\') out += text[++i] ?? '';
      else if (char === '"') inString = false;
    } else if (char === '"') {
      inString = true;
      out += char;
    } else if (!/\s/.test(char)) out += char;
  }
  return out;
}

/** A line with its raw control characters escaped inside strings, for the quick fix of that warning. */
export function escapeControlCharactersInLine(line: string): string {
  return escapeRawControlCharacters(line);
}
