// The extension host's order of dataset work (src/extension/scanQueue.ts): heads at once, whole scans one at a
// time and only when no head is being read, a failing scan never stopping the next.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ScanQueue } from '../../src/extension/scanQueue';

/** A promise and the function that settles it, so a test decides when each piece of work ends. */
function gate(): { promise: Promise<void>; open: () => void; fail: (error: Error) => void } {
  let open!: () => void;
  let fail!: (error: Error) => void;
  const promise = new Promise<void>((resolve, reject) => { open = resolve; fail = reject; });
  return { promise, open, fail };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('a whole scan waits for the heads in flight, and scans run one at a time in the order queued', async () => {
  const queue = new ScanQueue();
  const events: string[] = [];
  const head = gate();
  const firstScan = gate();
  const answer = queue.head(async () => { events.push('head start'); await head.promise; events.push('head end'); return 'first answer'; });
  queue.whole('a.jsonl', async () => { events.push('scan a start'); await firstScan.promise; events.push('scan a end'); });
  queue.whole('b.jsonl', async () => { events.push('scan b start'); events.push('scan b end'); });
  await turn();
  assert.deepEqual(events, ['head start']);
  head.open();
  assert.equal(await answer, 'first answer');
  await turn();
  assert.deepEqual(events, ['head start', 'head end', 'scan a start']);
  // A head started while a scan runs is not held back by it.
  const late = queue.head(async () => { events.push('late head'); return 2; });
  assert.equal(await late, 2);
  firstScan.open();
  await queue.idle();
  assert.deepEqual(events, ['head start', 'head end', 'scan a start', 'late head', 'scan a end', 'scan b start', 'scan b end']);
});

test('a file waiting for its scan is queued once; once its scan started it can be queued again', async () => {
  const queue = new ScanQueue();
  const runs: string[] = [];
  const blocker = gate();
  queue.whole('blocker', () => blocker.promise);
  queue.whole('a.jsonl', async () => { runs.push('a'); });
  queue.whole('a.jsonl', async () => { runs.push('a again'); });
  assert.equal(queue.isQueued('a.jsonl'), true);
  blocker.open();
  await queue.idle();
  assert.deepEqual(runs, ['a']);
  assert.equal(queue.isQueued('a.jsonl'), false);
  queue.whole('a.jsonl', async () => { runs.push('a after a change'); });
  await queue.idle();
  assert.deepEqual(runs, ['a', 'a after a change']);
});

test('a failing scan or head does not stop the scans after it', async () => {
  const queue = new ScanQueue();
  const runs: string[] = [];
  await assert.rejects(queue.head(() => Promise.reject(new Error('unreadable head'))), /unreadable head/);
  queue.whole('broken.jsonl', () => Promise.reject(new Error('cannot read')));
  queue.whole('thrown.jsonl', () => { throw new Error('thrown before any await'); });
  queue.whole('fine.jsonl', async () => { runs.push('fine'); });
  await queue.idle();
  assert.deepEqual(runs, ['fine']);
  assert.equal(queue.isQueued('broken.jsonl'), false);
});
