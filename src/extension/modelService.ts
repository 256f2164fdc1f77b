/**
 * The model as the extension host uses it: for token counts, the chat template and prompt previews.
 * Loaded on first need, never at activation; runs load their own copy in the run worker.
 */
import * as vscode from 'vscode';
import { ModelLoadError, type LanguageModel } from '../engine/model/languageModel';
import type { ModelSettings } from '../engine/settings';
import { readModelSettings } from './configuration';

/** The SecretStorage key of the serving engine's API key. */
const API_KEY_SECRET = 'promptOrFinetune.endpointApiKey';

export class ModelService implements vscode.Disposable {
  private loaded: { key: string; model: Promise<LanguageModel> } | undefined;
  private current: LanguageModel | undefined;
  private readonly changed = new vscode.EventEmitter<LanguageModel | undefined>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly storageFolder: string, private readonly log: vscode.LogOutputChannel, private readonly secrets?: vscode.SecretStorage) {}

  /** The serving engine's API key, kept in VS Code's SecretStorage (never in a settings file). */
  apiKey(): Promise<string | undefined> {
    return Promise.resolve(this.secrets?.get(API_KEY_SECRET));
  }

  /** Stores the API key (an empty one deletes it); the next connect uses it. */
  async setApiKey(key: string): Promise<void> {
    if (key) await this.secrets?.store(API_KEY_SECRET, key);
    else await this.secrets?.delete(API_KEY_SECRET);
    await this.unload();
  }

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
    const key = JSON.stringify([settings.model, settings.dtype, settings.device, settings.threads, settings.cacheDir, settings.endpoint, settings.concurrency]);
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
    if (settings.endpoint) return this.connect(settings, settings.endpoint);
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

  /** A serving engine's model: probed at connect; what it cannot measure goes to the log, and into every report. */
  private connect(settings: ModelSettings, endpoint: string): Promise<LanguageModel> {
    return Promise.resolve(vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Prompt or Fine-Tune: connecting to ${endpoint}`, cancellable: true },
      async (_progress, token) => {
        const controller = new AbortController();
        token.onCancellationRequested(() => controller.abort());
        const { connectEndpoint } = await import('../engine/model/endpoint/endpointModel');
        const model = await connectEndpoint({
          endpoint, model: settings.model, apiKey: await this.apiKey(), concurrency: settings.concurrency,
          cacheDir: settings.cacheDir, allowDownload: settings.allowDownload, signal: controller.signal,
        }).catch((error: unknown) => {
          // The message names the request and the reason: shown as it is, like a model that cannot load.
          throw (error as Error).name === 'EndpointError' ? new ModelLoadError((error as Error).message) : error;
        });
        this.log.info(`Connected to ${Object.entries(model.capabilities).map(([what, how]) => `${what}: ${how}`).join('; ')}`);
        for (const entry of model.unavailableMeasurements) this.log.warn(`Not measured (${entry.measurement}): ${entry.reason}`);
        return model;
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
