/** The command line as CI uses it: real processes, exit codes, one-line reasons, the JSON interface. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, realDataset, sharedMissing, STORIES_260K, temporaryFolder } from '../support/paths';

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts'), ...args], { encoding: 'utf8', cwd: REPO_ROOT });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const REAL: [string, number, string][] = [
  ['01-openai-toy-chat.jsonl', 5, 'chat'],
  ['03-prompt-completion-mandarin-cantonese.jsonl', 2000, 'prompt-completion'],
  ['04-alpaca-instruction-input-output.jsonl', 774, 'instruction'],
  ['05-classify-emotion-text-label-str.jsonl', 2000, 'classification'],
  ['07-gold-vs-finetuned-self-instruct.jsonl', 252, 'instruction'],
  ['11-messy-bom-crlf-rag-answers.jsonl', 5, 'input-output'],
  ['13-messy-pretty-printed-chat-es.jsonl', 24, 'chat'],
  ['14-messy-blank-lines-prompt-completion-pt.jsonl', 10, 'prompt-completion'],
];

test('inspect --json gives the stated records and schema for every real dataset, exit 0', { skip: sharedMissing }, () => {
  for (const [file, records, schema] of REAL) {
    const result = cli('inspect', realDataset(file), '--json');
    assert.equal(result.status, 0, `${file}: ${result.stderr}`);
    const json = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.equal(json.records, records, file);
    assert.equal(json.schema, schema, file);
    for (const key of ['invalid', 'errors', 'fields', 'labels', 'bounds', 'verdict']) assert.ok(key in json, `${file}: ${key}`);
  }
});

test('files with no readable record exit 1 with one line saying what they are, and no stack trace', () => {
  const folder = temporaryFolder();
  try {
    const cases: [string, string | Buffer, RegExp][] = [
      ['empty.jsonl', '', /The file is empty/],
      ['random.jsonl', Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 131 + 7) % 256)), /binary/],
      ['array.jsonl', '[{"prompt":"a","completion":"b"},{"prompt":"c","completion":"d"}]\n', /one JSON array, not JSON Lines/],
      ['lfs.jsonl', 'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 100\n', /Git LFS pointer/],
    ];
    for (const [name, content, reason] of cases) {
      const file = join(folder.path, name);
      writeFileSync(file, content);
      for (const args of [['inspect', file], ['inspect', file, '--json']]) {
        const result = cli(...args);
        assert.equal(result.status, 1, `${name} ${args.join(' ')}`);
        const lines = result.stderr.trim().split('\n');
        assert.equal(lines.length, 1, result.stderr);
        assert.match(lines[0]!, reason);
        assert.doesNotMatch(result.stderr + result.stdout, /\n\s+at /);
      }
    }
  } finally {
    folder.remove();
  }
});

test('a wrong command line exits 2 with the usage; a missing file exits 1', () => {
  const unknown = cli('inspect', 'x.jsonl', '--bogus');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /Unknown option '--bogus'/);
  const epsilon = cli('inspect', realDataset('01-openai-toy-chat.jsonl'), '--epsilon', '2');
  assert.equal(epsilon.status, 2);
  assert.match(epsilon.stderr, /^prompt-or-finetune: --epsilon must be between 0 and 1, not "2"/);
  const missing = cli('inspect', 'no-such.jsonl');
  assert.deepEqual([missing.status, missing.stderr], [1, 'prompt-or-finetune: no-such.jsonl: no such file\n']);
  const noModel = cli('run', realDataset('01-openai-toy-chat.jsonl'));
  assert.equal(noModel.status, 2);
  // Options are checked before the model loads: a model that does not exist is never reached.
  for (const [flag, value, message] of [
    ['--select', 'nearest', /^prompt-or-finetune: --select must be one of first, random, stratified, similar, not "nearest"/],
    ['--shots', '1,x', /^prompt-or-finetune: .*shots/i],
    ['--limit', '0', /^prompt-or-finetune: --limit /],
    ['--fail-on', 'sometimes', /^prompt-or-finetune: --fail-on takes measured verdicts .*not "sometimes"/],
  ] as const) {
    const bad = cli('run', realDataset('01-openai-toy-chat.jsonl'), '--model', '/no/such/model', '--offline', flag, value);
    assert.equal(bad.status, 2, `${flag} ${value}: ${bad.stderr}`);
    assert.match(bad.stderr, message);
    assert.doesNotMatch(bad.stderr, /no\/such\/model/);
  }
});

test('run writes a JSON report with a curve over the shot grid; the identical run is served from the cache', { skip: sharedMissing }, () => {
  const folder = temporaryFolder();
  try {
    const out = join(folder.path, 'report.json');
    const args = ['run', realDataset('03-prompt-completion-mandarin-cantonese.jsonl'), '--model', STORIES_260K, '--limit', '5', '--shots', '0,1,2', '--max-new-tokens', '8', '--json', out, '--cache-dir', folder.path];
    const first = cli(...args);
    assert.equal(first.status, 0, first.stderr);
    const report = JSON.parse(readFileSync(out, 'utf8')) as { curve: { k: number; n: number }[]; timing: { modelCalls: number; cachedCalls: number } };
    assert.deepEqual(report.curve.map((point) => [point.k, point.n]), [[0, 5], [1, 5], [2, 5]]);
    assert.equal(report.timing.modelCalls, 30);
    assert.match(first.stdout, /30 answers and scores from the model, 0 from the cache/);
    const second = cli(...args, '--fail-on', 'fine-tune');
    assert.match(second.stdout, /0 answers and scores from the model, 30 from the cache/);
    // stories260K writes children's stories, not Cantonese: the verdict is fine-tune, and --fail-on turns it into exit 3.
    assert.equal(second.status, 3, second.stderr);
    assert.equal(second.stderr.split('\n').filter((line) => line.startsWith('prompt-or-finetune:') && !line.startsWith('prompt-or-finetune: warning:')).join(''), 'prompt-or-finetune: the measured verdict is fine-tune, which --fail-on names.');
  } finally {
    folder.remove();
  }
});

test('an offline Hub model fails with a message that says how to point at a local one', () => {
  const result = cli('run', join(REPO_ROOT, 'examples', 'capitals.jsonl'), '--model', 'no-such-org/no-such-model', '--offline');
  assert.equal(result.status, 1);
  assert.match(result.stderr, /^prompt-or-finetune: no-such-org\/no-such-model is not in the model cache .* downloads are disabled\. .*local folder/);
});

test('run and inspect look for a Hub model in one place: the cache folder\'s models/ (as the extension does)', () => {
  const cache = join('/tmp', 'pof-no-such-cache');
  for (const command of ['run', 'inspect']) {
    const result = cli(command, join(REPO_ROOT, 'examples', 'capitals.jsonl'), '--model', 'no-such-org/no-such-model', '--cache-dir', cache, '--offline');
    assert.equal(result.status, 1, `${command}: ${result.stderr}`);
    assert.ok(result.stderr.includes(`is not in the model cache (${join(cache, 'models')}:`), `${command}: ${result.stderr}`);
  }
});

test('report paths: the dataset or a cache file is refused before the model loads; a file that cannot be written is named and the others are written', { skip: sharedMissing }, () => {
  const folder = temporaryFolder();
  try {
    const dataset = join(folder.path, 'd.jsonl');
    const original = readFileSync(join(REPO_ROOT, 'examples', 'capitals.jsonl'), 'utf8');
    writeFileSync(dataset, original);
    const cache = join(folder.path, 'cache');
    const base = ['run', dataset, '--model', STORIES_260K, '--limit', '2', '--shots', '0', '--max-new-tokens', '4', '--cache-dir', cache];
    const overDataset = cli(...base, '--json', dataset);
    assert.equal(overDataset.status, 2);
    assert.match(overDataset.stderr, new RegExp(`^prompt-or-finetune: --json ${dataset.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is the dataset itself: the report would replace it\\. Name another file\\n`));
    assert.equal(readFileSync(dataset, 'utf8'), original);
    const inCache = cli(...base, '--markdown', join(cache, 'outputs', 'x.jsonl'));
    assert.equal(inCache.status, 2);
    assert.match(inCache.stderr, /is inside .*cache\/outputs, whose files the tool manages/);
    assert.equal(cli(...base, '--fail-on', '').status, 2);
    // /dev/full takes no byte: the HTML report fails after the run, the JSON and Markdown ones are written.
    const json = join(folder.path, 'r.json');
    const markdown = join(folder.path, 'r.md');
    const full = cli(...base, '--json', json, '--html', '/dev/full', '--markdown', markdown);
    assert.equal(full.status, 1, full.stderr);
    // The verdict is on screen before the failure: a report that could not be written does not hide it.
    assert.match(full.stdout, /^Not decided: at k = 0, the only shot count measured/);
    assert.equal(full.stderr.split('\n').filter((line) => line.startsWith('prompt-or-finetune:') && !line.startsWith('prompt-or-finetune: warning:')).join('\n'),
      'prompt-or-finetune: the HTML report could not be written to /dev/full (ENOSPC: no space left on device, write); a report that was there before is left as it was. ' +
      'The answers are in the output cache: the same command with another path writes the report without running the model again');
    assert.equal((JSON.parse(readFileSync(json, 'utf8')) as { complete: boolean }).complete, true);
    assert.match(readFileSync(markdown, 'utf8'), /^# Prompt or Fine-Tune: d\\\.jsonl\n/);
    assert.deepEqual(readdirSync(folder.path).filter((name) => name.endsWith('.tmp')), []);
  } finally {
    folder.remove();
  }
});

test('an error message never carries a control character to the terminal (a name or a server text with an escape sequence)', () => {
  const result = cli('inspect', 'missing\u001b]0;retitled\u0007\u001b[2J.jsonl');
  assert.equal(result.status, 1);
  assert.equal(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(result.stderr), false, JSON.stringify(result.stderr));
  assert.match(result.stderr, /missing\uFFFD\]0;retitled\uFFFD\uFFFD\[2J\.jsonl/);
});
