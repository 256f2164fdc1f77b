/**
 * Variants of a built model's graph (test/support/tinyLlama.ts) that exports of real models have, rewritten in
 * place, for the runner's paths that depend on them: dynamic quantization (transformers.js' `q8` files) and a
 * `num_logits_to_keep` input (newer exports).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';

const FLOAT = 1;
const INT8 = 3;

/**
 * Quantizes `folder`'s onnx/model.onnx as onnxruntime's `quantize_dynamic` makes the `q8` files transformers.js
 * loads (model_quantized.onnx): every weight MatMul becomes DynamicQuantizeLinear of its activations (one scale
 * and zero point for the whole input tensor: every row and position of the pass), a MatMulInteger with int8
 * weights (one scale per matrix), and the rescale to float. Such a graph couples the rows of a batch. Returns how
 * many MatMuls it rewrote.
 */
export function quantizeDynamically(folder: string): number {
  const file = join(folder, 'onnx', 'model.onnx');
  const model = onnx.ModelProto.decode(readFileSync(file));
  const graph = model.graph!;
  const initializers = new Map(graph.initializer!.map((tensor) => [tensor.name!, tensor]));
  const replaced = new Set<string>();
  const nodes: onnx.INodeProto[] = [];
  let count = 0;
  for (const node of graph.node!) {
    const weight = node.opType === 'MatMul' ? initializers.get(node.input![1]!) : undefined;
    if (!weight || weight.dims?.length !== 2 || weight.dataType !== FLOAT || !weight.rawData) {
      nodes.push(node);
      continue;
    }
    const raw = weight.rawData;
    const values = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    const scale = values.reduce((max, value) => Math.max(max, Math.abs(value)), 0) / 127 || 1;
    const quantized = Int8Array.from(values, (value) => Math.max(-127, Math.min(127, Math.round(value / scale))));
    const id = `dq${count++}`;
    replaced.add(weight.name!);
    graph.initializer!.push(
      { name: `${id}_w`, dims: weight.dims, dataType: INT8, rawData: new Uint8Array(quantized.buffer) },
      { name: `${id}_w_zero`, dims: [], dataType: INT8, rawData: new Uint8Array(1) },
      { name: `${id}_w_scale`, dims: [], dataType: FLOAT, rawData: new Uint8Array(Float32Array.from([scale]).buffer) },
    );
    nodes.push(
      { opType: 'DynamicQuantizeLinear', input: [node.input![0]!], output: [`${id}_x`, `${id}_x_scale`, `${id}_x_zero`], name: `${id}_quantize` },
      { opType: 'MatMulInteger', input: [`${id}_x`, `${id}_w`, `${id}_x_zero`, `${id}_w_zero`], output: [`${id}_int`], name: `${id}_matmul` },
      { opType: 'Cast', input: [`${id}_int`], output: [`${id}_float`], name: `${id}_cast`, attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: FLOAT }] },
      { opType: 'Mul', input: [`${id}_x_scale`, `${id}_w_scale`], output: [`${id}_scale`], name: `${id}_scales` },
      { opType: 'Mul', input: [`${id}_float`, `${id}_scale`], output: node.output, name: `${id}_rescale` },
    );
  }
  graph.node = nodes;
  graph.initializer = graph.initializer!.filter((tensor) => !replaced.has(tensor.name!));
  writeFileSync(file, onnx.ModelProto.encode(model).finish());
  return count;
}

const INT64 = 7;

/**
 * Gives `folder`'s graph a `num_logits_to_keep` input (a scalar, as transformers.js' newer exports have it): the
 * hidden states of the last that many positions only go through the head, so `logits` holds those positions.
 */
export function addLogitsToKeep(folder: string): void {
  const file = join(folder, 'onnx', 'model.onnx');
  const model = onnx.ModelProto.decode(readFileSync(file));
  const graph = model.graph!;
  const head = graph.node!.find((node) => node.output![0] === 'logits');
  if (!head) throw new Error(`${file}: no node writes "logits"`);
  const int64s = (name: string, values: bigint[]): onnx.ITensorProto => ({ name, dims: [values.length], dataType: INT64, rawData: new Uint8Array(BigInt64Array.from(values).buffer) });
  graph.initializer!.push(int64s('keep_axis0', [0n]), int64s('keep_end', [9223372036854775807n]), int64s('keep_axis1', [1n]));
  graph.node!.splice(graph.node!.indexOf(head), 0,
    { opType: 'Unsqueeze', input: ['num_logits_to_keep', 'keep_axis0'], output: ['keep_count'], name: 'keep_unsqueeze' },
    { opType: 'Neg', input: ['keep_count'], output: ['keep_start'], name: 'keep_negate' },
    { opType: 'Slice', input: [head.input![0]!, 'keep_start', 'keep_end', 'keep_axis1'], output: ['keep_hidden'], name: 'keep_slice' },
  );
  head.input![0] = 'keep_hidden';
  graph.input!.push({ name: 'num_logits_to_keep', type: { tensorType: { elemType: INT64, shape: { dim: [] } } } });
  writeFileSync(file, onnx.ModelProto.encode(model).finish());
}
