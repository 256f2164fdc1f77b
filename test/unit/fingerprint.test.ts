/** A model's identity for the output cache: every byte that changes outputs, each file hashed once. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fingerprintModelFolder, hashFile } from '../../src/engine/model/fingerprint';
import { temporaryFolder } from '../support/paths';

const MIB = 1024 * 1024;

/** A folder with the settings files and a 5 MiB onnx/model.onnx whose byte at `middle` is `value`. */
function modelFolder(root: string, name: string, value: number): string {
  const folder = join(root, name);
  mkdirSync(join(folder, 'onnx'), { recursive: true });
  writeFileSync(join(folder, 'config.json'), '{"model_type":"llama","vocab_size":512}\n');
  writeFileSync(join(folder, 'tokenizer.json'), '{"model":{"vocab":{}}}\n');
  writeFileSync(join(folder, 'tokenizer_config.json'), '{}\n');
  const weights = Buffer.alloc(5 * MIB, 7);
  weights[Math.floor(2.5 * MIB)] = value;
  writeFileSync(join(folder, 'onnx', 'model.onnx'), weights);
  return folder;
}

test('two 5 MiB model.onnx files that differ only in the middle byte get different fingerprints', async () => {
  const root = temporaryFolder();
  try {
    const a = await fingerprintModelFolder(modelFolder(root.path, 'a', 1), 'fp32');
    const b = await fingerprintModelFolder(modelFolder(root.path, 'b', 2), 'fp32');
    const sameAsA = await fingerprintModelFolder(modelFolder(root.path, 'c', 1), 'fp32');
    assert.notEqual(a.fingerprint, b.fingerprint);
    assert.equal(a.fingerprint, sameAsA.fingerprint, 'the folder path is not part of the identity');
    assert.match(a.fingerprint, /^[0-9a-f]{64}$/);
    assert.notEqual((await fingerprintModelFolder(join(root.path, 'a'), 'q8')).fingerprint, a.fingerprint, 'the dtype is');
  } finally {
    root.remove();
  }
});

test('external weights (model.onnx_data) and every settings file are part of the identity', async () => {
  const root = temporaryFolder();
  try {
    const folder = modelFolder(root.path, 'm', 1);
    const base = (await fingerprintModelFolder(folder, 'fp32')).fingerprint;
    const data = join(folder, 'onnx', 'model.onnx_data');
    writeFileSync(data, Buffer.alloc(3 * MIB, 1));
    const withData = await fingerprintModelFolder(folder, 'fp32');
    assert.deepEqual(withData.hashedFiles.slice(-2), ['onnx/model.onnx', 'onnx/model.onnx_data']);
    assert.notEqual(withData.fingerprint, base);
    const changed = Buffer.alloc(3 * MIB, 1);
    changed[MIB + 17] = 0;
    writeFileSync(data, changed);
    assert.notEqual((await fingerprintModelFolder(folder, 'fp32')).fingerprint, withData.fingerprint);

    // another dtype's external data is not
    writeFileSync(join(folder, 'onnx', 'model_fp16.onnx_data'), 'x');
    const now = await fingerprintModelFolder(folder, 'fp32');
    assert.equal(now.hashedFiles.includes('onnx/model_fp16.onnx_data'), false);

    let previous = now.fingerprint;
    for (const file of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json']) {
      writeFileSync(join(folder, file), `{"changed": "${file}"}`);
      const next = (await fingerprintModelFolder(folder, 'fp32')).fingerprint;
      assert.notEqual(next, previous, file);
      previous = next;
    }
  } finally {
    root.remove();
  }
});

test('the index remembers each file hash by path, size and times: reused while unchanged, recomputed when mtime changes', async () => {
  const root = temporaryFolder();
  try {
    const folder = modelFolder(root.path, 'm', 1);
    const indexFile = join(root.path, 'cache', 'model-file-hashes.json');
    const first = await fingerprintModelFolder(folder, 'fp32', { indexFile });
    assert.deepEqual(first.hashedFiles, ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx']);
    const weights = join(folder, 'onnx', 'model.onnx');
    const index = JSON.parse(readFileSync(indexFile, 'utf8')) as { version: number; files: Record<string, { sha256: string; size: number }> };
    assert.equal(index.version, 1);
    assert.equal(index.files[weights]!.sha256, await hashFile(weights));
    assert.equal(index.files[weights]!.size, 5 * MIB);

    const second = await fingerprintModelFolder(folder, 'fp32', { indexFile });
    assert.deepEqual(second.hashedFiles, [], 'nothing is read again');
    assert.equal(second.fingerprint, first.fingerprint);

    // The remembered hash is what counts while the file's stat is unchanged: a forged one shows through.
    index.files[weights]!.sha256 = '0'.repeat(64);
    writeFileSync(indexFile, JSON.stringify(index));
    const forged = await fingerprintModelFolder(folder, 'fp32', { indexFile });
    assert.deepEqual(forged.hashedFiles, []);
    assert.notEqual(forged.fingerprint, first.fingerprint);

    // A new mtime: the file is read again, and the true hash replaces the forged one.
    utimesSync(weights, new Date(2020, 0, 1), new Date(2020, 0, 1));
    const touched = await fingerprintModelFolder(folder, 'fp32', { indexFile });
    assert.deepEqual(touched.hashedFiles, ['onnx/model.onnx']);
    assert.equal(touched.fingerprint, first.fingerprint);
  } finally {
    root.remove();
  }
});

test('a damaged index is ignored and rewritten', async () => {
  const root = temporaryFolder();
  try {
    const folder = modelFolder(root.path, 'm', 1);
    const indexFile = join(root.path, 'model-file-hashes.json');
    writeFileSync(indexFile, '{"version": 1, "files": {"x": ');
    const first = await fingerprintModelFolder(folder, 'fp32', { indexFile });
    assert.equal(first.hashedFiles.length, 4);
    assert.equal(first.fingerprint, (await fingerprintModelFolder(folder, 'fp32')).fingerprint);
    assert.deepEqual((await fingerprintModelFolder(folder, 'fp32', { indexFile })).hashedFiles, []);
  } finally {
    root.remove();
  }
});
