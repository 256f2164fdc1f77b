/**
 * Runs experiments in a worker thread with progress, cancel and a status-bar item, and keeps the reports.
 * One run at a time: the machine's cores are the limit, not the UI. The worker lives across runs and keeps the
 * model loaded; it is ended (and the model freed) when the model settings change or after IDLE_MS without a run.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as vscode from 'vscode';
import type { ExperimentProgress } from '../engine/experiment/experiment';
import type { ExperimentReport } from '../engine/experiment/report';
import { RUNNING_CONTEXT_KEY, CommandId } from './commandIds';
import { readCheckSettings } from './configuration';
import { t } from './l10n';
import type { ModelService } from './modelService';
import type { ReportStore } from './reportStore';
import type { RunRequest, WorkerToHost } from './runProtocol';
import { outputsFolder } from '../engine/cacheFolders';

/** A kept model is freed after this long without a run. */
const IDLE_MS = 10 * 60 * 1000;

export interface ActiveRun {
  uri: vscode.Uri;
  progress: ExperimentProgress | undefined;
  message: string;
}

/**
 * `modelLoaded`: whether this run loaded the model's weights (false when the worker still had them).
 * A run cancelled before its first model call has `report` undefined and replaced nothing.
 */
export type RunOutcome =
  | { kind: 'done'; report: ExperimentReport; modelLoaded: boolean }
  | { kind: 'cancelled'; report: ExperimentReport | undefined; kept: boolean; modelLoaded: boolean }
  | { kind: 'failed'; message: string };

