/**
 * Scan benchmark: generates a JSON Lines file of about 1 GB (once, into bench-data/, which git ignores), then
 * inspects it in a child process with Node's default heap and prints the throughput and the peak memory.
 *
 *   npm run bench:scan [-- --megabytes 1024]
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const { values } = parseArgs({ options: { megabytes: { type: 'string', default: '1024' }, child: { type: 'string' } } });

async function generate(file: string, bytes: number): Promise<void> {
  // Varied records: several schemas' worth of text, some non-ASCII, a malformed line now and then.
  const words = ['model', 'prompt', 'fine-tune', 'shots', 'context', 'naïve', 'café', '数据', 'données', 'ε', '🙂', 'token', 'window', 'bound'];
  const out = createWriteStream(file);
  let written = 0;
  let index = 0;
  while (written < bytes) {
    const text = Array.from({ length: 20 + (index % 60) }, (_, i) => words[(index * 7 + i * 3) % words.length]).join(' ');
    const line = index % 997 === 0 ? '{"prompt": broken\n' : JSON.stringify({ prompt: `${index}: ${text}`, completion: ` ${text.slice(0, 80)}` }) + '\n';
    written += Buffer.byteLength(line);
    index++;
    if (!out.write(line)) await new Promise<void>((ok) => out.once('drain', () => ok()));
  }
  await new Promise<void>((ok) => out.end(() => ok()));
}

async function child(file: string): Promise<void> {
  const { inspectDataset } = await import('../src/engine/dataset/inspect');
  const started = process.hrtime.bigint();
  const result = await inspectDataset(file);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(JSON.stringify({ seconds, records: result.records, invalid: result.invalid, maxRssKb: process.resourceUsage().maxRSS }));
}

async function main(): Promise<void> {
  if (values.child) return child(values.child);
  const folder = resolve(__dirname, '..', 'bench-data');
  mkdirSync(folder, { recursive: true });
  const megabytes = Number(values.megabytes);
  const file = join(folder, `scan-${megabytes}mb.jsonl`);
  if (!existsSync(file)) {
    process.stderr.write(`Generating ${file} (${megabytes} MB)…\n`);
    await generate(file, megabytes * 1024 * 1024);
  }
  const bytes = statSync(file).size;
  // The scan runs as the extension and the command line run it: bundled, in plain Node, with its default heap.
  const bundle = join(folder, 'scan-child.js');
  await build({ entryPoints: [__filename], bundle: true, platform: 'node', format: 'cjs', target: 'node20', mainFields: ['module', 'main'], external: ['esbuild'], outfile: bundle, logLevel: 'warning' });
  const output = execFileSync(process.execPath, [bundle, '--child', file], { encoding: 'utf8', maxBuffer: 1024 * 1024 });
  const result = JSON.parse(output) as { seconds: number; records: number; invalid: number; maxRssKb: number };
  const megabytesPerSecond = bytes / 1024 / 1024 / result.seconds;
  process.stdout.write([
    `file          ${file}`,
    `size          ${(bytes / 1024 / 1024).toFixed(0)} MB, ${result.records.toLocaleString('en-US')} records, ${result.invalid.toLocaleString('en-US')} invalid lines`,
    `scan time     ${result.seconds.toFixed(1)} s`,
    `throughput    ${megabytesPerSecond.toFixed(1)} MB/s`,
    `peak memory   ${(result.maxRssKb / 1024).toFixed(0)} MB (max RSS of the scanning process)`,
  ].join('\n') + '\n');
}

void main();
