/**
 * The report panel: one webview panel that shows a dataset's report, restored after a reload by a serializer
 * (the webview keeps only where the report is; the report is read again from disk).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as vscode from 'vscode';
import type { ExperimentReport } from '../engine/experiment/report';
import { renderReportHtml } from '../engine/report/html';
import { renderReportMarkdown } from '../engine/report/markdown';
import {
  isReportWebviewMessage, type ExportFormat, type ReportHostMessage, type ReportPanelState,
} from '../webview/report/protocol';
import { REPORT_VIEW_TYPE } from './commandIds';
import type { ReportStore } from './reportStore';
import { webviewHtml, webviewRoots } from './webviewHtml';

export class ReportPanels implements vscode.WebviewPanelSerializer<ReportPanelState>, vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private shown: { dataset: vscode.Uri | undefined; file: string } | undefined;
  private ready = false;
  private queued: ReportHostMessage[] = [];
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly extensionUri: vscode.Uri, private readonly reports: ReportStore, private readonly log: vscode.LogOutputChannel) {
    this.subscriptions.push(reports.onDidChange((dataset) => {
      if (this.shown?.dataset?.toString() === dataset.toString()) this.showFile(this.reports.fileFor(dataset));
    }));
  }

  /** The dataset whose report the panel shows, if any. */
  get dataset(): vscode.Uri | undefined {
    return this.shown?.dataset;
  }

  /** The dataset of the report when the panel is the active editor. */
  get activeDataset(): vscode.Uri | undefined {
    return this.panel?.active ? this.shown?.dataset : undefined;
  }

  /** The report currently shown (for exports). */
  current(): ExperimentReport | undefined {
    return this.shown ? this.reports.loadFile(this.shown.file) : undefined;
  }

  show(dataset: vscode.Uri): boolean {
    const file = this.reports.fileFor(dataset);
    if (!this.reports.loadFile(file)) return false;
    this.ensurePanel();
    this.shown = { dataset, file };
    this.showFile(file);
    // Beside what the user is doing, without taking the focus from it: a run may end while they type.
    this.panel!.reveal(undefined, true);
    return true;
  }

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: ReportPanelState | undefined): Promise<void> {
    this.adopt(panel);
    const report = state?.reportFile ? this.reports.loadFile(state.reportFile) : undefined;
    if (!state?.reportFile || !report) {
      this.post({ type: 'showError', message: 'The report of this panel is no longer there: run the comparison again.' });
      return;
    }
    this.shown = { dataset: vscode.Uri.file(report.dataset.file), file: state.reportFile };
    this.showFile(state.reportFile);
  }

  showProgress(progress: { done: number; total: number; message: string } | null): void {
    if (this.panel) this.post({ type: 'showProgress', progress });
  }

  private showFile(file: string): void {
    const report = this.reports.loadFile(file);
    if (!report || !this.panel) return;
    this.panel.title = `Report: ${report.dataset.name}`;
    this.post({ type: 'showReport', report, reportFile: file });
  }

  private ensurePanel(): void {
    if (this.panel) return;
    this.adopt(vscode.window.createWebviewPanel(REPORT_VIEW_TYPE, 'Prompt or Fine-Tune report', { viewColumn: vscode.ViewColumn.Active, preserveFocus: true }, {}));
  }

  private adopt(panel: vscode.WebviewPanel): void {
    this.panel = panel;
    this.ready = false;
    panel.webview.options = { enableScripts: true, localResourceRoots: webviewRoots(this.extensionUri) };
    // Listen before the page loads: its 'ready' must not be missed.
    panel.webview.onDidReceiveMessage((message: unknown) => this.receive(message));
    panel.webview.html = webviewHtml(panel.webview, this.extensionUri, { title: 'Prompt or Fine-Tune report', script: 'report.js', style: 'report.css', bodyClass: 'report' });
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'icon.svg');
    // A hidden panel's page is unloaded and loads again when shown: until its next 'ready', messages wait.
    panel.onDidChangeViewState(() => {
      if (!panel.visible) this.ready = false;
    });
    panel.onDidDispose(() => {
      if (this.panel === panel) {
        this.panel = undefined;
        this.shown = undefined;
        this.queued = [];
      }
    });
  }

  /** Messages wait for the page's ready handshake; only the latest of each type matters. */
  private post(message: ReportHostMessage): void {
    if (this.ready && this.panel) {
      void this.panel.webview.postMessage(message);
      return;
    }
    this.queued = [...this.queued.filter((queued) => queued.type !== message.type), message];
  }

  private receive(message: unknown): void {
    if (!isReportWebviewMessage(message)) {
      this.log.warn(`Ignored an unknown message from the report panel: ${JSON.stringify(message).slice(0, 200)}`);
      return;
    }
    switch (message.type) {
      case 'ready':
        this.ready = true;
        // A page that loads again (shown after being hidden) starts empty: give it the report it shows.
        if (this.shown && !this.queued.some((queued) => queued.type === 'showReport')) this.showFile(this.shown.file);
        for (const queued of this.queued.splice(0)) void this.panel?.webview.postMessage(queued);
        break;
      case 'export':
        void vscode.commands.executeCommand('promptOrFinetune.exportReport', undefined, message.format);
        break;
      case 'openLine':
        void this.openLine(message.line);
        break;
    }
  }

  private async openLine(line: number): Promise<void> {
    const report = this.current();
    if (!report) return;
    const editor = await vscode.window.showTextDocument(vscode.Uri.file(report.dataset.file), { viewColumn: vscode.ViewColumn.One, preview: true });
    const position = new vscode.Position(line - 1, 0);
    editor.selection = new vscode.Selection(position, position);
    editor.revealRange(new vscode.Range(position, position), vscode.TextEditorRevealType.InCenter);
  }

  dispose(): void {
    this.panel?.dispose();
    for (const subscription of this.subscriptions) subscription.dispose();
  }
}

/** Writes a report in one of the export formats. The HTML export inlines the report webview's own script and style. */
export function writeReport(report: ExperimentReport, format: ExportFormat, target: string, extensionUri: vscode.Uri): void {
  let content: string;
  if (format === 'json') content = JSON.stringify(report, null, 2) + '\n';
  else if (format === 'markdown') content = renderReportMarkdown(report);
  else {
    const read = (...segments: string[]): string => readFileSync(vscode.Uri.joinPath(extensionUri, ...segments).fsPath, 'utf8');
    content = renderReportHtml(report, { script: read('dist', 'webview', 'report.js'), style: read('media', 'report.css') });
  }
  writeFileSync(target, content);
}
