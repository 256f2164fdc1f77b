/**
 * The VS Code face: wires the engine to commands, hovers, diagnostics, the report panel and the side panel.
 * Activation does no ML work: the tokenizer is read just after it, and the weights load in the run worker.
 */
import * as vscode from 'vscode';
import { CommandId, DATASET_VIEW_TYPE, DATASETS_VIEW_ID, REPORT_VIEW_TYPE } from './commandIds';
import { registerCommands } from './commands';
import { SECTION } from './configuration';
import { DatasetDiagnostics, DatasetQuickFixes } from './diagnostics';
import { DatasetHoverProvider } from './hover';
import { DatasetPanel } from './datasetPanel';
import { DatasetStore } from './datasetStore';
import { DatasetsViewProvider } from './datasetsView';
import { ModelService } from './modelService';
import { PREVIEW_SCHEME, PromptPreviews } from './promptPreview';
import { ReportPanels } from './reportPanel';
import { ReportStore } from './reportStore';
import { RunController } from './runController';

/** Settings that change what the model is; the rest of this list changes what an inspection finds. */
const MODEL_SETTINGS = ['model', 'dtype', 'device', 'threads', 'cacheFolder', 'endpoint', 'concurrency', 'endpointTokenizer', 'endpointChatTemplate'] as const;
const INSPECTION_SETTINGS = ['fields', 'contextLength', 'inputDimension', 'epsilon', 'delta', 'maxNewTokens', 'heldOut', 'seed', 'chatTemplate', 'template'] as const;

const JSONL: vscode.DocumentSelector = [{ scheme: 'file', pattern: '**/*.jsonl' }];

const isDataset = (document: vscode.TextDocument): boolean => document.uri.scheme === 'file' && document.fileName.endsWith('.jsonl');

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Prompt or Fine-Tune', { log: true });
  const storage = context.globalStorageUri.fsPath;
  const store = new DatasetStore(log);
  const models = new ModelService(storage, log, context.secrets);
  const reports = new ReportStore(vscode.Uri.joinPath(context.globalStorageUri, 'reports').fsPath);
  const runs = new RunController(context.extensionUri, storage, models, reports, log);
  const panels = new ReportPanels(context.extensionUri, reports, log);
  const datasetsView = new DatasetsViewProvider(context.extensionUri, store, reports, runs, models);
  const diagnostics = new DatasetDiagnostics(store);
  const previews = new PromptPreviews(models);
  const datasetPanel = new DatasetPanel(context.extensionUri, store, log, models);

  const inspectIfDataset = (document: vscode.TextDocument): void => {
    if (isDataset(document)) store.checkInBackground(document.uri);
  };
  // VS Code gives extensions no document for a file over 50 MB (no open event, no hover): its editor tab says it
  // is open, and the side panel's card shows its first answer.
  const inspectIfDatasetTab = (tab: vscode.Tab): void => {
    const uri = tab.input instanceof vscode.TabInputText ? tab.input.uri : undefined;
    if (uri?.scheme === 'file' && uri.fsPath.endsWith('.jsonl')) store.checkInBackground(uri);
  };
  const watcher = vscode.workspace.createFileSystemWatcher('**/*.jsonl');
  const changedOnDisk = (uri: vscode.Uri): void => {
    store.invalidate(uri);
    if (vscode.workspace.textDocuments.some((document) => document.uri.toString() === uri.toString())) store.checkInBackground(uri);
    datasetsView.scheduleRefresh();
  };

  context.subscriptions.push(
    log, store, models, reports, runs, panels, datasetsView, diagnostics, watcher, previews, datasetPanel,
    ...registerCommands({ extensionUri: context.extensionUri, store, models, reports, runs, panels, datasetsView, previews, datasetPanel, log }),
    vscode.workspace.registerTextDocumentContentProvider(PREVIEW_SCHEME, previews),
    // One estimate per (dataset, model, settings): the store counts with the model's tokenizer as soon as it is read.
    models.onDidChange((facts) => store.useModel(facts)),
    vscode.languages.registerHoverProvider(JSONL, new DatasetHoverProvider(store, reports, models)),
    vscode.languages.registerCodeActionsProvider(JSONL, new DatasetQuickFixes(), { providedCodeActionKinds: DatasetQuickFixes.kinds }),
    vscode.window.registerWebviewPanelSerializer(REPORT_VIEW_TYPE, panels),
    vscode.window.registerWebviewPanelSerializer(DATASET_VIEW_TYPE, datasetPanel),
    vscode.window.registerWebviewViewProvider(DATASETS_VIEW_ID, datasetsView),
    vscode.workspace.onDidOpenTextDocument(inspectIfDataset),
    vscode.window.tabGroups.onDidChangeTabs((event) => event.opened.forEach(inspectIfDatasetTab)),
    vscode.workspace.onDidSaveTextDocument((document) => { if (isDataset(document)) changedOnDisk(document.uri); }),
    watcher.onDidChange(changedOnDisk),
    watcher.onDidCreate(changedOnDisk),
    watcher.onDidDelete((uri) => { store.invalidate(uri); datasetsView.scheduleRefresh(); }),
    runs.onDidChange((run) => panels.showProgress(run?.progress ? { done: run.progress.done, total: run.progress.total, message: run.message } : null)),
    vscode.workspace.onDidChangeConfiguration((event) => {
      // Settings can reach the extension host after activation with an event that names none of ours (after a
      // window reload): whatever the event says, a tokenizer read for other settings is read again.
      models.ensureCurrent();
      if (!event.affectsConfiguration(SECTION)) return;
      const affects = (keys: readonly string[]): boolean => keys.some((key) => event.affectsConfiguration(`${SECTION}.${key}`));
      previews.invalidate();
      if (affects(MODEL_SETTINGS)) {
        models.unload();
        runs.releaseModel();
        models.warmUp();
      } else if (affects(INSPECTION_SETTINGS)) store.invalidateAll();
      if (datasetPanel.shown) store.checkInBackground(datasetPanel.shown);
      datasetsView.scheduleRefresh();
    }),
  );
  // After activation, never in it: the open datasets' first answers, then the tokenizer (its module takes a
  // hundred milliseconds of the thread to load), while the whole scans run one at a time.
  setTimeout(() => {
    for (const document of vscode.workspace.textDocuments) inspectIfDataset(document);
    for (const group of vscode.window.tabGroups.all) group.tabs.forEach(inspectIfDatasetTab);
    void store.firstAnswersSettled().then(() => models.warmUp());
  }, 0);
  log.info(`Activated (${CommandId.RunComparison} ready; the model's weights load in the run worker on the first run).`);
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
