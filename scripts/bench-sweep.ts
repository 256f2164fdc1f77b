/**
 * The k-sweep benchmark's pieces, each run in a child process of its own (scripts/bench.ts starts them):
 *
 *   --child ours   --model DIR --data FILE --selection random|first|similar --held-out N --out FILE
 *       runExperiment with the real runner (1 thread), no output cache; writes the CPU seconds and peak RSS of
 *       the sweep, and every prompt it generated for with the token ids it got.
 *   --child plain  --model DIR --prompts FILE --out FILE
 *       a plain transformers.js loop over the prompts the sweep sends (planned by `sweepPrompts`): tokenizer,
 *       then `model.generate` greedy per prompt (1 thread), stopping at the prompt's stop sequences (a stopping
 *       criterion that decodes the new tokens, as anyone would write it) and EOS, no reuse of anything; writes its
 *       CPU seconds, peak RSS and the token ids it generated (scripts/bench.ts compares them with ours: `agreement`).
 *   --child llama  --gguf FILE --prompts FILE --out FILE
 *       the same prompts (as token ids) to llama-server (../shared/tools/llama-server, 1 thread, its prompt
 *       cache on), one request at a time; the server's CPU seconds and peak RSS from /proc.
 *   --child floor  --model DIR --out FILE
 *       what one decoding step of one row costs per token of its past on this graph (onnxruntime directly,
 *       1 thread): the part of decoding no runner of the graph avoids, whatever it reuses or batches.
 *
 * CPU seconds are user + system of the whole process (every onnxruntime thread), counted around the sweep
 * only: loading the model is left out on both sides. Peak RSS is the process's maximum (model included).
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { runExperiment } from '../src/engine/experiment/experiment';
import type { GenerateOptions, Generation, LanguageModel, PromptInput } from '../src/engine/model/languageModel';
import { loadLanguageModel } from '../src/engine/model/transformers/transformersModel';
import { DEFAULT_SETTINGS, type CheckSettings } from '../src/engine/settings';

export const SWEEP_SHOTS = [0, 1, 2, 4, 8, 16];

export interface SweepResult {
  cpuSeconds: number;
  wallSeconds: number;
  peakRssMb: number;
  /** Prompts generated for, with the answer cap the run used and the token ids generated for each. */
  prompts?: { text: string; addSpecialTokens: boolean; stopSequences: string[]; maxNewTokens: number; ids: number[]; promptTokens?: number }[];
  /** Report rows of the run (ours). */
  items?: number;
}

/** A JSONL file of question/answer records: inputs of ~20 words, answers of ~8, deterministic. */
export function sweepDataset(records: number): string {
  const words = ['river', 'stone', 'light', 'garden', 'window', 'paper', 'morning', 'bridge', 'silver', 'cloud', 'table', 'music', 'forest', 'letter', 'engine', 'harbor', 'winter', 'candle', 'market', 'island'];
  const lines: string[] = [];
  for (let i = 0; i < records; i++) {
    const pick = (n: number, salt: number): string => Array.from({ length: n }, (_, j) => words[(i * 7 + j * 13 + salt) % words.length]).join(' ');
    lines.push(JSON.stringify({ input: `What connects the ${pick(16 + (i % 5), 1)} (${i})?`, output: `The ${pick(6 + (i % 3), 5)}.` }));
  }
  return lines.join('\n') + '\n';
}

export type SweepSelection = 'random' | 'first' | 'similar';

/** Default settings (the answer cap from the references: maxNewTokens null) but the shot grid and held-out count. */
function settingsFor(selection: SweepSelection, heldOut: number): CheckSettings {
  return { ...DEFAULT_SETTINGS, shots: SWEEP_SHOTS, heldOut, seed: 1, selection };
}

function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

