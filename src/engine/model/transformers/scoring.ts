/**
 * Teacher-forced scoring of checked (prompt, continuation) rows: one pair in a pass of its own, pairs in one
 * left-padded pass (after a shared prefix's cache, when given), and continuations whose prompts a kept prompt
 * pass of generateBatch already computed, so that a reference costs its own tokens only.
 */
import { type ContinuationScore } from '../languageModel';
import { scoreSubBatches } from './batchSizing';
import { type DecoderSession, forwardInputs, hasInput } from './forward';
import { logSoftmaxAt, scoreOfTargets } from './logits';
import { leftPad } from './padding';
import { passCacheRows, type PromptPass, tileCache, type TransformersPrefix } from './prefixCache';

/** A pair tokenized for scoring: the joint ids and where the continuation's tokens begin. */
export interface ScoredRow {
  jointIds: number[];
  start: number;
}

/** One pair, checked, in a forward pass of its own; runs inside the queue. */
export async function scoreAlone(s: DecoderSession, row: ScoredRow): Promise<ContinuationScore> {
  const { jointIds, start } = row;
  const keep = jointIds.length - start + 1; // logits at positions start-1 .. end
  const outputs = await s.model.forward(forwardInputs(s, jointIds, keep));
  const logits = outputs.logits;
  if (!logits) throw new Error('The model returned no logits.');
  return scoreOfTargets(logits, jointIds, start);
}

/**
 * Checked pairs in one left-padded forward pass; runs inside the queue. Every row ends at the last
 * column, so the last `keep` logit columns (num_logits_to_keep, when the graph has it) hold what every
 * row needs, and `logProbsOfTargets` finds a row's positions from the right as it does for a lone pass.
 * With a `prefix` (which `prefixFitsScoring` accepted for every row) its cache is copied to each row and
 * only the tokens after it are computed: [prefix | padding | the row's own tokens], positions counting
 * each row's own tokens, as in `decodePadded` (generation.ts).
 */
export async function scorePadded(s: DecoderSession, rows: readonly ScoredRow[], prefix?: TransformersPrefix): Promise<ContinuationScore[]> {
  const skip = prefix?.tokenCount ?? 0;
  const keep = Math.max(...rows.map((row) => row.jointIds.length - row.start + 1));
  const { width, columns, inputIds, positions, mask } = leftPad(
    rows.map((row) => row.jointIds),
    skip,
    s.padTokenId,
  );
  const inputs: Record<string, unknown> = {
    input_ids: new s.tf.Tensor('int64', inputIds, [rows.length, width]),
    attention_mask: new s.tf.Tensor('int64', mask, [rows.length, columns]),
  };
  if (hasInput(s, 'position_ids')) inputs.position_ids = new s.tf.Tensor('int64', positions, [rows.length, width]);
  if (prefix) inputs.past_key_values = tileCache(s.tf, prefix.cacheEntries()!, rows.length);
  if (hasInput(s, 'num_logits_to_keep')) {
    inputs.num_logits_to_keep = new s.tf.Tensor('int64', BigInt64Array.from([BigInt(keep)]), []);
  }
  const outputs = await s.model.forward(inputs);
  const raw = outputs.logits;
  if (!raw) throw new Error('The model returned no logits.');
  const logits = raw.type === 'float32' ? raw : raw.to('float32'); // once, not per row
  return rows.map(({ jointIds, start }, row) => scoreOfTargets(logits, jointIds, start, row));
}

/**
 * Scores of continuations whose prompts a kept prompt pass has computed: the first token's
 * log-probability from that pass's last-position logits, the others from one pass over the continuation
 * alone, after the prompts' own key/value cache (its rows selected). Each row's continuation is
 * left-aligned after its cache columns, padding after it (causal: never seen by the row's tokens), positions
 * counting on from its prompt. So a reference costs its own tokens, not its prompt's again.
 */
export async function scoreAfterPrompts(s: DecoderSession, pass: PromptPass, items: readonly { row: ScoredRow; passRow: number }[], signal?: AbortSignal): Promise<ContinuationScore[]> {
  const tokenLogProbs = items.map(({ row, passRow }) => [logSoftmaxAt(pass.lastLogits[passRow]!, row.jointIds[row.start]!)]);
  const own = items.map(({ row }) => row.jointIds.length - row.start - 1); // tokens fed: all but the last
  const pending = items.map((_, position) => position).filter((position) => own[position]! > 0);
  pending.sort((a, b) => own[a]! - own[b]!);
  const vocabulary = s.vocabulary;
  for (const chunk of scoreSubBatches(pending.map((position) => ({ tokens: own[position]!, logitColumns: own[position]! })), vocabulary)) {
    signal?.throwIfAborted();
    const positionsInItems = chunk.map((position) => pending[position]!);
    const count = positionsInItems.length;
    const width = Math.max(...positionsInItems.map((position) => own[position]!));
    const columns = pass.columns + width;
    const inputIds = new BigInt64Array(count * width).fill(BigInt(s.padTokenId));
    const positions = new BigInt64Array(count * width);
    const mask = new BigInt64Array(count * columns);
    positionsInItems.forEach((position, r) => {
      const { row, passRow } = items[position]!;
      mask.set(pass.mask.subarray(passRow * pass.columns, (passRow + 1) * pass.columns), r * columns);
      for (let i = 0; i < width; i++) {
        positions[r * width + i] = BigInt(row.start + i);
        if (i >= own[position]!) continue;
        inputIds[r * width + i] = BigInt(row.jointIds[row.start + i]!);
        mask[r * columns + pass.columns + i] = 1n;
      }
    });
    const past = passCacheRows(s.tf, pass, positionsInItems.map((position) => items[position]!.passRow));
    if (!past) throw new Error('The prompt pass to score after has lost its prefix (disposed).');
    const inputs: Record<string, unknown> = {
      input_ids: new s.tf.Tensor('int64', inputIds, [count, width]),
      attention_mask: new s.tf.Tensor('int64', mask, [count, columns]),
      position_ids: new s.tf.Tensor('int64', positions, [count, width]),
      past_key_values: past,
    };
    if (hasInput(s, 'num_logits_to_keep')) inputs.num_logits_to_keep = new s.tf.Tensor('int64', BigInt64Array.from([BigInt(width)]), []);
    const outputs = await s.model.forward(inputs);
    const raw = outputs.logits;
    if (!raw) throw new Error('The model returned no logits.');
    const data = (raw.type === 'float32' ? raw : raw.to('float32')).data as Float32Array;
    const [, kept, vocabularySize] = raw.dims as [number, number, number];
    positionsInItems.forEach((position, r) => {
      const { row } = items[position]!;
      for (let i = 0; i < own[position]!; i++) {
        const offset = (r * kept + (kept - width) + i) * vocabularySize;
        tokenLogProbs[position]!.push(logSoftmaxAt(data.subarray(offset, offset + vocabularySize), row.jointIds[row.start + 1 + i]!));
      }
    });
  }
  return tokenLogProbs.map((values) => ({ logProb: values.reduce((sum, value) => sum + value, 0), tokenCount: values.length, tokenLogProbs: values }));
}
