/**
 * How big a padded batch may get, for generation and for scoring: the measured bounds on rows, padded tokens,
 * key/value cache and logit bytes, and the functions that split rows of ascending length into sub-batches
 * under them. Kept apart so the bounds and their measurements read in one place.
 */

const MIB = 1024 * 1024;

/**
 * How big one padded batch may get. Measured on 2 CPU cores (scripts/bench-model.ts and sweeps over
 * prompt lengths, 32 new tokens): with ~100-token prompts a batch of 8 generates 2.2–3.0 times the tokens
 * per second of 8 sequential calls (stories260K, a SmolLM2-135M-shaped model), and larger ones add little; as prompts grow the prompt pass
 * dominates and batching pays less (400 tokens: 1.2–1.7× at 4 or 8 rows; 1000 tokens: 1.1× at 2 rows)
 * until it loses (1000 tokens × 4 rows: 0.7×); those figures are from transformers' own `generate`, before
 * the shared prefix and the chunked prompt pass. With a prefix the width is what follows it.
 */
const MAX_BATCH_ROWS = 8;
const MAX_BATCH_TOKENS = 2048;
/**
 * The key/value cache of a sub-batch (rows × their prompt and new tokens, a shared prefix copied into every
 * row) stays under this. It is held twice during a step (the past in, the present out); the prompt pass kept
 * for scoring holds only the rows' own columns (prefixCache.ts, PromptPass). Decoding is bound by reading the
 * weights once per step (SmolLM2-135M shape, 1 thread: 40 ms a step for one row, 71 ms for four at 270 tokens
 * of context), plus a cost per row that grows with its context (the graph copies its past each step: ~0.03 ms
 * per token of context, 104 ms a step for one row of 2,200 tokens); so rows decoded together are what makes a
 * sweep fast, and the bound trades that against memory. A token takes 46 KB there: 1,650-token prompts (16
 * shots) go 3 at a time, 830-token ones 7. A plain transformers.js loop peaks at 2.5 GB on that shape's sweep; at
 * 320 MiB (4 rows of 16 shots) a sweep peaked 10 MB above it, so the bound is a little lower (the README's table).
 */
const MAX_BATCH_CACHE_BYTES = 288 * MIB;
/**
 * The prompt passes kept for scoring after a batch hold at most this much cache in all (with a shared prefix,
 * only the rows' own columns count: the prefix holds its own). A reference whose pass is not kept is scored after a whole second prompt pass, whose logits weigh
 * more: measured on a random-selection sweep (SmolLM2-135M shape), 128 MiB peaked at 2.72 GB and 74 CPU-s,
 * 256 MiB at 2.50 GB and 62 CPU-s (a plain loop: 2.25 GB, 68 CPU-s).
 */
export const MAX_KEPT_PASS_BYTES = 256 * MIB;
/** A prefix is computed in chunks whose logits (all positions, on graphs without num_logits_to_keep) stay under this. */
export const MAX_PREFILL_LOGIT_BYTES = 64 * MIB;

/**
 * Splits rows of ascending lengths into consecutive sub-batches of at most MAX_BATCH_ROWS rows, at most
 * MAX_BATCH_TOKENS padded tokens (rows × the longest) and, when `cacheTokens` and `bytesPerToken` are given,
 * at most MAX_BATCH_CACHE_BYTES of key/value cache (rows × the most tokens a row may hold × bytes per token);
 * a row over a bound alone. The last two sub-batches are then evened out (7 + 1 rows become 4 + 4): a step costs
 * about the same for one row as for four (reading the weights), so a lone row would cost a batch of its own.
 * Returns positions.
 */
