/**
 * The settings every face shares, with their defaults. The extension reads them from VS Code's
 * configuration, the command line from its flags; both end up here.
 */
import type { FieldMapping, SchemaName } from './dataset/schema';
import type { ModelDevice, ModelDtype } from './model/languageModel';
import type { SelectionStrategy } from './prompt/selection';
import type { PromptTemplate } from './prompt/template';

export interface CheckSettings {
  epsilon: number;
  delta: number;
  /** Used for estimates when no model is selected. */
  contextLength: number;
  inputDimension: number;
  /** Shot counts to measure; counts above what fits are left out. */
  shots: number[];
  /** Held-out items evaluated at each shot count. */
  heldOut: number;
  seed: number;
  selection: SelectionStrategy;
  /**
   * Most tokens generated per answer; null: from the references' token lengths (p95 plus a margin, capped by the
   * context; see `answerCap` in bounds/estimate.ts).
   */
  maxNewTokens: number | null;
  chatTemplate: 'auto' | 'never';
  fields: Partial<FieldMapping>;
  schema?: SchemaName;
  /** Overrides of the schema's default template, field by field. */
  template?: Partial<PromptTemplate>;
}

export interface ModelSettings {
  model: string;
  dtype: ModelDtype;
  device: ModelDevice;
  threads?: number;
  /** The cache folder: Hub downloads in its `models/`, cached outputs in `outputs/` (cacheFolders.ts), as the CLI's --cache-dir. */
  cacheDir?: string;
  allowDownload: boolean;
  /** An embedding model for similarity selection; BM25 when unset. */
  embeddingModel?: string;
  /** An OpenAI-compatible server's base URL (`http://host:port/v1`); `model` then names the served model. */
  endpoint?: string;
  /** Requests in flight to `endpoint` at once (default 4). */
  concurrency?: number;
  /** For an `endpoint` without /tokenize: the folder or Hub id of the served model's tokenizer.json. */
  endpointTokenizer?: string;
  /** Render chat data with the `endpoint`'s own chat template and generate through its chat route. */
  endpointChatTemplate?: boolean;
}

export const DEFAULT_SETTINGS: CheckSettings = {
  epsilon: 0.1,
  delta: 0.05,
  contextLength: 2048,
  inputDimension: 768,
  shots: [0, 1, 2, 4, 8, 16, 32],
  heldOut: 50,
  seed: 1,
  selection: 'random',
  maxNewTokens: null,
  chatTemplate: 'auto',
  fields: {},
};

/** The small instruct model the demo and a fresh install use; a Hub id, downloaded on first use. */
export const DEFAULT_MODEL = 'HuggingFaceTB/SmolLM2-135M-Instruct';

/** Parses a shot grid such as "0,1,2,4"; throws with the offending part named. */
export function parseShots(text: string): number[] {
  const shots = text.split(',').map((part) => part.trim()).filter(Boolean).map((part) => {
    const value = Number(part);
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`"${part}" in --shots is not a whole number ≥ 0`);
    return value;
  });
  if (shots.length === 0) throw new RangeError('--shots needs at least one shot count, e.g. 0,1,2,4');
  return [...new Set(shots)].sort((a, b) => a - b);
}
