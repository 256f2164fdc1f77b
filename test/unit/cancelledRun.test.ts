/** A cancelled command-line run never replaces a complete report: the partial one goes beside it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, realDataset, sharedMissing, STORIES_260K, temporaryFolder } from '../support/paths';

const CLI = ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts')];

test('Ctrl+C during a run keeps the complete report and writes the partial one beside it', { skip: sharedMissing }, async () => {
  const folder = temporaryFolder();
  try {
    const json = join(folder.path, 'report.json');
    const markdown = join(folder.path, 'report.md');
    const args = (cacheDir: string): string[] => ['run', realDataset('03-prompt-completion-mandarin-cantonese.jsonl'), '--model', STORIES_260K,
      '--limit', '24', '--shots', '0,1,2', '--max-new-tokens', '8', '--json', json, '--markdown', markdown, '--cache-dir', cacheDir];
    const complete = spawnSync(process.execPath, [...CLI, ...args(join(folder.path, 'first'))], { encoding: 'utf8', cwd: REPO_ROOT });
    assert.equal(complete.status, 0, complete.stderr);
    const completeJson = readFileSync(json, 'utf8');
    const completeMarkdown = readFileSync(markdown, 'utf8');
    assert.equal((JSON.parse(completeJson) as { items: unknown[] }).items.length, 72);

    // The same run with an empty cache, interrupted once its first batch of items is done: a generation cached
    // after a score is the second batch's (a batch's generations, then its scores; its items are done between).
    const cacheDir = join(folder.path, 'second');
    const child = spawn(process.execPath, [...CLI, ...args(cacheDir)], { cwd: REPO_ROOT });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const outputs = join(cacheDir, 'outputs');
    const started = Date.now();
    const secondBatchStarted = (): boolean => existsSync(outputs) && readdirSync(outputs).some((name) => {
      const lines = readFileSync(join(outputs, name), 'utf8').split('\n');
      const firstScore = lines.findIndex((line) => line.includes('"score":'));
      return firstScore >= 0 && lines.slice(firstScore).some((line) => line.includes('"generation":'));
    });
    while (!secondBatchStarted()) {
      assert.ok(Date.now() - started < 120_000, 'the run never wrote to its cache');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.kill('SIGINT');
    assert.equal(await exited, 130, stderr);

    assert.equal(readFileSync(json, 'utf8'), completeJson);
    assert.equal(readFileSync(markdown, 'utf8'), completeMarkdown);
    const partialJson = join(folder.path, 'report.partial.json');
    const partial = JSON.parse(readFileSync(partialJson, 'utf8')) as { complete: boolean; items: unknown[] };
    assert.equal(partial.complete, false);
    assert.ok(partial.items.length < 72, String(partial.items.length));
    assert.match(readFileSync(join(folder.path, 'report.partial.md'), 'utf8'), /^# Prompt or Fine-Tune/);
    assert.ok(stderr.includes(`Partial JSON report written to ${partialJson}\n`), stderr);
    assert.match(stderr, /Cancelled after \d+ items; they are cached, so the same command resumes from them\. A partial report never replaces a complete one\.\n/);

    // Resumed to the end, the run writes the complete report and removes the partial one it supersedes.
    const resumed = spawnSync(process.execPath, [...CLI, ...args(cacheDir)], { encoding: 'utf8', cwd: REPO_ROOT });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.deepEqual([existsSync(partialJson), existsSync(join(folder.path, 'report.partial.md'))], [false, false]);
    assert.equal((JSON.parse(readFileSync(json, 'utf8')) as { complete: boolean }).complete, true);
  } finally {
    folder.remove();
  }
});