export function subBatches(ascendingLengths: readonly number[], cacheTokens?: readonly number[], bytesPerToken = 0): number[][] {
  const fits = (batch: readonly number[]): boolean => {
    const longest = Math.max(...batch.map((position) => ascendingLengths[position]!));
    const most = Math.max(...batch.map((position) => cacheTokens?.[position] ?? 0));
    return batch.length <= MAX_BATCH_ROWS && batch.length * longest <= MAX_BATCH_TOKENS && batch.length * most * bytesPerToken <= MAX_BATCH_CACHE_BYTES;
  };
  const batches: number[][] = [];
  let current: number[] = [];
  ascendingLengths.forEach((_, position) => {
    if (current.length > 0 && !fits([...current, position])) {
      batches.push(current);
      current = [];
    }
    current.push(position);
  });
  if (current.length > 0) batches.push(current);
  // Rows are in ascending order, so moving the earlier batch's last rows into the last one keeps both in bounds
  // wherever the last one, one row larger, still fits.
  const [earlier, last] = [batches.at(-2), batches.at(-1)];
  while (earlier && last && earlier.length - last.length >= 2 && fits([earlier.at(-1)!, ...last])) last.unshift(earlier.pop()!);
  return batches;
}

/**
 * A scoring pass returns rows × columns × vocabulary float logits (columns: the padded width, or the kept
 * positions with num_logits_to_keep): 8 rows of 200 tokens over SmolLM2's 49,152-token vocabulary are
 * 315 MB. Sub-batches stay under this; onnxruntime may briefly hold a second copy while handing them over.
 */
const MAX_SCORE_LOGIT_BYTES = 256 * MIB;
/**
 * A scoring pass is all prompt pass, where batching pays least (see MAX_BATCH_ROWS). Measured on 2 CPU
 * cores, 24 pairs in sub-batches of k rows vs one at a time: with ~30–260-token pairs, sub-batches of up to
 * ~1000 padded tokens score 1.05–1.3× faster (stories260K up to 2.2× on 30-token pairs, overhead-bound); with
 * ~500-token pairs every k ≥ 2 was 0.86–1.0× on a SmolLM2-135M-shaped model and 0.83–0.94× on stories260K.
 * So ~500-token pairs still go two by two here (a few percent slower at worst) and longer ones alone.
 */
const MAX_SCORE_BATCH_TOKENS = 1024;
/** Assumed when config.json names no vocabulary size: Gemma 3's 262,144, about the largest in use. */
export const UNKNOWN_VOCABULARY_SIZE = 262_144;

/**
 * Splits scoring rows of ascending `tokens` into consecutive sub-batches of at most MAX_BATCH_ROWS rows,
 * MAX_SCORE_BATCH_TOKENS padded tokens (rows × the longest) and MAX_SCORE_LOGIT_BYTES of float32 logits
 * (rows × the most logit columns a row needs × vocabulary × 4 bytes) and, when `cacheTokens` and `bytesPerToken`
 * are given, MAX_BATCH_CACHE_BYTES of key/value cache; a row over a bound alone. Returns positions.
 */
export function scoreSubBatches(
  rows: readonly { tokens: number; logitColumns: number }[],
  vocabularySize: number,
  cacheTokens?: readonly number[],
  bytesPerToken = 0,
): number[][] {
  const batches: number[][] = [];
  let current: number[] = [];
  let columns = 0;
  let most = 0;
  rows.forEach(({ tokens, logitColumns }, position) => {
    const count = current.length + 1;
    const widest = Math.max(columns, logitColumns);
    const fits =
      count <= MAX_BATCH_ROWS &&
      count * tokens <= MAX_SCORE_BATCH_TOKENS &&
      count * widest * vocabularySize * 4 <= MAX_SCORE_LOGIT_BYTES &&
      count * Math.max(most, cacheTokens?.[position] ?? 0) * bytesPerToken <= MAX_BATCH_CACHE_BYTES;
    if (current.length > 0 && !fits) {
      batches.push(current);
      current = [];
      columns = 0;
      most = 0;
    }
    current.push(position);
    columns = Math.max(columns, logitColumns);
    most = Math.max(most, cacheTokens?.[position] ?? 0);
  });
  if (current.length > 0) batches.push(current);
  return batches;
}
