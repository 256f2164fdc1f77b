/**
 * Messages between the extension host and the run worker (a worker thread: onnxruntime runs a model
 * synchronously, and in the extension host that would freeze every other extension).
 */
import type { ExperimentProgress } from '../engine/experiment/experiment';
import type { ExperimentReport } from '../engine/experiment/report';
import type { CheckSettings, ModelSettings } from '../engine/settings';

/** Given to the worker when it starts. */
export interface RunRequest {
  file: string;
  settings: CheckSettings;
  model: ModelSettings;
  /** Folder of the output cache. */
  outputCache: string;
  /** The endpoint's API key, from SecretStorage (never from settings); only with `model.endpoint`. */
  apiKey?: string;
}

/** Host → worker. */
export type HostToWorker = { type: 'cancel' };

/** Worker → host. */
export type WorkerToHost =
  | { type: 'loading'; message: string }
  | { type: 'progress'; progress: ExperimentProgress }
  | { type: 'done'; report: ExperimentReport }
  /** `partial` is null when cancelled before the first model call. */
  | { type: 'cancelled'; partial: ExperimentReport | null }
  | { type: 'failed'; message: string; kind: 'model' | 'dataset' | 'unexpected' };