async function ours(values: Record<string, string | undefined>): Promise<SweepResult> {
  const model = await loadLanguageModel({ model: values.model!, allowDownload: false, threads: 1 });
  // The weights open outside the timed sweep, as the baselines' do (a run opens them on its first model call).
  await (model as LanguageModel & { loadWeights(): Promise<void> }).loadWeights();
  const seen = new Map<string, NonNullable<SweepResult['prompts']>[number]>();
  const note = (prompt: PromptInput, options: GenerateOptions, generation: Generation): void => {
    seen.set(prompt.text, { text: prompt.text, addSpecialTokens: prompt.addSpecialTokens, stopSequences: [...(options.stopSequences ?? [])], maxNewTokens: options.maxNewTokens, ids: generation.tokenIds, promptTokens: generation.promptTokenCount });
  };
  const recording = Object.create(model) as LanguageModel;
  recording.generate = async (prompt, options) => {
    const generation = await model.generate(prompt, options);
    note(prompt, options, generation);
    return generation;
  };
  recording.generateBatch = async (prompts, options) => {
    const generations = await model.generateBatch!(prompts, options);
    prompts.forEach((prompt, i) => note(prompt, options, generations[i]!));
    return generations;
  };
  const start = process.cpuUsage();
  const began = performance.now();
  const report = await runExperiment({
    file: values.data!, settings: settingsFor(values.selection as SweepSelection, Number(values['held-out'])), model: recording, cacheFolder: null,
  });
  const result: SweepResult = {
    cpuSeconds: cpuSecondsSince(start), wallSeconds: (performance.now() - began) / 1000, peakRssMb: process.resourceUsage().maxRSS / 1024,
    prompts: [...seen.values()], items: report.items.length,
  };
  await model.dispose();
  return result;
}

interface PlainTensor { data: ArrayLike<bigint | number>; dims: number[] }
interface PlainApi {
  Tensor: new (type: string, data: BigInt64Array, dims: number[]) => PlainTensor;
  AutoTokenizer: { from_pretrained(id: string, options: object): Promise<{ encode(text: string, options: object): number[]; decode(ids: number[], options: object): string }> };
  StoppingCriteria: new () => object;
  AutoModelForCausalLM: { from_pretrained(id: string, options: object): Promise<{ generate(options: object): Promise<PlainTensor>; dispose(): Promise<unknown> }> };
}

/** What anyone would write with transformers.js: tokenize, generate, per prompt. */
async function plain(values: Record<string, string | undefined>): Promise<SweepResult> {
  const tf = (await import('@huggingface/transformers')) as unknown as PlainApi;
  const prompts = (JSON.parse(readFileSync(values.prompts!, 'utf8')) as SweepResult).prompts!;
  const tokenizer = await tf.AutoTokenizer.from_pretrained(values.model!, { local_files_only: true });
  const model = await tf.AutoModelForCausalLM.from_pretrained(values.model!, {
    local_files_only: true, dtype: 'fp32', device: 'cpu', session_options: { intraOpNumThreads: 1 },
  });
  const start = process.cpuUsage();
  const began = performance.now();
  const generated: SweepResult['prompts'] = [];
  for (const prompt of prompts) {
    const ids = tokenizer.encode(prompt.text, { add_special_tokens: prompt.addSpecialTokens });
    // Stop when the new tokens' text holds a stop sequence (transformers.js has no stop strings of its own).
    class StopSequences extends tf.StoppingCriteria {
      _call(rows: (number | bigint)[][]): boolean[] {
        return rows.map((row) => {
          const text = tokenizer.decode(row.slice(ids.length).map(Number), { skip_special_tokens: true });
          return prompt.stopSequences.some((stop) => text.includes(stop));
        });
      }
    }
    const output = await model.generate({
      input_ids: new tf.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]),
      attention_mask: new tf.Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
      max_new_tokens: prompt.maxNewTokens, do_sample: false,
      ...(prompt.stopSequences.length ? { stopping_criteria: [new StopSequences()] } : {}),
    });
    generated.push({ ...prompt, ids: Array.from(output.data, Number).slice(ids.length) });
  }
  const result = { cpuSeconds: cpuSecondsSince(start), wallSeconds: (performance.now() - began) / 1000, peakRssMb: process.resourceUsage().maxRSS / 1024, prompts: generated };
  await model.dispose();
  return result;
}

function processCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 a second)
}

function processPeakRssMb(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

/** The same prompts, as token ids, to llama-server: its own prompt cache reuses what consecutive prompts share. */
async function llama(values: Record<string, string | undefined>): Promise<SweepResult> {
  const prompts = (JSON.parse(readFileSync(values.prompts!, 'utf8')) as SweepResult).prompts!;
  const { loadTransformers } = await import('../src/engine/model/transformers/load');
  const tf = await loadTransformers();
  const tokenizer = await tf.AutoTokenizer.from_pretrained(values.model!, { local_files_only: true });
  const port = 20000 + (process.pid % 20000);
  const server = spawn(join(__dirname, '..', '..', 'shared', 'tools', 'llama-server', 'llama-server'), [
    '-m', values.gguf!, '--host', '127.0.0.1', '--port', String(port), '-c', '2048', '-np', '1', '-t', '1',
  ], { stdio: 'ignore' });
  const base = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${base}/health`)).ok) break;
      } catch { /* not up yet */ }
      if (i > 200) throw new Error('llama-server did not start');
      await new Promise((ok) => setTimeout(ok, 50));
    }
    const startCpu = processCpuSeconds(server.pid!);
    const began = performance.now();
    const generated: SweepResult['prompts'] = [];
    for (const prompt of prompts) {
      const ids = tokenizer.encode(prompt.text, { add_special_tokens: prompt.addSpecialTokens });
      const response = await fetch(`${base}/completion`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: ids, n_predict: prompt.maxNewTokens, temperature: 0, cache_prompt: true, stop: prompt.stopSequences, return_tokens: true }),
      });
      const body = (await response.json()) as { tokens?: number[] };
      generated.push({ ...prompt, ids: body.tokens ?? [] });
    }
    return { cpuSeconds: processCpuSeconds(server.pid!) - startCpu, wallSeconds: (performance.now() - began) / 1000, peakRssMb: processPeakRssMb(server.pid!), prompts: generated };
  } finally {
    server.kill('SIGTERM');
  }
}

/** Every prompt the sweep will send (held-out items × shot counts, as a run builds them), without running the model. */
export async function sweepPrompts(model: LanguageModel, file: string, selection: SweepSelection, heldOut: number): Promise<NonNullable<SweepResult['prompts']>> {
  const { planExperiment, previewPrompt } = await import('../src/engine/experiment/experiment');
  const plan = await planExperiment(file, settingsFor(selection, heldOut), model);
  const prompts: NonNullable<SweepResult['prompts']> = [];
  for (const k of plan.shots) {
    for (const item of plan.heldOut) {
      const { result } = await previewPrompt(plan, item.line, k, model.tokenizer);
      if (result.ok) prompts.push({ text: result.built.prompt.text, addSpecialTokens: result.built.prompt.addSpecialTokens, stopSequences: result.built.stopSequences, maxNewTokens: plan.estimate.answer.maxNewTokens, ids: [] });
    }
  }
  return prompts;
}

export interface FloorResult {
  /** CPU milliseconds one row's decoding step costs per token of its past (batch of one, median slope). */
  contextMsPerToken: number;
}

/**
 * The graph takes each row's past as an input and returns it with the new token appended (Concat), then
 * multiplies the query over it: a step costs every row time in proportion to its context, whatever was reused
 * to build that past. Measured as the slope between steps over 16 and 1,040 tokens of past (or the model's context), interleaved.
 */
async function floor(values: Record<string, string | undefined>): Promise<FloorResult> {
  const ort = await import('onnxruntime-node');
  const config = JSON.parse(readFileSync(join(values.model!, 'config.json'), 'utf8')) as {
    num_hidden_layers: number; num_attention_heads: number; num_key_value_heads?: number; hidden_size: number; head_dim?: number; max_position_embeddings?: number;
  };
  const headDim = config.head_dim ?? config.hidden_size / config.num_attention_heads;
  const kvHeads = config.num_key_value_heads ?? config.num_attention_heads;
  const session = await ort.InferenceSession.create(join(values.model!, 'onnx', 'model.onnx'), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const step = (past: number): Record<string, InstanceType<typeof ort.Tensor>> => {
    const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {
      input_ids: new ort.Tensor('int64', new BigInt64Array([5n]), [1, 1]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(past + 1).fill(1n), [1, past + 1]),
    };
    if (session.inputNames.includes('position_ids')) feeds.position_ids = new ort.Tensor('int64', new BigInt64Array([BigInt(past)]), [1, 1]);
    for (let layer = 0; layer < config.num_hidden_layers; layer++) {
      for (const part of ['key', 'value']) feeds[`past_key_values.${layer}.${part}`] = new ort.Tensor('float32', new Float32Array(kvHeads * past * headDim).fill(0.01), [1, kvHeads, past, headDim]);
    }
    return feeds;
  };
  const [short, long] = [16, Math.min(1040, (config.max_position_embeddings ?? 2048) - 1)];
  const [shortFeeds, longFeeds] = [step(short), step(long)];
  const msPerStep = async (feeds: Record<string, InstanceType<typeof ort.Tensor>>): Promise<number> => {
    const start = process.cpuUsage();
    for (let i = 0; i < 4; i++) await session.run(feeds);
    return (cpuSecondsSince(start) * 1000) / 4;
  };
  await msPerStep(shortFeeds);
  await msPerStep(longFeeds);
  const slopes: number[] = [];
  for (let round = 0; round < 7; round++) slopes.push(((await msPerStep(longFeeds)) - (await msPerStep(shortFeeds))) / (long - short));
  await session.release();
  return { contextMsPerToken: slopes.sort((a, b) => a - b)[3]! };
}

/**
 * Tokens of context summed over a sweep's decoding steps (each prompt's first new token comes from its prompt
 * pass; the j-th step after it runs over the prompt and j new tokens), from ours' record of the prompts.
 */
export function decodingContextTokens(result: SweepResult): number {
  let total = 0;
  for (const prompt of result.prompts ?? []) {
    for (let j = 1; j < prompt.ids.length; j++) total += (prompt.promptTokens ?? 0) + j;
  }
  return total;
}

/** How many prompts a baseline answered as we did: ours must be the beginning of its output (ours also stops at stop sequences, which a plain loop does not know; llama-server drops a stop sequence's tokens, ours keeps them: compared over what both have). */
export function agreement(ours: SweepResult, baseline: SweepResult): { agree: number; total: number } {
  const byText = new Map((ours.prompts ?? []).map((prompt) => [prompt.text, prompt.ids]));
  let agree = 0;
  for (const prompt of baseline.prompts ?? []) {
    const mine = byText.get(prompt.text);
    if (!mine) continue;
    const common = Math.min(mine.length, prompt.ids.length);
    if (common > 0 && (common === mine.length || prompt.ids.length < mine.length) && mine.slice(0, common).every((id, i) => id === prompt.ids[i])) agree++;
  }
  return { agree, total: baseline.prompts?.length ?? 0 };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' }, model: { type: 'string' }, data: { type: 'string' }, selection: { type: 'string', default: 'random' },
      'held-out': { type: 'string', default: '20' }, prompts: { type: 'string' }, gguf: { type: 'string' }, out: { type: 'string' },
    },
  });
  const run = values.child === 'ours' ? ours : values.child === 'plain' ? plain : values.child === 'llama' ? llama : values.child === 'floor' ? floor : undefined;
  if (!run) throw new Error('bench-sweep.ts runs as a child of scripts/bench.ts: --child ours|plain|llama|floor');
  writeFileSync(values.out!, JSON.stringify(await run(values)));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
