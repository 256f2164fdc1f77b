/**
 * The real runner (@huggingface/transformers on onnxruntime-node) on the shared stories260K model:
 * exact token ids, greedy outputs and log-probabilities, observed once and pinned here.
 *
 * Run: node --import tsx --test test/unit/transformersModel.test.ts
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { build } from 'esbuild';
import { onnx as onnxProto } from 'onnx-proto';

import { ModelLoadError, type LanguageModel, type LoadProgress, type PromptInput } from '../../src/engine/model/languageModel';
import { fingerprintModelFolder } from '../../src/engine/model/fingerprint';
import { loadLanguageModel } from '../../src/engine/model/transformers/transformersModel';

const repoRoot = path.resolve(__dirname, '../..');
const modelFolder = path.resolve(__dirname, '../../../shared/models/stories260K');
const modelExists = fs.existsSync(path.join(modelFolder, 'onnx', 'model.onnx'));
const needsModel = { skip: !modelExists && `the shared test model is missing: ${modelFolder}` };

const onceUponATime: PromptInput = { text: 'Once upon a time', addSpecialTokens: true };
const OFFLINE_MESSAGE =
  'Could not download test-org/not-downloaded from the Hugging Face Hub (offline?). Point the model setting at a local ' +
  'folder in transformers.js layout (config.json, tokenizer.json, onnx/model.onnx).';

type FetchFunction = (input: string | URL, init?: Record<string, unknown>) => Promise<unknown>;
interface TransformersEnvironment {
  env: { fetch: FetchFunction };
}

/** The transformers module the runner uses (the same ESM instance), to stand in for the network. */
async function transformersEnvironment(): Promise<TransformersEnvironment['env']> {
  const module = (await import('@huggingface/transformers')) as unknown as TransformersEnvironment;
  return module.env;
}

async function withFetch<T>(fetch: FetchFunction, body: () => Promise<T>): Promise<T> {
  const env = await transformersEnvironment();
  const original = env.fetch;
  env.fetch = fetch;
  try {
    return await body();
  } finally {
    env.fetch = original;
  }
}

/** A Hub that serves the shared model as `test-org/stories260K` and answers 404 for everything else. */
function fakeHub(requests: string[]): FetchFunction {
  return async (input) => {
    const url = String(input);
    requests.push(url);
    const match = /^https:\/\/huggingface\.co\/test-org\/stories260K\/resolve\/main\/(.+)$/.exec(url);
    const file = match ? path.join(modelFolder, decodeURIComponent(match[1]!)) : undefined;
    if (!file || !fs.existsSync(file)) return new Response('Entry not found', { status: 404 });
    const body = fs.readFileSync(file);
    return new Response(body, { status: 200, headers: { 'content-length': String(body.length) } });
  };
}

const offline: FetchFunction = async () => {
  throw new TypeError('fetch failed', {
    cause: Object.assign(new Error('getaddrinfo ENOTFOUND huggingface.co'), { code: 'ENOTFOUND' }),
  });
};

function temporaryFolder(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `pof-${label}-`));
}

/** A writable copy of the model folder, to break on purpose. */
function copyOfModel(): string {
  const folder = temporaryFolder('model');
  fs.cpSync(modelFolder, folder, { recursive: true });
  for (const file of fs.readdirSync(folder, { recursive: true, encoding: 'utf8' })) {
    fs.chmodSync(path.join(folder, file), 0o755);
  }
  fs.chmodSync(folder, 0o755);
  return folder;
}

const cleanup: string[] = [];
after(() => {
  for (const folder of cleanup) fs.rmSync(folder, { recursive: true, force: true });
});

