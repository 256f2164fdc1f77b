/**
 * A re-run that the output cache serves entirely loads no weights: the runner opens its ONNX session on the
 * first generate, score or prefill, and the experiment calls none of them when every output is cached.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runExperiment } from '../../src/engine/experiment/experiment';
import type { ExperimentReport } from '../../src/engine/experiment/report';
import type { LanguageModel } from '../../src/engine/model/languageModel';
import { loadLanguageModel } from '../../src/engine/model/transformers/transformersModel';
import { DEFAULT_SETTINGS, type CheckSettings } from '../../src/engine/settings';
import { temporaryFolder } from '../support/paths';
import { buildTinyLlama } from '../support/tinyLlama';

const weightsLoaded = (model: LanguageModel): boolean => (model as unknown as { weightsLoaded: boolean }).weightsLoaded;

/** The outputs and scores of a report, without times and cache flags. */
function results(report: ExperimentReport): unknown {
  return report.items.map((row) => ({ ...row, cached: null, milliseconds: null }));
}

test('a fully cached re-run opens no ONNX session and gives the same items', async () => {
  const folder = temporaryFolder('pof-cached-rerun-');
  try {
    const modelFolder = join(folder.path, 'model');
    await buildTinyLlama(modelFolder, { seed: 5 });
    const dataset = join(folder.path, 'data.jsonl');
    const words = ['Hello world', 'The quick brown fox', 'Once upon a time', 'What is the answer', 'The bird sang', 'She liked to play', 'The water was cold', 'A little girl'];
    writeFileSync(dataset, words.map((input, i) => JSON.stringify({ prompt: `${input}?`, completion: ` answer ${i}` })).join('\n') + '\n');
    const settings: CheckSettings = { ...DEFAULT_SETTINGS, shots: [0, 1, 2], heldOut: 3, seed: 2, maxNewTokens: 6 };
    const cacheFolder = join(folder.path, 'outputs');

    const first = await loadLanguageModel({ model: modelFolder, allowDownload: false, cacheDir: folder.path });
    let firstReport: ExperimentReport;
    try {
      assert.equal(weightsLoaded(first), false, 'loading reads the tokenizer and config only');
      firstReport = await runExperiment({ file: dataset, settings, model: first, cacheFolder });
      assert.equal(weightsLoaded(first), true, 'the first run needs the weights');
      assert.equal(firstReport.timing.cachedCalls, 0);
      assert.equal(firstReport.items.length, 9);
    } finally {
      await first.dispose();
    }

    const again = await loadLanguageModel({ model: modelFolder, allowDownload: false, cacheDir: folder.path });
    try {
      assert.equal(again.fingerprint, first.fingerprint);
      const report = await runExperiment({ file: dataset, settings, model: again, cacheFolder });
      assert.equal(report.timing.modelCalls, 0);
      assert.equal(report.timing.cachedCalls, firstReport.timing.modelCalls);
      assert.deepEqual(results(report), results(firstReport));
      assert.equal(weightsLoaded(again), false, 'the re-run never opened the weights');
    } finally {
      await again.dispose();
    }
  } finally {
    folder.remove();
  }
});
