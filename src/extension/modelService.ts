/**
 * The model as the extension host knows it: its tokenizer and config (context length, vocabulary size), for
 * token counts, shot estimates, the chat template and prompt previews. Never its weights: those load in the run
 * worker only. Loaded as soon as a model is set (in the background, never blocking activation), again when the
 * model setting changes.
 */
import * as vscode from 'vscode';
import type { ModelFacts } from '../engine/datasetCheck';
import { ModelLoadError, type LanguageModel } from '../engine/model/languageModel';
import type { ModelSettings } from '../engine/settings';
import { readModelSettings } from './configuration';
import { connectWithSettings } from './endpointConnection';
import { t } from './l10n';
import { modelsFolder } from '../engine/cacheFolders';

/** The SecretStorage key of the serving engine's API key. */
const API_KEY_SECRET = 'promptOrFinetune.endpointApiKey';

/** The settings that make one tokenizer: another value of any of them is another load. */
function keyOf(settings: ModelSettings): string {
  return JSON.stringify([settings.model, settings.cacheDir, settings.endpoint, settings.concurrency, settings.endpointTokenizer, settings.endpointChatTemplate]);
}

export class ModelService implements vscode.Disposable {
  private loaded: { key: string; facts: Promise<ModelFacts> } | undefined;
  private current: ModelFacts | undefined;
  /** The last load's failure, for the settings it was made with. */
  private failure: { key: string; model: string; message: string } | undefined;
  private readonly changed = new vscode.EventEmitter<ModelFacts | undefined>();
  readonly onDidChange = this.changed.event;

  /** A serving engine's connection, when the model is one: closed when the settings move on. */
  private connection: Promise<LanguageModel | undefined> | undefined;

  constructor(private readonly storageFolder: string, private readonly log: vscode.LogOutputChannel, private readonly secrets?: vscode.SecretStorage) {}

  /** The serving engine's API key, kept in VS Code's SecretStorage (never in a settings file). */
  apiKey(): Promise<string | undefined> {
    return Promise.resolve(this.secrets?.get(API_KEY_SECRET));
  }

  /** Stores the API key (an empty one deletes it); the next connect uses it. */
  async setApiKey(key: string): Promise<void> {
    if (key) await this.secrets?.store(API_KEY_SECRET, key);
    else await this.secrets?.delete(API_KEY_SECRET);
    this.unload();
  }

  settings(): ModelSettings {
    return readModelSettings(this.storageFolder);
  }

  /** The tokenizer and config if they are loaded; undefined otherwise (never starts a load). */
  get ready(): ModelFacts | undefined {
    return this.current;
  }

  /** Why the tokenizer of the model selected now could not be read, while that is so (counts are then in characters). */
  get problem(): { model: string; message: string } | undefined {
    return this.failure && this.failure.key === keyOf(this.settings()) ? { model: this.failure.model, message: this.failure.message } : undefined;
  }

  /**
   * Loads the configured model's tokenizer and config (once per settings). Two callers in the same moment share
   * one load; a load overtaken by a settings change is dropped and the current settings' one is loaded instead.
   * `quiet`: progress in the status bar instead of a notification (for the background load after a change).
   */
  async get(options: { quiet?: boolean } = {}): Promise<ModelFacts> {
    for (;;) {
      const settings = this.settings();
      const key = keyOf(settings);
      if (this.loaded?.key === key) return this.loaded.facts;
      this.unload();
      const entry = { key, facts: this.load(settings, options.quiet === true) };
      this.loaded = entry;
      let facts: ModelFacts;
      try {
        facts = await entry.facts;
      } catch (error) {
        if (this.loaded === entry) this.loaded = undefined;
        // The settings moved on while this load ran: its failure belongs to settings no longer in force. (After a
        // window reload VS Code can give the extension host the user's settings only after activation, with no
        // change event: the first load then asks for the default model.) Load what is selected now instead.
        if (keyOf(this.settings()) !== key) {
          this.log.info(`The model settings changed while the tokenizer of ${settings.model} was read; reading the tokenizer of ${this.settings().model}`);
          continue;
        }
        this.failure = { key, model: settings.model, message: (error as Error).message };
        this.changed.fire(undefined);
        throw error;
      }
      if (this.loaded !== entry) continue;
      if (keyOf(this.settings()) !== key) {
        this.log.info(`The model settings changed while the tokenizer of ${settings.model} was read; reading the tokenizer of ${this.settings().model}`);
        continue;
      }
      this.failure = undefined;
      this.current = facts;
      this.changed.fire(facts);
      return facts;
    }
  }

