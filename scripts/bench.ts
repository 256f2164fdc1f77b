/**
 * `npm run bench`: the k-sweep and the scan, each against its baseline in the same run, in interleaved rounds
 * (ours, baseline, ours, baseline…), so a busy moment of the machine falls on both alike. Prints one table:
 * CPU seconds (minimum and median over the rounds) and peak RSS, and the ratio of the medians.
 *
 *   npm run bench [-- --quick] [-- --rounds N] [-- --megabytes N] [-- --only sweep|scan|stories|smol|icl]
 *
 * - k-sweep: shots 0, 1, 2, 4, 8, 16 on held-out items of a generated question/answer file (20 items; 4 with
 *   --quick), 24 new tokens, 1 onnxruntime thread, no output cache; on a random Llama of SmolLM2-135M's shape
 *   (built once into bench-data/, 651 MB), with random and with first selection, against a plain
 *   transformers.js loop (`generate` per prompt) over the very prompts the sweep sent, outputs checked equal;
 *   and on stories260K against llama-server (its GGUF, 1 thread, prompt cache on) over the same prompts.
 *   Ours also scores every reference (teacher-forced); the baselines only generate.
 * - scan: `inspect` (bundled, as the CLI runs it) against readline + JSON.parse and against jq, on two generated
 *   files of --megabytes each (default 1024; 256 with --quick): long ASCII records and short non-ASCII ones.
 *
 * Every child runs under `nice`; the machine may be shared, so the table says what the load was.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

import { buildTinyLlama, SMOLLM2_135M_SHAPE } from '../test/support/tinyLlama';
import { generateScanFile, type ScanFileKind } from './bench-scan';
import { loadLanguageModel } from '../src/engine/model/transformers/transformersModel';
import { agreement, decodingContextTokens, sweepDataset, sweepPrompts, type FloorResult, type SweepResult, type SweepSelection } from './bench-sweep';
import { ICL_CHECKED_LABELS, writeIclClassification } from '../test/support/iclData';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    megabytes: { type: 'string' },
    only: { type: 'string' },
  },
});
const quick = values.quick === true;
const rounds = Number(values.rounds ?? (quick ? 1 : 2));
const megabytes = Number(values.megabytes ?? (quick ? 256 : 1024));
const root = resolve(__dirname, '..');
const data = join(root, 'bench-data');
const stories = resolve(root, '..', 'shared', 'models', 'stories260K');

interface Measure {
  cpuSeconds: number;
  peakRssMb: number;
}

interface Row {
  figure: string;
  ours: Measure[];
  baselineName: string;
  baseline: Measure[];
  note: string;
}

const rows: Row[] = [];

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}, load ${loadavg()[0]!.toFixed(1)}] ${message}\n`);
}

/** A sweep child under nice; resolves to what it wrote. */
function sweepChild<Result = SweepResult>(args: string[]): Promise<Result> {
  const out = join(data, `sweep-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  return new Promise((resolvePromise, reject) => {
    execFile('nice', ['-n', '10', process.execPath, '--import', 'tsx', join(__dirname, 'bench-sweep.ts'), ...args, '--out', out], { maxBuffer: 1 << 20 }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`${args.slice(0, 2).join(' ')} failed: ${stderr || error.message}`));
      else resolvePromise(JSON.parse(readFileSync(out, 'utf8')) as Result);
    });
  });
}

/**
 * Each round runs ours, then the baseline (one child at a time: two at once would share the memory bandwidth
 * that decoding is bound by, unevenly), over the same prompts, planned beforehand as a run plans them.
 */
async function sweepRow(model: string, file: string, selection: SweepSelection, heldOut: number, figure: string, baseline: 'plain' | 'llama'): Promise<Row> {
  const loaded = await loadLanguageModel({ model, allowDownload: false });
  const prompts = join(data, `sweep-prompts-${baseline}-${selection}.json`);
  writeFileSync(prompts, JSON.stringify({ prompts: await sweepPrompts(loaded, file, selection, heldOut) }));
  await loaded.dispose();
  const row: Row = { figure, ours: [], baselineName: baseline === 'plain' ? 'plain transformers.js loop' : 'llama-server (its prompt cache)', baseline: [], note: '' };
  let oursLast: SweepResult | undefined;
  for (let round = 0; round < rounds; round++) {
    log(`${figure}, round ${round + 1}`);
    const ours = await sweepChild(['--child', 'ours', '--model', model, '--data', file, '--selection', selection, '--held-out', String(heldOut)]);
    const other = baseline === 'plain'
      ? await sweepChild(['--child', 'plain', '--model', model, '--prompts', prompts])
      : await sweepChild(['--child', 'llama', '--model', model, '--gguf', join(model, 'stories260K.gguf'), '--prompts', prompts]);
    row.ours.push(ours);
    oursLast = ours;
    row.baseline.push(other);
    const { agree, total } = agreement(ours, other);
    row.note = `${ours.prompts!.length} prompts; outputs ${baseline === 'plain' ? 'equal' : 'agree'}: ${agree}/${total}`;
    log(`  ours ${ours.cpuSeconds.toFixed(1)} CPU-s, ${ours.peakRssMb.toFixed(0)} MB; baseline ${other.cpuSeconds.toFixed(1)} CPU-s, ${other.peakRssMb.toFixed(0)} MB; ${row.note}`);
  }
  if (baseline === 'plain' && oursLast) row.note += `; ${contextFloorNote(await sweepChild<FloorResult>(['--child', 'floor', '--model', model]), oursLast, row)}`;
  return row;
}

async function sweep(): Promise<void> {
  mkdirSync(data, { recursive: true });
  const heldOut = quick ? 4 : 20;
  const file = join(data, 'sweep.jsonl');
  writeFileSync(file, sweepDataset(200));
  // --only names the sweep's rows to run: all of them, or one model's.
  const wanted = (name: 'stories' | 'smol' | 'icl'): boolean => !values.only || values.only === 'sweep' || values.only === name;
  if (wanted('stories') && existsSync(join(stories, 'stories260K.gguf'))) {
    rows.push(await sweepRow(stories, file, 'random', heldOut, `k-sweep, stories260K, random selection, ${heldOut} items`, 'llama'));
  }
  const smol = join(data, 'smollm2-135m-shape');
  if (wanted('smol') && !existsSync(join(smol, 'onnx', 'model.onnx'))) {
    log(`building a random Llama of SmolLM2-135M's shape in ${smol}`);
    await buildTinyLlama(smol, { shape: SMOLLM2_135M_SHAPE, seed: 1 });
  }
  for (const selection of wanted('smol') ? (['first', 'random'] as const) : []) {
    rows.push(await sweepRow(smol, file, selection, heldOut, `k-sweep, SmolLM2-135M shape, ${selection} selection, ${heldOut} items × k = 0–16`, 'plain'));
  }
  // A model that answers from its examples (icl-tiny copies the matching demonstration's label): its answers are
  // mostly the references, which a random Llama's never are, so this row shows what checking the reference as a
  // draft saves. Learnable labels as in test/unit/iclTiny.test.ts, 60 items.
  if (!wanted('icl')) return;
  const icl = join(data, 'icl-learnable.jsonl');
  writeIclClassification(icl, { seed: 2026, records: 300, keys: 24, labels: ICL_CHECKED_LABELS });
  const iclItems = quick ? 12 : 60;
  rows.push(await sweepRow(join(root, 'examples', 'models', 'icl-tiny'), icl, 'similar', iclItems, `k-sweep, icl-tiny, similar selection, ${iclItems} items × k = 0–16`, 'plain'));
}

