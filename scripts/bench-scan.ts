/**
 * The scan benchmark's pieces (scripts/bench.ts runs them): two generated JSON Lines files, and the child
 * processes that read them.
 *
 * - long records: instruction / input / output, ASCII, 2–5 KB a record;
 * - short records: prompt / completion of 20–80 words with accented, CJK and emoji words, ~430 bytes a record,
 *   a malformed line every 997.
 *
 *   node scan-child.js --child inspect FILE   what `inspect --json` does: inspectDataset, bundled as the CLI is
 *   node scan-child.js --child plain FILE     the baseline: readline + JSON.parse per line, nothing else
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

export type ScanFileKind = 'long' | 'short';

export async function generateScanFile(file: string, bytes: number, kind: ScanFileKind): Promise<void> {
  const varied = ['model', 'prompt', 'fine-tune', 'shots', 'context', 'naïve', 'café', '数据', 'données', 'ε', '🙂', 'token', 'window', 'bound'];
  const ascii = ['model', 'prompt', 'fine-tune', 'shots', 'context', 'the', 'of', 'answer', 'data', 'question', 'token', 'window', 'bound', 'Explain'];
  const out = createWriteStream(file);
  let written = 0;
  for (let index = 0; written < bytes; index++) {
    let line: string;
    if (kind === 'long') {
      const text = (count: number): string => Array.from({ length: count }, (_, i) => ascii[(index * 7 + i * 3 + (i >> 3)) % ascii.length]).join(' ');
      line = JSON.stringify({ instruction: `${index}: ${text(30 + (index % 50))}`, input: text(index % 100), output: text(300 + (index % 400)) }) + '\n';
    } else {
      const text = Array.from({ length: 20 + (index % 60) }, (_, i) => varied[(index * 7 + i * 3) % varied.length]).join(' ');
      line = index % 997 === 0 ? '{"prompt": broken\n' : JSON.stringify({ prompt: `${index}: ${text}`, completion: ` ${text.slice(0, 80)}` }) + '\n';
    }
    written += Buffer.byteLength(line);
    if (!out.write(line)) await new Promise<void>((ok) => out.once('drain', () => ok()));
  }
  await new Promise<void>((ok) => out.end(() => ok()));
}

async function inspectChild(file: string): Promise<void> {
  const { inspectDataset } = await import('../src/engine/dataset/inspect');
  const result = await inspectDataset(file);
  process.stdout.write(JSON.stringify({ records: result.records, invalid: result.invalid, duplicates: result.duplicateInputs }));
}

async function plainChild(file: string): Promise<void> {
  let records = 0;
  let invalid = 0;
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) {
    try {
      JSON.parse(line);
      records++;
    } catch {
      invalid++;
    }
  }
  process.stdout.write(JSON.stringify({ records, invalid }));
}

if (require.main === module) {
  const { values } = parseArgs({ options: { child: { type: 'string' } }, allowPositionals: true, strict: false });
  const file = process.argv[process.argv.length - 1]!;
  void (values.child === 'inspect' ? inspectChild(file) : plainChild(file));
}
