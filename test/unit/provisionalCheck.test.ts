// First answer first: the provisional check reads whole lines from the start of a file only, and says how much.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkFileHead } from '../../src/engine/provisionalCheck';
import { DEFAULT_SETTINGS } from '../../src/engine/settings';
import { temporaryFolder } from '../support/paths';

test('the head of a large file: whole lines only, counted as records, the whole file named', async () => {
  const folder = temporaryFolder();
  try {
    const file = join(folder.path, 'big.jsonl');
    const line = (i: number): string => `${JSON.stringify({ question: `Question number ${i}?`, answer: `Answer ${i}` })}\n`;
    const lines = Array.from({ length: 5000 }, (_, i) => line(i));
    writeFileSync(file, lines.join(''));
    const provisional = await checkFileHead(file, DEFAULT_SETTINGS, { headBytes: 4096 });
    assert.ok(provisional);
    let whole = 0;
    let count = 0;
    while (whole + lines[count]!.length <= 4096) whole += lines[count++]!.length;
    assert.equal(provisional.bytesRead, whole);
    assert.equal(provisional.totalBytes, lines.join('').length);
    assert.equal(provisional.check.inspection.records, count);
    assert.equal(provisional.check.inspection.invalid, 0);
    assert.equal(provisional.check.inspection.file, file);
    assert.equal(provisional.check.inspection.schema, 'input-output');
    assert.ok(provisional.check.estimate);
  } finally {
    folder.remove();
  }
});

test('a file smaller than the head is read whole, last line without a newline included', async () => {
  const folder = temporaryFolder();
  try {
    const file = join(folder.path, 'small.jsonl');
    writeFileSync(file, '{"question": "a?", "answer": "b"}\n{"question": "c?", "answer": "d"}');
    const provisional = await checkFileHead(file, DEFAULT_SETTINGS);
    assert.equal(provisional?.check.inspection.records, 2);
    assert.equal(provisional?.bytesRead, provisional?.totalBytes);
  } finally {
    folder.remove();
  }
});
