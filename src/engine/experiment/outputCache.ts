/**
 * Model outputs on disk, so a repeated or resumed run does not compute them again.
 *
 * One append-only JSON Lines file per model fingerprint: a cancelled or crashed run loses at most the call in
 * flight, and a file cut mid-line by a crash is read up to its last whole line.
 *
 * The file is a cache, never a source of truth: every line read is checked, and one that is not a valid entry
 * (cut, damaged, written by something else) is skipped and counted, so its call is simply made again. A disk
 * that cannot be written (full, read-only) is one warning naming the folder; the run goes on with its outputs
 * in memory.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import type { ContinuationScore, FinishReason, Generation } from '../model/languageModel';

type Entry = { key: string; generation: Generation } | { key: string; score: ContinuationScore };

/** How a line is appended to the cache file; a parameter so a test can stand in a disk that fills up. */
export type AppendLine = (file: string, text: string) => void;

export class OutputCache {
  private readonly entries = new Map<string, Entry>();
  private readonly file: string;
  private writable = true;
  /** Lines of the file that were not valid entries (cut by a crash, or damaged), skipped when it was read. */
  readonly skippedLines: number = 0;
  /** What went wrong with the file without stopping the run, one sentence each, for the report. */
  readonly warnings: string[] = [];

  constructor(private readonly folder: string, modelFingerprint: string, private readonly append: AppendLine = appendFileSync) {
    this.file = join(folder, `${modelFingerprint.slice(0, 32)}.jsonl`);
    try {
      mkdirSync(folder, { recursive: true });
    } catch (error) {
      this.writeFailed(error);
      return;
    }
    let text: string;
    try {
      text = existsSync(this.file) ? readFileSync(this.file, 'utf8') : '';
    } catch (error) {
      this.warnings.push(`The output cache ${this.file} could not be read (${describe(error)}); its model calls are made again.`);
      return;
    }
    // A crash may have cut the last line: start the next entry on a line of its own.
    if (text && !text.endsWith('\n')) this.write('\n');
    let skipped = 0;
    for (const line of text.split('\n')) {
      if (!line) continue;
      const entry = parseEntry(line);
      if (entry) this.entries.set(entry.key, entry);
      else skipped++;
    }
    this.skippedLines = skipped;
    if (skipped > 0) {
      this.warnings.push(skipped === 1
        ? `1 line of the output cache ${this.file} was not a valid entry and was skipped; its model call is made again.`
        : `${skipped} lines of the output cache ${this.file} were not valid entries and were skipped; their model calls are made again.`);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  generation(key: string): Generation | undefined {
    const entry = this.entries.get(key);
    return entry && 'generation' in entry ? entry.generation : undefined;
  }

  score(key: string): ContinuationScore | undefined {
    const entry = this.entries.get(key);
    return entry && 'score' in entry ? entry.score : undefined;
  }

  putGeneration(key: string, generation: Generation): void {
    this.put({ key, generation });
  }

  putScore(key: string, score: ContinuationScore): void {
    this.put({ key, score });
  }

  private put(entry: Entry): void {
    this.entries.set(entry.key, entry);
    this.write(JSON.stringify(entry) + '\n');
  }

  /** Appends whole lines, or nothing: a failed write is cut back to where it began, and writing stops. */
  private write(text: string): void {
    if (!this.writable) return;
    let sizeBefore = 0;
    try {
      sizeBefore = statSync(this.file, { throwIfNoEntry: false })?.size ?? 0;
      this.append(this.file, text);
    } catch (error) {
      try {
        if (existsSync(this.file) && statSync(this.file).size > sizeBefore) truncateSync(this.file, sizeBefore);
      } catch { /* the half line stays; the next read skips it as a cut line */ }
      this.writeFailed(error);
    }
  }

  private writeFailed(error: unknown): void {
    this.writable = false;
    // The advice follows the cause: a full disk wants space, a folder that cannot be written another folder.
    const full = (error as NodeJS.ErrnoException | undefined)?.code === 'ENOSPC' || (error as NodeJS.ErrnoException | undefined)?.code === 'EDQUOT';
    this.warnings.push(`The output cache folder ${this.folder} could not be written (${describe(error)}): this run's outputs are kept in memory only, and a new run makes these model calls again. ` +
      `${full ? 'Free some space or choose another cache folder.' : 'Choose a cache folder that can be written.'}`);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const FINISH_REASONS: readonly FinishReason[] = ['stop-sequence', 'end-of-sequence', 'max-new-tokens'];

const isCount = (value: unknown): value is number => Number.isInteger(value) && (value as number) >= 0;
const isNumberArray = (value: unknown, check: (item: unknown) => boolean): boolean => Array.isArray(value) && value.every(check);

/** A cache line as an entry, or undefined when it is not exactly what `put` writes. */
function parseEntry(line: string): Entry | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const { key, generation, score } = value as { key?: unknown; generation?: unknown; score?: unknown };
  if (typeof key !== 'string') return undefined;
  if (isGeneration(generation) && score === undefined) return { key, generation };
  if (isScore(score) && generation === undefined) return { key, score };
  return undefined;
}

function isGeneration(value: unknown): value is Generation {
  if (value === null || typeof value !== 'object') return false;
  const { text, tokenIds, promptTokenCount, finishReason } = value as Record<string, unknown>;
  return typeof text === 'string' && isNumberArray(tokenIds, isCount) && isCount(promptTokenCount)
    && FINISH_REASONS.includes(finishReason as FinishReason);
}

function isScore(value: unknown): value is ContinuationScore {
  if (value === null || typeof value !== 'object') return false;
  const { logProb, tokenCount, tokenLogProbs } = value as Record<string, unknown>;
  return typeof logProb === 'number' && isCount(tokenCount) && isNumberArray(tokenLogProbs, (item) => typeof item === 'number');
}

/** A cache key from everything that decides a model call's result. */
export function cacheKey(parts: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}