describe('transformers runner on stories260K', needsModel, () => {
  let model: LanguageModel;
  let loadMilliseconds = 0;

  before(async () => {
    const started = performance.now();
    model = await loadLanguageModel({ model: modelFolder, threads: 1 });
    loadMilliseconds = performance.now() - started;
  });
  after(async () => {
    await model?.dispose();
  });

  test('loads quickly and reports the model', async (t) => {
    t.diagnostic(`load time (first load, including importing transformers): ${loadMilliseconds.toFixed(0)} ms`);
    assert.ok(loadMilliseconds < 30_000, `loading took ${loadMilliseconds} ms`);
    assert.equal(model.id, modelFolder);
    // tokenizer and config only: the ONNX session opens on the first generate, score or prefill
    assert.equal((model as unknown as { weightsLoaded: boolean }).weightsLoaded, false);
    assert.equal(model.contextLength, 512);
    assert.equal(model.vocabularySize, 512);
    assert.equal(model.fingerprint, 'c7887ba4abde625671fd2c599f9b1a24c980b6fc6369403e216a9da513f87ba0');
    assert.equal(model.fingerprint, (await fingerprintModelFolder(modelFolder, 'fp32')).fingerprint);
    assert.notEqual((await fingerprintModelFolder(modelFolder, 'fp32')).fingerprint, (await fingerprintModelFolder(modelFolder, 'q8')).fingerprint);
  });

  test('a relative path to a folder loads the same model', async () => {
    const relative = path.relative(process.cwd(), modelFolder);
    const again = await loadLanguageModel({ model: relative });
    try {
      assert.equal(again.fingerprint, model.fingerprint);
      assert.equal(again.id, relative);
    } finally {
      await again.dispose();
    }
  });

  test('tokenizer: ids with and without BOS, decode round trip, counts', () => {
    const { tokenizer } = model;
    assert.deepEqual(tokenizer.encode('Once upon a time'), [1, 403, 407, 261, 378]);
    assert.deepEqual(tokenizer.encode('Once upon a time', { addSpecialTokens: true }), [1, 403, 407, 261, 378]);
    assert.deepEqual(tokenizer.encode('Once upon a time', { addSpecialTokens: false }), [403, 407, 261, 378]);
    assert.equal(tokenizer.decode([1, 403, 407, 261, 378]), '<s> Once upon a time');
    assert.equal(tokenizer.decode([1, 403, 407, 261, 378], { skipSpecialTokens: true }), 'Once upon a time');
    assert.equal(tokenizer.decode(tokenizer.encode('Once upon a time', { addSpecialTokens: false })), 'Once upon a time');
    assert.equal(tokenizer.decode([]), '');
    assert.deepEqual(tokenizer.encode(''), [1]);
    assert.deepEqual(tokenizer.encode('', { addSpecialTokens: false }), []);
    assert.equal(tokenizer.countTokens('Once upon a time'), 4);
    assert.equal(tokenizer.hasChatTemplate, false);
    assert.throws(
      () => tokenizer.applyChatTemplate([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true }),
      /no chat template/,
    );
  });

  test('greedy generation of 16 tokens', async () => {
    const generation = await model.generate(onceUponATime, { maxNewTokens: 16 });
    assert.deepEqual(generation, {
      text: ', there was a little girl named Lily. She loved to play',
      tokenIds: [432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337],
      promptTokenCount: 5,
      finishReason: 'max-new-tokens',
    });
    // deterministic
    assert.deepEqual(await model.generate(onceUponATime, { maxNewTokens: 16 }), generation);
  });

  test('generated text keeps the leading space it adds after the prompt', async () => {
    const generation = await model.generate({ text: 'Once upon a time, there', addSpecialTokens: true }, { maxNewTokens: 7 });
    assert.equal(generation.text, ' was a little girl named');
    assert.deepEqual(generation.tokenIds, [286, 261, 376, 298, 315, 421, 395]);
    assert.equal(generation.promptTokenCount, 7);
  });

  test('a stop sequence cuts the output before it', async () => {
    const generation = await model.generate(onceUponATime, { maxNewTokens: 64, stopSequences: ['.', 'zzz'] });
    assert.deepEqual(generation, {
      text: ', there was a little girl named Lily',
      tokenIds: [432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426],
      promptTokenCount: 5,
      finishReason: 'stop-sequence',
    });
    const earliest = await model.generate(onceUponATime, { maxNewTokens: 64, stopSequences: ['Lily', ' a '] });
    assert.equal(earliest.text, ', there was');
    assert.equal(earliest.finishReason, 'stop-sequence');
    const notHit = await model.generate(onceUponATime, { maxNewTokens: 3, stopSequences: ['Lily'] });
    assert.deepEqual(notHit, { text: ', there was', tokenIds: [432, 383, 286], promptTokenCount: 5, finishReason: 'max-new-tokens' });
  });

  test('maxNewTokens 0 and the context limit', async () => {
    assert.deepEqual(await model.generate(onceUponATime, { maxNewTokens: 0 }), {
      text: '',
      tokenIds: [],
      promptTokenCount: 5,
      finishReason: 'max-new-tokens',
    });
    const long = { text: 'Lily '.repeat(600), addSpecialTokens: true };
    await assert.rejects(model.generate(long, { maxNewTokens: 4 }), /the model's context is 512/);
  });

  test('score: teacher-forced log-probabilities of a continuation', async () => {
    const score = await model.score(onceUponATime, ', there was a little girl');
    assert.equal(score.tokenCount, 8);
    assert.equal(score.tokenLogProbs.length, 8);
    assert.ok(Math.abs(score.logProb - -1.062260734919879) < 1e-4, `logProb ${score.logProb}`);
    const sum = score.tokenLogProbs.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(score.logProb - sum) < 1e-12);
    const expected = [-0.0317027, -0.0684236, -0.0159549, -0.000784155, -0.493980, -0.445866, -0.00489102, -0.000658496];
    score.tokenLogProbs.forEach((value, i) => assert.ok(Math.abs(value - expected[i]!) < 1e-4, `token ${i}: ${value}`));
    assert.deepEqual(await model.score(onceUponATime, ''), { logProb: 0, tokenCount: 0, tokenLogProbs: [] });
  });

  test('score equals a manual log-softmax over forward logits (no generate)', async () => {
    const tf = (await import('@huggingface/transformers')) as unknown as {
      AutoModelForCausalLM: {
        from_pretrained(id: string, options: object): Promise<{
          forward(inputs: object): Promise<{ logits: { dims: number[]; data: Float32Array } }>;
          dispose(): Promise<unknown>;
        }>;
      };
      Tensor: new (type: string, data: BigInt64Array, dims: number[]) => object;
    };
    const continuation = ', there was a little girl';
    const joint = model.tokenizer.encode(onceUponATime.text + continuation);
    const promptIds = model.tokenizer.encode(onceUponATime.text);
    assert.deepEqual(joint.slice(0, promptIds.length), promptIds);

    const raw = await tf.AutoModelForCausalLM.from_pretrained(modelFolder, { local_files_only: true, dtype: 'fp32' });
    try {
      const ids = BigInt64Array.from(joint, (id) => BigInt(id));
      const { logits } = await raw.forward({
        input_ids: new tf.Tensor('int64', ids, [1, joint.length]),
        attention_mask: new tf.Tensor('int64', new BigInt64Array(joint.length).fill(1n), [1, joint.length]),
      });
      const vocabulary = logits.dims[2]!;
      const manual: number[] = [];
      for (let t = promptIds.length; t < joint.length; t++) {
        const row = Array.from(logits.data.subarray((t - 1) * vocabulary, t * vocabulary));
        const max = Math.max(...row);
        const logSum = Math.log(row.reduce((acc, x) => acc + Math.exp(x - max), 0)) + max;
        manual.push(row[joint[t]!]! - logSum);
        // the greedy continuation is the row's argmax: the same tokens generate() produced
        assert.equal(row.indexOf(max), joint[t]);
      }
      const score = await model.score(onceUponATime, continuation);
      assert.equal(score.tokenCount, manual.length);
      score.tokenLogProbs.forEach((value, i) => assert.ok(Math.abs(value - manual[i]!) < 1e-6));
    } finally {
      await raw.dispose();
    }
  });

  test('score: a boundary that merges takes tokens from the first differing position', async () => {
    // "Once upon a time " ends in a lone "▁" token (410); with "there" after it the joint text has "▁there" (383).
    assert.deepEqual(model.tokenizer.encode('Once upon a time '), [1, 403, 407, 261, 378, 410]);
    assert.deepEqual(model.tokenizer.encode('Once upon a time there was'), [1, 403, 407, 261, 378, 383, 286]);
    const score = await model.score({ text: 'Once upon a time ', addSpecialTokens: true }, 'there was');
    assert.equal(score.tokenCount, 2);
    assert.ok(Math.abs(score.logProb - -3.7003632544278453) < 1e-4, `logProb ${score.logProb}`);
  });

  test('prefill: generation from a cached prefix equals generation without it', async () => {
    assert.ok(model.prefill, 'the runner offers prefill');
    const prefix = await model.prefill({ text: 'Once upon a time', addSpecialTokens: true });
    try {
      assert.equal(prefix.tokenCount, 5);
      assert.equal(prefix.text, 'Once upon a time');
      const prompt = { text: 'Once upon a time, there', addSpecialTokens: true };
      const plain = await model.generate(prompt, { maxNewTokens: 16, stopSequences: ['!'] });
      const first = await model.generate(prompt, { maxNewTokens: 16, stopSequences: ['!'], prefix });
      const second = await model.generate(prompt, { maxNewTokens: 16, stopSequences: ['!'], prefix }); // reusable
      assert.deepEqual(first, plain);
      assert.deepEqual(second, plain);
      assert.equal(plain.text, ' was a little girl named Lily. She loved to play out');
      // a prompt that does not start with the prefix ignores it
      const other = await model.generate({ text: 'Lily', addSpecialTokens: true }, { maxNewTokens: 4, prefix });
      assert.deepEqual(other, await model.generate({ text: 'Lily', addSpecialTokens: true }, { maxNewTokens: 4 }));
    } finally {
      prefix.dispose();
    }
  });

  test('abort: an aborted signal rejects with its reason', async () => {
    const aborted = new AbortController();
    aborted.abort();
    await assert.rejects(model.generate(onceUponATime, { maxNewTokens: 8, signal: aborted.signal }), { name: 'AbortError' });
    await assert.rejects(model.score(onceUponATime, ', there', { signal: aborted.signal }), { name: 'AbortError' });

    const reason = new Error('user cancelled');
    const midway = new AbortController();
    const pending = model.generate(onceUponATime, { maxNewTokens: 400, signal: midway.signal });
    setTimeout(() => midway.abort(reason), 1);
    await assert.rejects(pending, (error) => error === reason);
    // the model still works afterwards
    assert.equal((await model.generate(onceUponATime, { maxNewTokens: 3 })).text, ', there was');
  });
});

