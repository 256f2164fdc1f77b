/**
 * Splitting a dataset into held-out items (evaluated) and an example pool (shown as shots).
 * The split is by item identity (`itemKey`: the content the model sees, normalized so near-duplicates collide,
 * chat system messages left out): all records that are the same item land on the same side, so no held-out item
 * can meet its own twin among the examples. The prompt's leak guard (`ExamplePool`) covers the rest: a longer
 * conversation in the pool that holds a held-out item's question and answer.
 */
import type { Example } from '../dataset/schema';
import { itemKey } from '../prompt/identity';
import { deriveSeed, seededRandom, shuffled } from '../random';

export interface Split {
  heldOut: Example[];
  pool: Example[];
}

export function splitExamples(examples: readonly Example[], heldOutSize: number, seed: number): Split {
  const groups = new Map<string, Example[]>();
  for (const example of examples) {
    const key = itemKey(example);
    const group = groups.get(key);
    if (group) group.push(example);
    else groups.set(key, [example]);
  }
  // At most half the distinct inputs are held out, so there is always a pool to draw shots from.
  const order = shuffled([...groups.values()], seededRandom(deriveSeed(seed, 'split')));
  const limit = Math.min(heldOutSize, Math.floor(order.length / 2));
  const heldOut: Example[] = [];
  const pool: Example[] = [];
  for (const group of order) {
    if (heldOut.length < limit) heldOut.push(group[0]!);
    // A held-out item's duplicates are neither evaluated twice nor used as shots.
    else pool.push(...group);
  }
  const byLine = (a: Example, b: Example): number => a.line - b.line;
  return { heldOut: heldOut.sort(byLine), pool: pool.sort(byLine) };
}
