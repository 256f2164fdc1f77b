/**
 * Greedy decoding of left-padded rows in one loop of forward passes, instead of transformers' `generate`:
 * a shared prefix's cache is copied into every row and only the rest computed, the prompt pass runs in
 * column chunks whose logits stay bounded, its cache is handed back for scoring, and a row leaves the batch
 * as soon as it has ended. Each row computes what it would alone (positions count its own tokens).
 *
 * A row may come with a draft: tokens expected to follow its prompt (the reference answer). They run in the
 * prompt pass, after the prompt, and each is *checked*, never trusted: the greedy token at the draft's first
 * position is the first maximum of the logits after the prompt; while it equals the draft's token, the next
 * greedy token is read from the logits the pass already computed after that token, and so on (speculative
 * decoding with the reference as the draft, verified greedily). At the first difference the row goes on
 * decoding one step at a time from the model's own token. So the output is exactly greedy decoding's (up to
 * the float rounding of kernel shapes that batching already has, on a near-tie of the top two logits; the
 * draft does not choose between them), and a model that answers like the references costs a chunk of the prompt pass instead
 * of a step per token. The pass also yields the draft's teacher-forced log-probabilities: the reference's
 * score without a second pass.
 */
import { MAX_PREFILL_LOGIT_BYTES } from './batchSizing';
import { type DecoderSession, forwardRows, hasInput } from './forward';
import { argmax, lastPositionRows, logSoftmaxAt } from './logits';
import { leftPad } from './padding';
import { cacheColumns, pastFromOutputs, type PromptPass, selectCacheRows, selectRows, tileCache, type TransformersPrefix } from './prefixCache';
import { type TfTensor } from './tfTypes';

export interface PaddedDecoding {
  /** The rows' token ids, each beginning with the prefix's tokens when there is one. */
  rows: readonly number[][];
  /** Tokens after the prefix in the longest row. */
  width: number;
  prefix?: TransformersPrefix;
  /** Per row, tokens expected to follow its prompt (checked, never trusted; see above); [] or absent: none. */
  drafts?: readonly (readonly number[])[];
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
  const { columns } = padded;
  const keepsLogits = hasInput(s, 'num_logits_to_keep');
  // The logits of the draft's positions (and the prompt's last) are held at once: the drafts are cut so that they
  // stay under MAX_PREFILL_LOGIT_BYTES, as every chunk of the prompt pass does.
  const draftRoom = Math.floor(MAX_PREFILL_LOGIT_BYTES / (count * s.vocabulary * 4)) - 1;
  const drafts = rows.map((_, row) => (decoding.drafts?.[row] ?? []).slice(0, Math.max(0, draftRoom)));
  const draftWidth = Math.max(0, ...drafts.map((draft) => draft.length));
  const { inputIds, inputPositions, inputMask } = withDrafts(padded, rows, drafts, draftWidth, s.padTokenId);
  const total = width + draftWidth; // columns of the pass after the prefix
  const inputColumns = columns + draftWidth;

  // The pass in column chunks whose all-position logits (graphs without num_logits_to_keep) stay under
  // MAX_PREFILL_LOGIT_BYTES: 8 rows × 1,000 tokens × SmolLM2's vocabulary would be 1.6 GB at once. Each chunk
  // runs after the cache of the ones before. With drafts, the last chunk holds the prompts' last column and the
  // drafts' (the logits read), apart from the prompts' own: the logits and activations then peak at the larger
  // part, not their sum (measured on a SmolLM2-135M-shaped sweep: 2,441 against 2,562 MB peak RSS, for one more
  // read of the weights a sub-batch, 4% more CPU); the drafts' room keeps that chunk within the bound.
  const chunk = keepsLogits ? total : Math.max(1, Math.floor(MAX_PREFILL_LOGIT_BYTES / (count * s.vocabulary * 4)));
  const read = width - 1; // the first column whose logits are needed
  const split = draftWidth > 0 && !keepsLogits ? read : total;
  const chunks: [number, number][] = [];
  for (let begin = 0; begin < split; begin += chunk) chunks.push([begin, Math.min(split, begin + chunk)]);
  if (split < total) chunks.push([split, total]);
  let past = prefix ? tileCache(s.tf, prefix.cacheEntries()!, count) : undefined;
  let outputs: Record<string, TfTensor> = {};
  for (const [begin, end] of chunks) {
    const part = (data: BigInt64Array, rowWidth: number, from: number, to: number): BigInt64Array => {
      if (from === 0 && to === rowWidth) return data;
      const result = new BigInt64Array(count * (to - from));
      for (let row = 0; row < count; row++) result.set(data.subarray(row * rowWidth + from, row * rowWidth + to), row * (to - from));
      return result;
    };
    outputs = await forwardRows(s,
      new s.tf.Tensor('int64', part(inputIds, total, begin, end), [count, end - begin]),
      new s.tf.Tensor('int64', part(inputMask, inputColumns, 0, skip + end), [count, skip + end]),
      new s.tf.Tensor('int64', part(inputPositions, total, begin, end), [count, end - begin]),
      past,
      total - read,
    );
    if (end < total) past = pastFromOutputs(outputs);
  }
  past = undefined;

