/**
 * The extension's settings, read from VS Code's configuration into the engine's settings types.
 * The model, embedding model and cache folder are restricted configurations (package.json), so in an
 * untrusted workspace VS Code gives us the user's values only, never the workspace's.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { FieldMapping } from '../engine/dataset/schema';
import type { ModelDevice, ModelDtype } from '../engine/model/languageModel';
import type { SelectionStrategy } from '../engine/prompt/selection';
import { parseTemplate, type PromptTemplate } from '../engine/prompt/template';
import { t } from './l10n';
import { DEFAULT_MODEL, DEFAULT_SETTINGS, type CheckSettings, type ModelSettings } from '../engine/settings';

export const SECTION = 'promptOrFinetune';

export function readCheckSettings(): CheckSettings {
  const config = vscode.workspace.getConfiguration(SECTION);
  const shots = config.get<number[]>('shots', DEFAULT_SETTINGS.shots).filter((k) => Number.isInteger(k) && k >= 0);
  return {
    ...DEFAULT_SETTINGS,
    epsilon: config.get('epsilon', DEFAULT_SETTINGS.epsilon),
    delta: config.get('delta', DEFAULT_SETTINGS.delta),
    contextLength: config.get('contextLength', DEFAULT_SETTINGS.contextLength),
    inputDimension: config.get('inputDimension', DEFAULT_SETTINGS.inputDimension),
    shots: shots.length ? [...new Set(shots)].sort((a, b) => a - b) : DEFAULT_SETTINGS.shots,
    heldOut: config.get('heldOut', DEFAULT_SETTINGS.heldOut),
    seed: config.get('seed', DEFAULT_SETTINGS.seed),
    selection: config.get<SelectionStrategy>('selection', DEFAULT_SETTINGS.selection),
    maxNewTokens: config.get('maxNewTokens', DEFAULT_SETTINGS.maxNewTokens),
    chatTemplate: config.get<'auto' | 'never'>('chatTemplate', DEFAULT_SETTINGS.chatTemplate),
    fields: config.get<Partial<FieldMapping>>('fields', {}),
    ...templateSetting(config),
  };
}

let lastReportedTemplate: string | undefined;

/** The template setting, checked; a broken one is reported once and the defaults are used. */
function templateSetting(config: vscode.WorkspaceConfiguration): { template?: Partial<PromptTemplate> } {
  const value = config.get<Record<string, unknown>>('template', {});
  if (!value || Object.keys(value).length === 0) return {};
  try {
    return { template: parseTemplate(JSON.parse(JSON.stringify(value)), 'promptOrFinetune.template') };
  } catch (error) {
    // Settings are read for every inspection and run: say what is wrong once per distinct value.
    const key = JSON.stringify(value);
    if (key !== lastReportedTemplate) void vscode.window.showWarningMessage(t('{0}. The default template is used.', (error as Error).message));
    lastReportedTemplate = key;
    return {};
  }
}

/** Relative model folders are taken relative to the first workspace folder. */
export function readModelSettings(storageFolder: string): ModelSettings {
  const config = vscode.workspace.getConfiguration(SECTION);
  const model = config.get<string>('model', DEFAULT_MODEL).trim() || DEFAULT_MODEL;
  const workspace = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  // Only a trusted workspace may supply the files a relative model path points at.
  const looksRelative = /^\.\.?[/\\]/.test(model) && vscode.workspace.isTrusted && !config.get<string>('endpoint', '').trim();
  const embedding = config.get<string>('embeddingModel', '').trim();
  const threads = config.get<number | null>('threads', null);
  return {
    model: looksRelative && workspace ? path.resolve(workspace, model) : model,
    dtype: config.get<ModelDtype>('dtype', 'fp32'),
    device: config.get<ModelDevice>('device', 'cpu'),
    ...(threads ? { threads } : {}),
    cacheDir: config.get<string>('cacheFolder', '').trim() || storageFolder,
    allowDownload: config.get('allowDownload', true),
    ...(embedding ? { embeddingModel: embedding } : {}),
    ...endpointSettings(config),
  };
}

/**
 * A serving engine instead of the in-process runner: its URL, the requests in flight, the tokenizer for a server
 * without /tokenize and whether its chat template is used. All but the concurrency are restricted settings
 * (package.json): an untrusted workspace cannot set them. A relative tokenizer folder is the trusted workspace's,
 * like a relative model folder.
 */
function endpointSettings(config: vscode.WorkspaceConfiguration): Pick<ModelSettings, 'endpoint' | 'concurrency' | 'endpointTokenizer' | 'endpointChatTemplate'> {
  const endpoint = config.get<string>('endpoint', '').trim();
  if (!endpoint) return {};
  const tokenizer = config.get<string>('endpointTokenizer', '').trim();
  const workspace = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const base = /^\.\.?[/\\]/.test(tokenizer) && vscode.workspace.isTrusted ? workspace : undefined;
  return {
    endpoint,
    concurrency: config.get<number>('concurrency', 4),
    ...(tokenizer ? { endpointTokenizer: base ? path.resolve(base, tokenizer) : tokenizer } : {}),
    ...(config.get<boolean>('endpointChatTemplate', false) ? { endpointChatTemplate: true } : {}),
  };
}
