/**
 * The reader and inspector on hostile or unlucky files: a record the tool cannot handle is one error on its
 * line, never the end of the file, and every message says what is really wrong.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { inspectDataset, type InspectOptions } from '../../src/engine/dataset/inspect';
import { MAX_LINE_BYTES, MAX_NESTING_DEPTH, scanJsonLinesText, toOneRecordPerLine } from '../../src/engine/dataset/jsonLines';
import { valueAt } from '../../src/engine/dataset/schema';
import { LIMITS } from '../../src/cli/inspectCommand';
import { REPO_ROOT, realDataset, sharedMissing, STORIES_260K, temporaryFolder } from '../support/paths';

async function inspectText(content: string | Buffer, options: InspectOptions = {}): Promise<Awaited<ReturnType<typeof inspectDataset>>> {
  const folder = temporaryFolder();
  try {
    const file = join(folder.path, 'data.jsonl');
    writeFileSync(file, content);
    return await inspectDataset(file, options);
  } finally {
    folder.remove();
  }
}

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts'), ...args], { encoding: 'utf8', cwd: REPO_ROOT, timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const records = (count: number, from = 0): string[] =>
  Array.from({ length: count }, (_, i) => JSON.stringify({ prompt: `p${from + i}`, completion: `c${from + i}` }));

test('a record nested 5,000 levels deep is one error on its line; the records around it are read', async () => {
  const deepArray = `{"prompt":${'['.repeat(5000)}${']'.repeat(5000)},"completion":"x"}`;
  const deepObject = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
  const lines = [...records(20), deepArray, ...records(20, 20), deepObject, ...records(5, 40)];
  const result = await inspectText(lines.join('\n') + '\n');
  assert.equal(result.records, 45);
  assert.equal(result.invalid, 2);
  const message = `record is nested more than ${MAX_NESTING_DEPTH} levels deep; skipped`;
  assert.deepEqual(result.errors, [{ line: 21, column: 1, message }, { line: 42, column: 1, message }]);
  assert.equal(result.usable, 45);
  // The same in an editor's text, and a value just at the limit is read.
  const atLimit = `{"prompt":${'['.repeat(MAX_NESTING_DEPTH - 1)}"deep"${']'.repeat(MAX_NESTING_DEPTH - 1)},"completion":"x"}`;
  const seen: number[] = [];
  const errors: number[] = [];
  scanJsonLinesText([deepArray, atLimit].join('\n'), { onRecord: (_, span) => seen.push(span.line), onError: (problem) => errors.push(problem.line), onWarning: () => undefined });
  assert.deepEqual([seen, errors], [[2], [1]]);
});

test('inspect exits 0 on a file with one deeply nested line, with no stack trace', () => {
  const folder = temporaryFolder();
  try {
    const file = join(folder.path, 'deep.jsonl');
    writeFileSync(file, [...records(10), `{"prompt":${'['.repeat(5000)}${']'.repeat(5000)},"completion":"x"}`, ...records(10, 10)].join('\n') + '\n');
    const result = cli('inspect', file, '--json');
    assert.equal(result.status, 0, result.stderr);
    const json = JSON.parse(result.stdout) as { records: number; invalid: number; errors: { line: number }[] };
    assert.deepEqual([json.records, json.invalid, json.errors.map((error) => error.line)], [20, 1, [11]]);
  } finally {
    folder.remove();
  }
});

test('run goes on past a deeply nested line too', { skip: sharedMissing }, () => {
  const folder = temporaryFolder();
  try {
    const file = join(folder.path, 'deep.jsonl');
    const lines = readFileSync(realDataset('03-prompt-completion-mandarin-cantonese.jsonl'), 'utf8').split('\n').slice(0, 12);
    lines.splice(5, 0, `{"prompt":${'['.repeat(5000)}${']'.repeat(5000)},"completion":"x"}`);
    writeFileSync(file, lines.join('\n') + '\n');
    const out = join(folder.path, 'report.json');
    const result = cli('run', file, '--model', STORIES_260K, '--limit', '2', '--shots', '0', '--max-new-tokens', '2', '--no-cache', '--json', out);
    assert.equal(result.status, 0, result.stderr);
    const report = JSON.parse(readFileSync(out, 'utf8')) as { dataset: { records: number; invalid: number }; items: unknown[] };
    assert.deepEqual([report.dataset.records, report.dataset.invalid, report.items.length], [12, 1, 2]);
  } finally {
    folder.remove();
  }
});

test('one NUL byte after good records is an error on its line, not a binary file', async () => {
  const lines = [...records(200), 'garbage\u0000here', JSON.stringify({ prompt: 'nul\u0000inside', completion: 'y' }).replace('\\u0000', '\u0000'), ...records(3, 200)];
  const result = await inspectText(lines.join('\n') + '\n');
  assert.equal(result.notJsonLines, null);
  assert.equal(result.records, 204);
  assert.deepEqual(result.errors, [{ line: 201, column: 1, message: 'line holds a NUL byte (binary data?), not a record' }]);
  assert.deepEqual(result.warnings, [{ line: 202, column: 1, message: 'raw control character (e.g. a tab) inside a string, which JSON forbids; read as an escape' }]);
  assert.equal(result.examples[200]!.input, 'nul\u0000inside');
});

test('a file whose start is mostly binary is still called binary, and UTF-16 is named', async () => {
  const binaryAfterText = Buffer.concat([Buffer.from(records(2).join('\n') + '\n'), Buffer.alloc(8000, 0)]);
  assert.equal((await inspectText(binaryAfterText)).notJsonLines, 'The file is binary (it holds NUL bytes), not JSON Lines text.');
  const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(records(5).join('\n') + '\n', 'utf16le')]);
  assert.equal((await inspectText(utf16)).notJsonLines, 'The file is UTF-16 text, not UTF-8: convert it, e.g. `iconv -f UTF-16 -t UTF-8 file.jsonl`.');
});

test('CR-only line ends (classic Mac) are read as line breaks, with a warning', async () => {
  const lines = [...records(3), '{"prompt": "bad"', ...records(2, 3)];
  const result = await inspectText(lines.join('\r') + '\r');
  assert.equal(result.notJsonLines, null);
  assert.equal(result.records, 5);
  assert.deepEqual(result.errors.map((error) => error.line), [4]);
  assert.deepEqual(result.warnings, [{ line: 1, column: 1, message: 'line ends are CR only (classic Mac OS): read as line breaks' }]);
  assert.deepEqual([result.scan.lines, result.scan.endsWithNewline], [6, true]);
  const seen: number[] = [];
  const warnings: string[] = [];
  scanJsonLinesText(records(4).join('\r'), { onRecord: (_, span) => seen.push(span.line), onError: () => undefined, onWarning: (problem) => warnings.push(problem.message) });
  assert.deepEqual([seen, warnings], [[1, 2, 3, 4], ['line ends are CR only (classic Mac OS): read as line breaks']]);  // The quick fix that rewrites pretty-printed records one per line keeps CR-only line ends and every line.
  assert.equal(toOneRecordPerLine('{"a": 1}\r{\r  "b": 2\r}\rnot json\r'), '{"a": 1}\r{"b":2}\rnot json\r');
});

test('object property names are never chat roles or fields', async () => {
  const chat = (role: string): string => JSON.stringify({ messages: [{ role, content: 'hi' }, { role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }] });
  const result = await inspectText([chat('constructor'), chat('toString'), chat('__proto__'), chat('hasOwnProperty'), chat('system')].join('\n') + '\n');
  assert.equal(result.schema, 'chat');
  assert.deepEqual(result.schemaProblems.map((problem) => [problem.line, problem.message]), [1, 2, 3, 4].map((line) => [line, 'messages[0] has no valid role (system, user, assistant or tool)']));
  assert.equal(result.usable, 1);
  assert.deepEqual(result.examples[0]!.messages, [{ role: 'system', content: 'hi' }, { role: 'user', content: 'q' }]);

  const proto = await inspectText(records(3).join('\n') + '\n', { fields: { input: '__proto__' } });
  assert.deepEqual(proto.schemaProblems.map((problem) => problem.message), ['no "__proto__" field', 'no "__proto__" field', 'no "__proto__" field']);
  assert.equal(proto.usable, 0);
  // A record that really has such a key is read from it.
  const own = await inspectText('{"__proto__":"real","constructor":"c","completion":"x"}\n', { fields: { input: '__proto__', reference: 'constructor' } });
  assert.deepEqual(own.examples.map((example) => [example.input, example.reference]), [['real', 'c']]);
  assert.equal(valueAt({ a: { b: 1 } }, 'a.toString'), undefined);
  assert.equal(valueAt([[5]], '0.0'), 5);
});

test('a file whose only line is too long says so, with the limit, not "empty"', async () => {
  const folder = temporaryFolder();
  try {
    const file = join(folder.path, 'long.jsonl');
    const descriptor = openSync(file, 'w');
    const block = Buffer.alloc(1024 * 1024, 0x61);
    writeSync(descriptor, '{"prompt":"');
    for (let written = 0; written <= MAX_LINE_BYTES; written += block.length) writeSync(descriptor, block);
    writeSync(descriptor, '","completion":"x"}\n');
    closeSync(descriptor);
    const result = await inspectDataset(file);
    assert.equal(result.notJsonLines, 'No line of the file could be read: the only line is longer than 64 MiB, the longest line this tool reads.');
    assert.deepEqual([result.records, result.invalid], [0, 1]);
    assert.deepEqual(result.errors, [{ line: 1, column: 1, message: 'line is longer than 64 MiB; skipped' }]);
  } finally {
    folder.remove();
  }
});

test('invalid counts lines, as the README defines it: 100,000 lines of "{" are 100,000 invalid lines', async () => {
  const result = await inspectText('{\n'.repeat(100_000));
  assert.deepEqual([result.records, result.invalid], [0, 100_000]);
  // A broken pretty-printed record is one error but as many invalid lines as it spans (blank lines aside).
  const broken = await inspectText('{"prompt": "a",\n\n  "completion": "b",\n}\n' + records(2).join('\n') + '\n');
  assert.deepEqual([broken.records, broken.invalid, broken.errors.length], [2, 3, 1]);
  // An unclosed record whose indented lines belong to it: every one of them is invalid.
  const tail = await inspectText('{"prompt":"a","completion":"b"}\n{"prompt": "x",\n  "oops"\n  42\n');
  assert.deepEqual([tail.records, tail.invalid, tail.errors.length], [1, 3, 1]);
  const pretty = await inspectText('{"prompt": "a",\n  "completion": "b"\n}\n\n' + records(1).join('\n') + '\n');
  assert.deepEqual([pretty.records, pretty.invalid], [2, 0]);
});

test('a FIFO named *.jsonl is refused with a clear message instead of blocking', { skip: process.platform === 'win32' && 'no FIFOs' }, () => {
  const folder = temporaryFolder();
  try {
    const fifo = join(folder.path, 'pipe.jsonl');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const result = cli('inspect', fifo);
    assert.deepEqual([result.status, result.stderr], [1, `prompt-or-finetune: ${fifo} is not a regular file (a pipe, socket or device): save the data to a file first\n`]);
  } finally {
    folder.remove();
  }
});

test('inspect prints no control character from the data to the terminal', () => {
  const folder = temporaryFolder();
  try {
    const file = join(folder.path, 'labels.jsonl');
    const labels = ['good', 'evil\u001b]0;pwned\u0007', 'two\nlines'];
    writeFileSync(file, Array.from({ length: 6 }, (_, i) => JSON.stringify({ text: `t${i}`, label: labels[i % 3] })).join('\n') + '\n');
    const result = cli('inspect', file);
    assert.equal(result.status, 0, result.stderr);
    assert.ok(result.stdout.includes('labels: good 2, evil\uFFFD]0;pwned\uFFFD 2, two\uFFFDlines 2'), result.stdout);
    assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f]/.test(result.stdout), JSON.stringify(result.stdout));
  } finally {
    folder.remove();
  }
});

test('numeric flags have a maximum and give a one-line error, exit 2', { skip: sharedMissing }, () => {
  const file = join(REPO_ROOT, 'examples', 'capitals.jsonl');
  const cases: [string[], string][] = [
    [['inspect', file, '--context-length', '1e12'], '--context-length must be a whole number of tokens from 1 to 16,777,216, not "1e12"'],
    [['inspect', file, '--input-dimension', '99999999'], '--input-dimension must be a whole number from 1 to 1,048,576, not "99999999"'],
    [['run', file, '--model', STORIES_260K, '--limit', '1e9'], '--limit must be a whole number from 1 to 1,000,000, not "1e9"'],
    [['run', file, '--model', STORIES_260K, '--seed', '1e20'], '--seed must be a whole number from 0 to 4,294,967,295, not "1e20"'],
    [['run', file, '--model', 'x', '--threads', '100000'], '--threads must be a whole number from 1 to 1,024, not "100000"'],
  ];
  for (const [args, message] of cases) {
    const result = cli(...args);
    assert.equal(result.status, 2, args.join(' '));
    assert.equal(result.stderr.split('\n')[0], `prompt-or-finetune: ${message}`);
  }
});

test('every numeric setting has a maximum, the same as its command-line flag', () => {
  type Schema = { type: string | string[]; maximum?: number; exclusiveMaximum?: number; items?: Schema };
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { contributes: { configuration: { properties: Record<string, Schema> } } };
  const numeric = (schema: Schema): boolean => [schema.type].flat().some((type) => type === 'number' || type === 'integer');
  const unbounded = Object.entries(manifest.contributes.configuration.properties)
    .flatMap(([name, schema]) => (schema.items ? [[`${name}[]`, schema.items] as const] : [[name, schema] as const]))
    .filter(([, schema]) => numeric(schema) && schema.maximum === undefined && schema.exclusiveMaximum === undefined)
    .map(([name]) => name);
  assert.deepEqual(unbounded, []);
  const properties = manifest.contributes.configuration.properties;
  assert.deepEqual(
    [properties['promptOrFinetune.contextLength']!.maximum, properties['promptOrFinetune.inputDimension']!.maximum, properties['promptOrFinetune.heldOut']!.maximum, properties['promptOrFinetune.seed']!.maximum, properties['promptOrFinetune.threads']!.maximum],
    [LIMITS.contextLength, LIMITS.inputDimension, LIMITS.heldOut, LIMITS.seed, LIMITS.threads],
  );
});
