/**
 * A sweep on a serving engine with 1 and with 4 requests in flight: the real llama-server of
 * ../shared/tools/llama-server (`-c 2048 -np 4 -t 1`) serving stories260K, the whole experiment (generation and
 * forced scoring) on examples/capitals.jsonl, no output cache.
 *
 *   node --import tsx scripts/bench-endpoint.ts [--held-out N] [--runs N]
 *
 * Prints each run's wall time, interleaved (1, 4, 1, 4, …) so load from elsewhere on the machine hits both alike,
 * the medians and their ratio, and whether both settings gave the same outputs.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runExperiment } from '../src/engine/experiment/experiment';
import { connectEndpoint } from '../src/engine/model/endpoint/endpointModel';
import { DEFAULT_SETTINGS } from '../src/engine/settings';
import { startLlamaServer } from '../test/support/llamaServer';
import { REPO_ROOT } from '../test/support/paths';

const { values } = parseArgs({ options: { 'held-out': { type: 'string', default: '20' }, runs: { type: 'string', default: '3' } } });
const settings = { ...DEFAULT_SETTINGS, shots: [0, 1, 2, 4, 8], heldOut: Number(values['held-out']), seed: 1, maxNewTokens: 32 };
const file = join(REPO_ROOT, 'examples', 'capitals.jsonl');

async function main(): Promise<void> {
  const server = await startLlamaServer();
  try {
    const models = { 1: await connectEndpoint({ endpoint: server.endpoint, model: 'stories260K', concurrency: 1 }), 4: await connectEndpoint({ endpoint: server.endpoint, model: 'stories260K', concurrency: 4 }) };
    const seconds: Record<1 | 4, number[]> = { 1: [], 4: [] };
    const outputs: Record<1 | 4, string> = { 1: '', 4: '' };
    for (let run = 0; run < Number(values.runs); run++) {
      for (const concurrency of [1, 4] as const) {
        const began = performance.now();
        const report = await runExperiment({ file, settings, model: models[concurrency], cacheFolder: null });
        const elapsed = (performance.now() - began) / 1000;
        seconds[concurrency].push(elapsed);
        outputs[concurrency] = JSON.stringify(report.items.map((row) => row.output));
        console.log(`concurrency ${concurrency}: ${elapsed.toFixed(2)} s (${report.items.length} items, ${report.timing.modelCalls} model calls)`);
      }
    }
    const median = (list: number[]): number => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!;
    console.log(`median: 1 in flight ${median(seconds[1]).toFixed(2)} s, 4 in flight ${median(seconds[4]).toFixed(2)} s; 4 in flight is ${(median(seconds[1]) / median(seconds[4])).toFixed(2)}× faster`);
    console.log(`same outputs: ${outputs[1] === outputs[4]}`);
  } finally {
    await server.stop();
  }
}

void main();