export class RunController implements vscode.Disposable {
  private active: (ActiveRun & { worker: Worker }) | undefined;
  private worker: Worker | undefined;
  private idle: NodeJS.Timeout | undefined;
  private readonly statusBar = vscode.window.createStatusBarItem('promptOrFinetune.run', vscode.StatusBarAlignment.Left, 10);
  private readonly changed = new vscode.EventEmitter<ActiveRun | undefined>();
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly storageFolder: string,
    private readonly models: ModelService,
    private readonly reports: ReportStore,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.statusBar.name = t('Prompt or Fine-Tune run');
    this.statusBar.command = CommandId.CancelRun;
  }

  get current(): ActiveRun | undefined {
    return this.active;
  }

  /** Frees the model the worker keeps (the model settings changed); a run in progress keeps its worker. */
  releaseModel(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
    if (!this.worker || this.active?.worker === this.worker) return;
    void this.worker.terminate();
    this.worker = undefined;
    this.log.info('Freed the model kept in the run worker.');
  }

  private workerForRun(): Worker {
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
    if (this.worker) return this.worker;
    const worker = new Worker(vscode.Uri.joinPath(this.extensionUri, 'dist', 'runWorker.js').fsPath);
    worker.on('exit', () => { if (this.worker === worker) this.worker = undefined; });
    this.worker = worker;
    return worker;
  }

  async run(uri: vscode.Uri): Promise<RunOutcome> {
    if (this.active) {
      const message = t('A run on {0} is in progress; cancel it first.', path.basename(this.active.uri.fsPath));
      void vscode.window.showWarningMessage(message);
      return { kind: 'failed', message };
    }
    const model = this.models.settings();
    const apiKey = model.endpoint ? await this.models.apiKey() : undefined;
    const request: RunRequest = {
      file: uri.fsPath, settings: readCheckSettings(), model,
      outputCache: outputsFolder(model.cacheDir ?? this.storageFolder),
      ...(apiKey ? { apiKey } : {}),
    };
    this.log.info(`Run on ${uri.fsPath} with ${model.model}${model.endpoint ? ` at ${model.endpoint}` : ''}: shots ${request.settings.shots.join(',')}, ${request.settings.heldOut} held out, selection ${request.settings.selection}`);
    const worker = this.workerForRun();
    const active = { uri, worker, progress: undefined as ExperimentProgress | undefined, message: t('Starting…') };
    this.active = active;
    void vscode.commands.executeCommand('setContext', RUNNING_CONTEXT_KEY, true);
    this.showStatus(active);
    this.changed.fire(active);
    try {
      return await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Prompt or Fine-Tune: ${path.basename(uri.fsPath)}`, cancellable: true },
        (progress, token) => {
          token.onCancellationRequested(() => this.cancel());
          progress.report({ message: active.message });
          const outcome = this.follow(active, (message, increment) => progress.report({ message, increment }));
          // Configuration values are proxies, which a worker cannot receive: send plain data.
          worker.postMessage({ type: 'run', request: JSON.parse(JSON.stringify(request)) as RunRequest });
          return outcome;
        },
      );
    } finally {
      this.active = undefined;
      this.statusBar.hide();
      void vscode.commands.executeCommand('setContext', RUNNING_CONTEXT_KEY, false);
      this.changed.fire(undefined);
      if (this.worker === worker) this.idle = setTimeout(() => this.releaseModel(), IDLE_MS);
    }
  }

  cancel(): boolean {
    if (!this.active) return false;
    this.log.info(`Cancelling the run on ${this.active.uri.fsPath}`);
    this.active.worker.postMessage({ type: 'cancel' });
    this.active.message = t('Cancelling…');
    this.changed.fire(this.active);
    return true;
  }

  private showStatus(active: ActiveRun): void {
    this.statusBar.text = `$(sync~spin) ${path.basename(active.uri.fsPath)}: ${active.message}`;
    this.statusBar.tooltip = t('Prompt or Fine-Tune run: click to cancel');
    this.statusBar.show();
  }

  private follow(active: ActiveRun & { worker: Worker }, report: (message: string, increment?: number) => void): Promise<RunOutcome> {
    let reportedFraction = 0;
    const { worker } = active;
    return new Promise<RunOutcome>((resolve) => {
      const finish = (outcome: RunOutcome): void => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        resolve(outcome);
      };
      const update = (message: string, fraction?: number): void => {
        active.message = message;
        const increment = fraction !== undefined ? Math.max(0, (fraction - reportedFraction) * 100) : undefined;
        if (fraction !== undefined) reportedFraction = fraction;
        report(message, increment);
        this.showStatus(active);
        this.changed.fire(active);
      };
      const onMessage = (message: WorkerToHost): void => {
        switch (message.type) {
          case 'phase':
            this.log.info(`Run phase (${message.phase}): ${message.message}`);
            update(message.message);
            break;
          case 'progress':
            active.progress = message.progress;
            update(`k = ${message.progress.k}: ${message.progress.done}/${message.progress.total} · ${message.progress.message}`, message.progress.total ? message.progress.done / message.progress.total : 0);
            break;
          case 'done':
            this.reports.save(active.uri, message.report);
            this.log.info(`Run done: ${message.report.verdict.measured.sentence} (${message.report.timing.modelCalls} model calls, ${message.report.timing.cachedCalls} cached, ${message.report.timing.seconds.toFixed(1)} s; ${message.modelLoaded ? 'model loaded' : 'model kept from an earlier run'})`);
            finish({ kind: 'done', report: message.report, modelLoaded: message.modelLoaded });
            break;
          case 'cancelled': {
            // Cancelled before anything was asked of the model (while it loaded, or while the dataset was read):
            // nothing happened, so nothing is saved and the previous report stays as it was.
            const partial = message.partial && message.partial.items.length > 0 ? message.partial : undefined;
            const kept = partial ? this.reports.save(active.uri, partial) : false;
            this.log.info(`Run cancelled after ${partial?.items.length ?? 0} items; ${kept ? 'partial report saved' : 'no report replaced'}`);
            finish({ kind: 'cancelled', report: partial, kept, modelLoaded: message.modelLoaded });
            break;
          }
          case 'failed':
            this.log.error(`Run failed: ${message.message}`);
            finish({ kind: 'failed', message: message.kind === 'unexpected' ? message.message.split('\n')[0]! : message.message });
            break;
        }
      };
      const onError = (error: Error): void => {
        this.log.error(`Run worker crashed: ${error.stack ?? error.message}`);
        finish({ kind: 'failed', message: t('The run stopped unexpectedly: {0}', error.message) });
      };
      const onExit = (code: number): void => finish({ kind: 'failed', message: t('The run worker exited (code {0}) before finishing.', code) });
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
  }

  dispose(): void {
    if (this.idle) clearTimeout(this.idle);
    void this.worker?.terminate();
    this.statusBar.dispose();
    this.changed.dispose();
  }
}