/**
 * What every runner of this graph pays in decoding steps, however it reuses and batches: each step's cost over
 * its row's past (Concat of the past into the present, the attention's products), summed over the steps the
 * sweep's answers take. Ours ÷ baseline cannot fall below floor ÷ baseline unless answers end sooner (the slope is
 * measured, so the floor is approximate: up to a third apart between runs on a shared machine).
 */
function contextFloorNote(floor: FloorResult, ours: SweepResult, row: Row): string {
  const tokens = decodingContextTokens(ours);
  const seconds = (tokens * floor.contextMsPerToken) / 1000;
  const bound = seconds / median(row.baseline.map((m) => m.cpuSeconds));
  return `decoding's context floor ≈ ${seconds.toFixed(seconds >= 10 ? 0 : 2)} CPU-s (${tokens.toLocaleString('en')} tokens of past over the steps × ${floor.contextMsPerToken.toFixed(4)} ms, a slope that moves by up to a third between runs), so ours ÷ baseline ≳ ${bound.toFixed(2)}`;
}

/** CPU seconds (user + system) and peak RSS of a command, from GNU time. */
function timed(command: string, args: string[]): Measure {
  const report = join(data, `time-${process.pid}.txt`);
  execFileSync('/usr/bin/time', ['-f', '%U %S %M', '-o', report, 'nice', '-n', '10', command, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  const [user, system, rssKb] = readFileSync(report, 'utf8').trim().split(/\s+/).slice(-3).map(Number) as [number, number, number];
  return { cpuSeconds: user + system, peakRssMb: rssKb / 1024 };
}

async function scan(): Promise<void> {
  mkdirSync(data, { recursive: true });
  const bundle = join(data, 'scan-child.js');
  await build({ entryPoints: [join(__dirname, 'bench-scan.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node20', mainFields: ['module', 'main'], outfile: bundle, logLevel: 'warning' });
  let jq: string | null = null;
  try {
    jq = execFileSync('which', ['jq'], { encoding: 'utf8' }).trim() || null;
  } catch {
    jq = null;
  }
  for (const kind of ['long', 'short'] as ScanFileKind[]) {
    const file = join(data, `scan-${kind}-${megabytes}mb.jsonl`);
    if (!existsSync(file)) {
      log(`generating ${file}`);
      await generateScanFile(file, megabytes * 1024 * 1024, kind);
    }
    const size = `${(statSync(file).size / 1024 / 1024).toFixed(0)} MB`;
    const label = kind === 'long' ? 'long ASCII records' : 'short non-ASCII records';
    const node: Row = { figure: `scan (inspect), ${size} of ${label}`, ours: [], baselineName: 'readline + JSON.parse', baseline: [], note: '' };
    const jqRow: Row = { figure: `scan (inspect), ${size} of ${label}`, ours: [], baselineName: 'jq -R \'fromjson?\'', baseline: [], note: jq ? '' : 'jq not installed: skipped' };
    for (let round = 0; round < rounds; round++) {
      log(`scan ${kind}, round ${round + 1}`);
      const ours = timed(process.execPath, [bundle, '--child', 'inspect', file]);
      node.ours.push(ours);
      jqRow.ours.push(ours);
      node.baseline.push(timed(process.execPath, [bundle, '--child', 'plain', file]));
      if (jq) jqRow.baseline.push(timed(jq, ['-R', 'fromjson? | empty', file]));
    }
    rows.push(node);
    if (jq) rows.push(jqRow);
  }
}

function table(): string {
  const fmt = (value: number): string => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));
  const cell = (measures: readonly Measure[]): string =>
    measures.length ? `${fmt(Math.min(...measures.map((m) => m.cpuSeconds)))} / ${fmt(median(measures.map((m) => m.cpuSeconds)))}` : '—';
  const rss = (measures: readonly Measure[]): string => (measures.length ? `${Math.max(...measures.map((m) => m.peakRssMb)).toFixed(0)}` : '—');
  const lines = [
    '| figure | ours: CPU-s min / median | baseline | baseline: CPU-s min / median | ours ÷ baseline (median CPU) | peak RSS MB, ours / baseline | note |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    const ratio = row.baseline.length ? (median(row.ours.map((m) => m.cpuSeconds)) / median(row.baseline.map((m) => m.cpuSeconds))).toFixed(2) : '—';
    lines.push(`| ${row.figure} | ${cell(row.ours)} | ${row.baselineName} | ${cell(row.baseline)} | ${ratio} | ${rss(row.ours)} / ${rss(row.baseline)} | ${row.note} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const started = Date.now();
  const load = loadavg()[0]!;
  if (!values.only || values.only !== 'scan') await sweep();
  if (!values.only || values.only === 'scan') await scan();
  process.stdout.write(`${table()}\n\n${rounds} interleaved round(s)${quick ? ', --quick' : ''}; load average ${load.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end, on ${cpus().length} cores; ${((Date.now() - started) / 60000).toFixed(1)} min.\n`);
}

void main();
