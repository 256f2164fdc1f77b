/**
 * Reports kept on disk in the extension's global storage, one per dataset, so the panel and the side panel
 * show the last verdict after a reload. A cancelled run never replaces a complete report.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { ExperimentReport } from '../engine/experiment/report';

export class ReportStore implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  /** Parsed reports by file and modification time: hovers and the side panel ask often, reports can be megabytes. */
  private readonly parsed = new Map<string, { mtimeMs: number; report: ExperimentReport }>();

  constructor(private readonly folder: string) {
    mkdirSync(folder, { recursive: true });
  }

  fileFor(dataset: vscode.Uri): string {
    return join(this.folder, `${createHash('sha256').update(dataset.toString()).digest('hex').slice(0, 24)}.json`);
  }

  has(dataset: vscode.Uri): boolean {
    return existsSync(this.fileFor(dataset));
  }

  load(dataset: vscode.Uri): ExperimentReport | undefined {
    return this.loadFile(this.fileFor(dataset));
  }

  loadFile(file: string): ExperimentReport | undefined {
    if (!existsSync(file)) return undefined;
    try {
      const { mtimeMs } = statSync(file);
      const cached = this.parsed.get(file);
      if (cached?.mtimeMs === mtimeMs) return cached.report;
      const report = JSON.parse(readFileSync(file, 'utf8')) as ExperimentReport;
      this.parsed.set(file, { mtimeMs, report });
      return report;
    } catch {
      return undefined;
    }
  }

  /** Saves a report; a partial one only when there is no complete one to lose. Returns whether it was saved. */
  save(dataset: vscode.Uri, report: ExperimentReport): boolean {
    const existing = this.load(dataset);
    // A cancelled run that measured nothing tells nothing; a partial one never replaces a complete one.
    if (!report.complete && (report.items.length === 0 || existing?.complete)) return false;
    const file = this.fileFor(dataset);
    // Write then rename, so a crash mid-write leaves the previous report whole.
    writeFileSync(`${file}.tmp`, JSON.stringify(report));
    renameSync(`${file}.tmp`, file);
    this.parsed.set(file, { mtimeMs: statSync(file).mtimeMs, report });
    this.changed.fire(dataset);
    return true;
  }

  dispose(): void {
    this.changed.dispose();
  }
}
