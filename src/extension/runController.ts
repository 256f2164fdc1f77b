/**
 * Runs an experiment in a worker thread with progress, cancel and a status-bar item, and keeps the report.
 * One run at a time: the machine's cores are the limit, not the UI.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as vscode from 'vscode';
import type { ExperimentProgress } from '../engine/experiment/experiment';
import type { ExperimentReport } from '../engine/experiment/report';
import { RUNNING_CONTEXT_KEY, CommandId } from './commandIds';
import { readCheckSettings } from './configuration';
import type { ModelService } from './modelService';
import type { ReportStore } from './reportStore';
import type { RunRequest, WorkerToHost } from './runProtocol';

export interface ActiveRun {
  uri: vscode.Uri;
  progress: ExperimentProgress | undefined;
  message: string;
}

export type RunOutcome =
  | { kind: 'done'; report: ExperimentReport }
  | { kind: 'cancelled'; report: ExperimentReport | undefined; kept: boolean }
  | { kind: 'failed'; message: string };

export class RunController implements vscode.Disposable {
  private active: (ActiveRun & { worker: Worker }) | undefined;
  private readonly statusBar = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 10);
  private readonly changed = new vscode.EventEmitter<ActiveRun | undefined>();
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly storageFolder: string,
    private readonly models: ModelService,
    private readonly reports: ReportStore,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.statusBar.command = CommandId.CancelRun;
  }

  get current(): ActiveRun | undefined {
    return this.active;
  }

  async run(uri: vscode.Uri): Promise<RunOutcome> {
    if (this.active) {
      const message = `A run on ${path.basename(this.active.uri.fsPath)} is in progress; cancel it first.`;
      void vscode.window.showWarningMessage(message);
      return { kind: 'failed', message };
    }
    const model = this.models.settings();
    const apiKey = model.endpoint ? await this.models.apiKey() : undefined;
    const request: RunRequest = {
      file: uri.fsPath, settings: readCheckSettings(), model,
      outputCache: path.join(model.cacheDir ?? this.storageFolder, 'outputs'),
      ...(apiKey ? { apiKey } : {}),
    };
    this.log.info(`Run on ${uri.fsPath} with ${model.model}${model.endpoint ? ` at ${model.endpoint}` : ''}: shots ${request.settings.shots.join(',')}, ${request.settings.heldOut} held out, selection ${request.settings.selection}`);
    // Configuration values are proxies, which a worker cannot receive: send plain data.
    const workerData = JSON.parse(JSON.stringify(request)) as RunRequest;
    const worker = new Worker(vscode.Uri.joinPath(this.extensionUri, 'dist', 'runWorker.js').fsPath, { workerData });
    const active = { uri, worker, progress: undefined as ExperimentProgress | undefined, message: 'Starting…' };
    this.active = active;
    void vscode.commands.executeCommand('setContext', RUNNING_CONTEXT_KEY, true);
    this.changed.fire(active);
    try {
      return await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Prompt or Fine-Tune: ${path.basename(uri.fsPath)}`, cancellable: true },
        (progress, token) => {
          token.onCancellationRequested(() => this.cancel());
          return this.follow(active, (message, increment) => progress.report({ message, increment }));
        },
      );
    } finally {
      await worker.terminate();
      this.active = undefined;
      this.statusBar.hide();
      void vscode.commands.executeCommand('setContext', RUNNING_CONTEXT_KEY, false);
      this.changed.fire(undefined);
    }
  }

  cancel(): boolean {
    if (!this.active) return false;
    this.log.info(`Cancelling the run on ${this.active.uri.fsPath}`);
    this.active.worker.postMessage({ type: 'cancel' });
    this.active.message = 'Cancelling…';
    this.changed.fire(this.active);
    return true;
  }

  private follow(active: ActiveRun & { worker: Worker }, report: (message: string, increment?: number) => void): Promise<RunOutcome> {
    let reportedFraction = 0;
    return new Promise<RunOutcome>((resolve) => {
      const update = (message: string, fraction?: number): void => {
        active.message = message;
        const increment = fraction !== undefined ? Math.max(0, (fraction - reportedFraction) * 100) : undefined;
        if (fraction !== undefined) reportedFraction = fraction;
        report(message, increment);
        this.statusBar.text = `$(sync~spin) ${path.basename(active.uri.fsPath)}: ${message}`;
        this.statusBar.tooltip = 'Prompt or Fine-Tune run: click to cancel';
        this.statusBar.show();
        this.changed.fire(active);
      };
      active.worker.on('message', (message: WorkerToHost) => {
        switch (message.type) {
          case 'loading':
            update(message.message);
            break;
          case 'progress':
            active.progress = message.progress;
            update(`${message.progress.done}/${message.progress.total} · ${message.progress.message}`, message.progress.total ? message.progress.done / message.progress.total : 0);
            break;
          case 'done':
            this.reports.save(active.uri, message.report);
            this.log.info(`Run done: ${message.report.verdict.measured.sentence} (${message.report.timing.modelCalls} model calls, ${message.report.timing.cachedCalls} cached, ${message.report.timing.seconds.toFixed(1)} s)`);
            resolve({ kind: 'done', report: message.report });
            break;
          case 'cancelled': {
            const kept = message.partial ? this.reports.save(active.uri, message.partial) : false;
            this.log.info(`Run cancelled after ${message.partial?.items.length ?? 0} items; ${kept ? 'partial report saved' : 'no report replaced'}`);
            resolve({ kind: 'cancelled', report: message.partial ?? undefined, kept });
            break;
          }
          case 'failed':
            this.log.error(`Run failed: ${message.message}`);
            resolve({ kind: 'failed', message: message.kind === 'unexpected' ? message.message.split('\n')[0]! : message.message });
            break;
        }
      });
      active.worker.on('error', (error) => {
        this.log.error(`Run worker crashed: ${error.stack ?? error.message}`);
        resolve({ kind: 'failed', message: `The run stopped unexpectedly: ${error.message}` });
      });
      active.worker.on('exit', (code) => resolve({ kind: 'failed', message: `The run worker exited (code ${code}) before finishing.` }));
    });
  }

  dispose(): void {
    void this.active?.worker.terminate();
    this.statusBar.dispose();
    this.changed.dispose();
  }
}
