/** The worker thread that runs an experiment; see runProtocol.ts. */
import { parentPort, workerData } from 'node:worker_threads';
import { DatasetNotRunnableError, runExperiment, RunCancelledError } from '../engine/experiment/experiment';
import { ModelLoadError, ModelRunError } from '../engine/model/languageModel';
import type { HostToWorker, RunRequest, WorkerToHost } from './runProtocol';

const port = parentPort!;
const request = workerData as RunRequest;
const controller = new AbortController();
const post = (message: WorkerToHost): void => port.postMessage(message);

port.on('message', (message: HostToWorker) => {
  if (message.type === 'cancel') controller.abort();
});

async function main(): Promise<void> {
  const { loadLanguageModel } = await import('../engine/model/transformersModel');
  post({ type: 'loading', message: `Loading ${request.model.model}…` });
  const model = await loadLanguageModel({
    model: request.model.model, dtype: request.model.dtype, device: request.model.device, threads: request.model.threads,
    cacheDir: request.model.cacheDir, allowDownload: request.model.allowDownload, signal: controller.signal,
    onProgress: (event) => post({ type: 'loading', message: `Downloading ${event.file}${event.percent !== undefined ? ` ${Math.floor(event.percent)}%` : ''}` }),
  });
  try {
    const embedder = request.model.embeddingModel
      ? await (await import('../engine/model/embeddingModel')).loadEmbedder({ model: request.model.embeddingModel, cacheDir: request.model.cacheDir, allowDownload: request.model.allowDownload })
      : undefined;
    let lastPost = 0;
    const report = await runExperiment({
      file: request.file, settings: request.settings, model, embedder, cacheFolder: request.outputCache, signal: controller.signal,
      onProgress: (progress) => {
        const now = Date.now();
        if (now - lastPost < 100 && progress.done < progress.total) return;
        lastPost = now;
        post({ type: 'progress', progress });
      },
    });
    post({ type: 'done', report });
  } finally {
    await model.dispose();
  }
}

main().catch((error: unknown) => {
  if (error instanceof RunCancelledError) post({ type: 'cancelled', partial: error.partial });
  else if (controller.signal.aborted) post({ type: 'cancelled', partial: null });
  else if (error instanceof ModelLoadError || error instanceof ModelRunError) post({ type: 'failed', message: error.message, kind: 'model' });
  else if (error instanceof DatasetNotRunnableError) post({ type: 'failed', message: error.message, kind: 'dataset' });
  else post({ type: 'failed', message: (error as Error).stack ?? String(error), kind: 'unexpected' });
});