describe('loading errors', () => {
  test('a missing folder', async () => {
    const missing = path.join(os.tmpdir(), 'pof-no-such-model-folder');
    await assert.rejects(loadLanguageModel({ model: missing }), (error) => {
      assert.ok(error instanceof ModelLoadError);
      assert.match(error.message, /^Model folder not found: .*pof-no-such-model-folder\. Point the model setting at a folder in transformers\.js layout/);
      return true;
    });
    await assert.rejects(loadLanguageModel({ model: './no/such/folder' }), /^ModelLoadError: Model folder not found: /);
    await assert.rejects(loadLanguageModel({ model: '' }), /^ModelLoadError: No model is set/);
  });

  test('a folder without the ONNX file names the file for the dtype', needsModel, async () => {
    const folder = temporaryFolder('no-onnx');
    cleanup.push(folder);
    for (const file of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) {
      fs.copyFileSync(path.join(modelFolder, file), path.join(folder, file));
    }
    await assert.rejects(loadLanguageModel({ model: folder }), (error) => {
      assert.ok(error instanceof ModelLoadError);
      assert.match(error.message, /is missing onnx\/model\.onnx\. For dtype "fp32" transformers\.js loads onnx\/model\.onnx/);
      assert.match(error.message, /q8 → onnx\/model_quantized\.onnx, q4 → onnx\/model_q4\.onnx/);
      return true;
    });
    await assert.rejects(
      loadLanguageModel({ model: modelFolder, dtype: 'q8' }),
      /is missing onnx\/model_quantized\.onnx\. .*The folder has onnx\/model\.onnx: set the dtype to "fp32"\./,
    );
    await assert.rejects(loadLanguageModel({ model: modelFolder, dtype: 'fp16' }), /is missing onnx\/model_fp16\.onnx/);
    await assert.rejects(loadLanguageModel({ model: modelFolder, dtype: 'q4' }), /is missing onnx\/model_q4\.onnx/);
  });

  test('a folder without tokenizer files lists them', needsModel, async () => {
    const folder = copyOfModel();
    cleanup.push(folder);
    fs.rmSync(path.join(folder, 'tokenizer.json'));
    fs.rmSync(path.join(folder, 'tokenizer_config.json'));
    await assert.rejects(
      loadLanguageModel({ model: folder }),
      /is missing tokenizer\.json, tokenizer_config\.json\. A model folder in transformers\.js layout/,
    );
  });

  test('a broken ONNX file: garbage is refused at load; a graph onnxruntime rejects fails on first use', needsModel, async () => {
    const folder = copyOfModel();
    cleanup.push(folder);
    const onnx = path.join(folder, 'onnx', 'model.onnx');
    fs.writeFileSync(onnx, Buffer.from('this is not an onnx protobuf, just garbage bytes \u0000\u0001\u0002'.repeat(50)));
    await assert.rejects(loadLanguageModel({ model: folder }), (error) => {
      assert.ok(error instanceof ModelLoadError);
      assert.match(error.message, /onnx\/model\.onnx is not a valid ONNX model \(byte 0 does not start a protobuf field\)\. The file may be truncated or corrupt/);
      return true;
    });
    // A whole protobuf that declares a logits output but has no nodes: the load's checks pass, onnxruntime refuses it.
    const hollow = { irVersion: 8, opsetImport: [{ version: 17 }], graph: { name: 'g', output: [{ name: 'logits', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'b' }, { dimParam: 's' }, { dimValue: 512 }] } } } }] } };
    fs.writeFileSync(onnx, onnxProto.ModelProto.encode(hollow).finish());
    const broken = await loadLanguageModel({ model: folder });
    assert.equal((broken as unknown as { weightsLoaded: boolean }).weightsLoaded, false);
    await assert.rejects(broken.generate(onceUponATime, { maxNewTokens: 2 }), (error) => {
      assert.ok(error instanceof ModelLoadError);
      assert.match(error.message, /onnx\/model\.onnx is not a valid ONNX model \(.*failed.*\)\. The file may be truncated or corrupt/);
      return true;
    });
    await broken.dispose();
    fs.writeFileSync(onnx, 'version https://git-lfs.github.com/spec/v1\noid sha256:0000\nsize 1226445\n');
    await assert.rejects(loadLanguageModel({ model: folder }), /onnx\/model\.onnx is a Git LFS pointer, not the model weights/);
  });

  test('a Hub id that cannot be reached', async () => {
    const cacheDir = temporaryFolder('offline-cache');
    cleanup.push(cacheDir);
    await withFetch(offline, async () => {
      await assert.rejects(loadLanguageModel({ model: 'test-org/not-downloaded', cacheDir }), (error) => {
        assert.ok(error instanceof ModelLoadError);
        assert.equal(error.message, OFFLINE_MESSAGE);
        return true;
      });
    });
  });

  test('a Hub id with downloads disabled and nothing cached', async () => {
    const cacheDir = temporaryFolder('empty-cache');
    cleanup.push(cacheDir);
    const requests: string[] = [];
    await withFetch(fakeHub(requests), async () => {
      await assert.rejects(
        loadLanguageModel({ model: 'test-org/stories260K', cacheDir, allowDownload: false }),
        /^ModelLoadError: test-org\/stories260K is not in the model cache \(.*config\.json, tokenizer\.json, tokenizer_config\.json, onnx\/model\.onnx missing\) and downloads are disabled\./,
      );
    });
    assert.deepEqual(requests, []);
  });

  test('a Hub id that does not exist', async () => {
    const cacheDir = temporaryFolder('missing-cache');
    cleanup.push(cacheDir);
    await withFetch(fakeHub([]), async () => {
      await assert.rejects(
        loadLanguageModel({ model: 'test-org/no-such-model', cacheDir }),
        /^ModelLoadError: test-org\/no-such-model is not on the Hugging Face Hub, or not in transformers\.js layout/,
      );
    });
  });

  test('cuda where onnxruntime-node has no CUDA libraries', needsModel, async (t) => {
    try {
      const cuda = await loadLanguageModel({ model: modelFolder, device: 'cuda' });
      await cuda.dispose();
      t.diagnostic('CUDA is available here; nothing to check');
    } catch (error) {
      assert.ok(error instanceof ModelLoadError);
      assert.match(error.message, /^The "cuda" device is not available here .*Set the device to "cpu"\./);
    }
  });
});

