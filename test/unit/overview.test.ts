// The dataset view's data, on the fixture files: duplicates and conflicts with their lines, the reference
// candidates, length histograms and the problems list.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { inspectDataset } from '../../src/engine/dataset/inspect';
import { datasetOverview, histogram } from '../../src/engine/dataset/overview';
import { FIXTURES } from '../support/paths';

const fixture = (name: string): string => join(FIXTURES, 'workspace', name);

test('a file with a model output and a gold answer: both offered, the output compared, duplicates and conflicts by line', async () => {
  const overview = datasetOverview(await inspectDataset(fixture('graded.jsonl'), { collectExamples: true }));
  assert.deepEqual(overview.fields, { input: 'question', context: null, reference: 'response', label: null });
  assert.deepEqual(overview.referenceCandidates, [{ path: 'response', kind: 'model-output' }, { path: 'target', kind: 'gold' }]);
  assert.deepEqual(overview.duplicateGroups, [
    { input: '3 * 3', lines: [3, 6], conflicting: true },
    { input: '2 + 2', lines: [1, 4], conflicting: false },
  ]);
  assert.deepEqual(overview.problems, []);
  assert.equal(overview.lengths.unit, 'characters');
  assert.deepEqual(overview.lengths.reference.bins.map((bin) => [bin.from, bin.count]), [[1, 4], [2, 0], [3, 0], [4, 2], [5, 0], [6, 1], [7, 1]]);
  assert.equal(overview.recordsShown, 8);
});

test('with the gold field as reference, the conflict is gone', async () => {
  const overview = datasetOverview(await inspectDataset(fixture('graded.jsonl'), { collectExamples: true, fields: { reference: 'target' } }));
  assert.equal(overview.fields.reference, 'target');
  assert.deepEqual(overview.duplicateGroups.map((group) => group.conflicting), [false, false]);
});

test('problems: errors, warnings and unusable records in line order', async () => {
  const overview = datasetOverview(await inspectDataset(fixture('broken.jsonl'), { collectExamples: true }));
  assert.deepEqual(overview.problems.map((problem) => [problem.line, problem.column, problem.severity]), [[2, 28, 'error'], [3, 1, 'warning'], [4, 1, 'error'], [6, 1, 'unusable']]);
});

test('histogram: equal whole-number bins from the smallest to the largest value', () => {
  assert.deepEqual(histogram([]), { bins: [], count: 0 });
  assert.deepEqual(histogram([3, 3, 3]).bins, [{ from: 3, to: 4, count: 3 }]);
  const wide = histogram(Array.from({ length: 100 }, (_, index) => index));
  assert.equal(wide.bins.length, 12);
  assert.equal(wide.bins.reduce((sum, bin) => sum + bin.count, 0), 100);
  assert.deepEqual(wide.bins[0], { from: 0, to: 9, count: 9 });
});

test('a group is conflicting exactly when the inspection counts it so: references that differ once trimmed, case included', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const folder = mkdtempSync(join(tmpdir(), 'pof-overview-'));
  try {
    const file = join(folder, 'cased.jsonl');
    writeFileSync(file, [
      { input: 'Capital of France?', output: 'Paris' }, { input: 'capital of  france?', output: 'paris' },
      { input: 'Two plus two?', output: '4' }, { input: 'two plus two?', output: ' 4 ' },
    ].map((record) => JSON.stringify(record)).join('\n') + '\n');
    const inspection = await inspectDataset(file, { collectExamples: true });
    const overview = datasetOverview(inspection);
    assert.deepEqual(overview.duplicateGroups.map((group) => [group.lines, group.conflicting]), [[[1, 2], true], [[3, 4], false]]);
    assert.equal(inspection.conflictingInputs, overview.duplicateGroups.filter((group) => group.conflicting).length);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