  /**
   * The loaded tokenizer belongs to settings no longer in force (they changed without a change event reaching
   * the extension, as after a window reload): load the current one. Cheap; callers may call it often.
   */
  ensureCurrent(): void {
    const key = keyOf(this.settings());
    if ((this.loaded && this.loaded.key !== key) || (this.failure && this.failure.key !== key)) this.warmUp();
  }

  /**
   * Starts a background load. A failure is logged and kept (`problem`): the hover and the side panel say why their
   * counts are in characters; the commands that need the model show it.
   */
  warmUp(): void {
    this.get({ quiet: true }).catch((error: unknown) => this.log.warn(`The tokenizer of ${this.settings().model} is not loaded: ${(error as Error).message}`));
  }

  private load(settings: ModelSettings, quiet: boolean): Promise<ModelFacts> {
    if (settings.endpoint) return this.connect(settings, settings.endpoint, quiet);
    const title = t('Prompt or Fine-Tune: reading the tokenizer of {0}', settings.model);
    return Promise.resolve(vscode.window.withProgress(
      { location: quiet ? vscode.ProgressLocation.Window : vscode.ProgressLocation.Notification, title, cancellable: !quiet },
      async (_progress, token) => {
        const controller = new AbortController();
        token?.onCancellationRequested(() => controller.abort());
        const { loadTokenizerOnly } = await import('../engine/model/tokenizerOnly');
        const started = Date.now();
        const facts = await loadTokenizerOnly({ model: settings.model, cacheDir: modelsFolder(settings.cacheDir), allowDownload: settings.allowDownload, signal: controller.signal });
        this.log.info(`Read the tokenizer and config of ${settings.model} in ${Date.now() - started} ms (context ${facts.contextLength}, vocabulary ${facts.vocabularySize}); the weights load in the run worker only`);
        return facts;
      },
    ));
  }

  /**
   * A serving engine's model: probed at connect (its tokenizer is the server's /tokenize, or a local one, or an
   * estimate); what it cannot measure goes to the log, and into every report.
   */
  private connect(settings: ModelSettings, endpoint: string, quiet: boolean): Promise<ModelFacts> {
    const connection = Promise.resolve(vscode.window.withProgress(
      { location: quiet ? vscode.ProgressLocation.Window : vscode.ProgressLocation.Notification, title: t('Prompt or Fine-Tune: connecting to {0}', endpoint), cancellable: !quiet },
      async (_progress, token) => {
        const controller = new AbortController();
        token?.onCancellationRequested(() => controller.abort());
        const model = await connectWithSettings({ ...settings, endpoint }, await this.apiKey(), controller.signal).catch((error: unknown) => {
          // The message names the request and the reason: shown as it is, like a model that cannot load.
          throw (error as Error).name === 'EndpointError' ? new ModelLoadError((error as Error).message) : error;
        });
        this.log.info(`Connected to ${Object.entries(model.capabilities).map(([what, how]) => `${what}: ${how}`).join('; ')}`);
        for (const entry of model.unavailableMeasurements) this.log.warn(`Not measured (${entry.measurement}): ${entry.reason}`);
        return model;
      },
    ));
    this.connection = connection.catch(() => undefined);
    return connection;
  }

  /** Forgets the loaded tokenizer at once; a later get() loads anew. */
  unload(): void {
    const had = this.loaded !== undefined || this.current !== undefined;
    const connection = this.connection;
    this.connection = undefined;
    void connection?.then((model) => model?.dispose());
    this.loaded = undefined;
    this.current = undefined;
    this.failure = undefined;
    if (had) this.changed.fire(undefined);
  }

  dispose(): void {
    this.unload();
    this.changed.dispose();
  }
}
