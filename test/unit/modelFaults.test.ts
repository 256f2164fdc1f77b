/**
 * The model path under faults, through the real command line: a copy of stories260K with one file damaged,
 * and wrong flag values. Each fault gives one line that names the file and says what to do, exit 1 (2 for a
 * wrong flag value, which the command line treats as usage), no stack trace and no tensor dump, and leaves
 * no output in the cache.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, sharedMissing, STORIES_260K, temporaryFolder } from '../support/paths';

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts'), ...args], { encoding: 'utf8', cwd: REPO_ROOT });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Lines of model output in the cache folder's output files (0 when there is no such file). */
function cachedLines(cacheDir: string): number {
  const outputs = join(cacheDir, 'outputs');
  if (!existsSync(outputs)) return 0;
  return readdirSync(outputs)
    .filter((file) => file.endsWith('.jsonl'))
    .reduce((sum, file) => sum + readFileSync(join(outputs, file), 'utf8').split('\n').filter(Boolean).length, 0);
}

interface TokenizerJson {
  model: { vocab: Record<string, number>; merges: unknown[] };
  added_tokens: { id: number; content: string; special: boolean }[];
}

function editTokenizer(folder: string, edit: (tokenizer: TokenizerJson) => void): void {
  const file = join(folder, 'tokenizer.json');
  const tokenizer = JSON.parse(readFileSync(file, 'utf8')) as TokenizerJson;
  edit(tokenizer);
  writeFileSync(file, JSON.stringify(tokenizer));
}

const RECORDS = ['Once upon a time', 'The little dog', 'She saw a bird', 'He ran to the park', 'The sun was hot', 'They played a game'];

interface Fault {
  name: string;
  /** Damages the model folder copy (or returns another --model value). */
  damage?: (model: string) => string | void;
  /** Extra command-line arguments. */
  args?: string[];
  /** The records' prompts, when the fault is in the data. */
  prompts?: string[];
  status: 1 | 2;
  message: (model: string) => RegExp;
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const FAULTS: Fault[] = [
  {
    name: 'missing folder',
    damage: (model) => join(model, 'no-such-folder'),
    status: 1,
    message: (model) => new RegExp(`^Model folder not found: ${escape(model)}\\. Point the model setting at a folder in transformers\\.js layout`),
  },
  {
    name: 'missing tokenizer',
    damage: (model) => rmSync(join(model, 'tokenizer.json')),
    status: 1,
    message: (model) => new RegExp(`^The model folder ${escape(model)} is missing tokenizer\\.json\\. A model folder in transformers\\.js layout .* needs all of them\\.$`),
  },
  {
    name: 'truncated model.onnx',
    damage: (model) => {
      const file = join(model, 'onnx', 'model.onnx');
      writeFileSync(file, readFileSync(file).subarray(0, 500_000));
    },
    status: 1,
    message: (model) => new RegExp(`^${escape(join(model, 'onnx', 'model.onnx'))} is not a valid ONNX model \\(.*\\)\\. The file may be truncated or corrupt .*: replace it with a fresh copy of the model\\.$`),
  },
  {
    name: 'random bytes as model.onnx',
    damage: (model) => writeFileSync(join(model, 'onnx', 'model.onnx'), Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 7919 + 13) % 251))),
    status: 1,
    message: (model) => new RegExp(`^${escape(join(model, 'onnx', 'model.onnx'))} is not a valid ONNX model \\(.*\\)\\. The file may be truncated or corrupt`),
  },
  {
    name: 'a Git LFS pointer as model.onnx',
    damage: (model) => writeFileSync(join(model, 'onnx', 'model.onnx'), 'version https://git-lfs.github.com/spec/v1\noid sha256:4d7a\nsize 1226445\n'),
    status: 1,
    message: (model) => new RegExp(`^${escape(join(model, 'onnx', 'model.onnx'))} is a Git LFS pointer, not the model weights\\. Fetch the real file \\(git lfs pull\\)`),
  },
  {
    name: 'empty config.json',
    damage: (model) => writeFileSync(join(model, 'config.json'), ''),
    status: 1,
    message: (model) => new RegExp(`^${escape(join(model, 'config.json'))} is empty: replace it with the model's original config\\.json\\.$`),
  },
  {
    name: 'config.json cut short',
    damage: (model) => {
      const file = join(model, 'config.json');
      writeFileSync(file, readFileSync(file, 'utf8').slice(0, 100));
    },
    status: 1,
    message: (model) => new RegExp(`^${escape(join(model, 'config.json'))} is not valid JSON \\(line 7, column 3: a string that is never closed\\); replace it with the model's original config\\.json\\.$`),
  },
  {
    name: 'config.json with a vocabulary size that is not a number',
    damage: (model) => {
      const file = join(model, 'config.json');
      writeFileSync(file, readFileSync(file, 'utf8').replace('"vocab_size": 512', '"vocab_size": "512"'));
    },
    status: 1,
    message: (model) => new RegExp(`^${escape(join(model, 'config.json'))}: "vocab_size" is "512", not a positive whole number`),
  },
  {
    name: 'config.json naming an architecture transformers.js cannot run (found when the weights open)',
    damage: (model) => {
      const file = join(model, 'config.json');
      writeFileSync(file, readFileSync(file, 'utf8').replace('"model_type": "llama"', '"model_type": "no_such_architecture"'));
    },
    status: 1,
    message: (model) => new RegExp(`^${escape(join(model, 'config.json'))} names the model type "no_such_architecture", which transformers\\.js cannot run as a causal language model\\. Pick a model of an architecture it supports`),
  },
  {
    name: 'a tokenizer cut to 100 entries',
    damage: (model) => editTokenizer(model, (tokenizer) => {
      tokenizer.model.vocab = Object.fromEntries(Object.entries(tokenizer.model.vocab).filter(([, id]) => id < 100));
      tokenizer.model.merges = [];
    }),
    status: 1,
    message: (model) => new RegExp(`^The tokenizer does not match the model: ${escape(join(model, 'tokenizer.json'))} has 100 tokens \\(ids up to 99\\), but ${escape(join(model, 'config.json'))} gives the model 512 token embeddings \\(vocab_size\\).*Use the tokenizer\\.json and tokenizer_config\\.json that came with these weights\\.$`),
  },
  {
    name: 'a tokenizer with ids beyond the embeddings',
    damage: (model) => editTokenizer(model, (tokenizer) => {
      for (let id = 512; id <= 700; id++) tokenizer.model.vocab[`extra${id}`] = id;
    }),
    status: 1,
    message: (model) => new RegExp(`^The tokenizer does not match the model: ${escape(join(model, 'tokenizer.json'))} has token ids up to 700 \\(701 tokens\\), but ${escape(join(model, 'config.json'))} gives the model 512 token embeddings \\(vocab_size\\), so ids from 512 on cannot be run\\.`),
  },
  {
    name: 'a special token beyond the embeddings in the text: onnxruntime fails, in one line',
    damage: (model) => editTokenizer(model, (tokenizer) => {
      tokenizer.added_tokens.push({ id: 600, content: '<|beyond|>', special: true, ...{ single_word: false, lstrip: false, rstrip: false, normalized: false } });
    }),
    prompts: RECORDS.map((text) => `<|beyond|> ${text}`),
    status: 1,
    message: (model) => new RegExp(`^The model ${escape(model)} failed while running \\(.*Gather.*idx=600.*\\)\\. Its weights, tokenizer and config\\.json may not belong together: replace them with the model's original files\\.$`),
  },
  {
    name: 'every prompt longer than the context',
    prompts: RECORDS.map((text) => `${text} `.repeat(300)),
    status: 1,
    message: (model) => new RegExp(`^.*data\\.jsonl: no held-out item fits ${escape(model)}'s context of 512 tokens \\(line \\d+: the query alone takes \\d+ tokens, .*\\); nothing was measured\\. Use a model with a longer context`),
  },
  {
    name: '--max-new-tokens 0',
    args: ['--max-new-tokens', '0'],
    status: 2,
    message: () => /^--max-new-tokens must be a whole number ≥ 1, not "0"$/,
  },
  {
    name: '--max-new-tokens negative',
    args: ['--max-new-tokens=-5'],
    status: 2,
    message: () => /^--max-new-tokens must be a whole number ≥ 1, not "-5"$/,
  },
  {
    name: '--max-new-tokens huge',
    args: ['--max-new-tokens', '1000000'],
    status: 2,
    message: (model) => new RegExp(`^--max-new-tokens 1000000 leaves no room for a prompt in ${escape(model)}'s context of 512 tokens; give at most 511$`),
  },
];

