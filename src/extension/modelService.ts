/**
 * The model as the extension host knows it: its tokenizer and config (context length, vocabulary size), for
 * token counts, shot estimates, the chat template and prompt previews. Never its weights: those load in the run
 * worker only. Loaded as soon as a model is set (in the background, never blocking activation), again when the
 * model setting changes.
 */
import * as vscode from 'vscode';
import type { ModelFacts } from '../engine/datasetCheck';
import type { ModelSettings } from '../engine/settings';
import { readModelSettings } from './configuration';
import { t } from './l10n';

export class ModelService implements vscode.Disposable {
  private loaded: { key: string; facts: Promise<ModelFacts> } | undefined;
  private current: ModelFacts | undefined;
  private readonly changed = new vscode.EventEmitter<ModelFacts | undefined>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly storageFolder: string, private readonly log: vscode.LogOutputChannel) {}

  settings(): ModelSettings {
    return readModelSettings(this.storageFolder);
  }

  /** The tokenizer and config if they are loaded; undefined otherwise (never starts a load). */
  get ready(): ModelFacts | undefined {
    return this.current;
  }

  /**
   * Loads the configured model's tokenizer and config (once per settings). Two callers in the same moment share
   * one load; a load overtaken by a settings change is dropped and the current settings' one is loaded instead.
   * `quiet`: progress in the status bar instead of a notification (for the background load after a change).
   */
  async get(options: { quiet?: boolean } = {}): Promise<ModelFacts> {
    const settings = this.settings();
    const key = JSON.stringify([settings.model, settings.cacheDir]);
    if (this.loaded?.key === key) return this.loaded.facts;
    this.unload();
    const entry = { key, facts: this.load(settings, options.quiet === true) };
    this.loaded = entry;
    let facts: ModelFacts;
    try {
      facts = await entry.facts;
    } catch (error) {
      if (this.loaded === entry) this.loaded = undefined;
      throw error;
    }
    if (this.loaded !== entry) return this.get(options);
    this.current = facts;
    this.changed.fire(facts);
    return facts;
  }

  /** Starts a background load; a failure is logged, not shown (the commands that need the model show it). */
  warmUp(): void {
    this.get({ quiet: true }).catch((error: unknown) => this.log.warn(`The tokenizer of ${this.settings().model} is not loaded: ${(error as Error).message}`));
  }

  private load(settings: ModelSettings, quiet: boolean): Promise<ModelFacts> {
    const title = t('Prompt or Fine-Tune: reading the tokenizer of {0}', settings.model);
    return Promise.resolve(vscode.window.withProgress(
      { location: quiet ? vscode.ProgressLocation.Window : vscode.ProgressLocation.Notification, title, cancellable: !quiet },
      async (_progress, token) => {
        const controller = new AbortController();
        token?.onCancellationRequested(() => controller.abort());
        const { loadTokenizerOnly } = await import('../engine/model/tokenizerOnly');
        const started = Date.now();
        const facts = await loadTokenizerOnly({ model: settings.model, cacheDir: settings.cacheDir, allowDownload: settings.allowDownload, signal: controller.signal });
        this.log.info(`Read the tokenizer and config of ${settings.model} in ${Date.now() - started} ms (context ${facts.contextLength}, vocabulary ${facts.vocabularySize}); the weights load in the run worker only`);
        return facts;
      },
    ));
  }

  /** Forgets the loaded tokenizer at once; a later get() loads anew. */
  unload(): void {
    const had = this.loaded !== undefined || this.current !== undefined;
    this.loaded = undefined;
    this.current = undefined;
    if (had) this.changed.fire(undefined);
  }

  dispose(): void {
    this.unload();
    this.changed.dispose();
  }
}
