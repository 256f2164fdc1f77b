/** A Llama the tests build (test/support/tinyLlama.ts), loaded through the real runner. */
import { join } from 'node:path';
import type { LanguageModel } from '../../src/engine/model/languageModel';
import { loadLanguageModel } from '../../src/engine/model/transformers/transformersModel';
import { buildTinyLlama } from './tinyLlama';

/** Builds the tiny model with `seed` into `folder`/model and loads it (downloads off). */
export async function loadBuiltModel(folder: string, seed: number): Promise<LanguageModel> {
  const modelFolder = join(folder, 'model');
  await buildTinyLlama(modelFolder, { seed });
  return loadLanguageModel({ model: modelFolder, allowDownload: false });
}