for (const fault of FAULTS) {
  test(`model fault: ${fault.name}`, { skip: sharedMissing }, () => {
    const folder = temporaryFolder('pof-model-fault-');
    try {
      let model = join(folder.path, 'model');
      cpSync(STORIES_260K, model, { recursive: true });
      model = fault.damage?.(model) ?? model;
      const data = join(folder.path, 'data.jsonl');
      const prompts = fault.prompts ?? RECORDS;
      writeFileSync(data, prompts.map((prompt, i) => JSON.stringify({ prompt, completion: ` the end ${i}` })).join('\n') + '\n');
      const cacheDir = join(folder.path, 'cache');
      const report = join(folder.path, 'report.json');
      const result = cli('run', data, '--model', model, '--limit', '2', '--shots', '0,1', '--max-new-tokens', '4', '--cache-dir', cacheDir, '--json', report, ...(fault.args ?? []));

      assert.equal(result.status, fault.status, result.stderr);
      assert.equal(result.stdout, '');
      const lines = result.stderr.split('\n');
      const prefix = 'prompt-or-finetune: ';
      assert.ok(lines[0]!.startsWith(prefix), result.stderr);
      assert.match(lines[0]!.slice(prefix.length), fault.message(model));
      if (fault.status === 1) assert.deepEqual(lines.slice(1), [''], 'one line and nothing else');
      else assert.match(lines.slice(1).join('\n'), /^\nUsage:\n/, 'a usage error is followed by the usage');
      assert.doesNotMatch(result.stderr, /\n\s+at |Inputs given to model|onnxruntime:,/);
      assert.equal(cachedLines(cacheDir), 0, 'no output is cached');
      assert.equal(existsSync(report), false, 'no report is written');
    } finally {
      folder.remove();
    }
  });
}
