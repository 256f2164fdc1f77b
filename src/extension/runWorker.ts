/**
 * The worker thread that runs experiments; see runProtocol.ts. It keeps the last model loaded, so a second run
 * with the same model settings starts at once; the host ends the worker to free it.
 */
import { parentPort } from 'node:worker_threads';
import { degenerateNotes } from '../engine/experiment/degenerate';
import { DatasetNotRunnableError, runExperiment, RunCancelledError } from '../engine/experiment/experiment';
import { ModelLoadError, ModelRunError, type LanguageModel } from '../engine/model/languageModel';
import type { ModelSettings } from '../engine/settings';
import { connectWithSettings } from './endpointConnection';
import type { HostToWorker, RunRequest, WorkerToHost } from './runProtocol';
import { modelsFolder } from '../engine/cacheFolders';

const port = parentPort!;
const post = (message: WorkerToHost): void => port.postMessage(message);

let kept: { key: string; model: LanguageModel } | undefined;
let current: AbortController | undefined;

port.on('message', (message: HostToWorker) => {
  if (message.type === 'cancel') current?.abort();
  else if (message.type === 'run') void run(message.request);
});

/** The settings that make a different model: anything else reuses the one kept. */
function modelKey(settings: ModelSettings): string {
  return JSON.stringify([settings.model, settings.dtype, settings.device, settings.threads ?? null, settings.cacheDir ?? null, settings.endpoint ?? null, settings.concurrency ?? null, settings.endpointTokenizer ?? null, settings.endpointChatTemplate ?? false]);
}

async function model(settings: ModelSettings, apiKey: string | undefined, signal: AbortSignal): Promise<{ model: LanguageModel; loaded: boolean }> {
  const key = JSON.stringify([modelKey(settings), apiKey ?? null]);
  // A serving engine may serve another model behind the same URL by the next run (restarted with other weights):
  // every run probes it anew (a few requests), so the output cache's key follows what it serves now.
  if (kept?.key === key && !settings.endpoint) return { model: kept.model, loaded: false };
  const previous = kept;
  kept = undefined;
  await previous?.model.dispose();
  if (settings.endpoint) {
    post({ type: 'phase', phase: 'loading', message: `Connecting to ${settings.endpoint}…` });
    const connected = await connectWithSettings({ ...settings, endpoint: settings.endpoint }, apiKey, signal);
    kept = { key, model: connected };
    return { model: connected, loaded: true };
  }
  post({ type: 'phase', phase: 'loading', message: `Loading ${settings.model}…` });
  const { loadLanguageModel } = await import('../engine/model/transformers/transformersModel');
  const loaded = await loadLanguageModel({
    model: settings.model, dtype: settings.dtype, device: settings.device, threads: settings.threads,
    cacheDir: modelsFolder(settings.cacheDir), allowDownload: settings.allowDownload, signal,
    onProgress: (event) => {
      // Only real downloads are news: a local folder has none, and 'ready' is the end of the load.
      if (event.status !== 'download' && event.status !== 'progress') return;
      post({ type: 'phase', phase: 'downloading', message: `Downloading ${event.file}${event.percent !== undefined ? ` ${Math.floor(event.percent)}%` : ''}` });
    },
  });
  kept = { key, model: loaded };
  return { model: loaded, loaded: true };
}

async function run(request: RunRequest): Promise<void> {
  const controller = new AbortController();
  current = controller;
  let modelLoaded = false;
  try {
    const held = await model(request.model, request.apiKey, controller.signal);
    modelLoaded = held.loaded;
    controller.signal.throwIfAborted();
    const embedder = request.model.embeddingModel
      ? await (await import('../engine/model/embeddingModel')).loadEmbedder({ model: request.model.embeddingModel, cacheDir: modelsFolder(request.model.cacheDir), allowDownload: request.model.allowDownload })
      : undefined;
    try {
      post({ type: 'phase', phase: 'reading', message: 'Reading the dataset and building the prompts…' });
      let lastPost = 0;
      const report = await runExperiment({
        file: request.file, settings: request.settings, model: held.model, embedder, cacheFolder: request.outputCache, signal: controller.signal,
        onProgress: (progress) => {
          const now = Date.now();
          if (now - lastPost < 100 && progress.done < progress.total && progress.done > 0) return;
          lastPost = now;
          post({ type: 'progress', progress });
        },
      });
      post({ type: 'done', report: { ...report, notes: degenerateNotes(report) }, modelLoaded });
    } finally {
      await embedder?.dispose();
    }
  } catch (error) {
    if (error instanceof RunCancelledError) post({ type: 'cancelled', partial: error.partial ? { ...error.partial, notes: degenerateNotes(error.partial) } : null, modelLoaded });
    else if (controller.signal.aborted) post({ type: 'cancelled', partial: null, modelLoaded });
    else if (error instanceof ModelLoadError || error instanceof ModelRunError || (error as Error).name === 'EndpointError') post({ type: 'failed', message: (error as Error).message, kind: 'model' });
    else if (error instanceof DatasetNotRunnableError) post({ type: 'failed', message: error.message, kind: 'dataset' });
    else post({ type: 'failed', message: (error as Error).stack ?? String(error), kind: 'unexpected' });
  } finally {
    if (current === controller) current = undefined;
  }
}
