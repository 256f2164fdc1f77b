/**
 * Speed of the real runner (@huggingface/transformers on onnxruntime-node) on one model folder.
 *
 *   node --import tsx scripts/bench-model.ts [modelFolder]
 *
 * Default folder: ../shared/models/stories260K. For each intra-op thread count (1 and 2): a ~100-token
 * prompt, 32 new tokens, greedy, median of 3 runs → generation tokens/s (prompt processing included);
 * teacher-forced scoring of a ~100-token continuation after it, median of 3 → scored tokens/s.
 * Then, with the runtime's default thread count: 8 different ~100-token prompts, 32 new tokens each, as
 * 8 sequential `generate` calls and as one `generateBatch` of 8, median of 3 → tokens/s of each (all
 * generated tokens over wall time, prompt processing included), and whether the outputs are identical.
 * Last, with default threads: 8 different pairs of a ~100-token prompt and a ~100-token continuation, as
 * 8 sequential `score` calls and as one `scoreBatch`, median of 3 → scored (continuation) tokens/s of
 * each, the sub-batch sizes the runner chose, and the largest difference between the two paths' numbers.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import {
  type ContinuationScore,
  type Generation,
  type LanguageModel,
  type PromptInput,
} from '../src/engine/model/languageModel';
import { loadLanguageModel } from '../src/engine/model/transformers/transformersModel';

const THREADS = [1, 2];
const RUNS = 3;
const PROMPT_TOKENS = 100;
const NEW_TOKENS = 32;
const CONTINUATION_TOKENS = 100;
const BATCH_PROMPTS = 8;

const PROMPT_SOURCE =
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her dog, Max. ' +
  'One day, Lily and Max saw a big red ball under a tree. Lily wanted to kick the ball, but it was stuck in the mud. ' +
  'She pulled and pulled, and Max barked to help her. At last the ball came out, and they played until the sun went down. ' +
  'When they got home, Mom made warm soup, and Lily told her all about the ball and the mud and the tree.';

const CONTINUATION_SOURCE =
  ' The next morning, Lily woke up early and ran to the window. The sky was blue and the birds were singing. ' +
  'She put on her shoes and called Max. They went back to the park to look for more fun things to do. ' +
  'They found a small boat by the pond and watched it float on the water. Lily laughed and Max jumped in the water. ' +
  'Mom came to the park and smiled. She said it was time to go home for lunch, and they all walked home together.';

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The first `count` tokens' worth of `source` (repeated as needed), as text. */
function textOfTokens(model: LanguageModel, source: string, count: number): string {
  let text = source;
  while (model.tokenizer.countTokens(text) < count) text += source;
  const ids = model.tokenizer.encode(text, { addSpecialTokens: false }).slice(0, count);
  return model.tokenizer.decode(ids, { skipSpecialTokens: true });
}

/** RUNS timings of each, interleaved so that a busy moment of the machine falls on both alike. */
async function alternate<T>(sequential: () => Promise<T>, batched: () => Promise<T>): Promise<{ sequentialRuns: { value: T; seconds: number }[]; batchedRuns: { value: T; seconds: number }[] }> {
  const sequentialRuns: { value: T; seconds: number }[] = [];
  const batchedRuns: { value: T; seconds: number }[] = [];
  for (let run = 0; run < RUNS; run++) {
    sequentialRuns.push(await timed(sequential));
    batchedRuns.push(await timed(batched));
  }
  return { sequentialRuns, batchedRuns };
}

async function timed<T>(body: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const started = performance.now();
  const value = await body();
  return { value, seconds: (performance.now() - started) / 1000 };
}

interface Row {
  threads: number;
  loadSeconds: number;
  promptTokens: number;
  newTokens: number;
  generateSeconds: number;
  generationRate: number;
  scoredTokens: number;
  scoreSeconds: number;
  scoringRate: number;
}

