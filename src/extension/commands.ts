/**
 * The command-palette actions. Each takes optional arguments (a dataset URI first) so that menus, hover
 * links, the side panel and tests can call it directly, and each returns what it produced.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { DatasetNotRunnableError } from '../engine/experiment/experiment';
import { ModelLoadError } from '../engine/model/languageModel';
import type { ExportFormat } from '../webview/report/protocol';
import { CommandId } from './commandIds';
import { readCheckSettings, SECTION } from './configuration';
import type { DatasetPanel } from './datasetPanel';
import type { DatasetStore } from './datasetStore';
import type { DatasetsViewProvider } from './datasetsView';
import { t } from './l10n';
import type { ModelService } from './modelService';
import type { PromptPreviews } from './promptPreview';
import { writeReport, type ReportPanels } from './reportPanel';
import type { ReportStore } from './reportStore';
import type { RunController, RunOutcome } from './runController';

export interface Services {
  extensionUri: vscode.Uri;
  store: DatasetStore;
  models: ModelService;
  reports: ReportStore;
  runs: RunController;
  panels: ReportPanels;
  datasetsView: DatasetsViewProvider;
  previews: PromptPreviews;
  datasetPanel: DatasetPanel;
  log: vscode.LogOutputChannel;
}

/** A dataset argument from a menu (Uri), a command link (string), or else the active .jsonl editor or panel. */
async function datasetUri(argument: unknown, services: Services): Promise<vscode.Uri | undefined> {
  if (argument instanceof vscode.Uri) return argument;
  if (typeof argument === 'string' && argument) return argument.includes('://') ? vscode.Uri.parse(argument) : vscode.Uri.file(argument);
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active?.fsPath.endsWith('.jsonl')) return active;
  // The report or the dataset view in front: the dataset it shows.
  const shown = services.panels.activeDataset ?? services.datasetPanel.activeDataset;
  if (shown) return shown;
  const files = await services.store.list();
  if (files.length === 1) return files[0];
  const picked = await vscode.window.showQuickPick(files.map((uri) => ({ label: path.basename(uri.fsPath), description: vscode.workspace.asRelativePath(uri), uri })), { placeHolder: t('Which dataset?') });
  return picked?.uri;
}

/** Errors the user can act on are shown as they are; anything else is logged with its stack and summarised. */
function showFailure(services: Services, action: string, error: unknown): void {
  const message = (error as Error).message ?? String(error);
  if (error instanceof ModelLoadError || error instanceof DatasetNotRunnableError) {
    void vscode.window.showErrorMessage(message);
  } else {
    services.log.error(`${action} failed: ${(error as Error).stack ?? message}`);
    void vscode.window.showErrorMessage(t('{0} failed: {1}', action, message.split('\n')[0]!), t('Show Log')).then((choice) => { if (choice) services.log.show(); });
  }
}

