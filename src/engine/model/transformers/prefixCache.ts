/**
 * Key/value caches the batched loops reuse: a prefilled shared prefix (TransformersPrefix), a prompt pass kept
 * for scoring after generation (PromptPass), and the tensor copies that tile a batch-of-one cache into rows or
 * keep some rows of a batch's cache. Plain typed-array copies, so the results are exactly the inputs' values.
 */
import { type PrefixState } from '../languageModel';
import { type TensorData, type TfTensor, type TransformersApi } from './tfTypes';

export class TransformersPrefix implements PrefixState {
  disposed = false;

  constructor(
    /** The session whose cache this is (a model's `sessionIdentity`): a wrapper of the model shares it. */
    readonly owner: object,
    readonly text: string,
    readonly tokenIds: readonly number[],
    private cache: Record<string, TfTensor> | undefined,
  ) {}

  get tokenCount(): number {
    return this.tokenIds.length;
  }

  /** A fresh cache object over the same tensors: generate() updates its cache in place. */
  cacheEntries(): Record<string, TfTensor> | undefined {
    return this.disposed || !this.cache ? undefined : { ...this.cache };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const tensor of Object.values(this.cache ?? {})) {
      if (tensor.location === 'gpu-buffer') tensor.dispose();
    }
    this.cache = undefined;
  }
}

/** The decoder's `present.*` outputs, renamed to the `past_key_values.*` inputs (as transformers does). */
export function pastFromOutputs(outputs: Record<string, TfTensor>): Record<string, TfTensor> {
  const past: Record<string, TfTensor> = {};
  for (const [name, tensor] of Object.entries(outputs)) {
    if (!name.startsWith('present')) continue;
    const pastName = name
      .replace('present_ssm', 'past_ssm')
      .replace('present_conv', 'past_conv')
      .replace('present_recurrent', 'past_recurrent')
      .replace('present_compressor', 'past_compressor')
      .replace('present_indexer', 'past_indexer')
      .replace('present', 'past_key_values');
    past[pastName] = tensor;
  }
  return past;
}


/**
 * A sub-batch's prompt pass: its prompts' tokens, their key/value cache and mask, and each row's last logits.
 * With a shared prefix, `cache` holds only the columns after it: the prefix's cache is the same in every row and
 * is joined back when the pass is used (`passCacheRows`), so keeping a pass costs its rows' own tokens only.
 */
export interface PromptPass {
  prompts: readonly (readonly number[])[];
  prefix?: TransformersPrefix;
  cache: Record<string, TfTensor>;
  mask: BigInt64Array;
  columns: number;
  lastLogits: Float32Array[];
  /** Per row, the draft tokens the pass ran after the prompt (not in `cache`), and their log-probabilities there. */
  drafts?: readonly (readonly number[])[];
  draftLogProbs?: readonly (readonly number[])[];
  /** Bytes of its cache. */
  bytes: number;
}

/** Columns `from` to `to` (exclusive) of a cache's [batch, heads, length, dim] tensors. */
export function cacheColumns(tf: TransformersApi, cache: Record<string, TfTensor>, from: number, to: number): Record<string, TfTensor> {
  const sliced: Record<string, TfTensor> = {};
  for (const [name, tensor] of Object.entries(cache)) {
    const [batch, heads, length, dim] = tensor.dims as [number, number, number, number];
    const data = tensor.data as unknown as TypedArray;
    const kept = to - from;
    const copy = newLike(tensor.data, batch * heads * kept * dim);
    for (let block = 0; block < batch * heads; block++) {
      (copy as Float32Array).set((data as Float32Array).subarray((block * length + from) * dim, (block * length + to) * dim), block * kept * dim);
    }
    sliced[name] = new tf.Tensor(tensor.type, copy, [batch, heads, kept, dim]);
  }
  return sliced;
}

/** Rows `kept` of a prompt pass's cache, the prefix's columns joined back before each row's own. Undefined once the prefix is disposed. */
export function passCacheRows(tf: TransformersApi, pass: PromptPass, kept: readonly number[]): Record<string, TfTensor> | undefined {
  if (!pass.prefix) return selectCacheRows(tf, pass.cache, kept);
  const prefix = pass.prefix.cacheEntries();
  if (!prefix) return undefined;
  const joined: Record<string, TfTensor> = {};
  for (const [name, own] of Object.entries(pass.cache)) {
    const shared = prefix[name]!;
    const [, heads, ownLength, dim] = own.dims as [number, number, number, number];
    const sharedLength = shared.dims[2]!;
    const length = sharedLength + ownLength;
    const sharedData = shared.data as unknown as Float32Array;
    const ownData = own.data as unknown as Float32Array;
    const copy = newLike(own.data, kept.length * heads * length * dim) as Float32Array;
    kept.forEach((row, index) => {
      for (let head = 0; head < heads; head++) {
        const at = (index * heads + head) * length * dim;
        copy.set(sharedData.subarray(head * sharedLength * dim, (head + 1) * sharedLength * dim), at);
        copy.set(ownData.subarray((row * heads + head) * ownLength * dim, (row * heads + head + 1) * ownLength * dim), at + sharedLength * dim);
      }
    });
    joined[name] = new tf.Tensor(own.type, copy, [kept.length, heads, length, dim]);
  }
  return joined;
}

export type TypedArray = Float32Array | Float64Array | Uint16Array | Int32Array | BigInt64Array;

function newLike(data: TensorData, length: number): TypedArray {
  const Constructor = (data as unknown as { constructor: new (length: number) => TypedArray }).constructor;
  return new Constructor(length);
}

/** A batch-of-one cache ([1, heads, length, dim] tensors) copied into `rows` rows. */
export function tileCache(tf: TransformersApi, cache: Record<string, TfTensor>, rows: number): Record<string, TfTensor> {
  const tiled: Record<string, TfTensor> = {};
  for (const [name, tensor] of Object.entries(cache)) {
    const data = tensor.data as unknown as TypedArray;
    const copy = newLike(tensor.data, data.length * rows);
    for (let row = 0; row < rows; row++) (copy as Float32Array).set(data as Float32Array, row * data.length);
    tiled[name] = new tf.Tensor(tensor.type, copy, [rows, ...tensor.dims.slice(1)]);
  }
  return tiled;
}

/** The batch rows `kept` of a cache ([batch, ...] tensors), in that order. */
export function selectCacheRows(tf: TransformersApi, cache: Record<string, TfTensor>, kept: readonly number[]): Record<string, TfTensor> {
  const selected: Record<string, TfTensor> = {};
  for (const [name, tensor] of Object.entries(cache)) {
    const size = tensor.dims.slice(1).reduce((product, dim) => product * dim, 1);
    const data = selectRows(tensor.data as unknown as TypedArray, size, kept);
    selected[name] = new tf.Tensor(tensor.type, data, [kept.length, ...tensor.dims.slice(1)]);
  }
  return selected;
}

export function selectRows<T extends TypedArray>(data: T, rowSize: number, kept: readonly number[]): T {
  const result = newLike(data, kept.length * rowSize) as T;
  kept.forEach((row, index) => (result as Float32Array).set((data as Float32Array).subarray(row * rowSize, (row + 1) * rowSize), index * rowSize));
  return result;
}
