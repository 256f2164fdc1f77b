/**
 * The decoder's forward pass as the batched loops and scoring call it: the open session seen through a small
 * view (DecoderSession), the inputs the graph has, and the token tensors of one sequence.
 */
import { type TfModel, type TfTensor, type TransformersApi } from './tfTypes';

/** What a forward pass needs of the model; built by the model for each queued task. */
export interface DecoderSession {
  tf: TransformersApi;
  /** The ONNX session (the model's private `inner`). */
  model: TfModel;
  /** The id that fills left padding (never attended to). */
  padTokenId: number;
  /** The vocabulary size for memory bounds (config.json's, else an assumed large one). */
  vocabulary: number;
}

/** Whether the ONNX graph takes the input `name` (position_ids, num_logits_to_keep…). */
export function hasInput(s: DecoderSession, name: string): boolean {
  return s.model.sessions.model?.inputNames.includes(name) ?? false;
}

/**
 * One forward pass of the decoder over `inputIds` after `past` (none: an empty cache); logits of the last
 * `logitsToKeep` positions only where the graph can.
 */
export async function forwardRows(
  s: DecoderSession,
  inputIds: TfTensor,
  attentionMask: TfTensor,
  positionIds: TfTensor,
  past: Record<string, TfTensor> | undefined,
  logitsToKeep = 1,
): Promise<Record<string, TfTensor>> {
  const inputs: Record<string, unknown> = { input_ids: inputIds, attention_mask: attentionMask, position_ids: positionIds };
  if (past) inputs.past_key_values = past;
  if (hasInput(s, 'num_logits_to_keep')) inputs.num_logits_to_keep = new s.tf.Tensor('int64', BigInt64Array.from([BigInt(logitsToKeep)]), []);
  return s.model.forward(inputs);
}

/**
 * Whether the graph's cache is key/value tensors only (`past_key_values.N.key|value`), which can be cut to any
 * number of columns; a recurrent state (past_ssm, past_conv…) cannot be taken back to an earlier token.
 */
export function hasKeyValueCacheOnly(s: DecoderSession): boolean {
  const names = s.model.sessions.model?.inputNames ?? [];
  return names.filter((name) => name.startsWith('past_')).every((name) => /^past_key_values\.\d+\.(key|value)$/.test(name));
}

/** One unpadded sequence's inputs, with the last `logitsToKeep` positions' logits only where the graph can. */
export function forwardInputs(s: DecoderSession, ids: readonly number[], logitsToKeep: number): Record<string, unknown> {
  const inputs: Record<string, unknown> = {
    input_ids: idsTensor(s.tf, ids),
    attention_mask: onesTensor(s.tf, ids.length),
  };
  if (s.model.sessions.model?.inputNames.includes('num_logits_to_keep')) {
    inputs.num_logits_to_keep = new s.tf.Tensor('int64', BigInt64Array.from([BigInt(logitsToKeep)]), []);
  }
  return inputs;
}

/** One sequence's token ids as a [1, length] int64 tensor. */
export function idsTensor(tf: TransformersApi, ids: readonly number[]): TfTensor {
  return new tf.Tensor('int64', BigInt64Array.from(ids, (id) => BigInt(id)), [1, ids.length]);
}

/** An attention mask of ones over one sequence of `length` tokens. */
export function onesTensor(tf: TransformersApi, length: number): TfTensor {
  return new tf.Tensor('int64', new BigInt64Array(length).fill(1n), [1, length]);
}
