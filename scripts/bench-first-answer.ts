// First answer first: how long the provisional summary of a large JSONL file takes (the hover's and the side
// panel's first answer), against the whole scan. Generates bench-data/first-answer-<N>mb.jsonl once (git-ignored).
// usage: node --import tsx scripts/bench-first-answer.ts [--megabytes 1024] [--rounds 5]
import { createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { checkFileHead } from '../src/engine/provisionalCheck';
import { checkDataset } from '../src/engine/datasetCheck';
import { DEFAULT_SETTINGS } from '../src/engine/settings';

const option = (name: string, fallback: number): number => {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
};
const megabytes = option('megabytes', 1024);
const rounds = option('rounds', 5);
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

async function main(): Promise<void> {
  if (!existsSync(file)) await generate();
  const times: number[] = [];
  const cpu: number[] = [];
  let provisional;
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    provisional = await checkFileHead(file, DEFAULT_SETTINGS);
    const used = process.cpuUsage(cpuStarted);
    cpu.push((used.user + used.system) / 1000);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  console.log(`file ${file}: ${(statSync(file).size / 1024 / 1024).toFixed(0)} MB`);
  console.log(`provisional summary (first ${provisional!.bytesRead} bytes, ${provisional!.check.inspection.records} records): min ${times[0]!.toFixed(1)} ms, median ${times[Math.floor(times.length / 2)]!.toFixed(1)} ms over ${rounds} rounds, the first included; CPU min ${cpu[0]!.toFixed(1)} ms, median ${cpu[Math.floor(cpu.length / 2)]!.toFixed(1)} ms`);
  if (process.argv.includes('--full')) {
    const started = performance.now();
    const whole = await checkDataset(file, DEFAULT_SETTINGS);
    console.log(`whole scan: ${whole.inspection.records} records in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
}

void main();