export function registerCommands(services: Services): vscode.Disposable[] {
  const { store, models, reports, runs, panels, log } = services;
  const register = (id: CommandId, handler: (...args: unknown[]) => unknown): vscode.Disposable => vscode.commands.registerCommand(id, handler);

  return [
    register(CommandId.InspectDataset, async (argument) => {
      const uri = await datasetUri(argument, services);
      if (!uri) return undefined;
      try {
        store.invalidate(uri);
        // Large files take seconds: show progress, and let the user cancel.
        const check = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: t('Inspecting {0}', path.basename(uri.fsPath)), cancellable: true },
          async (progress, token) => {
            let reported = 0;
            const onProgress = (fraction: number): void => {
              progress.report({ increment: Math.max(0, fraction - reported) * 100, message: `${Math.floor(fraction * 100)}%` });
              reported = fraction;
            };
            // A settings or model change stops the inspections running (their results would be stale); the one the
            // user asked for starts again with the new settings instead of failing.
            for (let attempt = 1; ; attempt++) {
              try {
                return await store.check(uri, token, onProgress);
              } catch (error) {
                if (token.isCancellationRequested || (error as Error).name !== 'AbortError' || attempt === 3) throw error;
              }
            }
          },
        );
        const { inspection } = check;
        const summary = inspection.notJsonLines
          ? `${inspection.name}: ${inspection.notJsonLines}`
          : `${inspection.name}: ${inspection.records} records, ${inspection.invalid} invalid, schema ${inspection.schema}${inspection.invalid || inspection.unusable || inspection.warningCount ? ' — see the Problems panel' : ''}.`;
        log.info(summary);
        // The dataset in full has a view of its own: labels, lengths, duplicates, fields and problems.
        services.datasetPanel.show(uri);
        return { records: inspection.records, invalid: inspection.invalid, schema: inspection.schema, fields: inspection.fields, notJsonLines: inspection.notJsonLines };
      } catch (error) {
        showFailure(services, 'Inspect Dataset', error);
        return undefined;
      }
    }),

    register(CommandId.EstimateShots, async (argument) => {
      const uri = await datasetUri(argument, services);
      if (!uri) return undefined;
      try {
        // The store takes the tokenizer as soon as it is loaded (ModelService.onDidChange): its estimate is the one
        // every view shows.
        store.useModel(await models.get());
        const { estimate, inspection } = await store.check(uri);
        if (!estimate) throw new DatasetNotRunnableError(`${inspection.name} has no usable record to estimate from.`);
        log.info(`Estimate for ${uri.fsPath}: k_fit ${estimate.fit.kFit}; ${estimate.bounds.map((bound) => `${bound.id} C=1 ${Math.ceil(bound.withUnitConstant)}, standard ${Math.ceil(bound.standardValue)}`).join('; ')}`);
        void vscode.window.showInformationMessage(t('{0}: {1} shots fit in {2} tokens. {3}', inspection.name, estimate.fit.kFit, estimate.fit.contextLength, estimate.verdict.sentence));
        return { kFit: estimate.fit.kFit, verdict: estimate.verdict.kind, needed: estimate.verdict.needed };
      } catch (error) {
        showFailure(services, 'Estimate Shots', error);
        return undefined;
      }
    }),

    register(CommandId.PreviewPrompt, async (argument, lineArgument, kArgument) => {
      const uri = await datasetUri(argument, services);
      if (!uri) return undefined;
      const editor = vscode.window.activeTextEditor;
      const line = typeof lineArgument === 'number' ? lineArgument
        : editor?.document.uri.toString() === uri.toString() ? editor.selection.active.line + 1 : undefined;
      const settings = readCheckSettings();
      let k = typeof kArgument === 'number' ? kArgument : undefined;
      if (k === undefined) {
        const picked = await vscode.window.showQuickPick(settings.shots.map((shots) => ({ label: String(shots), shots })), { placeHolder: t('How many shots?') });
        if (!picked) return undefined;
        k = picked.shots;
      }
      try {
        const preview = await services.previews.show(uri, line, k);
        const { built } = preview;
        void vscode.window.showInformationMessage(t(
          'Prompt for line {0} ({1}): {2} of {3} shots{4}, {5} tokens, {6}.',
          preview.line, preview.heldOut ? t('held out') : t('in the pool'), built.shots, k,
          built.droppedForBudget ? t(' ({0} dropped for the token budget)', built.droppedForBudget) : '', built.promptTokens,
          built.usesChatTemplate ? t("the model's chat template") : t('the text template'),
        ));
        return { text: built.prompt.text, shots: built.shots, promptTokens: built.promptTokens, exampleLines: built.exampleLines, line: preview.line, uri: preview.uri.toString() };
      } catch (error) {
        showFailure(services, 'Preview Prompt', error);
        return undefined;
      }
    }),

    register(CommandId.RunComparison, async (argument): Promise<RunOutcome | undefined> => {
      const uri = await datasetUri(argument, services);
      if (!uri) return undefined;
      const outcome = await runs.run(uri);
      if (outcome.kind === 'done') {
        panels.show(uri);
        void vscode.window.showInformationMessage(outcome.report.verdict.measured.sentence);
      } else if (outcome.kind === 'cancelled') {
        if (outcome.kept) panels.show(uri);
        void vscode.window.showInformationMessage(outcome.report
          ? t('Run cancelled after {0} items. They are cached: running again resumes from them.', outcome.report.items.length)
          : t('Run cancelled before the model answered anything; nothing changed.'));
      } else {
        void vscode.window.showErrorMessage(outcome.message);
      }
      return outcome;
    }),

    register(CommandId.CancelRun, () => {
      const cancelled = runs.cancel();
      if (!cancelled) void vscode.window.showInformationMessage(t('No run is in progress.'));
      return cancelled;
    }),

    register(CommandId.OpenReport, async (argument) => {
      const uri = await datasetUri(argument, services);
      if (!uri) return false;
      const shown = panels.show(uri);
      if (!shown) {
        const choice = await vscode.window.showInformationMessage(t('{0} has no report yet.', path.basename(uri.fsPath)), t('Run Comparison'));
        if (choice) void vscode.commands.executeCommand(CommandId.RunComparison, uri);
      }
      return shown;
    }),

    register(CommandId.SelectModel, async (argument) => {
      let model = typeof argument === 'string' ? argument : undefined;
      if (!model) {
        const current = models.settings().model;
        const choice = await vscode.window.showQuickPick([
          { label: `$(folder) ${t('Choose a local model folder…')}`, action: 'folder' },
          { label: `$(cloud-download) ${t('Enter a Hugging Face Hub id…')}`, action: 'hub' },
          { label: `$(server) ${t('OpenAI-compatible server…')}`, description: t('vLLM, SGLang, llama-server, Ollama…'), action: 'endpoint' },
          { label: `$(check) ${t('Keep {0}', current)}`, action: 'keep' },
        ], { placeHolder: t('Model to prompt (now {0})', current) });
        if (!choice || choice.action === 'keep') return undefined;
        if (choice.action === 'endpoint') return selectEndpoint(services);
        if (choice.action === 'folder') {
          const folder = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: t('Use this model') });
          model = folder?.[0]?.fsPath;
        } else {
          model = await vscode.window.showInputBox({ prompt: t('Hugging Face Hub id, e.g. {0}', 'HuggingFaceTB/SmolLM2-135M-Instruct'), value: current, validateInput: (value) => (/^[\w.-]+\/[\w.-]+$/.test(value.trim()) ? undefined : t('An id looks like org/name')) });
        }
      }
      if (!model) return undefined;
      const config = vscode.workspace.getConfiguration(SECTION);
      const target = config.inspect('model')?.workspaceValue !== undefined ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
      // A folder or Hub id runs in-process: no serving engine any more.
      if (config.get<string>('endpoint', '')) await config.update('endpoint', undefined, config.inspect('endpoint')?.workspaceValue !== undefined ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global);
      await config.update('model', model.trim(), target);
      log.info(`Model set to ${model}`);
      return model.trim();
    }),

    register(CommandId.ExportReport, async (argument, formatArgument, targetArgument) => {
      const uri = argument ? await datasetUri(argument, services) : panels.dataset ?? (await datasetUri(undefined, services));
      const report = uri ? reports.load(uri) : undefined;
      if (!uri || !report) {
        void vscode.window.showInformationMessage(t('There is no report to export: run a comparison first.'));
        return undefined;
      }
      let format = formatArgument as ExportFormat | undefined;
      if (!format) {
        const picked = await vscode.window.showQuickPick([{ label: 'HTML', format: 'html' as const }, { label: 'JSON', format: 'json' as const }, { label: 'Markdown', format: 'markdown' as const }], { placeHolder: t('Export the report as') });
        if (!picked) return undefined;
        format = picked.format;
      }
      const extension = { html: 'html', json: 'json', markdown: 'md' }[format];
      let target = typeof targetArgument === 'string' ? targetArgument : undefined;
      if (!target) {
        const defaultUri = vscode.Uri.file(uri.fsPath.replace(/\.jsonl$/, `.report.${extension}`));
        target = (await vscode.window.showSaveDialog({ defaultUri, filters: { [format.toUpperCase()]: [extension] } }))?.fsPath;
        if (!target) return undefined;
      }
      try {
        writeReport(report, format, target, services.extensionUri);
        log.info(`Exported the report of ${uri.fsPath} to ${target}`);
        void vscode.window.showInformationMessage(t('Report written to {0}', target));
        return target;
      } catch (error) {
        showFailure(services, 'Export Report', error);
        return undefined;
      }
    }),

    register(CommandId.ShowDataset, async (argument) => {
      const uri = await datasetUri(argument, services);
      if (!uri) return false;
      services.datasetPanel.show(uri);
      return true;
    }),

    register(CommandId.ShowWalkthrough, () => vscode.commands.executeCommand('workbench.action.openWalkthrough', 'prompt-or-finetune.prompt-or-finetune#promptOrFinetune.start', false)),

    register(CommandId.SetApiKey, async (argument) => {
      const key = typeof argument === 'string' ? argument : await vscode.window.showInputBox({
        prompt: t("API key of the OpenAI-compatible server (kept in VS Code's secret storage; empty removes it)"), password: true, ignoreFocusOut: true,
      });
      if (key === undefined) return false;
      await models.setApiKey(key.trim());
      log.info(key.trim() ? 'The serving engine API key was stored.' : 'The serving engine API key was removed.');
      return true;
    }),

    register(CommandId.RefreshDatasets, async () => {
      store.invalidateAll();
      const files = await store.list();
      // One file at a time: each inspection streams its file, and a workspace may hold hundreds.
      for (const uri of files) await store.check(uri).catch(() => undefined);
      await services.datasetsView.refresh();
      return files.length;
    }),
  ];
}