describe('Hub downloads (a fake Hub serving stories260K)', needsModel, () => {
  test('downloads into cacheDir with progress, then loads from the cache with downloads disabled', async () => {
    const cacheDir = temporaryFolder('hub-cache');
    cleanup.push(cacheDir);
    const requests: string[] = [];
    const progress: LoadProgress[] = [];
    await withFetch(fakeHub(requests), async () => {
      const downloaded = await loadLanguageModel({
        model: 'test-org/stories260K',
        cacheDir,
        onProgress: (event) => progress.push(event),
      });
      try {
        assert.equal(downloaded.id, 'test-org/stories260K');
        assert.equal(downloaded.fingerprint, (await fingerprintModelFolder(modelFolder, 'fp32')).fingerprint);
        assert.equal((await downloaded.generate(onceUponATime, { maxNewTokens: 3 })).text, ', there was');
      } finally {
        await downloaded.dispose();
      }
      assert.ok(requests.some((url) => url.endsWith('/onnx/model.onnx')));
      for (const file of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx']) {
        assert.ok(fs.existsSync(path.join(cacheDir, 'test-org', 'stories260K', file)), `${file} cached`);
        assert.ok(progress.some((event) => event.file === file && event.status === 'done' && event.percent === 100), `${file} done`);
        assert.ok(progress.some((event) => event.file === file && event.status === 'initiate'), `${file} initiated`);
      }
      assert.deepEqual(progress.at(-1), { file: 'test-org/stories260K', status: 'ready', percent: 100 });

      requests.length = 0;
      const cached = await loadLanguageModel({ model: 'test-org/stories260K', cacheDir, allowDownload: false });
      try {
        assert.equal(cached.fingerprint, (await fingerprintModelFolder(modelFolder, 'fp32')).fingerprint);
      } finally {
        await cached.dispose();
      }
      assert.deepEqual(requests, [], 'no request once cached');
    });
  });
});

