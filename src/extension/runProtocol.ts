/**
 * Messages between the extension host and the run worker (a worker thread: onnxruntime runs a model
 * synchronously, and in the extension host that would freeze every other extension). The worker lives across
 * runs and keeps the model loaded between them; the host ends it when the model settings change or after idle.
 */
import type { ExperimentProgress } from '../engine/experiment/experiment';
import type { ExperimentReport } from '../engine/experiment/report';
import type { CheckSettings, ModelSettings } from '../engine/settings';

/** One run. */
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
export type HostToWorker =
  | { type: 'run'; request: RunRequest }
  /** Stops the current run (or its model load). */
  | { type: 'cancel' };

/** What the run is doing, shown from its first second. */
export type RunPhase = 'loading' | 'downloading' | 'reading' | 'running';

/** Worker → host. `modelLoaded`: this run loaded the weights (false: the model kept from an earlier run served it). */
export type WorkerToHost =
  | { type: 'phase'; phase: RunPhase; message: string }
  | { type: 'progress'; progress: ExperimentProgress }
  | { type: 'done'; report: ExperimentReport; modelLoaded: boolean }
  /** `partial` is null when cancelled before the first model call (while loading, or reading the dataset). */
  | { type: 'cancelled'; partial: ExperimentReport | null; modelLoaded: boolean }
  | { type: 'failed'; message: string; kind: 'model' | 'dataset' | 'unexpected' };