  const { generated, next, live, lastLogits, draftLogProbs } = readPass(outputs.logits, rows, drafts, read, total, ended);
  let present: Record<string, TfTensor> | undefined = pastFromOutputs(outputs);
  outputs = {};
  // (Only [batch, heads, length, dim] key/value tensors can be cut to some columns; other states, e.g. a recurrent
  // one, cannot, and then the runner gives no drafts.)
  const cuttable = Object.values(present).every((tensor) => tensor.dims.length === 4 && tensor.dims[2] === inputColumns);
  if (draftWidth > 0 && !cuttable) throw new Error('A draft was given for a model whose cache cannot be cut to the accepted tokens.');

  // Kept for the references' scores (the steps below do not change it: each returns a new cache): the prompts'
  // columns only, without the prefix's, which the prefix itself holds, nor the drafts'. Copied out before the
  // pass's cache is realigned in place; where it is exactly the decoding cache (no prefix, every row live, no draft
  // token accepted) it is the same tensors, not a copy.
  const accepted = live.map((row) => generated[row]!.length);
  const from = prefix && cuttable ? skip : 0;
  const sameAsDecoding = from === 0 && draftWidth > 0 && live.length === count && Math.max(...accepted) === 0;
  let cache = from === 0 && draftWidth === 0 ? present : sameAsDecoding ? undefined : cacheColumns(s.tf, present, from, columns);

  // The live rows' cache and mask: each row's prompt and accepted draft tokens, aligned to end at the same
  // column (the accepted counts differ), padding (mask 0) between the prefix and the row's tokens.
  const decodingState = live.length === 0 ? undefined : draftWidth > 0
    ? alignAcceptedInPlace(s, present, inputMask, inputColumns, columns, skip, live, accepted)
    : { cache: present, mask: padded.mask, maskColumns: columns };
  cache ??= decodingState!.cache;
  const bytes = Object.values(cache).reduce((sum, tensor) => sum + (tensor.data as unknown as ArrayBufferView).byteLength, 0);
  keepPromptPass({ prompts: rows, ...(from > 0 ? { prefix } : {}), cache, mask: padded.mask, columns, lastLogits, drafts, draftLogProbs, bytes });
  present = undefined; // held from here by the decoding cache (realigned in its buffers) and the kept pass only
  if (!decodingState) return generated;
  let { cache: pastCache, mask, maskColumns } = decodingState;
  let liveRows = live;
  let nextTokens = next;
  for (;;) {
    signal?.throwIfAborted();
    const stillLive: number[] = [];
    const keptRows: number[] = [];
    liveRows.forEach((row, batchRow) => {
      const ids = generated[row]!;
      ids.push(nextTokens[batchRow]!);
      if (!ended(row, ids)) {
        stillLive.push(row);
        keptRows.push(batchRow);
      }
    });
    if (stillLive.length === 0) break;
    if (keptRows.length < liveRows.length) {
      pastCache = selectCacheRows(s.tf, pastCache, keptRows);
      mask = selectRows(mask, maskColumns, keptRows);
    }
    liveRows = stillLive;
    const grown = new BigInt64Array(liveRows.length * (maskColumns + 1));
    for (let r = 0; r < liveRows.length; r++) {
      grown.set(mask.subarray(r * maskColumns, (r + 1) * maskColumns), r * (maskColumns + 1));
      grown[r * (maskColumns + 1) + maskColumns] = 1n;
    }
    mask = grown;
    maskColumns++;
    const step = await forwardRows(s,
      new s.tf.Tensor('int64', BigInt64Array.from(liveRows, (row) => BigInt(generated[row]!.at(-1)!)), [liveRows.length, 1]),
      new s.tf.Tensor('int64', mask, [liveRows.length, maskColumns]),
      new s.tf.Tensor('int64', BigInt64Array.from(liveRows, (row) => BigInt(rows[row]!.length + generated[row]!.length - 1)), [liveRows.length, 1]),
      pastCache,
    );
    pastCache = pastFromOutputs(step);
    nextTokens = lastPositionRows(step.logits).map(argmax);
  }
  return generated;
}

/**
 * What the pass's logits say, read before they go: each row's greedy tokens after its prompt and after each
 * draft token while the draft holds (`generated`, a row that ended there absent from `live`), the next token of
 * each live row, the last logits of every prompt and the drafts' log-probabilities.
 */