describe('bundled as CommonJS by esbuild', needsModel, () => {
  test('transformers is imported lazily and the bundle loads and runs the model', async () => {
    const folder = temporaryFolder('bundle');
    cleanup.push(folder);
    // the bundle resolves the external packages from a node_modules beside it
    fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(folder, 'node_modules'), 'dir');
    const outfile = path.join(folder, 'runner.js');
    await build({
      entryPoints: [path.join(repoRoot, 'src/engine/model/transformers/transformersModel.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      mainFields: ['module', 'main'], // as scripts/build.mjs: jsonc-parser's UMD build cannot be bundled
      external: ['@huggingface/transformers', 'onnxruntime-node'],
      outfile,
      logLevel: 'silent',
    });
    const bundle = fs.readFileSync(outfile, 'utf8');
    assert.match(bundle, /import\("@huggingface\/transformers"\)/);
    assert.doesNotMatch(bundle, /require\("@huggingface\/transformers"\)/);

    const script = `
      const runner = require(${JSON.stringify(outfile)});
      (async () => {
        const model = await runner.loadLanguageModel({ model: ${JSON.stringify(modelFolder)} });
        const generation = await model.generate({ text: 'Once upon a time', addSpecialTokens: true }, { maxNewTokens: 3 });
        await model.dispose();
        process.stdout.write(JSON.stringify(generation));
      })().catch((error) => { console.error(error); process.exit(1); });`;
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', cwd: folder, timeout: 60_000 });
    assert.equal(child.status, 0, child.stderr);
    assert.deepEqual(JSON.parse(child.stdout), {
      text: ', there was',
      tokenIds: [432, 383, 286],
      promptTokenCount: 5,
      finishReason: 'max-new-tokens',
    });
  });
});
