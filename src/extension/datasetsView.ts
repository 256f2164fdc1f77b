/**
 * The side panel: the workspace's datasets with their schema, size, status and last verdict, actions to
 * inspect, run and open the report, and a live run's progress with cancel.
 */
import { statSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  isDatasetsWebviewMessage, type DatasetCard, type DatasetsHostMessage,
} from '../webview/datasets/protocol';
import { CommandId } from './commandIds';
import type { DatasetStore } from './datasetStore';
import type { ModelService } from './modelService';
import type { ReportStore } from './reportStore';
import type { RunController } from './runController';
import { webviewHtml, webviewRoots } from './webviewHtml';

export class DatasetsViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private ready = false;
  private refreshing: NodeJS.Timeout | undefined;
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly store: DatasetStore,
    private readonly reports: ReportStore,
    private readonly runs: RunController,
    private readonly models: ModelService,
  ) {
    this.subscriptions = [
      store.onDidChange(() => this.scheduleRefresh()),
      reports.onDidChange(() => this.scheduleRefresh()),
      models.onDidChange(() => this.scheduleRefresh()),
      runs.onDidChange((run) => {
        this.post({ type: 'progress', progress: run ? { uri: run.uri.toString(), done: run.progress?.done ?? 0, total: run.progress?.total ?? 0, message: run.message } : null });
        this.scheduleRefresh();
      }),
    ];
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    this.ready = false;
    view.webview.options = { enableScripts: true, localResourceRoots: webviewRoots(this.extensionUri) };
    view.webview.onDidReceiveMessage((message: unknown) => this.receive(message));
    view.webview.html = webviewHtml(view.webview, this.extensionUri, { title: 'Datasets', script: 'datasets.js', style: 'datasets.css', bodyClass: 'datasets' });
    view.onDidDispose(() => {
      if (this.view === view) this.view = undefined;
    });
    // A hidden view's page is unloaded; it says 'ready' again when shown.
    view.onDidChangeVisibility(() => {
      if (!view.visible) this.ready = false;
    });
  }

  /** Coalesces bursts of changes (a workspace of many files inspected at once) into one message. */
  scheduleRefresh(): void {
    if (!this.view || this.refreshing) return;
    this.refreshing = setTimeout(() => {
      this.refreshing = undefined;
      void this.refresh();
    }, 150);
  }

  async refresh(): Promise<void> {
    if (!this.view || !this.ready) return;
    this.models.ensureCurrent();
    const files = await this.store.list();
    // A large file gets its first answer on its card without being opened (its whole scan waits to be asked for).
    for (const uri of files) this.store.readFirstAnswer(uri);
    const cards = files.map((uri) => this.card(uri));
    const model = this.models.settings().model;
    const problem = this.models.problem;
    this.post({ type: 'datasets', model, ...(problem ? { modelProblem: problem.message } : {}), datasets: cards });
  }

  private card(uri: vscode.Uri): DatasetCard {
    const workspace = vscode.workspace.getWorkspaceFolder(uri);
    const running = this.runs.current?.uri.toString() === uri.toString();
    const settled = this.store.peek(uri);
    const provisional = settled ? undefined : this.store.provisional(uri);
    const check = settled ?? provisional?.check;
    const currentModel = this.models.settings().model;
    const error = this.store.errorOf(uri) ?? check?.inspection.notJsonLines ?? undefined;
    const report = this.reports.load(uri);
    let bytes = 0;
    try {
      bytes = statSync(uri.fsPath).size;
    } catch { /* deleted since listed: shown with size 0 until the next refresh */ }
    const status: DatasetCard['status'] = running ? 'running' : error ? 'error' : this.store.isPending(uri) ? 'inspecting' : report ? 'compared' : check ? 'ready' : 'not-inspected';
    return {
      uri: uri.toString(),
      name: path.basename(uri.fsPath),
      relativePath: workspace ? path.relative(workspace.uri.fsPath, uri.fsPath) : uri.fsPath,
      bytes, status,
      ...(check && !check.inspection.notJsonLines ? { schema: check.inspection.schema, records: check.inspection.records, invalid: check.inspection.invalid, warnings: check.inspection.warningCount } : {}),
      ...(check?.estimate ? {
        theory: check.estimate.verdict.sentence, kFit: check.estimate.fit.kFit, contextLength: check.estimate.fit.contextLength,
        estimatedFromCharacters: check.estimate.fit.estimated,
      } : {}),
      ...(provisional ? { provisionalBytes: provisional.bytesRead } : {}),
      ...(report ? { measured: `${report.complete ? '' : '(partial) '}${report.verdict.measured.sentence}` } : {}),
      ...(report && report.model.id !== currentModel ? { measuredWith: report.model.id } : {}),
      ...(error ? { error } : {}),
      hasReport: !!report,
    };
  }

  private post(message: DatasetsHostMessage): void {
    if (this.view && this.ready) void this.view.webview.postMessage(message);
  }

  private receive(message: unknown): void {
    if (!isDatasetsWebviewMessage(message)) return;
    const uri = 'uri' in message ? vscode.Uri.parse(message.uri) : undefined;
    switch (message.type) {
      case 'ready':
        this.ready = true;
        void this.refresh();
        if (this.runs.current) {
          const run = this.runs.current;
          this.post({ type: 'progress', progress: { uri: run.uri.toString(), done: run.progress?.done ?? 0, total: run.progress?.total ?? 0, message: run.message } });
        }
        break;
      case 'inspect': void vscode.commands.executeCommand(CommandId.InspectDataset, uri); break;
      case 'run': void vscode.commands.executeCommand(CommandId.RunComparison, uri); break;
      case 'openReport': void vscode.commands.executeCommand(CommandId.OpenReport, uri); break;
      case 'showDataset': void vscode.commands.executeCommand(CommandId.ShowDataset, uri); break;
      case 'openFile': if (uri) void vscode.window.showTextDocument(uri); break;
      case 'cancel': void vscode.commands.executeCommand(CommandId.CancelRun); break;
      case 'selectModel': void vscode.commands.executeCommand(CommandId.SelectModel); break;
      case 'refresh': void vscode.commands.executeCommand(CommandId.RefreshDatasets); break;
    }
  }

  dispose(): void {
    if (this.refreshing) clearTimeout(this.refreshing);
    for (const subscription of this.subscriptions) subscription.dispose();
  }
}
