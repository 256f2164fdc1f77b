/**
 * The output cache on damaged files and failing disks: what is read is checked, a bad line is skipped and
 * counted, and a write that fails (a full disk) becomes one warning naming the folder, never a crash.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OutputCache } from '../../src/engine/experiment/outputCache';
import type { ContinuationScore, Generation } from '../../src/engine/model/languageModel';
import { REPO_ROOT, realDataset, sharedMissing, STORIES_260K, temporaryFolder } from '../support/paths';

const FINGERPRINT = 'f'.repeat(64);
const generation: Generation = { text: 'Paris', tokenIds: [5, 6], promptTokenCount: 12, finishReason: 'end-of-sequence' };
const score: ContinuationScore = { logProb: -1.5, tokenCount: 2, tokenLogProbs: [-1, -0.5] };

test('cache lines with the right key and a malformed value are skipped and counted, not served', () => {
  const folder = temporaryFolder();
  try {
    const file = join(folder.path, `${FINGERPRINT.slice(0, 32)}.jsonl`);
    const lines = [
      { key: 'good-generation', generation },
      { key: 'good-score', score },
      { key: 'text-not-string', generation: { ...generation, text: 5 } },
      { key: 'ids-not-numbers', generation: { ...generation, tokenIds: ['a'] } },
      { key: 'no-finish-reason', generation: { text: 'x', tokenIds: [], promptTokenCount: 1 } },
      { key: 'score-not-object', score: 'high' },
      { key: 'score-without-count', score: { logProb: -1, tokenLogProbs: [] } },
      { key: 42, generation },
      null,
      [1, 2],
    ].map((entry) => JSON.stringify(entry));
    writeFileSync(file, [...lines, '{"key":"cut-by-a-crash","gen'].join('\n'));
    const cache = new OutputCache(folder.path, FINGERPRINT);
    assert.deepEqual([cache.size, cache.skippedLines], [2, 9]);
    assert.deepEqual(cache.generation('good-generation'), generation);
    assert.deepEqual(cache.score('good-score'), score);
    for (const key of ['text-not-string', 'ids-not-numbers', 'no-finish-reason']) assert.equal(cache.generation(key), undefined, key);
    for (const key of ['score-not-object', 'score-without-count']) assert.equal(cache.score(key), undefined, key);
    assert.deepEqual(cache.warnings, [`9 lines of the output cache ${file} were not valid entries and were skipped; their model calls are made again.`]);
    // New entries start on a line of their own after the cut one, and are read back.
    cache.putGeneration('new', generation);
    const again = new OutputCache(folder.path, FINGERPRINT);
    assert.deepEqual(again.generation('new'), generation);
    assert.equal(again.skippedLines, 9);
  } finally {
    folder.remove();
  }
});

test('a write that fails (a disk full after half a line) keeps the outputs in memory, cuts nothing and warns once', () => {
  const folder = temporaryFolder();
  try {
    let calls = 0;
    // A stand-in for a disk that fills up on the third write: half the line lands on disk, then ENOSPC.
    const fillingDisk = (file: string, text: string): void => {
      calls++;
      if (calls < 3) return appendFileSync(file, text);
      appendFileSync(file, text.slice(0, text.length >> 1));
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    };
    const cache = new OutputCache(folder.path, FINGERPRINT, fillingDisk);
    for (let i = 0; i < 5; i++) cache.putGeneration(`key-${i}`, { ...generation, text: `answer ${i}` });
    cache.putScore('score', score);
    assert.equal(calls, 3);
    assert.deepEqual([0, 1, 2, 3, 4].map((i) => cache.generation(`key-${i}`)?.text), ['answer 0', 'answer 1', 'answer 2', 'answer 3', 'answer 4']);
    assert.deepEqual(cache.score('score'), score);
    assert.deepEqual(cache.warnings, [
      `The output cache folder ${folder.path} could not be written (ENOSPC: no space left on device, write): this run's outputs are kept in memory only, and a new run makes these model calls again. Free some space or choose another cache folder.`,
    ]);
    const file = join(folder.path, `${FINGERPRINT.slice(0, 32)}.jsonl`);
    const text = readFileSync(file, 'utf8');
    assert.equal(text.split('\n').length, 3);
    assert.ok(text.endsWith('\n'));
    const reread = new OutputCache(folder.path, FINGERPRINT);
    assert.deepEqual([reread.size, reread.skippedLines], [2, 0]);
  } finally {
    folder.remove();
  }
});

test('a cache folder that cannot be made is a warning, and the cache works in memory', () => {
  const folder = temporaryFolder();
  try {
    const blocker = join(folder.path, 'a-file');
    writeFileSync(blocker, 'not a folder');
    const cache = new OutputCache(join(blocker, 'outputs'), FINGERPRINT);
    cache.putGeneration('k', generation);
    assert.deepEqual(cache.generation('k'), generation);
    assert.equal(cache.warnings.length, 1);
    assert.match(cache.warnings[0]!, new RegExp(`^The output cache folder ${join(blocker, 'outputs')} could not be written \\(ENOTDIR: `));
    // Not a full disk: the advice is another folder, not space.
    assert.match(cache.warnings[0]!, /a new run makes these model calls again\. Choose a cache folder that can be written\.$/);
  } finally {
    folder.remove();
  }
});

/** A real full disk: a 16 KiB tmpfs, where the system lets us mount one (root on Linux). */
function mountTinyDisk(path: string): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  return spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', path]).status === 0;
}

