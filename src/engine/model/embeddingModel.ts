/**
 * Embeddings for similarity-based example selection, through a transformers.js feature-extraction model
 * (mean-pooled, normalised). Loaded lazily, like the language model; BM25 stands in when none is configured.
 */
import { ModelLoadError } from './languageModel';
import type { Embedder } from '../prompt/selection';
import { loadTransformers, resolveSource } from './transformers/load';

interface FeatureExtractor {
  (texts: string[], options: { pooling: 'mean'; normalize: boolean }): Promise<{ dims: number[]; data: Float32Array; dispose?: () => void }>;
  dispose(): Promise<unknown>;
}

export interface EmbedderLoadOptions {
  model: string;
  cacheDir?: string;
  allowDownload?: boolean;
  dtype?: string;
}

/** Texts are embedded in batches, yielding to the event loop between them so a host stays responsive. */
const BATCH = 16;

export async function loadEmbedder(options: EmbedderLoadOptions): Promise<Embedder & { dispose(): Promise<void> }> {
  let extractor: FeatureExtractor;
  try {
    const source = resolveSource(options.model);
    const tf = (await loadTransformers()) as unknown as { pipeline: (task: string, model: string, options: Record<string, unknown>) => Promise<FeatureExtractor> };
    extractor = await tf.pipeline('feature-extraction', source.kind === 'folder' ? source.folder : source.id, {
      dtype: options.dtype ?? 'fp32',
      local_files_only: source.kind === 'folder' || options.allowDownload === false,
      ...(options.cacheDir ? { cache_dir: options.cacheDir } : {}),
    });
  } catch (error) {
    throw new ModelLoadError(
      `Could not load the embedding model ${options.model}: ${(error as Error).message.split('\n')[0]} ` +
        'Or leave the embedding model setting empty to select similar examples with BM25.',
    );
  }
  return {
    id: options.model,
    async embed(texts, signal) {
      const vectors: Float32Array[] = [];
      for (let start = 0; start < texts.length; start += BATCH) {
        signal?.throwIfAborted();
        const output = await extractor(texts.slice(start, start + BATCH) as string[], { pooling: 'mean', normalize: true });
        const width = output.dims[output.dims.length - 1]!;
        for (let row = 0; row * width < output.data.length; row++) vectors.push(output.data.slice(row * width, (row + 1) * width));
        output.dispose?.();
        await new Promise((resolve) => setImmediate(resolve));
      }
      return vectors;
    },
    async dispose() {
      await extractor.dispose();
    },
  };
}
