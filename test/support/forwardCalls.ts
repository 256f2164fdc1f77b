/**
 * Records the in-process runner's forward passes (tests only): the shapes, masks, positions and cache length
 * each pass was given, so a test can see what a batch, a prefix or a draft saved.
 */
import type { LanguageModel } from '../../src/engine/model/languageModel';

export interface ForwardCall {
  dims: number[];
  mask: number[];
  positions: number[];
  /** Sequence length of the key/value cache passed in; 0 without one. */
  pastLength: number;
}

/**
 * Records the runner's forward passes (the private `inner` model's `forward`), so a test can tell a real
 * batch from the one-at-a-time fallback, whose results would equal `generate`'s trivially, and see what a
 * prefix saves. Only the calls made while `body` runs are recorded.
 */
export async function recordingCalls<T>(model: LanguageModel, body: () => Promise<T>): Promise<{ value: T; calls: ForwardCall[] }> {
  type Tensor = { dims: number[]; data: BigInt64Array };
  type Inner = { forward(inputs: Record<string, unknown>): Promise<unknown> };
  await (model as unknown as { loadWeights(): Promise<void> }).loadWeights(); // the session opens on first use
  const inner = (model as unknown as { inner: Inner }).inner;
  const original = inner.forward;
  const calls: ForwardCall[] = [];
  inner.forward = function (this: Inner, inputs) {
    const ids = inputs.input_ids as Tensor;
    const past = inputs.past_key_values as Record<string, Tensor> | undefined;
    calls.push({
      dims: [...ids.dims],
      mask: Array.from((inputs.attention_mask as Tensor).data, Number),
      positions: Array.from((inputs.position_ids as Tensor | undefined)?.data ?? [], Number),
      pastLength: past ? (Object.values(past)[0]?.dims[2] ?? 0) : 0,
    });
    return original.call(this, inputs);
  };
  try {
    return { value: await body(), calls };
  } finally {
    inner.forward = original;
  }
}