/**
 * Select Model → OpenAI-compatible server: its base URL, then one of the models its /v1/models lists (or a name
 * typed in). Both go to user settings: `endpoint` and `model`.
 */
async function selectEndpoint(services: Services): Promise<string | undefined> {
  const config = vscode.workspace.getConfiguration(SECTION);
  const endpoint = (await vscode.window.showInputBox({
    prompt: 'Base URL of the OpenAI-compatible API (vLLM, SGLang, llama-server, Ollama…)',
    value: config.get<string>('endpoint', '') || 'http://127.0.0.1:8000/v1',
    validateInput: (value) => (/^https?:\/\/[^\s/]+/.test(value.trim()) ? undefined : 'A URL such as http://127.0.0.1:8000/v1'),
  }))?.trim();
  if (!endpoint) return undefined;
  const { EndpointClient } = await import('../engine/model/endpoint/httpClient');
  let served: string[] = [];
  try {
    const client = new EndpointClient({ baseUrl: endpoint, apiKey: await services.models.apiKey(), retries: 0, timeoutMs: 10_000 });
    const answer = await client.get<{ data?: { id?: unknown }[] }>('/models');
    served = (answer.data ?? []).map((entry) => String(entry.id));
  } catch (error) {
    services.log.warn(`Could not list the models of ${endpoint}: ${(error as Error).message}`);
  }
  const model = served.length
    ? (await vscode.window.showQuickPick(served, { placeHolder: `Model served at ${endpoint}` }))
    : await vscode.window.showInputBox({ prompt: `Name of the model served at ${endpoint} (its /v1/models did not answer)` });
  if (!model?.trim()) return undefined;
  await config.update('endpoint', endpoint, vscode.ConfigurationTarget.Global);
  await config.update('model', model.trim(), vscode.ConfigurationTarget.Global);
  services.log.info(`Model set to ${model.trim()} at ${endpoint}`);
  return model.trim();
}
