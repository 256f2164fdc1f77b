/**
 * Model outputs on disk, so a repeated or resumed run does not compute them again.
 *
 * One append-only JSON Lines file per model fingerprint: a cancelled or crashed run loses at most the call in
 * flight, and a file cut mid-line by a crash is read up to its last whole line.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContinuationScore, Generation } from '../model/languageModel';

type Entry = { key: string; generation: Generation } | { key: string; score: ContinuationScore };

export class OutputCache {
  private readonly entries = new Map<string, Entry>();
  private readonly file: string;

  constructor(folder: string, modelFingerprint: string) {
    mkdirSync(folder, { recursive: true });
    this.file = join(folder, `${modelFingerprint.slice(0, 32)}.jsonl`);
    if (existsSync(this.file)) {
      const text = readFileSync(this.file, 'utf8');
      // A crash may have cut the last line: start the next entry on a line of its own.
      if (text && !text.endsWith('\n')) appendFileSync(this.file, '\n');
      for (const line of text.split('\n')) {
        if (!line) continue;
        try {
          const entry = JSON.parse(line) as Entry;
          this.entries.set(entry.key, entry);
        } catch { /* a line cut by a crash: that call is simply made again */ }
      }
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
    appendFileSync(this.file, JSON.stringify(entry) + '\n');
  }
}

/** A cache key from everything that decides a model call's result. */
export function cacheKey(parts: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}
