/** The JSONL reader on broken and unusual input: exact lines, columns and reasons. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspectDataset } from '../../src/engine/dataset/inspect';
import { toOneRecordPerLine } from '../../src/engine/dataset/jsonLines';
import { temporaryFolder } from '../support/paths';

async function inspectText(content: string | Buffer): Promise<Awaited<ReturnType<typeof inspectDataset>>> {
  const folder = temporaryFolder();
  try {
    const file = join(folder.path, 'data.jsonl');
    writeFileSync(file, content);
    return await inspectDataset(file);
  } finally {
    folder.remove();
  }
}

test('a malformed line is reported with its line and column, and reading goes on', async () => {
  const result = await inspectText('{"prompt":"a","completion":"b"}\n{"prompt":"c" "completion":"d"}\n{"prompt":"e","completion":"f"}\n');
  assert.equal(result.records, 2);
  assert.equal(result.invalid, 1);
  assert.deepEqual(result.errors, [{ line: 2, column: 15, message: "not valid JSON: Expected ',' or '}' after property value" }]);
});

test('a truncated last line is an error where it breaks off', async () => {
  const cut = await inspectText('{"prompt":"a","completion":"b"}\n{"prompt":"c","compl');
  assert.equal(cut.records, 1);
  assert.deepEqual(cut.errors, [{ line: 2, column: 21, message: 'not valid JSON: Unterminated string' }]);
  const open = await inspectText('{"prompt":"a","completion":"b"}\n{"prompt":"c",\n');
  assert.deepEqual(open.errors, [{ line: 2, column: 1, message: 'a record opened here is never closed (1 lines to the end of the file)' }]);
});

test('lines that are not objects are named for what they are', async () => {
  const result = await inspectText('{"text":"a","label":"x"}\n42\n"just a string"\nnot json at all\n}\n');
  assert.equal(result.records, 1);
  assert.deepEqual(result.errors.map((error) => [error.line, error.message]), [
    [2, 'line is a JSON number, not an object'],
    [3, 'line is a JSON string, not an object'],
    [4, 'not a JSON object: Unexpected token \'o\', "not json at all" is not valid JSON'.replace(/, "not json at all" is not valid JSON$/, '')],
    [5, "stray '}' with no record open"],
  ]);
});

test('a raw tab inside a string is read, with a warning', async () => {
  const result = await inspectText('{"prompt":"a\tb","completion":"c"}\n');
  assert.equal(result.records, 1);
  assert.equal(result.examples[0]!.input, 'a\tb');
  assert.deepEqual(result.warnings, [{ line: 1, column: 1, message: 'raw control character (e.g. a tab) inside a string, which JSON forbids; read as an escape' }]);
});

test('a duplicate key is reported with its column; the last value is used', async () => {
  const result = await inspectText('{"text":"a","label":"x","label":"y"}\n');
  assert.equal(result.records, 1);
  assert.deepEqual(result.warnings, [{ line: 1, column: 25, message: 'key "label" appears more than once in this record; the last value is used' }]);
  assert.equal(result.examples[0]?.reference ?? JSON.stringify(result.schemaProblems), 'y');
});

test('an empty file, random bytes, a JSON array and a Git LFS pointer are diagnosed in one sentence', async () => {
  const cases: [string | Buffer, string][] = [
    ['', 'The file is empty: it holds no records.'],
    ['\n\n  \n', 'The file is empty: it holds no records.'],
    [Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256)), 'The file is binary (it holds NUL bytes), not JSON Lines text.'],
    ['[\n  {"prompt": "a", "completion": "b"},\n  {"prompt": "c", "completion": "d"}\n]\n', 'The file is one JSON array, not JSON Lines (one object per line): convert it, e.g. `jq -c ".[]" file.json > file.jsonl`.'],
    ['[{"prompt": "a", "completion": "b"}, {"prompt": "c", "completion": "d"}]', 'The file is one JSON array, not JSON Lines (one object per line): convert it, e.g. `jq -c ".[]" file.json > file.jsonl`.'],
    ['version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n', 'This is a Git LFS pointer, not the data: run `git lfs pull` to fetch the real file.'],
  ];
  for (const [content, diagnosis] of cases) {
    const result = await inspectText(content);
    assert.equal(result.notJsonLines, diagnosis, JSON.stringify(content).slice(0, 40));
    assert.equal(result.records, 0);
  }
});

test('lines that are arrays of objects are read as records with numbered fields', async () => {
  const lines = [
    '[{"model":"ada:ft","prompt":"2+2="},{"choices":[{"text":"4"}]}]',
    '[{"model":"ada:ft","prompt":"3+3="},{"choices":[{"text":"6"}]}]',
  ];
  const result = await inspectText(lines.join('\n') + '\n');
  assert.equal(result.records, 2);
  assert.equal(result.schema, 'input-output');
  assert.deepEqual([result.fields.input, result.fields.reference], ['0.prompt', '1.choices.0.text']);
  assert.deepEqual(result.examples.map((example) => [example.input, example.reference]), [['2+2=', '4'], ['3+3=', '6']]);
  assert.match(result.warnings[0]!.message, /^2 lines are JSON arrays, not objects/);
});

test('very long lines and any Unicode are read whole', async () => {
  const long = 'ж🙂'.repeat(300_000);
  const result = await inspectText(`{"prompt":"${long}","completion":"é"}\r\n{"prompt":"x","completion":"y"}`);
  assert.equal(result.records, 2);
  assert.equal(result.examples[0]!.input.length, long.length);
  assert.equal(result.characters.input.max, long.length);
});

test('an unclosed brace does not swallow the rest of the file', async () => {
  const rest = Array.from({ length: 20_005 }, (_, i) => `{"prompt":"p${i}","completion":"c${i}"}`);
  const result = await inspectText(['{"prompt": "never closed", "completion": {', ...rest].join('\n'));
  assert.equal(result.records, 20_005);
  assert.deepEqual(result.errors.map((error) => error.line), [1]);
  assert.equal(result.errors[0]!.message, "'{' opens a record that is not closed before line 2");
});

test('an unclosed record in the middle costs only its own line, also when nothing after it is a record', async () => {
  const records = Array.from({ length: 500 }, (_, i) => `{"prompt":"p${i}","completion":"c${i}"}`);
  records.splice(3, 0, '{"prompt":"x","completion":["a"');
  const middle = await inspectText(records.join('\n') + '\n');
  assert.equal(middle.records, 500);
  assert.deepEqual(middle.errors, [{ line: 4, column: 32, message: "'{' opens a record that is not closed before line 5" }]);
  // Indented lines after it belong to the broken record: one error, not one a line (no "Delete line" on data).
  const tail = await inspectText('{"prompt":"a","completion":"b"}\n{"prompt": "x",\n  "oops"\n  42\n');
  assert.equal(tail.records, 1);
  assert.deepEqual(tail.errors.map((error) => [error.line, error.message]), [[2, 'a record opened here is never closed (3 lines to the end of the file)']]);
  // A whole record at the margin after it is still read.
  const after = await inspectText('{"prompt": "x",\n  "oops"\n{"prompt":"a","completion":"b"}\n');
  assert.equal(after.records, 1);
  assert.deepEqual(after.errors.map((error) => error.line), [1]);
});

test('a pretty-printed record with its inner objects at the left margin is one record', async () => {
  const text = '{"messages": [\n{"role": "user", "content": "Hi"},\n{"role": "assistant", "content": "Hello"}\n]}\n';
  const result = await inspectText(text);
  assert.deepEqual([result.records, result.invalid, result.usable, result.scan.multiLineRecords], [1, 0, 1, 1]);
});

test('a broken pretty-printed record is one error, and many unclosed lines are read in linear time', async () => {
  const trailing = await inspectText('{"prompt": "a",\n  "completion": "b",\n}\n{"prompt":"c","completion":"d"}\n');
  assert.equal(trailing.records, 1);
  assert.deepEqual(trailing.errors.map((error) => error.line), [1]);
  assert.match(trailing.errors[0]!.message, /^a record spanning lines 1–3 is not valid JSON/);
  const openers = Array.from({ length: 5000 }, (_, i) => `{"p": "x${i}", "c": [`).join('\n') + '\n';
  const started = Date.now();
  const result = await inspectText(openers);
  assert.equal(result.records, 0);
  assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  assert.deepEqual(result.errors.map((error) => error.line), [1, 2]);
});

test('columns point at the offending character, also where V8 does not say, and no data is quoted', async () => {
  const result = await inspectText('\uFEFF  {"prompt": NaN, "completion": "x"}\n{"prompt": "secret text" "completion": "y"}\n');
  assert.deepEqual(result.errors, [
    { line: 1, column: 14, message: "not valid JSON: Unexpected token 'N'" },
    { line: 2, column: 26, message: "not valid JSON: Expected ',' or '}' after property value" },
  ]);
});

test('a line that is not UTF-8 is read with a warning', async () => {
  const latin1 = Buffer.concat([Buffer.from('{"prompt":"caf'), Buffer.from([0xe9]), Buffer.from('","completion":"x"}\n')]);
  const result = await inspectText(latin1);
  assert.equal(result.records, 1);
  assert.deepEqual(result.warnings, [{ line: 1, column: 1, message: 'line is not valid UTF-8 (another encoding?); undecodable bytes read as U+FFFD' }]);
});

test('rewriting pretty-printed records one per line keeps their text exactly, numbers included', () => {
  const text = '{"id": 12345678901234567890,\n  "score": 1.0,\n  "text": "a  b\\n"\n}\n{"id": 2, "score": 2.50, "text": "c"}\nnot json\n';
  assert.equal(toOneRecordPerLine(text), '{"id":12345678901234567890,"score":1.0,"text":"a  b\\n"}\n{"id": 2, "score": 2.50, "text": "c"}\nnot json\n');
});

test('chat records with tool calls, function messages and multi-part content are read', async () => {
  const record = {
    messages: [
      { role: 'system', content: 'You control a drone.' },
      { role: 'user', content: [{ type: 'text', text: 'Take off ' }, { type: 'text', text: 'now.' }] },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'takeoff', arguments: '{"altitude": 10}' } }] },
    ],
  };
  const legacy = { messages: [{ role: 'user', content: 'Weather?' }, { role: 'assistant', content: null, function_call: { name: 'weather', arguments: '{}' } }, { role: 'function', name: 'weather', content: 'sunny' }, { role: 'assistant', content: 'Sunny.' }] };
  const result = await inspectText(`${JSON.stringify(record)}\n${JSON.stringify(legacy)}\n`);
  assert.equal(result.schema, 'chat');
  assert.equal(result.usable, 2);
  assert.equal(result.examples[0]!.reference, 'takeoff({"altitude": 10})');
  assert.equal(result.examples[0]!.input, 'system: You control a drone.\nuser: Take off now.');
  assert.equal(result.examples[1]!.input, 'user: Weather?\nassistant: weather({})\ntool: sunny');
  assert.equal(result.examples[1]!.reference, 'Sunny.');
});

test('evaluation logs with the input inside a `doc` object and the outputs beside it are mapped', async () => {
  const line = (id: number): string => JSON.stringify({ doc_id: id, doc: { question: `q${id}`, id: `x${id}` }, target: `gold${id}`, filtered_resps: [`model${id}`], resps: [[`model${id}`]] });
  const result = await inspectText(`${line(1)}\n${line(2)}\n`);
  assert.equal(result.schema, 'input-output');
  assert.equal(result.fields.input, 'doc.question');
  assert.deepEqual(result.referenceCandidates.map((candidate) => `${candidate.path}:${candidate.kind}`), ['filtered_resps:model-output', 'resps:model-output', 'target:gold']);
  assert.deepEqual(result.examples.map((example) => [example.input, example.reference]), [['q1', 'model1'], ['q2', 'model2']]);
});

test('reference fields named in other ways are found, model outputs before gold answers', async () => {
  const line = (i: number): string => JSON.stringify({ question: `What is ${i} + ${i}?`, gold_answer: `${2 * i}`, model_prediction: `${2 * i + (i % 2)}` });
  const result = await inspectText(`${line(1)}\n${line(2)}\n${line(3)}\n`);
  assert.equal(result.schema, 'input-output');
  assert.deepEqual(result.referenceCandidates, [{ path: 'model_prediction', kind: 'model-output' }, { path: 'gold_answer', kind: 'gold' }]);
  assert.equal(result.fields.reference, 'model_prediction');
});
