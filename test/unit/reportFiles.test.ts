/**
 * The command line's report files: refused before a run where they would destroy something, and written so that a
 * failure leaves what was there (a complete report, a file behind a symbolic link, its permissions).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { checkReportFiles, writeReportFiles, type ReportFile } from '../../src/cli/reportFiles';
import type { ExperimentReport } from '../../src/engine/experiment/report';
import { temporaryFolder } from '../support/paths';

const complete = { complete: true } as ExperimentReport;
const file = (path: string, render: ReportFile['render'] = () => 'new report\n'): ReportFile => ({ flag: 'json', path, what: 'JSON report', render });

test('a report replaces the old one whole, keeps its permissions, and a failed one leaves it as it was', () => {
  const folder = temporaryFolder();
  try {
    const path = join(folder.path, 'r.json');
    writeFileSync(path, 'old report\n');
    chmodSync(path, 0o600);
    assert.equal(writeReportFiles(complete, [file(path)], { cached: true }), null);
    assert.equal(readFileSync(path, 'utf8'), 'new report\n');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const failure = writeReportFiles(complete, [file(path, () => { throw new Error('render failed'); })], { cached: false });
    assert.equal(failure, `the JSON report could not be written to ${path} (render failed); a report that was there before is left as it was. ` +
      'This run kept no output cache (--no-cache): a new run computes the answers again');
    assert.equal(readFileSync(path, 'utf8'), 'new report\n');
    assert.deepEqual(readdirSync(folder.path), ['r.json']);
  } finally {
    folder.remove();
  }
});

test('a report path that is a symbolic link is written through it, the link kept', () => {
  const folder = temporaryFolder();
  try {
    const real = join(folder.path, 'real.json');
    const link = join(folder.path, 'link.json');
    writeFileSync(real, 'old\n');
    symlinkSync(real, link);
    assert.equal(writeReportFiles(complete, [file(link)], { cached: true }), null);
    assert.equal(lstatSync(link).isSymbolicLink(), true);
    assert.equal(readFileSync(real, 'utf8'), 'new report\n');
  } finally {
    folder.remove();
  }
});

test("a report whose partial file would be the dataset is refused, as is the dataset itself", () => {
  const folder = temporaryFolder();
  try {
    const dataset = join(folder.path, 'results.partial.jsonl');
    writeFileSync(dataset, '{"input":"a","output":"b"}\n');
    assert.throws(() => checkReportFiles([file(join(folder.path, 'results.jsonl'))], dataset, join(folder.path, 'cache')),
      /would put a cancelled run's partial report \(and remove it after a complete one\) at .*results\.partial\.jsonl, the dataset itself/);
    assert.throws(() => checkReportFiles([file(dataset)], dataset, join(folder.path, 'cache')), /is the dataset itself/);
    // A report beside the cache's own folders is fine.
    checkReportFiles([file(join(folder.path, 'cache', 'report.json'))], dataset, join(folder.path, 'cache'));
  } finally {
    folder.remove();
  }
});
