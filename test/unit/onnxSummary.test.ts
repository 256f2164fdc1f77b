/** Reading what an ONNX file declares without loading it: checked against onnxruntime, and on damaged files. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InferenceSession } from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { checkOnnxModel } from '../../src/engine/model/modelFolder';
import { ModelLoadError } from '../../src/engine/model/languageModel';
import { externalDataProblems, OnnxFormatError, readOnnxSummary } from '../../src/engine/model/onnxSummary';
import { sharedMissing, STORIES_260K, temporaryFolder } from '../support/paths';
import { buildTinyLlama } from '../support/tinyLlama';

const STORIES_ONNX = join(STORIES_260K, 'onnx', 'model.onnx');

test('the graph inputs and outputs are the ones onnxruntime reports, with the logits as wide as the vocabulary', { skip: sharedMissing }, async () => {
  const summary = readOnnxSummary(STORIES_ONNX);
  const session = await InferenceSession.create(STORIES_ONNX);
  try {
    assert.deepEqual(summary.inputs.map((input) => input.name), session.inputNames);
    assert.deepEqual(summary.outputs.map((output) => output.name), session.outputNames);
  } finally {
    await session.release();
  }
  assert.deepEqual(summary.outputs[0], { name: 'logits', dims: ['batch_size', 'sequence_length', 512] });
  assert.deepEqual(summary.inputs[0], { name: 'input_ids', dims: ['batch_size', 'sequence_length'] });
  assert.deepEqual([...summary.externalData], []);
});

test('a cut or foreign file is named for what it is', { skip: sharedMissing }, () => {
  const folder = temporaryFolder();
  try {
    const whole = readFileSync(STORIES_ONNX);
    const cases: [string, Buffer, string][] = [
      // the graph ends 6 bytes before the file does (the opset imports follow it)
      ['cut', whole.subarray(0, 500_000), `it is cut short: its graph needs ${whole.length - 6} bytes and the file has 500000`],
      ['text', Buffer.from('hello, this is not a model\n'), 'byte 2 does not start a protobuf field'],
      ['empty', Buffer.alloc(0), 'it holds no ONNX graph'],
      // a protobuf message, but not a model: one varint field
      ['other', Buffer.from([0x08, 0x96, 0x01]), 'it holds no ONNX graph'],
    ];
    for (const [name, bytes, reason] of cases) {
      const file = join(folder.path, `${name}.onnx`);
      writeFileSync(file, bytes);
      assert.throws(() => readOnnxSummary(file), (error: unknown) => {
        assert.ok(error instanceof OnnxFormatError, String(error));
        assert.equal(error.message, reason, name);
        return true;
      });
    }
  } finally {
    folder.remove();
  }
});

/** Rewrites a built model with its weights in an external data file, as exporters do for large models. */
function moveWeightsOut(onnxFile: string, dataName: string): number {
  const model = onnx.ModelProto.decode(readFileSync(onnxFile));
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const tensor of model.graph!.initializer!) {
    const data = Buffer.from(tensor.rawData ?? new Uint8Array());
    if (data.length < 64) continue;
    tensor.rawData = new Uint8Array();
    tensor.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    tensor.externalData = [
      { key: 'location', value: dataName },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(data.length) },
    ];
    chunks.push(data);
    offset += data.length;
  }
  writeFileSync(onnxFile, onnx.ModelProto.encode(model).finish());
  writeFileSync(join(onnxFile, '..', dataName), Buffer.concat(chunks));
  return offset;
}

test('external data: the file and the bytes the weights need; a missing or short file is named', async () => {
  const folder = temporaryFolder();
  try {
    await buildTinyLlama(folder.path);
    const onnxFile = join(folder.path, 'onnx', 'model.onnx');
    const bytes = moveWeightsOut(onnxFile, 'model.onnx_data');
    const summary = readOnnxSummary(onnxFile);
    assert.deepEqual([...summary.externalData], [['model.onnx_data', bytes]]);
    assert.deepEqual(externalDataProblems(onnxFile, summary), []);
    // onnxruntime loads it as it is
    const session = await InferenceSession.create(onnxFile);
    await session.release();

    const data = join(folder.path, 'onnx', 'model.onnx_data');
    writeFileSync(data, readFileSync(data).subarray(0, 1000));
    assert.deepEqual(externalDataProblems(onnxFile, summary), [`${data}, which holds its weights, is cut short: it has 1000 bytes of the ${bytes} needed`]);
    const config = JSON.parse(readFileSync(join(folder.path, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.throws(() => checkOnnxModel(folder.path, 'fp32', config), (error: unknown) => {
      assert.ok(error instanceof ModelLoadError);
      assert.equal(error.message, `${onnxFile} cannot be loaded: ${data}, which holds its weights, is cut short: it has 1000 bytes of the ${bytes} needed. Download the model folder again.`);
      return true;
    });
    writeFileSync(data, 'version https://git-lfs.github.com/spec/v1\noid sha256:0123\nsize 99\n');
    assert.deepEqual(externalDataProblems(onnxFile, summary), [`${data}, which holds its weights, is a Git LFS pointer (fetch the real file: git lfs pull)`]);
    rmSync(data);
    assert.deepEqual(externalDataProblems(onnxFile, summary), [`${data}, which holds its weights, is missing`]);
  } finally {
    folder.remove();
  }
});

test('config.json whose vocab_size disagrees with the logits is named with both numbers', async () => {
  const folder = temporaryFolder();
  try {
    await buildTinyLlama(folder.path);
    const config = JSON.parse(readFileSync(join(folder.path, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(checkOnnxModel(folder.path, 'fp32', config), 512);
    assert.throws(() => checkOnnxModel(folder.path, 'fp32', { ...config, vocab_size: 32000 }), (error: unknown) => {
      assert.ok(error instanceof ModelLoadError);
      assert.equal(
        error.message,
        `config.json does not match the weights: ${join(folder.path, 'config.json')} says vocab_size 32000, but ` +
          `${join(folder.path, 'onnx', 'model.onnx')} predicts 512 tokens (its logits). Use the config.json that came with these weights.`,
      );
      return true;
    });
  } finally {
    folder.remove();
  }
});
