/**
 * What an ONNX file declares, read without loading it: its graph's inputs and outputs with their shapes, and
 * the external data files its weights live in. The ONNX session is only opened when the model first runs,
 * so this is how a load finds a truncated or foreign file, a graph without logits, or logits whose size
 * disagrees with config.json, in milliseconds and without reading the weights.
 *
 * It walks the protobuf wire format (https://protobuf.dev/programming-guides/encoding/) of onnx.proto's
 * ModelProto → GraphProto → ValueInfoProto / TensorProto, reading field headers and skipping the weights'
 * bytes by their lengths: a few thousand small reads for a 500 MB model.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface OnnxValue {
  name: string;
  /** Each dimension: a number when fixed, a string when symbolic (`batch_size`), undefined when unknown. */
  dims: (number | string | undefined)[];
}

export interface OnnxSummary {
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  /** External data files (relative to the ONNX file's folder) and the bytes of each that the weights need. */
  externalData: Map<string, number>;
  /** The operators of the main graph's nodes (`MatMul`, `DynamicQuantizeLinear`…). */
  opTypes: Set<string>;
}

/** The file is not a whole ONNX model; the message says why, in a phrase ("it is cut short: …"). */
export class OnnxFormatError extends Error {
  override name = 'OnnxFormatError';
}

// Field numbers from onnx.proto.
const MODEL_GRAPH = 7;
const GRAPH_NODE = 1;
const NODE_OP_TYPE = 4;
const GRAPH_INITIALIZER = 5;
const GRAPH_INPUT = 11;
const GRAPH_OUTPUT = 12;
const VALUE_NAME = 1;
const VALUE_TYPE = 2;
const TYPE_TENSOR = 1;
const TENSOR_TYPE_SHAPE = 2;
const SHAPE_DIM = 1;
const DIM_VALUE = 1;
const DIM_PARAM = 2;
const TENSOR_NAME = 8;
const TENSOR_EXTERNAL_DATA = 13;
const TENSOR_DATA_LOCATION = 14;
const DATA_LOCATION_EXTERNAL = 1;

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

/** Reads a file's bytes front to back through a 64 KiB window; `skip` moves on without reading. */
class FileCursor {
  private readonly window = Buffer.alloc(64 * 1024);
  private windowStart = 0;
  private windowLength = 0;
  position = 0;

  constructor(
    private readonly fd: number,
    readonly size: number,
  ) {}

  byte(): number {
    if (this.position >= this.size) throw new OnnxFormatError(`it ends in the middle of a field, at byte ${this.position}`);
    if (this.position < this.windowStart || this.position >= this.windowStart + this.windowLength) {
      this.windowStart = this.position;
      this.windowLength = fs.readSync(this.fd, this.window, 0, this.window.length, this.position);
    }
    return this.window[this.position++ - this.windowStart]!;
  }

  varint(): number {
    let value = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      const byte = this.byte();
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    throw new OnnxFormatError(`a number at byte ${this.position} runs on for more than 10 bytes`);
  }

  bytes(length: number): Buffer {
    const buffer = Buffer.alloc(length);
    const read = fs.readSync(this.fd, buffer, 0, length, this.position);
    if (read < length) throw new OnnxFormatError(`it ends in the middle of a field, at byte ${this.size}`);
    this.position += length;
    return buffer;
  }

  skip(length: number): void {
    this.position += length;
  }
}

interface FieldHeader {
  field: number;
  wire: number;
}

function fieldHeader(cursor: FileCursor): FieldHeader {
  const at = cursor.position;
  const tag = cursor.varint();
  const header = { field: Math.floor(tag / 8), wire: tag % 8 };
  if (header.field === 0 || ![VARINT, FIXED64, LENGTH_DELIMITED, FIXED32].includes(header.wire)) {
    throw new OnnxFormatError(`byte ${at} does not start a protobuf field`);
  }
  return header;
}

/** The length of a length-delimited field, checked against where its message ends. */
function fieldLength(cursor: FileCursor, end: number, what: string): number {
  const length = cursor.varint();
  if (cursor.position + length > end) {
    throw end === cursor.size
      ? new OnnxFormatError(`it is cut short: its ${what} needs ${cursor.position + length} bytes and the file has ${cursor.size}`)
      : new OnnxFormatError(`a field at byte ${cursor.position} runs past the end of its ${what}`);
  }
  return length;
}

