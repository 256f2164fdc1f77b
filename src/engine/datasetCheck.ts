/**
 * The check before any model runs: inspect the dataset, then estimate the shots from the bounds.
 * The command line's `inspect`, the extension's Inspect and Estimate commands and its hovers all call this.
 */
import { estimateShots, type ShotEstimate } from './bounds/estimate';
import { inspectDataset, type DatasetInspection, type InspectOptions } from './dataset/inspect';
import { settleTokens, type Tokenizer } from './model/languageModel';
import type { CheckSettings } from './settings';

export interface DatasetCheck {
  inspection: DatasetInspection;
  /** Null when the file holds no usable record. */
  estimate: ShotEstimate | null;
  /** Where the context length came from. */
  contextLengthSource: string;
}

export interface ModelFacts {
  tokenizer: Tokenizer;
  contextLength: number;
  vocabularySize: number;
  id: string;
}

export async function checkDataset(
  file: string,
  settings: CheckSettings,
  options: {
    model?: ModelFacts;
    collectExamples?: boolean;
    /**
     * Count every record's tokens into `inspection.tokens` (default true; `inspect --json` prints them). The editor
     * shows none of them and turns this off: on a large file they cost minutes with the thread held for seconds at
     * a time. The estimate counts with the tokenizer either way (on its sample of examples).
     */
    tokenStatistics?: boolean;
  } & Pick<InspectOptions, 'signal' | 'onProgress'> = {},
): Promise<DatasetCheck> {
  const { model } = options;
  // An estimated tokenizer is no tokenizer here: the estimate then labels its counts as estimated from characters.
  const tokenizer = model?.tokenizer.estimated ? undefined : model?.tokenizer;
  const inspection = await inspectDataset(file, {
    // A server's tokenizer (settle) cannot count a streamed file's tokens synchronously: its statistics stay in characters.
    fields: settings.fields, schema: settings.schema, tokenizer: tokenizer?.settle || options.tokenStatistics === false ? undefined : tokenizer,
    collectExamples: options.collectExamples, signal: options.signal, onProgress: options.onProgress,
  });
  const contextLength = model?.contextLength ?? settings.contextLength;
  const estimate = inspection.usable > 0
    ? await settleTokens(tokenizer, () => estimateShots(inspection, {
      epsilon: settings.epsilon, delta: settings.delta, contextLength, vocabularySize: model?.vocabularySize,
      inputDimension: settings.inputDimension, maxNewTokens: settings.maxNewTokens, template: settings.template, chatTemplate: settings.chatTemplate,
    }, tokenizer), options.signal)
    : null;
  return { inspection, estimate, contextLengthSource: model ? `${model.id} (config)` : 'setting (no model selected)' };
}