async function benchmark(folder: string, threads: number): Promise<Row> {
  const load = await timed(() => loadLanguageModel({ model: folder, threads }));
  const model = load.value;
  try {
    const prompt: PromptInput = { text: textOfTokens(model, PROMPT_SOURCE, PROMPT_TOKENS), addSpecialTokens: true };
    const continuation = textOfTokens(model, CONTINUATION_SOURCE, CONTINUATION_TOKENS);

    await model.generate(prompt, { maxNewTokens: NEW_TOKENS }); // warm-up
    const generations = [];
    for (let run = 0; run < RUNS; run++) generations.push(await timed(() => model.generate(prompt, { maxNewTokens: NEW_TOKENS })));
    const generateSeconds = median(generations.map((g) => g.seconds));
    const first = generations[0]!.value;

    await model.score(prompt, continuation); // warm-up
    const scores = [];
    for (let run = 0; run < RUNS; run++) scores.push(await timed(() => model.score(prompt, continuation)));
    const scoreSeconds = median(scores.map((s) => s.seconds));
    const scoredTokens = scores[0]!.value.tokenCount;

    return {
      threads,
      loadSeconds: load.seconds,
      promptTokens: first.promptTokenCount,
      newTokens: first.tokenIds.length,
      generateSeconds,
      generationRate: first.tokenIds.length / generateSeconds,
      scoredTokens,
      scoreSeconds,
      scoringRate: scoredTokens / scoreSeconds,
    };
  } finally {
    await model.dispose();
  }
}

interface BatchRow {
  prompts: number;
  promptTokens: string;
  newTokens: number;
  sequentialSeconds: number;
  batchedSeconds: number;
  identical: boolean;
}

/** `count` different prompts of about `tokens` tokens: the source started at different sentences. */
function distinctPrompts(model: LanguageModel, count: number, tokens: number, source = PROMPT_SOURCE): PromptInput[] {
  const sentences = source.trim().split(/(?<=\.) /);
  return Array.from({ length: count }, (_, i) => {
    const rotated = [...sentences.slice(i % sentences.length), ...sentences.slice(0, i % sentences.length)].join(' ');
    const opening = i >= sentences.length ? `Day ${i}. ` : '';
    return { text: textOfTokens(model, opening + rotated, tokens), addSpecialTokens: true };
  });
}

async function benchmarkBatch(folder: string): Promise<BatchRow> {
  const model = await loadLanguageModel({ model: folder }); // threads: the runtime's default
  try {
    if (!model.generateBatch) throw new Error('This runner has no generateBatch.');
    const prompts = distinctPrompts(model, BATCH_PROMPTS, PROMPT_TOKENS);
    const options = { maxNewTokens: NEW_TOKENS };
    const sequential = async (): Promise<Generation[]> => {
      const results: Generation[] = [];
      for (const prompt of prompts) results.push(await model.generate(prompt, options));
      return results;
    };
    const batched = (): Promise<Generation[]> => model.generateBatch!(prompts, options);

    await sequential(); // warm-up
    await batched();
    const { sequentialRuns, batchedRuns } = await alternate(sequential, batched);
    const reference = sequentialRuns[0]!.value;
    const identical = [...sequentialRuns, ...batchedRuns].every((r) => JSON.stringify(r.value) === JSON.stringify(reference));
    const lengths = reference.map((g) => g.promptTokenCount);
    return {
      prompts: prompts.length,
      promptTokens: `${Math.min(...lengths)}–${Math.max(...lengths)}`,
      newTokens: reference.reduce((sum, g) => sum + g.tokenIds.length, 0),
      sequentialSeconds: median(sequentialRuns.map((r) => r.seconds)),
      batchedSeconds: median(batchedRuns.map((r) => r.seconds)),
      identical,
    };
  } finally {
    await model.dispose();
  }
}

interface ScoreBatchRow {
  pairs: number;
  jointTokens: string;
  scoredTokens: number;
  subBatches: string;
  sequentialSeconds: number;
  batchedSeconds: number;
  /** Largest |Δ| of a token's log-probability, and of a pair's sum, between score and scoreBatch. */
  maxTokenDifference: number;
  maxSumDifference: number;
}

