// First answer first: how long a user waits for the provisional summary of a large JSONL file (the line-1 hover's
// and the side panel's first answer), on the path the extension takes (DatasetStore.readHead): the head check
// (checkFileHead) without token counts, scheduled by the extension's own ScanQueue with the whole scan of the same
// file queued behind it; against the order before (the head counted with the tokenizer and the whole scan started
// together), the head counted with the tokenizer (the second, refining step), a first answer while another file's
// whole scan runs, and the tokenizer's module load that activation now starts after the first answers. Generates
// bench-data/first-answer-<N>mb.jsonl once (git-ignored). Rounds are interleaved (one of each per round).
// usage: node --import tsx scripts/bench-first-answer.ts [--megabytes 1024] [--rounds 5] [--model <folder>] [--full]
// (--model: a folder with tokenizer.json, tokenizer_config.json and config.json; default ../shared/models/stories260K
// when it exists. --full: also time the whole scan once.)
import { execFileSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { checkDataset, type ModelFacts } from '../src/engine/datasetCheck';
import { loadTokenizerOnly } from '../src/engine/model/tokenizerOnly';
import { checkFileHead, type ProvisionalCheck } from '../src/engine/provisionalCheck';
import { DEFAULT_SETTINGS } from '../src/engine/settings';
import { ScanQueue } from '../src/extension/scanQueue';

const option = (name: string, fallback: string): string => {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? process.argv[index + 1]! : fallback;
};
const megabytes = Number(option('megabytes', '1024'));
const rounds = Number(option('rounds', '5'));
const sharedModel = resolve('..', 'shared', 'models', 'stories260K');
const modelFolder = option('model', existsSync(sharedModel) ? sharedModel : '');
const file = join('bench-data', `first-answer-${megabytes}mb.jsonl`);

async function generate(): Promise<void> {
  mkdirSync('bench-data', { recursive: true });
  const out = createWriteStream(file);
  let written = 0;
  for (let i = 0; written < megabytes * 1024 * 1024; i++) {
    const line = `${JSON.stringify({ instruction: `Summarise item ${i}: ${'lorem ipsum dolor sit amet '.repeat(4 + (i % 9))}`, output: `Item ${i} in short.` })}\n`;
    written += line.length;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

interface Sample { wall: number; cpu: number }

/** Wall and CPU (this process, every thread) from start to the first answer. */
async function timed(run: () => Promise<ProvisionalCheck | undefined>): Promise<Sample & { answer: ProvisionalCheck }> {
  const cpuStarted = process.cpuUsage();
  const started = performance.now();
  const answer = await run();
  const wall = performance.now() - started;
  const used = process.cpuUsage(cpuStarted);
  if (!answer) throw new Error('no first answer');
  return { wall, cpu: (used.user + used.system) / 1000, answer };
}

/** The hover's path in the extension: the first answer at once, the whole scan of the same file queued behind it. */
async function storePath(model: ModelFacts | undefined): Promise<Sample & { answer: ProvisionalCheck }> {
  const queue = new ScanQueue();
  const controller = new AbortController();
  const sample = await timed(() => {
    const answer = queue.head(() => checkFileHead(file, DEFAULT_SETTINGS));
    queue.whole(file, () => checkDataset(file, DEFAULT_SETTINGS, { model, tokenStatistics: false, signal: controller.signal }));
    return answer;
  });
  controller.abort();
  await queue.idle();
  return sample;
}

/**
 * The order before: the head counted with the tokenizer and the whole scan of the same file (counting every
 * record's tokens, as the store did) started in the same moment.
 */
async function bothAtOnce(model: ModelFacts | undefined): Promise<Sample & { answer: ProvisionalCheck }> {
  const controller = new AbortController();
  let whole: Promise<unknown> = Promise.resolve();
  const sample = await timed(() => {
    const answer = checkFileHead(file, DEFAULT_SETTINGS, { model });
    whole = checkDataset(file, DEFAULT_SETTINGS, { model, signal: controller.signal }).catch(() => undefined);
    return answer;
  });
  controller.abort();
  await whole;
  return sample;
}

/**
 * A file opened while another file's whole scan has been running for half a second (a scan under way is not
 * stopped for a head: the head's reads wait for the scan's chunks between them).
 */
async function besideAnotherScan(model: ModelFacts | undefined): Promise<Sample & { answer: ProvisionalCheck }> {
  const queue = new ScanQueue();
  const controller = new AbortController();
  queue.whole('another file', () => checkDataset(file, DEFAULT_SETTINGS, { model, tokenStatistics: false, signal: controller.signal }));
  await new Promise((done) => setTimeout(done, 500));
  const sample = await timed(() => queue.head(() => checkFileHead(file, DEFAULT_SETTINGS)));
  controller.abort();
  await queue.idle();
  return sample;
}

/** What a first answer would wait for behind the tokenizer's load: requiring transformers.js, in a fresh process. */
function tokenizerModuleLoad(): Sample {
  const script = "const c=process.cpuUsage(),t=performance.now();require('@huggingface/transformers');const u=process.cpuUsage(c);console.log(JSON.stringify({wall:performance.now()-t,cpu:(u.user+u.system)/1000}))";
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as Sample;
}

const stats = (samples: number[]): string => {
  const sorted = [...samples].sort((a, b) => a - b);
  return `${sorted[0]!.toFixed(1)} / ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)}`;
};

async function main(): Promise<void> {
  if (!existsSync(file)) await generate();
  const model = modelFolder ? await loadTokenizerOnly({ model: modelFolder }) : undefined;
  const withModel = model ? ` (${model.id}'s tokenizer)` : '';
  const scenarios: [string, () => Promise<Sample & { answer: ProvisionalCheck }> | Sample][] = [
    ['first answer: head check alone, no token counts', () => timed(() => checkFileHead(file, DEFAULT_SETTINGS))],
    ...(model ? [[`second step: head check alone, counted with ${model.id}'s tokenizer`, () => timed(() => checkFileHead(file, DEFAULT_SETTINGS, { model }))]] as typeof scenarios : []),
    [`extension path: first answer, the file's whole scan${withModel} queued behind it (ScanQueue)`, () => storePath(model)],
    [`before: head${withModel} and the file's whole scan counting every record's tokens, started together`, () => bothAtOnce(model)],
    ['extension path: first answer while another whole scan without a tokenizer runs', () => besideAnotherScan(undefined)],
    ...(model ? [[`extension path: first answer while another whole scan${withModel} runs`, () => besideAnotherScan(model)]] as typeof scenarios : []),
    ['tokenizer module load (require transformers.js, fresh process)', tokenizerModuleLoad],
  ];
  const results = scenarios.map(() => ({ wall: [] as number[], cpu: [] as number[], answer: undefined as ProvisionalCheck | undefined }));
  const loads: number[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const [index, [, run]] of scenarios.entries()) {
      const sample = await run();
      results[index]!.wall.push(sample.wall);
      results[index]!.cpu.push(sample.cpu);
      if ('answer' in sample) results[index]!.answer = sample.answer as ProvisionalCheck;
    }
    loads.push(loadavg()[0]!);
  }
  const first = results[0]!.answer!;
  console.log(`file ${file}: ${(statSync(file).size / 1024 / 1024).toFixed(0)} MB; first answer from ${first.bytesRead} bytes, ${first.check.inspection.records} records; ${rounds} interleaved rounds; load average (1 min) ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)}`);
  console.log('| what a user waits for | wall ms min / median | CPU ms min / median (this process, while waiting) |');
  console.log('|---|---|---|');
  for (const [index, [name]] of scenarios.entries()) console.log(`| ${name} | ${stats(results[index]!.wall)} | ${stats(results[index]!.cpu)} |`);
  if (process.argv.includes('--full')) {
    const started = performance.now();
    const whole = await checkDataset(file, DEFAULT_SETTINGS);
    console.log(`whole scan: ${whole.inspection.records} records in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
}

void main();
