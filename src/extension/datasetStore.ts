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
import { ScanQueue } from './scanQueue';

/** Files up to this size are read whole, so hovers can say whether a record is held out or in the pool. */
const FULL_READ_BYTES = 50 * 1024 * 1024;
/** Larger files get a provisional summary from their first bytes at once, refined when the whole scan ends. */
const PROVISIONAL_ABOVE_BYTES = 4 * 1024 * 1024;

export type { ProvisionalCheck };

/** A large file's first answer: read once per file version (and per model and settings). */
interface Head {
  version: string;
  /** The first answer (without token counts). */
  first: Promise<ProvisionalCheck | undefined>;
  provisional?: ProvisionalCheck;
}

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
  /** Heads at once, whole scans one at a time after them. */
  private readonly scans = new ScanQueue();
  /** Provisional summaries of large files' first bytes, by file, with the file version they were read from. */
  private readonly heads = new Map<string, Head>();

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
    // A file whose head was read but whose whole scan has not started yet is read again too.
    const keys = new Set([...this.entries.keys(), ...this.heads.keys()]);
    this.heads.clear();
    for (const entry of this.entries.values()) {
      entry.stale = true;
      if (!entry.settled) entry.controller.abort();
    }
    // Every file checked before is checked again, one at a time in the background: a stale estimate (say, counted
    // in characters before the tokenizer was read) must not stay on a card or in the dataset view.
    for (const key of keys) this.checkInBackground(vscode.Uri.parse(key));
  }

  /**
   * Checks a file when the files queued before it are done: background scans run one at a time, so a workspace
   * of open datasets does not read them all at once (and activation never waits for any of them).
   */
  checkInBackground(uri: vscode.Uri): void {
    // The first answer does not wait for its turn: a large file's head is read at once (milliseconds), and the
    // whole scan (of this file or the next) starts only after it.
    this.readHead(uri);
    this.scans.whole(uri.toString(), () => this.check(uri));
  }

  /**
   * The first answer for a large file while its head is being read (the hover waits for it: milliseconds);
   * undefined when there is none to wait for.
   */
  firstAnswer(uri: vscode.Uri): Promise<ProvisionalCheck | undefined> | undefined {
    const head = this.heads.get(uri.toString());
    return head && !head.provisional && head.version === versionOf(uri) ? head.first : undefined;
  }

  /**
   * A large file's first answer without its whole scan: the side panel lists every dataset of the workspace, and
   * reading the start of each large one costs milliseconds where scanning it whole would cost minutes.
   */
  readFirstAnswer(uri: vscode.Uri): void {
    if (!this.entries.has(uri.toString())) this.readHead(uri);
  }

  /** Resolves when no large file's head is being read: activation loads the tokenizer only after the first answers. */
  firstAnswersSettled(): Promise<void> {
    return this.scans.headsSettled();
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

  /**
   * Reads a large file's head once per version (and per model and settings: invalidateAll forgets them), in two
   * steps. First without the tokenizer (milliseconds: records, schema, fields, k_fit estimated from characters),
   * so the first answer never waits for token counting (the estimate's prompt assembly alone takes 150–400 ms of
   * the thread with a tokenizer); then, with a loaded tokenizer, again with it, replacing the first. Both are
   * provisional until the whole scan ends.
   */
  private readHead(uri: vscode.Uri): void {
    const key = uri.toString();
    const version = versionOf(uri);
    const size = Number(version.split(':')[0]);
    if (!(size > PROVISIONAL_ABOVE_BYTES) || this.heads.get(key)?.version === version) return;
    const started = performance.now();
    const model = this.modelFacts;
    const counts = model && !model.tokenizer.estimated && !model.tokenizer.settle ? model : undefined;
    const read = async (facts: ModelFacts | undefined): Promise<ProvisionalCheck | undefined> => {
      const provisional = await checkFileHead(uri.fsPath, readCheckSettings(), { model: facts }).catch((error: unknown) => {
        this.log.warn(`Could not read the start of ${uri.fsPath}: ${(error as Error).message}`);
        return undefined;
      });
      if (!provisional || this.heads.get(key) !== head) return undefined;
      head.provisional = provisional;
      this.log.info(`${facts ? 'Counted the first' : 'First answer from the first'} ${provisional.bytesRead} of ${provisional.totalBytes} bytes of ${uri.fsPath} in ${Math.round(performance.now() - started)} ms${facts ? ` with ${facts.id}'s tokenizer` : ''}`);
      this.changed.fire(uri);
      return provisional;
    };
    const first = this.scans.head(() => read(undefined));
    const head: Head = { version, first };
    this.heads.set(key, head);
    if (counts) void this.scans.head(() => first.then((answer) => (answer && this.heads.get(key) === head ? read(counts) : undefined)));
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
        // No per-record token counts: no view shows them, and on a 1 GB file they took ~20 CPU-minutes with the
        // thread held ~2 s per chunk (the hovers and commands waiting). The estimate still counts with the tokenizer.
        model: this.modelFacts, collectExamples: full, tokenStatistics: false, signal: controller.signal,
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
