/**
 * `prompt-or-finetune demo`: offline, on the shipped icl-tiny and example dataset, both curves side by side
 * (similar and random examples), each verdict with its evidence, the reports written, and the way to one's own data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExperimentReport } from '../../src/engine/experiment/report';
import { REPO_ROOT, temporaryFolder } from '../support/paths';

const built = existsSync(join(REPO_ROOT, 'dist', 'webview', 'report.js')) ? false : 'the HTML report needs `npm run build` first';

test('the demo runs offline and shows the difference the examples make, with each verdict and its evidence', { skip: built }, () => {
  const cache = temporaryFolder('pof-demo-');
  try {
    const result = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts'), 'demo', '--offline', '--cache-dir', cache.path], { encoding: 'utf8', cwd: REPO_ROOT });
    assert.equal(result.status, 0, result.stderr);
    const out = result.stdout;
    assert.match(out, /^icl-classify\.jsonl \(300 records\) with examples\/models\/icl-tiny: 60 held-out items at each k\.$/m);
    assert.match(out, /^ {5}examples chosen by similarity \(BM25\) {2}examples chosen at random$/m);
    // k = 1: the similar example carries the answer; a random one does not.
    assert.match(out, /^ {2}1 {2}95\.0% {5}54\.\d% \[\d+\.\d%, \d+\.\d%\] +26\.7% {5}79\.\d% /m);
    assert.match(out, /^With similar examples: Prompting suffices/m); // depends on the rule
    assert.match(out, /^With random examples: (?!Prompting suffices)/m); // depends on the rule
    assert.match(out, /^Note \(random examples\): Examples: random \(one fixed prompt: the same examples for every item\), one draw of examples \(seed 1\)/m);
    assert.match(out, /^ {4}Evidence: k = 1, n = 60 held-out items, disagreement 5\.0%, upper 98\.8% bound 15\.3% against ε = 20\.0%; one-sided exact binomial test, Holm over 4 shot counts, p = 0\.0041\.$/m);
    assert.match(out, /--model HuggingFaceTB\/SmolLM2-135M-Instruct --select similar/);
    for (const select of ['similar', 'random']) {
      const report = JSON.parse(readFileSync(join(REPO_ROOT, '.cache', 'demo', `report-${select}.json`), 'utf8')) as ExperimentReport;
      assert.equal(report.settings.selection, select);
      assert.equal(report.model.id, join('examples', 'models', 'icl-tiny'));
      assert.ok(existsSync(join(REPO_ROOT, '.cache', 'demo', `report-${select}.html`)));
    }
  } finally {
    cache.remove();
  }
});

test('run warns on stderr, with how many, when references are longer than the answer cap', { skip: built }, () => {
  const cache = temporaryFolder('pof-warn-');
  try {
    const result = spawnSync(process.execPath, [
      '--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts'), 'run', join(REPO_ROOT, 'examples', 'icl-classify.jsonl'),
      '--model', join(REPO_ROOT, 'examples', 'models', 'icl-tiny'), '--shots', '0', '--limit', '10', '--max-new-tokens', '1', '--cache-dir', cache.path, '--offline',
    ], { encoding: 'utf8', cwd: REPO_ROOT });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /^prompt-or-finetune: warning: [1-9]\d? of 10 held-out references are longer than the answer cap of 1 tokens \(setting\): their outputs are cut/m);
  } finally {
    cache.remove();
  }
});