/** The rows of each forward pass the runner makes during `body` (a look inside, for the table only). */
async function forwardRows<T>(model: LanguageModel, body: () => Promise<T>): Promise<{ value: T; rows: number[] }> {
  type Inner = { forward(inputs: Record<string, unknown>): Promise<unknown> };
  const inner = (model as unknown as { inner: Inner }).inner;
  const original = inner.forward;
  const rows: number[] = [];
  inner.forward = function (this: Inner, inputs) {
    rows.push((inputs.input_ids as { dims: number[] }).dims[0]!);
    return original.call(this, inputs);
  };
  try {
    return { value: await body(), rows };
  } finally {
    inner.forward = original;
  }
}

async function benchmarkScoreBatch(folder: string): Promise<ScoreBatchRow> {
  const model = await loadLanguageModel({ model: folder }); // threads: the runtime's default
  try {
    if (!model.scoreBatch) throw new Error('This runner has no scoreBatch.');
    const prompts = distinctPrompts(model, BATCH_PROMPTS, PROMPT_TOKENS);
    const continuations = distinctPrompts(model, BATCH_PROMPTS, CONTINUATION_TOKENS, CONTINUATION_SOURCE);
    const pairs = prompts.map((prompt, i) => ({ prompt, continuation: ` ${continuations[i]!.text}` }));
    const sequential = async (): Promise<ContinuationScore[]> => {
      const results: ContinuationScore[] = [];
      for (const pair of pairs) results.push(await model.score(pair.prompt, pair.continuation));
      return results;
    };
    const batched = (): Promise<ContinuationScore[]> => model.scoreBatch!(pairs);

    await sequential(); // warm-up
    const { rows } = await forwardRows(model, batched);
    const { sequentialRuns, batchedRuns } = await alternate(sequential, batched);
    const reference = sequentialRuns[0]!.value;
    let maxTokenDifference = 0;
    let maxSumDifference = 0;
    for (const { value } of batchedRuns) {
      value.forEach((score, i) => {
        const lone = reference[i]!;
        if (score.tokenCount !== lone.tokenCount) throw new Error(`Pair ${i + 1}: ${score.tokenCount} tokens vs ${lone.tokenCount}.`);
        maxSumDifference = Math.max(maxSumDifference, Math.abs(score.logProb - lone.logProb));
        score.tokenLogProbs.forEach((p, t) => (maxTokenDifference = Math.max(maxTokenDifference, Math.abs(p - lone.tokenLogProbs[t]!))));
      });
    }
    const lengths = pairs.map((pair) => model.tokenizer.encode(pair.prompt.text + pair.continuation).length);
    return {
      pairs: pairs.length,
      jointTokens: `${Math.min(...lengths)}–${Math.max(...lengths)}`,
      scoredTokens: reference.reduce((sum, score) => sum + score.tokenCount, 0),
      subBatches: rows.join('+'),
      sequentialSeconds: median(sequentialRuns.map((r) => r.seconds)),
      batchedSeconds: median(batchedRuns.map((r) => r.seconds)),
      maxTokenDifference,
      maxSumDifference,
    };
  } finally {
    await model.dispose();
  }
}

function scoreBatchTable(row: ScoreBatchRow): string {
  const header = ['pairs', 'joint tok', 'scored tok', 'rows/pass', 'sequential s', 'seq tok/s', 'batched s', 'batch tok/s', 'speed-up', 'max |Δ| tok', 'max |Δ| sum'];
  const cells = [
    String(row.pairs),
    row.jointTokens,
    String(row.scoredTokens),
    row.subBatches,
    row.sequentialSeconds.toFixed(3),
    (row.scoredTokens / row.sequentialSeconds).toFixed(0),
    row.batchedSeconds.toFixed(3),
    (row.scoredTokens / row.batchedSeconds).toFixed(0),
    `${(row.sequentialSeconds / row.batchedSeconds).toFixed(2)}x`,
    row.maxTokenDifference.toExponential(1),
    row.maxSumDifference.toExponential(1),
  ];
  const widths = header.map((title, column) => Math.max(title.length, cells[column]!.length));
  const format = (line: readonly string[]): string => line.map((cell, column) => cell.padStart(widths[column]!)).join('  ');
  return [format(header), format(widths.map((width) => '-'.repeat(width))), format(cells)].join('\n');
}

