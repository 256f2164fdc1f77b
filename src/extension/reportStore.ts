/**
 * Reports kept on disk in the extension's global storage, one per dataset, so the panel and the side panel
 * show the last verdict after a reload. A cancelled run never replaces a complete report.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { ExperimentReport } from '../engine/experiment/report';

export class ReportStore implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

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
      return JSON.parse(readFileSync(file, 'utf8')) as ExperimentReport;
    } catch {
      return undefined;
    }
  }

  /** Saves a report; a partial one only when there is no complete one to lose. Returns whether it was saved. */
  save(dataset: vscode.Uri, report: ExperimentReport): boolean {
    const existing = this.load(dataset);
    if (!report.complete && existing?.complete) return false;
    const file = this.fileFor(dataset);
    // Write then rename, so a crash mid-write leaves the previous report whole.
    writeFileSync(`${file}.tmp`, JSON.stringify(report));
    renameSync(`${file}.tmp`, file);
    this.changed.fire(dataset);
    return true;
  }

  dispose(): void {
    this.changed.dispose();
  }
}
