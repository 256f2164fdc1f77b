/**
 * Preview Prompt as a read-only virtual document (its own URI scheme): the prompt a record gets at k shots,
 * exactly as a run builds it. One preview per dataset; it follows the cursor in the dataset's editor and takes
 * the new k when the command runs again, so the tab updates in place instead of piling up unsaved documents.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { DatasetNotRunnableError, planExperiment, previewPrompt, type ExperimentPlan } from '../engine/experiment/experiment';
import type { BuiltPrompt } from '../engine/prompt/builder';
import { readCheckSettings } from './configuration';
import type { ModelService } from './modelService';
import { modelsFolder } from '../engine/cacheFolders';

export const PREVIEW_SCHEME = 'prompt-or-finetune-prompt';

export interface PromptPreview {
  uri: vscode.Uri;
  line: number;
  k: number;
  heldOut: boolean;
  built: BuiltPrompt;
}

interface Shown {
  dataset: vscode.Uri;
  line: number;
  k: number;
  text: string;
}

export class PromptPreviews implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly shown = new Map<string, Shown>();
  /** The plan of the last dataset previewed, with what it was made from: cursor moves must not re-read the file. */
  private plan: { key: string; plan: Promise<ExperimentPlan>; dispose?: () => Promise<void> } | undefined;
  private following: NodeJS.Timeout | undefined;
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly models: ModelService) {
    this.subscriptions = [
      vscode.window.onDidChangeTextEditorSelection((event) => this.followCursor(event)),
      vscode.workspace.onDidCloseTextDocument((document) => {
        if (document.uri.scheme === PREVIEW_SCHEME) this.shown.delete(document.uri.toString());
      }),
    ];
  }

  /** The preview document of a dataset: one per dataset, named after it. */
  static uriFor(dataset: vscode.Uri): vscode.Uri {
    return vscode.Uri.from({ scheme: PREVIEW_SCHEME, path: `/${path.basename(dataset.fsPath)}.prompt.txt`, query: dataset.toString() });
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.shown.get(uri.toString())?.text ?? 'Run "Prompt or Fine-Tune: Preview Prompt" to show a prompt here.';
  }

  /** Builds the prompt of `line` (a held-out record when undefined) at k shots and shows it. */
  async show(dataset: vscode.Uri, line: number | undefined, k: number): Promise<PromptPreview> {
    const preview = await this.build(dataset, line, k);
    const document = await vscode.workspace.openTextDocument(preview.uri);
    await vscode.window.showTextDocument(document, { preview: true, preserveFocus: true, viewColumn: vscode.ViewColumn.Beside });
    return preview;
  }

  /** Settings or the model changed: the next preview plans again. */
  invalidate(): void {
    void this.plan?.dispose?.();
    this.plan = undefined;
  }

  private async build(dataset: vscode.Uri, line: number | undefined, k: number): Promise<PromptPreview> {
    const plan = await this.planFor(dataset);
    const model = await this.models.get();
    const recordLine = line ?? plan.heldOut[0]?.line ?? 1;
    const preview = await previewPrompt(plan, recordLine, k, model.tokenizer);
    if (!preview.result.ok) throw new DatasetNotRunnableError(`Line ${recordLine}: ${preview.result.reason}.`);
    const uri = PromptPreviews.uriFor(dataset);
    this.shown.set(uri.toString(), { dataset, line: recordLine, k, text: preview.result.built.prompt.text });
    this.changed.fire(uri);
    return { uri, line: recordLine, k, heldOut: preview.heldOut, built: preview.result.built };
  }

  private async planFor(dataset: vscode.Uri): Promise<ExperimentPlan> {
    const settings = readCheckSettings();
    const model = await this.models.get();
    const modelSettings = this.models.settings();
    const stat = await vscode.workspace.fs.stat(dataset);
    const key = JSON.stringify([dataset.toString(), stat.mtime, stat.size, settings, model.id, modelSettings.embeddingModel ?? '']);
    if (this.plan?.key === key) return this.plan.plan;
    this.invalidate();
    // Similar selection with an embedding model: the preview embeds the pool too, so it shows what a run sends.
    const embedder = settings.selection === 'similar' && modelSettings.embeddingModel
      ? await (await import('../engine/model/embeddingModel')).loadEmbedder({ model: modelSettings.embeddingModel, cacheDir: modelsFolder(modelSettings.cacheDir), allowDownload: modelSettings.allowDownload })
      : undefined;
    const plan = planExperiment(dataset.fsPath, settings, model, { embedder });
    this.plan = { key, plan, ...(embedder ? { dispose: () => embedder.dispose() } : {}) };
    plan.catch(() => { if (this.plan?.plan === plan) this.invalidate(); });
    return plan;
  }

  /** The cursor moved in a dataset whose preview is open: show the record under it, at the same k. */
  private followCursor(event: vscode.TextEditorSelectionChangeEvent): void {
    const dataset = event.textEditor.document.uri;
    if (dataset.scheme !== 'file') return;
    const uri = PromptPreviews.uriFor(dataset);
    const shown = this.shown.get(uri.toString());
    const line = event.selections[0]!.active.line + 1;
    if (!shown || shown.line === line) return;
    if (this.following) clearTimeout(this.following);
    this.following = setTimeout(() => {
      this.following = undefined;
      void this.plan?.plan.then((plan) => {
        // Only lines where a usable record starts have a prompt; elsewhere the preview keeps its record.
        if (plan.inspection.examples.some((example) => example.line === line)) return this.build(dataset, line, shown.k);
        return undefined;
      }).catch(() => undefined);
    }, 200);
  }

  dispose(): void {
    if (this.following) clearTimeout(this.following);
    this.invalidate();
    this.changed.dispose();
    for (const subscription of this.subscriptions) subscription.dispose();
  }
}
