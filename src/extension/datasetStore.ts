/**
 * The workspace's datasets and their inspections, computed once per file version and shared by the
 * diagnostics, the hovers, the side panel and the commands.
 */
import { statSync } from 'node:fs';
import * as vscode from 'vscode';
import { checkDataset, type DatasetCheck, type ModelFacts } from '../engine/datasetCheck';
import { checkFileHead, type ProvisionalCheck } from '../engine/provisionalCheck';
import { splitExamples } from '../engine/experiment/split';
import { readCheckSettings } from './configuration';

/** Files up to this size are read whole, so hovers can say whether a record is held out or in the pool. */
const FULL_READ_BYTES = 50 * 1024 * 1024;
/** Larger files get a provisional summary from their first bytes at once, refined when the whole scan ends. */
const PROVISIONAL_ABOVE_BYTES = 4 * 1024 * 1024;

export type { ProvisionalCheck };

interface Entry {
  version: string;
  check: Promise<DatasetCheck>;
  controller: AbortController;
  /** Settings changed since: shown until the file is checked again, which happens when it is next needed. */
  stale?: boolean;
  settled?: DatasetCheck;
  heldOutLines?: Set<number>;
  poolLines?: Set<number>;
  recordLines?: Set<number>;
  error?: string;
}

export class DatasetStore implements vscode.Disposable {
  private readonly entries = new Map<string, Entry>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private modelFacts: ModelFacts | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly queued = new Set<string>();
  /** Provisional summaries of large files' first bytes, by file, with the file version they were read from. */
  private readonly heads = new Map<string, { version: string; provisional?: ProvisionalCheck }>();

  /** The model whose tokenizer the inspections count with, if any. */
  get model(): ModelFacts | undefined {
    return this.modelFacts;
  }

  constructor(private readonly log: vscode.LogOutputChannel) {}

  /** A loaded model's tokenizer makes later inspections count tokens; cached ones are redone. */
  useModel(facts: ModelFacts | undefined): void {
    if (facts === this.modelFacts) return;
    this.modelFacts = facts;
    this.invalidateAll();
  }

  /**
   * Settings or the model changed. Every inspection so far goes stale: its problems stay shown until the file is
   * inspected again, which starts now in the background. Inspections still running are stopped.
   */
  invalidateAll(): void {
    this.heads.clear();
    for (const entry of this.entries.values()) {
      entry.stale = true;
      if (!entry.settled) entry.controller.abort();
    }
    // Every file checked before is checked again, one at a time in the background: a stale estimate (say, counted
    // in characters before the tokenizer was read) must not stay on a card or in the dataset view.
    for (const key of this.entries.keys()) this.checkInBackground(vscode.Uri.parse(key));
  }

  /**
   * Checks a file when the files queued before it are done: background scans run one at a time, so a workspace
   * of open datasets does not read them all at once (and activation never waits for any of them).
   */
  checkInBackground(uri: vscode.Uri): void {
    const key = uri.toString();
    if (this.queued.has(key)) return;
    this.queued.add(key);
    // The first answer does not wait for its turn: a large file's head is read at once (milliseconds).
    this.readHead(uri);
    this.queue = this.queue.then(() => {
      this.queued.delete(key);
      return this.check(uri).catch(() => undefined);
    });
  }

  invalidate(uri: vscode.Uri): void {
    if (this.entries.delete(uri.toString())) this.changed.fire(uri);
  }

  /** The check if it is done, without waiting: hovers use this to stay instant. */
  peek(uri: vscode.Uri): DatasetCheck | undefined {
    const entry = this.entries.get(uri.toString());
    return entry && entry.version === versionOf(uri) ? entry.settled : undefined;
  }

  /** Until a large file's whole scan is done: the summary of its first bytes, labelled so wherever it is shown. */
  provisional(uri: vscode.Uri): ProvisionalCheck | undefined {
    const version = versionOf(uri);
    const entry = this.entries.get(uri.toString());
    if (entry?.settled && entry.version === version) return undefined;
    const head = this.heads.get(uri.toString());
    return head?.version === version ? head.provisional : undefined;
  }

