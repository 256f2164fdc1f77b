/**
 * Messages between the side panel's dataset list (webview view) and the extension host.
 * Shared by both sides; each type says which way it travels.
 */

export type DatasetStatus = 'not-inspected' | 'inspecting' | 'ready' | 'running' | 'compared' | 'error';

export interface DatasetCard {
  /** The file's URI, as a string: the key the webview sends back. */
  uri: string;
  name: string;
  /** Path relative to the workspace folder. */
  relativePath: string;
  bytes: number;
  status: DatasetStatus;
  schema?: string;
  records?: number;
  invalid?: number;
  /** Records read with a warning (raw tab, duplicate key, pretty-printed…). */
  warnings?: number;
  /** Shots that fit, from the one estimate every view shows (the store's, with the model's tokenizer when loaded). */
  kFit?: number;
  contextLength?: number;
  /** True while no tokenizer is loaded: counts estimated from characters. */
  estimatedFromCharacters?: boolean;
  /** Set while only the start of a large file has been read: the summary is provisional. */
  provisionalBytes?: number;
  /** The theory's verdict sentence, once inspected. */
  theory?: string;
  /** The measured verdict sentence, once a run finished. */
  measured?: string;
  /** The model the measured verdict came from, when it is not the model selected now (the verdict is stale). */
  measuredWith?: string;
  /** What went wrong, in one sentence. */
  error?: string;
  hasReport: boolean;
}

export interface RunProgress {
  uri: string;
  done: number;
  total: number;
  message: string;
}

/** Host → webview. */
export type DatasetsHostMessage =
  /** `modelProblem`: why the selected model's tokenizer could not be read (counts are then estimated from characters). */
  | { type: 'datasets'; model: string | null; modelProblem?: string; datasets: DatasetCard[] }
  | { type: 'progress'; progress: RunProgress | null };

/** Webview → host. */
export type DatasetsWebviewMessage =
  | { type: 'ready' }
  | { type: 'inspect'; uri: string }
  | { type: 'run'; uri: string }
  | { type: 'openReport'; uri: string }
  | { type: 'openFile'; uri: string }
  /** Open the dataset view (labels, lengths, duplicates, fields, problems). */
  | { type: 'showDataset'; uri: string }
  | { type: 'cancel' }
  | { type: 'selectModel' }
  | { type: 'refresh' };

export function isDatasetsWebviewMessage(value: unknown): value is DatasetsWebviewMessage {
  if (typeof value !== 'object' || value === null) return false;
  const message = value as { type?: unknown; uri?: unknown };
  switch (message.type) {
    case 'ready': case 'cancel': case 'selectModel': case 'refresh': return true;
    case 'inspect': case 'run': case 'openReport': case 'openFile': case 'showDataset': return typeof message.uri === 'string';
    default: return false;
  }
}

export function isDatasetsHostMessage(value: unknown): value is DatasetsHostMessage {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  return type === 'datasets' || type === 'progress';
}
