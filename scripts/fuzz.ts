/**
 * Fuzzes the JSONL reader and the inspector with generated files checked against an oracle
 * (test/support/datasetFuzz.ts), and prints cases/s, crashes, hangs and mismatches.
 *
 *   npm run fuzz -- --cases 100000 [--seed 1] [--time-limit-ms 10000]
 *
 * The cases run in a worker thread that reports which case it is on; a case that takes longer than the time
 * limit is a hang: the worker is stopped and a new one goes on from the next case. Exit 1 if anything failed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import fc from 'fast-check';
import { anyCase, checkCase, expectedOf, type FuzzCase } from '../test/support/datasetFuzz';

/** Cases are drawn in batches, each from its own seed, so case i is the same whichever worker draws it. */
const BATCH = 100;

interface Job { from: number; cases: number; seed: number; folder: string; heartbeat: SharedArrayBuffer }

type Report =
  | { type: 'failure'; kind: 'crash' | 'mismatch'; index: number; detail: string; fuzzCase: string }
  | { type: 'progress'; done: number; ambiguous: number; kinds: Record<string, number> }
  | { type: 'done' };

function caseAt(index: number, seed: number): FuzzCase {
  return fc.sample(anyCase, { seed: seed + Math.floor(index / BATCH), numRuns: BATCH })[index % BATCH]!;
}

function describeCase(fuzzCase: FuzzCase): string {
  const text = fuzzCase.mode === 'soup'
    ? JSON.stringify({ mode: 'soup', base64: Buffer.from(fuzzCase.bytes).toString('base64') })
    : JSON.stringify(fuzzCase);
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
}

async function work(job: Job): Promise<void> {
  const current = new Int32Array(job.heartbeat);
  let batch: FuzzCase[] = [];
  let ambiguous = 0;
  const kinds: Record<string, number> = {};
  for (let index = job.from; index < job.cases; index++) {
    Atomics.store(current, 0, index);
    if (index % BATCH === 0 || batch.length === 0) batch = fc.sample(anyCase, { seed: job.seed + Math.floor(index / BATCH), numRuns: BATCH });
    const fuzzCase = batch[index % BATCH]!;
    kinds[fuzzCase.mode] = (kinds[fuzzCase.mode] ?? 0) + 1;
    if (fuzzCase.mode !== 'soup' && expectedOf(fuzzCase).ambiguous) ambiguous++;
    try {
      const problems = await checkCase(fuzzCase, job.folder, index % 64);
      if (problems.length) parentPort!.postMessage({ type: 'failure', kind: 'mismatch', index, detail: problems.slice(0, 3).join('; '), fuzzCase: describeCase(fuzzCase) } satisfies Report);
    } catch (error) {
      parentPort!.postMessage({ type: 'failure', kind: 'crash', index, detail: (error as Error).stack ?? String(error), fuzzCase: describeCase(fuzzCase) } satisfies Report);
    }
    if ((index + 1) % 500 === 0 || index + 1 === job.cases) {
      parentPort!.postMessage({ type: 'progress', done: index + 1, ambiguous, kinds: { ...kinds } } satisfies Report);
      ambiguous = 0;
      for (const key of Object.keys(kinds)) kinds[key] = 0;
    }
  }
  parentPort!.postMessage({ type: 'done' } satisfies Report);
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { cases: { type: 'string', default: '10000' }, seed: { type: 'string', default: '1' }, 'time-limit-ms': { type: 'string', default: '10000' } } });
  const cases = Number(values.cases);
  const seed = Number(values.seed);
  const timeLimit = Number(values['time-limit-ms']);
  if (!Number.isInteger(cases) || cases < 1 || !Number.isInteger(seed) || !(timeLimit > 0)) {
    process.stderr.write('usage: npm run fuzz -- --cases N [--seed S] [--time-limit-ms MS]\n');
    return 2;
  }
  const folder = mkdtempSync(join(tmpdir(), 'pof-fuzz-'));
  const failures: Extract<Report, { type: 'failure' }>[] = [];
  const hangs: number[] = [];
  const kinds: Record<string, number> = {};
  let ambiguous = 0;
  const started = performance.now();
  let from = 0;
  try {
    while (from < cases) {
      const heartbeat = new SharedArrayBuffer(4);
      const current = new Int32Array(heartbeat);
      Atomics.store(current, 0, from);
      // The worker runs this same file, compiled by tsx (Node 20 does not hand `--import` hooks to workers).
      const worker = new Worker(`require('tsx/cjs'); require(${JSON.stringify(__filename)});`, { eval: true, workerData: { from, cases, seed, folder, heartbeat } satisfies Job });
      const outcome = await new Promise<{ hangAt?: number }>((resolve, reject) => {
        let lastIndex = from;
        let since = performance.now();
        const watch = setInterval(() => {
          const index = Atomics.load(current, 0);
          if (index !== lastIndex) {
            lastIndex = index;
            since = performance.now();
          } else if (performance.now() - since > timeLimit) {
            clearInterval(watch);
            void worker.terminate().then(() => resolve({ hangAt: index }));
          }
        }, 100);
        worker.on('message', (report: Report) => {
          if (report.type === 'failure') {
            failures.push(report);
            process.stderr.write(`${report.kind} at case ${report.index}: ${report.detail.split('\n')[0]}\n  case: ${report.fuzzCase.slice(0, 300)}\n`);
          } else if (report.type === 'progress') {
            ambiguous += report.ambiguous;
            for (const [kind, count] of Object.entries(report.kinds)) kinds[kind] = (kinds[kind] ?? 0) + count;
            const seconds = (performance.now() - started) / 1000;
            if (process.stderr.isTTY) process.stderr.write(`\r${report.done}/${cases} cases, ${Math.round(report.done / seconds)}/s\x1b[K`);
          } else {
            clearInterval(watch);
            resolve({});
          }
        });
        worker.on('error', (error) => { clearInterval(watch); reject(error); });
      });
      if (outcome.hangAt === undefined) break;
      hangs.push(outcome.hangAt);
      process.stderr.write(`hang at case ${outcome.hangAt} (over ${timeLimit} ms): ${describeCase(caseAt(outcome.hangAt, seed)).slice(0, 300)}\n`);
      from = outcome.hangAt + 1;
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
  const seconds = (performance.now() - started) / 1000;
  const crashes = failures.filter((failure) => failure.kind === 'crash').length;
  const mismatches = failures.length - crashes;
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  process.stdout.write(
    `fuzz: ${cases} cases in ${seconds.toFixed(1)} s (${Math.round(cases / seconds)} cases/s), seed ${seed}: ` +
    `${crashes} crashes, ${hangs.length} hangs (limit ${timeLimit} ms), ${mismatches} mismatches\n` +
    `  cases: ${Object.entries(kinds).map(([kind, count]) => `${kind} ${count}`).join(', ')}; ${ambiguous} file cases near the binary threshold, checked for crashes only\n`,
  );
  return crashes + hangs.length + mismatches > 0 ? 1 : 0;
}

if (isMainThread) {
  main().then((code) => { process.exitCode = code; }, (error: unknown) => { console.error(error); process.exitCode = 1; });
} else {
  void work(workerData as Job);
}
