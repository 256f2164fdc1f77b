/**
 * The model as the extension host uses it: for token counts, the chat template and prompt previews.
 * Loaded on first need, never at activation; runs load their own copy in the run worker.
 */
import * as vscode from 'vscode';
import type { LanguageModel } from '../engine/model/languageModel';
import type { ModelSettings } from '../engine/settings';
import { readModelSettings } from './configuration';

export class ModelService implements vscode.Disposable {
  private loaded: { key: string; model: Promise<LanguageModel> } | undefined;
  private current: LanguageModel | undefined;
  private readonly changed = new vscode.EventEmitter<LanguageModel | undefined>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly storageFolder: string, private readonly log: vscode.LogOutputChannel) {}

  settings(): ModelSettings {
    return readModelSettings(this.storageFolder);
  }

  /** The model if it is loaded; undefined otherwise (never starts a load). */
  get ready(): LanguageModel | undefined {
    return this.current;
  }

  /**
   * Loads the configured model (once per settings), with a progress notification. The load is registered before
   * anything is awaited, so two callers in the same moment share one load; a load that the settings overtook
   * while it ran is disposed, and the current settings' model is loaded instead.
   */
  async get(): Promise<LanguageModel> {
    const settings = this.settings();
    const key = JSON.stringify([settings.model, settings.dtype, settings.device, settings.threads, settings.cacheDir]);
    if (this.loaded?.key === key) return this.loaded.model;
    const previous = this.unload();
    const model = previous.then(() => this.load(settings));
    const entry = { key, model };
    this.loaded = entry;
    let loadedModel: LanguageModel;
    try {
      loadedModel = await model;
    } catch (error) {
      if (this.loaded === entry) this.loaded = undefined;
      throw error;
    }
    if (this.loaded !== entry) {
      await loadedModel.dispose();
      return this.get();
    }
    this.current = loadedModel;
    this.changed.fire(loadedModel);
    return loadedModel;
  }

  private load(settings: ModelSettings): Promise<LanguageModel> {
    return Promise.resolve(vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Prompt or Fine-Tune: loading ${settings.model}`, cancellable: true },
      async (progress, token) => {
        const controller = new AbortController();
        token.onCancellationRequested(() => controller.abort());
        const { loadLanguageModel } = await import('../engine/model/transformersModel');
        const started = Date.now();
        const loadedModel = await loadLanguageModel({
          model: settings.model, dtype: settings.dtype, device: settings.device, threads: settings.threads,
          cacheDir: settings.cacheDir, allowDownload: settings.allowDownload, signal: controller.signal,
          onProgress: (event) => progress.report({ message: `${event.file}${event.percent !== undefined ? ` ${Math.floor(event.percent)}%` : ''}` }),
        });
        this.log.info(`Loaded ${settings.model} in ${Date.now() - started} ms (context ${loadedModel.contextLength}, vocabulary ${loadedModel.vocabularySize})`);
        return loadedModel;
      },
    ));
  }

  /** Forgets the loaded model at once (a later get() loads anew) and disposes it when its load is done. */
  async unload(): Promise<void> {
    const previous = this.loaded;
    this.loaded = undefined;
    this.current = undefined;
    if (previous) {
      this.changed.fire(undefined);
      await (await previous.model.catch(() => undefined))?.dispose();
    }
  }

  dispose(): void {
    void this.unload();
    this.changed.dispose();
  }
}