  /** Reads a large file's head once per version (and per model and settings: invalidateAll forgets them). */
  private readHead(uri: vscode.Uri): void {
    const key = uri.toString();
    const version = versionOf(uri);
    const size = Number(version.split(':')[0]);
    if (!(size > PROVISIONAL_ABOVE_BYTES) || this.heads.get(key)?.version === version) return;
    const head: { version: string; provisional?: ProvisionalCheck } = { version };
    this.heads.set(key, head);
    void checkFileHead(uri.fsPath, readCheckSettings(), { model: this.modelFacts }).catch(() => undefined).then((provisional) => {
      if (!provisional || this.heads.get(key) !== head) return;
      head.provisional = provisional;
      this.changed.fire(uri);
    });
  }

  errorOf(uri: vscode.Uri): string | undefined {
    return this.entries.get(uri.toString())?.error;
  }

  isPending(uri: vscode.Uri): boolean {
    const entry = this.entries.get(uri.toString());
    return !!entry && !entry.settled && !entry.error;
  }

  /** Where a record goes in a run: held out (evaluated), in the example pool, or unused; undefined for big files. */
  /** Only lines where a usable record starts have a role (not the inner lines of a pretty-printed one). */
  roleOfLine(uri: vscode.Uri, line: number): 'held out (evaluated)' | 'in the example pool' | 'not used in runs' | undefined {
    const entry = this.entries.get(uri.toString());
    if (!entry?.heldOutLines || !entry.poolLines || !entry.recordLines?.has(line)) return undefined;
    return entry.heldOutLines.has(line) ? 'held out (evaluated)' : entry.poolLines.has(line) ? 'in the example pool' : 'not used in runs';
  }

  check(uri: vscode.Uri, token?: vscode.CancellationToken, onProgress?: (fraction: number) => void): Promise<DatasetCheck> {
    const key = uri.toString();
    const version = versionOf(uri);
    const existing = this.entries.get(key);
    if (existing && existing.version === version && !existing.error && !existing.stale) return existing.check;
    const settings = readCheckSettings();
    const controller = new AbortController();
    token?.onCancellationRequested(() => controller.abort());
    let full = false;
    try {
      full = statSync(uri.fsPath).size <= FULL_READ_BYTES;
    } catch (error) {
      return Promise.reject(new Error(`cannot read ${uri.fsPath}: ${(error as Error).message}`));
    }
    const entry: Entry = {
      version, controller,
      check: checkDataset(uri.fsPath, settings, {
        model: this.modelFacts, collectExamples: full, signal: controller.signal,
        onProgress: onProgress ? (read, total) => onProgress(read / Math.max(1, total)) : undefined,
      }),
    };
    this.entries.set(key, entry);
    this.readHead(uri);
    entry.check.then(
      (check) => {
        entry.settled = check;
        if (full) {
          const split = splitExamples(check.inspection.examples, settings.heldOut, settings.seed);
          entry.heldOutLines = new Set(split.heldOut.map((example) => example.line));
          entry.poolLines = new Set(split.pool.map((example) => example.line));
          entry.recordLines = new Set(check.inspection.examples.map((example) => example.line));
        }
        this.log.info(`Inspected ${uri.fsPath}: ${check.inspection.records} records, ${check.inspection.invalid} invalid, schema ${check.inspection.schema}`);
        this.changed.fire(uri);
      },
      (error: unknown) => {
        if (controller.signal.aborted) {
          // Stopped because settings changed: not a failure; the next request inspects again.
          if (this.entries.get(key) === entry) this.entries.delete(key);
          this.changed.fire(uri);
          return;
        }
        entry.error = (error as Error).message;
        this.log.error(`Could not inspect ${uri.fsPath}: ${entry.error}`);
        this.changed.fire(uri);
      },
    );
    return entry.check;
  }

  /** The workspace's JSONL files, node_modules and VS Code's own folders left out. */
  async list(): Promise<vscode.Uri[]> {
    const files = await vscode.workspace.findFiles('**/*.jsonl', '{**/node_modules/**,**/.git/**,**/.vscode-test/**}', 1000);
    return files.sort((a, b) => a.fsPath.localeCompare(b.fsPath));
  }

  dispose(): void {
    this.changed.dispose();
    this.entries.clear();
  }
}

/** A file's version for caching: size and modification time (settings changes clear the store). */
function versionOf(uri: vscode.Uri): string {
  try {
    const stat = statSync(uri.fsPath);
    return `${stat.size}:${stat.mtimeMs}`;
  } catch {
    return 'missing';
  }
}
