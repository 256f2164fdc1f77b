/**
 * The left-padded layout a batch of token rows is run in, shared by batched generation and scoring so that
 * both lay rows out the same way: [shared prefix | padding | the row's own tokens], every row ending at the
 * last column. transformers' tokenizer can pad text, but not token rows after a shared prefix's cache with
 * positions counting each row's own tokens, which is what makes a padded row compute what it would alone.
 */

/** A batch's tensors' data, row-major: `inputIds` and `positions` are rows × width, `mask` rows × columns. */
export interface LeftPadded {
  /** Tokens after the prefix in the widest row. */
  width: number;
  /** The prefix's tokens and the width: what the attention mask spans. */
  columns: number;
  inputIds: BigInt64Array;
  positions: BigInt64Array;
  mask: BigInt64Array;
}

/**
 * Lays out `rows` (each beginning with the `skip` tokens of a shared prefix whose cache is supplied apart)
 * left-padded with `padId`: the attention mask is 1 over the prefix and the row's own tokens and 0 on the
 * padding, and position ids count each row's own tokens (prefix first); padding positions are 1.
 */
export function leftPad(rows: readonly (readonly number[])[], skip: number, padId: number): LeftPadded {
  const count = rows.length;
  const width = Math.max(...rows.map((ids) => ids.length - skip));
  const columns = skip + width;
  const inputIds = new BigInt64Array(count * width).fill(BigInt(padId));
  const positions = new BigInt64Array(count * width).fill(1n);
  const mask = new BigInt64Array(count * columns);
  rows.forEach((ids, row) => {
    const own = ids.length - skip;
    const offset = row * width + (width - own);
    for (let i = 0; i < own; i++) {
      inputIds[offset + i] = BigInt(ids[skip + i]!);
      positions[offset + i] = BigInt(skip + i);
    }
    mask.fill(1n, row * columns, row * columns + skip);
    mask.fill(1n, row * columns + columns - own, (row + 1) * columns);
  });
  return { width, columns, inputIds, positions, mask };
}
