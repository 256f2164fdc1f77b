/**
 * A few thousand fuzzed files through the reader and the inspector, each checked against an oracle that knows
 * what the file holds (test/support/datasetFuzz.ts); `npm run fuzz -- --cases 100000` runs many more.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkCase, fileCase, soupCase } from '../support/datasetFuzz';
import { temporaryFolder } from '../support/paths';

const folder = temporaryFolder('pof-fuzz-');
after(() => folder.remove());

let index = 0;
const agrees = async (fuzzCase: Parameters<typeof checkCase>[0]): Promise<void> => {
  const problems = await checkCase(fuzzCase, folder.path, index++ % 50);
  assert.deepEqual(problems, []);
};

test('the reader gives exactly the records, errors, warnings and counts a generated file holds', async () => {
  await fc.assert(fc.asyncProperty(fileCase('reader'), agrees), { numRuns: 1500, seed: 20261202, includeErrorInReport: true });
});

test('the inspector gives exactly the records, examples, invalid lines and duplicates a generated file holds', async () => {
  await fc.assert(fc.asyncProperty(fileCase('inspector'), agrees), { numRuns: 1000, seed: 20261203, includeErrorInReport: true });
});

test('arbitrary bytes and JSON token soup never crash the reader, and what it reads hangs together', async () => {
  await fc.assert(fc.asyncProperty(soupCase, agrees), { numRuns: 1000, seed: 20261204, includeErrorInReport: true });
});