test('run on a full disk completes, writes its report with a warning, and leaves no cut line', { skip: sharedMissing }, (t) => {
  const folder = temporaryFolder();
  const disk = join(folder.path, 'disk');
  mkdirSync(disk);
  if (!mountTinyDisk(disk)) {
    folder.remove();
    t.skip('cannot mount a tmpfs here (needs root on Linux); the injected full disk above covers the cache');
    return;
  }
  try {
    const out = join(folder.path, 'report.json');
    const result = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts'),
      'run', realDataset('03-prompt-completion-mandarin-cantonese.jsonl'), '--model', STORIES_260K, '--limit', '10', '--shots', '0,1,2',
      '--max-new-tokens', '8', '--json', out, '--cache-dir', disk], { encoding: 'utf8', cwd: REPO_ROOT });
    assert.equal(result.status, 0, result.stderr);
    const message = `The output cache folder ${join(disk, 'outputs')} could not be written (ENOSPC: no space left on device, write): this run's outputs are kept in memory only, and a new run makes these model calls again. Free some space or choose another cache folder.`;
    assert.ok(result.stderr.includes(`prompt-or-finetune: warning: ${message}\n`), result.stderr);
    const report = JSON.parse(readFileSync(out, 'utf8')) as { complete: boolean; items: unknown[]; warnings: string[] };
    // The answer-cap warning (8 tokens against longer references) stands beside the cache's own.
    assert.deepEqual([report.complete, report.items.length, report.warnings.filter((line) => line.includes('output cache'))], [true, 30, [message]]);
    const cacheText = spawnSync('sh', ['-c', `cat "${join(disk, 'outputs')}"/*.jsonl`], { encoding: 'utf8' }).stdout;
    assert.ok(cacheText.length > 0 && cacheText.endsWith('\n'));
    for (const line of cacheText.split('\n').filter(Boolean)) JSON.parse(line);
  } finally {
    spawnSync('umount', [disk]);
    folder.remove();
  }
});

test('a run whose cache holds a malformed value under the right key makes that call again and names the file', { skip: sharedMissing }, () => {
  const folder = temporaryFolder();
  try {
    const out = join(folder.path, 'report.json');
    const args = ['run', realDataset('03-prompt-completion-mandarin-cantonese.jsonl'), '--model', STORIES_260K, '--limit', '3', '--shots', '0',
      '--max-new-tokens', '4', '--json', out, '--cache-dir', folder.path];
    const cli = (): SpawnSyncReturns<string> => spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts'), ...args], { encoding: 'utf8', cwd: REPO_ROOT });
    assert.equal(cli().status, 0);
    const cacheFile = spawnSync('sh', ['-c', `ls "${join(folder.path, 'outputs')}"/*.jsonl`], { encoding: 'utf8' }).stdout.trim();
    const lines = readFileSync(cacheFile, 'utf8').split('\n');
    const first = JSON.parse(lines[0]!) as { key: string; generation?: unknown; score?: unknown };
    lines[0] = JSON.stringify({ key: first.key, ...(first.generation ? { generation: { text: null, tokenIds: 'oops' } } : { score: { logProb: 'oops' } }) });
    writeFileSync(cacheFile, lines.join('\n'));
    const second = cli();
    assert.equal(second.status, 0, second.stderr);
    const warning = `1 line of the output cache ${cacheFile} was not a valid entry and was skipped; its model call is made again.`;
    assert.ok(second.stderr.includes(`prompt-or-finetune: warning: ${warning}\n`), second.stderr);
    const report = JSON.parse(readFileSync(out, 'utf8')) as { timing: { modelCalls: number; cachedCalls: number }; warnings: string[] };
    assert.deepEqual([report.timing.modelCalls, report.timing.cachedCalls, report.warnings.filter((line) => line.includes('output cache'))], [1, 5, [warning]]);
  } finally {
    folder.remove();
  }
});
