/**
 * Reading the model's logits: greedy choice (argmax, as transformers picks it), the last position's rows of a
 * batch, and natural-log probabilities of given tokens (teacher-forced scoring), all in float32 on the CPU.
 */
import { type ContinuationScore } from '../languageModel';
import { type TfTensor } from './tfTypes';

/**
 * Natural-log probabilities of `ids[start..]`, each from the logits one position earlier.
 * `logits` ([batch, rows, vocabulary]) holds the last `rows` positions of the sequence (all of them, or
 * fewer with num_logits_to_keep); `batchRow` picks the sequence in a left-padded batch, whose tokens end
 * at the last column as a lone sequence's do. The log-softmax is computed at those positions only.
 */
export function logProbsOfTargets(logits: TfTensor, ids: readonly number[], start: number, batchRow = 0): number[] {
  const floats = logits.type === 'float32' ? logits : logits.to('float32');
  const data = floats.data as ArrayLike<number>;
  const [batch, rows, vocabulary] = floats.dims as [number, number, number];
  if (!(batchRow >= 0 && batchRow < batch)) throw new Error(`No batch row ${batchRow} in logits of ${batch} rows.`);
  const firstRowPosition = ids.length - rows; // sequence position of logits row 0
  const result: number[] = [];
  for (let t = start; t < ids.length; t++) {
    const row = t - 1 - firstRowPosition;
    if (row < 0) throw new Error('The model returned fewer logits than the continuation needs.');
    const offset = (batchRow * rows + row) * vocabulary;
    let max = -Infinity;
    for (let j = 0; j < vocabulary; j++) max = Math.max(max, data[offset + j]!);
    let sum = 0;
    for (let j = 0; j < vocabulary; j++) sum += Math.exp(data[offset + j]! - max);
    result.push(data[offset + ids[t]!]! - max - Math.log(sum));
  }
  return result;
}

/**
 * How big one padded batch may get. Measured on 2 CPU cores (scripts/bench-model.ts and sweeps over
 * prompt lengths, 32 new tokens): with ~100-token prompts a batch of 8 generates 2.2–3.0 times the tokens
 * per second of 8 sequential calls (stories260K, a SmolLM2-135M-shaped model), and larger ones add little; as prompts grow the prompt pass
 * dominates and batching pays less (400 tokens: 1.2–1.7× at 4 or 8 rows; 1000 tokens: 1.1× at 2 rows)
 * until it loses (1000 tokens × 4 rows: 0.7×); those figures are from transformers' own `generate`, before
 * the shared prefix and the chunked prompt pass. With a prefix the width is what follows it.

/** Each batch row's last-position logits ([batch, positions, vocabulary]), copied out so the tensor can go. */
export function lastPositionRows(logits: TfTensor | undefined): Float32Array[] {
  if (!logits) throw new Error('The model returned no logits.');
  const [batch, positions, vocabulary] = logits.dims as [number, number, number];
  const data = (logits.type === 'float32' ? logits : logits.to('float32')).data as Float32Array;
  return Array.from({ length: batch }, (_, row) => data.slice((row * positions + positions - 1) * vocabulary, (row * positions + positions) * vocabulary));
}

/** The first maximum, as transformers' greedy sampler picks it. */
export function argmax(values: Float32Array): number {
  let best = 0;
  let max = values[0]!;
  for (let j = 1; j < values.length; j++) {
    if (values[j]! > max) {
      max = values[j]!;
      best = j;
    }
  }
  return best;
}

/** Natural-log probability of `token` under the softmax of `logits`, computed as `logProbsOfTargets` does. */
export function logSoftmaxAt(logits: ArrayLike<number>, token: number): number {
  let max = -Infinity;
  for (let j = 0; j < logits.length; j++) max = Math.max(max, logits[j]!);
  let sum = 0;
  for (let j = 0; j < logits.length; j++) sum += Math.exp(logits[j]! - max);
  return logits[token]! - max - Math.log(sum);
}

export function scoreOfTargets(logits: TfTensor, ids: readonly number[], start: number, batchRow = 0): ContinuationScore {
  const tokenLogProbs = logProbsOfTargets(logits, ids, start, batchRow);
  const logProb = tokenLogProbs.reduce((sum, value) => sum + value, 0);
  return { logProb, tokenCount: tokenLogProbs.length, tokenLogProbs };
}

export function emptyScore(): ContinuationScore {
  return { logProb: 0, tokenCount: 0, tokenLogProbs: [] };
}

