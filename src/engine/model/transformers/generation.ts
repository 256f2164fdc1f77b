/**
 * Greedy decoding of left-padded rows in one loop of forward passes, instead of transformers' `generate`:
 * a shared prefix's cache is copied into every row and only the rest computed, the prompt pass runs in
 * column chunks whose logits stay bounded, its cache is handed back for scoring, and a row leaves the batch
 * as soon as it has ended. Each row computes what it would alone (positions count its own tokens).
 */
import { MAX_PREFILL_LOGIT_BYTES } from './batchSizing';
import { type DecoderSession, forwardRows, hasInput } from './forward';
import { argmax, lastPositionRows } from './logits';
import { leftPad } from './padding';
import { cacheColumnsFrom, pastFromOutputs, type PromptPass, selectCacheRows, selectRows, tileCache, type TransformersPrefix } from './prefixCache';
import { type TfTensor } from './tfTypes';

export interface PaddedDecoding {
  /** The rows' token ids, each beginning with the prefix's tokens when there is one. */
  rows: readonly number[][];
  /** Tokens after the prefix in the longest row. */
  width: number;
  prefix?: TransformersPrefix;
  signal?: AbortSignal;
  /** Whether row `row` has ended with the tokens `ids` generated so far (its limit, EOS or a stop sequence). */
  ended(row: number, ids: readonly number[]): boolean;
  /** Receives the prompt pass before decoding starts (the caller keeps it for scoring, or drops it). */
  keepPromptPass(pass: PromptPass): void;
}

/**
 * Decodes `rows` greedily together and returns each row's generated ids, the ending token included. The next
 * token is the first maximum of the last position's logits (as transformers' greedy sampler picks it); a row
 * leaves the batch, with its cache, as soon as `ended` says so. Runs inside the model's queue.
 */
export async function decodePadded(s: DecoderSession, decoding: PaddedDecoding): Promise<number[][]> {
  const { rows, width, prefix, signal, ended, keepPromptPass } = decoding;

  const skip = prefix?.tokenCount ?? 0;
  const count = rows.length;
  const padded = leftPad(rows, skip, s.padTokenId);
  const { columns, inputIds, positions } = padded;
  let mask = padded.mask;
  const generated: number[][] = rows.map(() => []);
  // Rows still decoding, by their index in `rows`; the batch's tensors hold these rows, in this order.
  let live = rows.map((_, row) => row);
  // The prompt pass in column chunks whose all-position logits (graphs without num_logits_to_keep) stay
  // under MAX_PREFILL_LOGIT_BYTES: only the last position's are needed, and 8 rows × 1,000 tokens × SmolLM2's
  // vocabulary would be 1.6 GB at once. Each chunk runs after the cache of the ones before.
  const chunk = hasInput(s, 'num_logits_to_keep') ? width : Math.max(1, Math.floor(MAX_PREFILL_LOGIT_BYTES / (count * s.vocabulary * 4)));
  let past = prefix ? tileCache(s.tf, prefix.cacheEntries()!, count) : undefined;
  let outputs: Record<string, TfTensor> = {};
  for (let begin = 0; begin < width; begin += chunk) {
    const end = Math.min(width, begin + chunk);
    const part = (data: BigInt64Array, rowWidth: number, from: number, to: number): BigInt64Array => {
      const result = new BigInt64Array(count * (to - from));
      for (let row = 0; row < count; row++) result.set(data.subarray(row * rowWidth + from, row * rowWidth + to), row * (to - from));
      return result;
    };
    const whole = begin === 0 && end === width;
    outputs = await forwardRows(s,
      new s.tf.Tensor('int64', whole ? inputIds : part(inputIds, width, begin, end), [count, end - begin]),
      new s.tf.Tensor('int64', whole ? mask : part(mask, columns, 0, skip + end), [count, skip + end]),
      new s.tf.Tensor('int64', whole ? positions : part(positions, width, begin, end), [count, end - begin]),
      past,
    );
    if (end < width) past = pastFromOutputs(outputs);
  }
  past = undefined;
  const lastLogits = lastPositionRows(outputs.logits);
  // Kept for the references' scores: the prompts' cache is not changed by the steps below (each returns a new
  // one). Without the prefix's columns, which the prefix itself holds.
  // (Only [batch, heads, length, dim] key/value tensors can be cut so; other states, e.g. a recurrent one, keep all.)
  const present = pastFromOutputs(outputs);
  const cut = prefix !== undefined && Object.values(present).every((tensor) => tensor.dims.length === 4 && tensor.dims[2] === columns);
  const cache = cut ? cacheColumnsFrom(s.tf, present, skip) : present;
  const bytes = Object.values(cache).reduce((sum, tensor) => sum + (tensor.data as unknown as ArrayBufferView).byteLength, 0);
  keepPromptPass({ prompts: rows, ...(cut ? { prefix } : {}), cache, mask, columns, lastLogits, bytes });
  let maskColumns = columns;
  let next = lastLogits.map(argmax);
  for (;;) {
    signal?.throwIfAborted();
    past = pastFromOutputs(outputs);
    outputs = {};
    const stillLive: number[] = [];
    const kept: number[] = [];
    live.forEach((row, batchRow) => {
      const ids = generated[row]!;
      ids.push(next[batchRow]!);
      if (!ended(row, ids)) {
        stillLive.push(row);
        kept.push(batchRow);
      }
    });
    if (stillLive.length === 0) break;
    if (kept.length < live.length) {
      past = selectCacheRows(s.tf, past, kept);
      mask = selectRows(mask, maskColumns, kept);
    }
    live = stillLive;
    const grown = new BigInt64Array(live.length * (maskColumns + 1));
    for (let r = 0; r < live.length; r++) {
      grown.set(mask.subarray(r * maskColumns, (r + 1) * maskColumns), r * (maskColumns + 1));
      grown[r * (maskColumns + 1) + maskColumns] = 1n;
    }
    mask = grown;
    maskColumns++;
    outputs = await forwardRows(s,
      new s.tf.Tensor('int64', BigInt64Array.from(live, (row) => BigInt(generated[row]!.at(-1)!)), [live.length, 1]),
      new s.tf.Tensor('int64', mask, [live.length, maskColumns]),
      new s.tf.Tensor('int64', BigInt64Array.from(live, (row) => BigInt(rows[row]!.length + generated[row]!.length - 1)), [live.length, 1]),
      past,
    );
    past = undefined;
    next = lastPositionRows(outputs.logits).map(argmax);
  }
  return generated;
}