function skipValue(cursor: FileCursor, header: FieldHeader, end: number, what: string): void {
  if (header.wire === VARINT) cursor.varint();
  else if (header.wire === FIXED64) cursor.skip(8);
  else if (header.wire === FIXED32) cursor.skip(4);
  else cursor.skip(fieldLength(cursor, end, what));
}

/** The fields of a small message held in memory: [field, varint value or bytes]. */
function* messageFields(buffer: Buffer): Generator<[number, number | Buffer]> {
  let position = 0;
  const varint = (): number => {
    let value = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      if (position >= buffer.length) throw new OnnxFormatError('a graph input or output description is cut short');
      const byte = buffer[position++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    throw new OnnxFormatError('a graph input or output description holds a number of more than 10 bytes');
  };
  while (position < buffer.length) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === VARINT) yield [field, varint()];
    else if (wire === FIXED64) position += 8;
    else if (wire === FIXED32) position += 4;
    else if (wire === LENGTH_DELIMITED) {
      const length = varint();
      if (position + length > buffer.length) throw new OnnxFormatError('a graph input or output description is cut short');
      yield [field, buffer.subarray(position, position + length)];
      position += length;
    } else {
      throw new OnnxFormatError('a graph input or output description is not protobuf');
    }
  }
}

function valueInfo(buffer: Buffer): OnnxValue {
  const value: OnnxValue = { name: '', dims: [] };
  for (const [field, content] of messageFields(buffer)) {
    if (field === VALUE_NAME && Buffer.isBuffer(content)) value.name = content.toString('utf8');
    if (field !== VALUE_TYPE || !Buffer.isBuffer(content)) continue;
    for (const [typeField, tensor] of messageFields(content)) {
      if (typeField !== TYPE_TENSOR || !Buffer.isBuffer(tensor)) continue;
      for (const [tensorField, shape] of messageFields(tensor)) {
        if (tensorField !== TENSOR_TYPE_SHAPE || !Buffer.isBuffer(shape)) continue;
        for (const [shapeField, dim] of messageFields(shape)) {
          if (shapeField !== SHAPE_DIM || !Buffer.isBuffer(dim)) continue;
          let size: number | string | undefined;
          for (const [dimField, dimValue] of messageFields(dim)) {
            if (dimField === DIM_VALUE && typeof dimValue === 'number') size = dimValue;
            if (dimField === DIM_PARAM && Buffer.isBuffer(dimValue)) size = dimValue.toString('utf8');
          }
          value.dims.push(size);
        }
      }
    }
  }
  return value;
}

/** An initializer's external data, if it has any: [file, offset + length]. Its own data is skipped unread. */
function initializerExternalData(cursor: FileCursor, end: number): [string, number] | undefined {
  let external = false;
  let location: string | undefined;
  let dataEnd = 0;
  while (cursor.position < end) {
    const header = fieldHeader(cursor);
    if (header.field === TENSOR_DATA_LOCATION && header.wire === VARINT) {
      external = cursor.varint() === DATA_LOCATION_EXTERNAL;
    } else if (header.field === TENSOR_EXTERNAL_DATA && header.wire === LENGTH_DELIMITED) {
      const entry = cursor.bytes(fieldLength(cursor, end, 'initializer'));
      let key = '';
      let value = '';
      for (const [field, content] of messageFields(entry)) {
        if (field === 1 && Buffer.isBuffer(content)) key = content.toString('utf8');
        if (field === 2 && Buffer.isBuffer(content)) value = content.toString('utf8');
      }
      if (key === 'location') location = value;
      if (key === 'offset') dataEnd += Number(value) || 0;
      if (key === 'length') dataEnd += Number(value) || 0;
    } else if (header.field === TENSOR_NAME && header.wire === LENGTH_DELIMITED) {
      cursor.skip(fieldLength(cursor, end, 'initializer'));
    } else {
      skipValue(cursor, header, end, 'initializer');
    }
  }
  return external && location ? [location, dataEnd] : undefined;
}