function readPass(
  logits: TfTensor | undefined, rows: readonly number[][], drafts: readonly (readonly number[])[], read: number, total: number,
  ended: (row: number, ids: readonly number[]) => boolean,
): { generated: number[][]; next: number[]; live: number[]; lastLogits: Float32Array[]; draftLogProbs: number[][] } {
  if (!logits) throw new Error('The model returned no logits.');
  const [, kept, vocabulary] = logits.dims as [number, number, number];
  const data = (logits.type === 'float32' ? logits : logits.to('float32')).data as Float32Array;
  const logitsAt = (row: number, column: number): Float32Array => {
    const offset = (row * kept + kept - (total - column)) * vocabulary;
    return data.subarray(offset, offset + vocabulary);
  };
  const generated: number[][] = rows.map(() => []);
  const next: number[] = [];
  const live: number[] = [];
  rows.forEach((_, row) => {
    const draft = drafts[row]!;
    const ids = generated[row]!;
    for (let i = 0; ; i++) {
      const token = argmax(logitsAt(row, read + i));
      if (i < draft.length && token === draft[i]) {
        ids.push(token);
        if (ended(row, ids)) return;
        continue;
      }
      next.push(token);
      live.push(row);
      return;
    }
  });
  const lastLogits = rows.map((_, row) => logitsAt(row, read).slice());
  const draftLogProbs = drafts.map((draft, row) => draft.map((token, i) => logSoftmaxAt(logitsAt(row, read + i), token)));
  return { generated, next, live, lastLogits, draftLogProbs };
}

/**
 * The pass's inputs with each row's draft after its prompt: [padding | prompt | draft | padding], the drafts
 * left-aligned after the prompts' last column (padding after a draft is never seen by the row's tokens: causal),
 * positions counting on from the prompt, mask 1 over the draft's tokens.
 */
function withDrafts(
  padded: ReturnType<typeof leftPad>, rows: readonly number[][], drafts: readonly (readonly number[])[], draftWidth: number, padId: number,
): { inputIds: BigInt64Array; inputPositions: BigInt64Array; inputMask: BigInt64Array } {
  if (draftWidth === 0) return { inputIds: padded.inputIds, inputPositions: padded.positions, inputMask: padded.mask };
  const { width, columns } = padded;
  const total = width + draftWidth;
  const inputColumns = columns + draftWidth;
  const inputIds = new BigInt64Array(rows.length * total).fill(BigInt(padId));
  const inputPositions = new BigInt64Array(rows.length * total).fill(1n);
  const inputMask = new BigInt64Array(rows.length * inputColumns);
  rows.forEach((ids, row) => {
    inputIds.set(padded.inputIds.subarray(row * width, (row + 1) * width), row * total);
    inputPositions.set(padded.positions.subarray(row * width, (row + 1) * width), row * total);
    inputMask.set(padded.mask.subarray(row * columns, (row + 1) * columns), row * inputColumns);
    drafts[row]!.forEach((token, i) => {
      inputIds[row * total + width + i] = BigInt(token);
      inputPositions[row * total + width + i] = BigInt(ids.length + i);
      inputMask[row * inputColumns + columns + i] = 1n;
    });
  });
  return { inputIds, inputPositions, inputMask };
}

/**
 * The cache and mask of the live rows after their drafts were checked: row `live[r]` keeps its prefix columns,
 * its prompt and its first `accepted[r]` draft columns, shifted right so that every row ends at the same column;
 * the columns opened between prefix and prompt are padding (mask 0, never attended to). Keys carry their
 * positions already (rotary embeddings are applied before the cache), so moving columns changes nothing.
 *
 * Done inside the pass's own buffers (`present` is not used afterwards), so the realigned cache costs no second
 * copy of the batch's cache at its peak: row blocks only move towards the start (live rows ascend, and a new block,
 * at most the drafts' width shorter, never begins after its old place), and `copyWithin` moves overlapping ranges
 * as memmove does. The padding keeps stale, finite values, which the mask hides.
 */
function alignAcceptedInPlace(
  s: DecoderSession, present: Record<string, TfTensor>, inputMask: BigInt64Array, inputColumns: number, columns: number, skip: number,
  live: readonly number[], accepted: readonly number[],
): { cache: Record<string, TfTensor>; mask: BigInt64Array; maskColumns: number } {
  const most = Math.max(...accepted);
  const maskColumns = columns + most;
  const mask = new BigInt64Array(live.length * maskColumns);
  live.forEach((row, r) => {
    const shift = most - accepted[r]!;
    const source = inputMask.subarray(row * inputColumns, row * inputColumns + columns + accepted[r]!);
    mask.set(source.subarray(0, skip), r * maskColumns);
    mask.set(source.subarray(skip), r * maskColumns + skip + shift);
  });
  const cache: Record<string, TfTensor> = {};
  for (const [name, tensor] of Object.entries(present)) {
    const [, heads, length, dim] = tensor.dims as [number, number, number, number];
    const data = tensor.data as unknown as Float32Array;
    live.forEach((row, r) => {
      const shift = most - accepted[r]!;
      for (let head = 0; head < heads; head++) {
        const from = (row * heads + head) * length * dim;
        const to = (r * heads + head) * maskColumns * dim;
        data.copyWithin(to, from, from + skip * dim);
        data.copyWithin(to + (skip + shift) * dim, from + skip * dim, from + (columns + accepted[r]!) * dim);
      }
    });
    cache[name] = new s.tf.Tensor(tensor.type, data.subarray(0, live.length * heads * maskColumns * dim), [live.length, heads, maskColumns, dim]);
  }
  return { cache, mask, maskColumns };
}