function batchTable(row: BatchRow): string {
  const header = ['prompts', 'prompt tok', 'new tok', 'sequential s', 'seq tok/s', 'batched s', 'batch tok/s', 'speed-up', 'identical'];
  const cells = [
    String(row.prompts),
    row.promptTokens,
    String(row.newTokens),
    row.sequentialSeconds.toFixed(3),
    (row.newTokens / row.sequentialSeconds).toFixed(1),
    row.batchedSeconds.toFixed(3),
    (row.newTokens / row.batchedSeconds).toFixed(1),
    `${(row.sequentialSeconds / row.batchedSeconds).toFixed(2)}x`,
    row.identical ? 'yes' : 'NO',
  ];
  const widths = header.map((title, column) => Math.max(title.length, cells[column]!.length));
  const format = (line: readonly string[]): string => line.map((cell, column) => cell.padStart(widths[column]!)).join('  ');
  return [format(header), format(widths.map((width) => '-'.repeat(width))), format(cells)].join('\n');
}

function table(rows: readonly Row[]): string {
  const header = ['threads', 'load s', 'prompt tok', 'new tok', 'generate s', 'gen tok/s', 'scored tok', 'score s', 'scored tok/s'];
  const lines = rows.map((row) => [
    String(row.threads),
    row.loadSeconds.toFixed(3),
    String(row.promptTokens),
    String(row.newTokens),
    row.generateSeconds.toFixed(3),
    row.generationRate.toFixed(1),
    String(row.scoredTokens),
    row.scoreSeconds.toFixed(4),
    row.scoringRate.toFixed(0),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column]!.length)));
  const format = (cells: readonly string[]): string => cells.map((cell, column) => cell.padStart(widths[column]!)).join('  ');
  return [format(header), format(widths.map((width) => '-'.repeat(width))), ...lines.map(format)].join('\n');
}

async function main(): Promise<void> {
  const folder = path.resolve(process.argv[2] ?? path.resolve(__dirname, '../../shared/models/stories260K'));
  if (!fs.existsSync(folder)) {
    console.error(`Model folder not found: ${folder}`);
    process.exitCode = 1;
    return;
  }
  const onnx = path.join(folder, 'onnx', 'model.onnx');
  const size = fs.existsSync(onnx) ? `${(fs.statSync(onnx).size / 1024 / 1024).toFixed(1)} MiB onnx/model.onnx` : '';
  console.log(`Model: ${folder} ${size}`);
  console.log(`Greedy generation: ~${PROMPT_TOKENS}-token prompt, ${NEW_TOKENS} new tokens; scoring: ~${CONTINUATION_TOKENS}-token continuation; median of ${RUNS}.`);
  const imported = await timed(() => import('@huggingface/transformers'));
  console.log(`Importing @huggingface/transformers: ${imported.seconds.toFixed(3)} s (once per process, not in "load s")`);
  const rows: Row[] = [];
  for (const threads of THREADS) rows.push(await benchmark(folder, threads));
  console.log(table(rows));
  console.log(
    `\nBatched greedy generation, default threads: ${BATCH_PROMPTS} prompts of ~${PROMPT_TOKENS} tokens, ${NEW_TOKENS} new tokens each; ` +
      `${BATCH_PROMPTS} sequential generate calls vs one generateBatch; median of ${RUNS}.`,
  );
  console.log(batchTable(await benchmarkBatch(folder)));
  console.log(
    `\nBatched scoring, default threads: ${BATCH_PROMPTS} pairs of a ~${PROMPT_TOKENS}-token prompt and a ~${CONTINUATION_TOKENS}-token ` +
      `continuation; ${BATCH_PROMPTS} sequential score calls vs one scoreBatch; median of ${RUNS}; tok/s counts scored tokens.`,
  );
  console.log(scoreBatchTable(await benchmarkScoreBatch(folder)));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