/** A node's operator; its other fields (a Constant's tensor among them) are skipped unread. */
function nodeOpType(cursor: FileCursor, end: number): string | undefined {
  let opType: string | undefined;
  while (cursor.position < end) {
    const header = fieldHeader(cursor);
    if (header.field === NODE_OP_TYPE && header.wire === LENGTH_DELIMITED) opType = cursor.bytes(fieldLength(cursor, end, 'node')).toString('utf8');
    else skipValue(cursor, header, end, 'node');
  }
  return opType;
}

function readGraph(cursor: FileCursor, end: number, summary: OnnxSummary): void {
  while (cursor.position < end) {
    const header = fieldHeader(cursor);
    if (header.wire === LENGTH_DELIMITED && header.field === GRAPH_NODE) {
      const length = fieldLength(cursor, end, 'graph');
      const opType = nodeOpType(cursor, cursor.position + length);
      if (opType) summary.opTypes.add(opType);
    } else if (header.wire === LENGTH_DELIMITED && (header.field === GRAPH_INPUT || header.field === GRAPH_OUTPUT)) {
      const value = valueInfo(cursor.bytes(fieldLength(cursor, end, 'graph')));
      (header.field === GRAPH_INPUT ? summary.inputs : summary.outputs).push(value);
    } else if (header.wire === LENGTH_DELIMITED && header.field === GRAPH_INITIALIZER) {
      const length = fieldLength(cursor, end, 'graph');
      const external = initializerExternalData(cursor, cursor.position + length);
      if (external) summary.externalData.set(external[0], Math.max(summary.externalData.get(external[0]) ?? 0, external[1]));
    } else {
      skipValue(cursor, header, end, 'graph');
    }
  }
}

/** Reads what `file` declares; throws OnnxFormatError when it is not a whole ONNX model. */
export function readOnnxSummary(file: string): OnnxSummary {
  const fd = fs.openSync(file, 'r');
  try {
    const cursor = new FileCursor(fd, fs.fstatSync(fd).size);
    const summary: OnnxSummary = { inputs: [], outputs: [], externalData: new Map(), opTypes: new Set() };
    let graphs = 0;
    while (cursor.position < cursor.size) {
      const header = fieldHeader(cursor);
      if (header.field === MODEL_GRAPH && header.wire === LENGTH_DELIMITED) {
        const length = fieldLength(cursor, cursor.size, 'graph');
        readGraph(cursor, cursor.position + length, summary);
        graphs++;
      } else {
        skipValue(cursor, header, cursor.size, 'model');
      }
    }
    // A message field written twice is merged (protobuf's rule), so several pieces of graph are one graph.
    if (graphs === 0 || summary.outputs.length === 0) throw new OnnxFormatError('it holds no ONNX graph');
    return summary;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Operators that compute one statistic over their whole input, every row of a batch and every position at once:
 * dynamic quantization's activation scale (the `q8` files' MatMulInteger inputs). In such a graph a row's result
 * depends on the rows and tokens run beside it.
 */
const BATCH_COUPLED_OPS = ['DynamicQuantizeLinear', 'DynamicQuantizeMatMul', 'DynamicQuantizeLSTM'];

/** The batch-coupled operators (BATCH_COUPLED_OPS) a summary's graph uses. */
export function batchCoupledOps(summary: OnnxSummary): string[] {
  return BATCH_COUPLED_OPS.filter((op) => summary.opTypes.has(op));
}

/** The external data files a summary names that are missing or shorter than the weights need: one phrase each. */
export function externalDataProblems(onnxFile: string, summary: OnnxSummary): string[] {
  const problems: string[] = [];
  for (const [location, needed] of summary.externalData) {
    const file = path.join(path.dirname(onnxFile), location);
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch {
      problems.push(`${file}, which holds its weights, is missing`);
      continue;
    }
    if (size >= needed) continue;
    problems.push(
      isLfsPointer(file)
        ? `${file}, which holds its weights, is a Git LFS pointer (fetch the real file: git lfs pull)`
        : `${file}, which holds its weights, is cut short: it has ${size} bytes of the ${needed} needed`,
    );
  }
  return problems;
}

/** True when the file is a Git LFS pointer (a clone without `git lfs pull`) instead of the file it names. */
export function isLfsPointer(file: string): boolean {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const head = Buffer.alloc(64);
      const read = fs.readSync(fd, head, 0, head.length, 0);
      return head.subarray(0, read).toString('utf8').startsWith('version https://git-lfs');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
}
