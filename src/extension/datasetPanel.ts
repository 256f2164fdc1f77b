/**
 * The dataset view: one webview panel showing a dataset in full (DatasetOverview), kept up to date as the store
 * re-inspects it (a provisional summary first on a large file, then the whole). Switching the reference field
 * writes the `promptOrFinetune.fields` setting, which makes every view re-inspect with it.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { datasetOverview } from '../engine/dataset/overview';
import { isDatasetWebviewMessage, type DatasetHostMessage, type DatasetPanelState } from '../webview/dataset/protocol';
import { DATASET_VIEW_TYPE } from './commandIds';
import { SECTION } from './configuration';
import type { DatasetStore } from './datasetStore';
import { t } from './l10n';
import type { ModelService } from './modelService';
import { webviewHtml, webviewRoots } from './webviewHtml';

export class DatasetPanel implements vscode.WebviewPanelSerializer<DatasetPanelState>, vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private dataset: vscode.Uri | undefined;
  private ready = false;
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    private readonly extensionUri: vscode.Uri, private readonly store: DatasetStore, private readonly log: vscode.LogOutputChannel,
    private readonly models: ModelService,
  ) {
    this.subscriptions = [
      store.onDidChange((uri) => {
        if (this.dataset?.toString() === uri.toString()) this.update();
      }),
      // A tokenizer that fails to load changes no inspection, but what the view says about its lengths.
      models.onDidChange(() => this.update()),
    ];
  }

  /** The dataset shown, if the panel is open. */
  get shown(): vscode.Uri | undefined {
    return this.panel ? this.dataset : undefined;
  }

  /** The dataset shown when the panel is the active editor. */
  get activeDataset(): vscode.Uri | undefined {
    return this.panel?.active ? this.dataset : undefined;
  }

  show(dataset: vscode.Uri): void {
    this.dataset = dataset;
    if (!this.panel) this.adopt(vscode.window.createWebviewPanel(DATASET_VIEW_TYPE, '', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {}));
    this.panel!.title = t('Dataset: {0}', path.basename(dataset.fsPath));
    // Beside the file, without taking the focus from it (or from the palette the command came from).
    this.panel!.reveal(undefined, true);
    this.update();
    if (!this.store.peek(dataset)) void this.store.check(dataset).catch(() => undefined);
  }

  /** After a window reload: the page kept which file it showed (its state); the overview is computed again. */
  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: DatasetPanelState | undefined): Promise<void> {
    if (typeof state?.file !== 'string') {
      panel.dispose();
      return;
    }
    this.adopt(panel);
    this.dataset = vscode.Uri.file(state.file);
    panel.title = t('Dataset: {0}', path.basename(state.file));
    this.update();
    if (!this.store.peek(this.dataset)) void this.store.check(this.dataset).catch(() => undefined);
  }

  private adopt(panel: vscode.WebviewPanel): void {
    this.panel = panel;
    this.ready = false;
    panel.webview.options = { enableScripts: true, localResourceRoots: webviewRoots(this.extensionUri) };
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'icon.svg');
    // Listen before the page loads: its 'ready' must not be missed.
    panel.webview.onDidReceiveMessage((message: unknown) => this.receive(message));
    panel.webview.html = webviewHtml(panel.webview, this.extensionUri, { title: 'Dataset', script: 'dataset.js', style: 'dataset.css', bodyClass: 'dataset' });
    panel.onDidChangeViewState(() => { if (!panel.visible) this.ready = false; });
    panel.onDidDispose(() => { if (this.panel === panel) this.panel = undefined; });
  }

  private update(): void {
    const dataset = this.dataset;
    if (!dataset || !this.panel || !this.ready) return;
    const settled = this.store.peek(dataset);
    const provisional = settled ? undefined : this.store.provisional(dataset);
    const check = settled ?? provisional?.check;
    const error = this.store.errorOf(dataset);
    let message: DatasetHostMessage;
    if (error) message = { type: 'error', message: t('Could not inspect {0}: {1}', path.basename(dataset.fsPath), error) };
    else if (!check) message = { type: 'inspecting', name: path.basename(dataset.fsPath) };
    else if (check.inspection.notJsonLines) message = { type: 'error', message: `${check.inspection.name}: ${check.inspection.notJsonLines}` };
    else {
      const override = vscode.workspace.getConfiguration(SECTION).get<Record<string, string>>('fields', {}).reference;
      // A server's tokenizer counts only inside settleTokens, and an estimate is no count: lengths in characters then.
      const loaded = this.store.model?.tokenizer;
      const tokenizer = loaded && !loaded.settle && !loaded.estimated ? loaded : undefined;
      const problem = this.models.problem;
      message = {
        type: 'overview', overview: datasetOverview(check.inspection, tokenizer),
        referenceOverride: typeof override === 'string' && override ? override : null,
        provisionalBytes: provisional ? provisional.bytesRead : null,
        ...(problem ? { charactersWhy: t('In characters: the tokenizer of {0} could not be read: {1}', problem.model, problem.message) }
          : loaded ? {} : { charactersWhy: t('In characters until the tokenizer of {0} is read.', this.models.settings().model) }),
      };
    }
    void this.panel.webview.postMessage(message);
  }

  private receive(message: unknown): void {
    if (!isDatasetWebviewMessage(message)) {
      this.log.warn(`Ignored an unknown message from the dataset view: ${JSON.stringify(message).slice(0, 200)}`);
      return;
    }
    switch (message.type) {
      case 'ready':
        this.ready = true;
        this.update();
        break;
      case 'openLine':
        void this.openLine(message.line);
        break;
      case 'setReference':
        void this.setReference(message.path);
        break;
    }
  }

  /** Writes the reference field where the fields setting already lives (the workspace when it has one there). */
  private async setReference(field: string | null): Promise<void> {
    const config = vscode.workspace.getConfiguration(SECTION);
    const inspected = config.inspect<Record<string, string>>('fields');
    const target = inspected?.workspaceValue !== undefined || (vscode.workspace.workspaceFolders?.length ?? 0) > 0
      ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
    const current = { ...(target === vscode.ConfigurationTarget.Workspace ? inspected?.workspaceValue : inspected?.globalValue) };
    if (field === null) delete current.reference;
    else current.reference = field;
    await config.update('fields', Object.keys(current).length ? current : undefined, target);
    this.log.info(`Reference field ${field === null ? 'reset to the detected one' : `set to ${field}`} (promptOrFinetune.fields)`);
  }

  private async openLine(line: number): Promise<void> {
    if (!this.dataset) return;
    const editor = await vscode.window.showTextDocument(this.dataset, { viewColumn: vscode.ViewColumn.One, preview: true });
    const position = new vscode.Position(line - 1, 0);
    editor.selection = new vscode.Selection(position, position);
    editor.revealRange(new vscode.Range(position, position), vscode.TextEditorRevealType.InCenter);
  }

  dispose(): void {
    this.panel?.dispose();
    for (const subscription of this.subscriptions) subscription.dispose();
  }
}
