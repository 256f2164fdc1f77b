/**
 * Connects to the serving engine the settings name, for the extension host (ModelService) and the run worker alike:
 * one place that turns the settings into `connectEndpoint`'s options, and that names the setting when the tokenizer
 * it points at cannot be read. No `vscode` here: the run worker imports it.
 */
import { ModelLoadError } from '../engine/model/languageModel';
import type { EndpointModel } from '../engine/model/endpoint/endpointModel';
import type { ModelSettings } from '../engine/settings';
import { modelsFolder } from '../engine/cacheFolders';

export const ENDPOINT_TOKENIZER_SETTING = 'promptOrFinetune.endpointTokenizer';

export async function connectWithSettings(settings: ModelSettings & { endpoint: string }, apiKey: string | undefined, signal?: AbortSignal): Promise<EndpointModel> {
  const { connectEndpoint } = await import('../engine/model/endpoint/endpointModel');
  try {
    return await connectEndpoint({
      endpoint: settings.endpoint, model: settings.model, apiKey, concurrency: settings.concurrency,
      tokenizer: settings.endpointTokenizer, chatTemplate: settings.endpointChatTemplate,
      cacheDir: modelsFolder(settings.cacheDir), allowDownload: settings.allowDownload, signal,
    });
  } catch (error) {
    // Within connectEndpoint only the named tokenizer's load throws ModelLoadError (the server's faults are
    // EndpointErrors): say which setting to fix, in one line.
    if (error instanceof ModelLoadError && settings.endpointTokenizer) throw new ModelLoadError(`${ENDPOINT_TOKENIZER_SETTING}: ${error.message}`);
    throw error;
  }
}
