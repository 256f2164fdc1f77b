/**
 * Duplicate tracking: each input's duplicate key (statistics.ts: NFKC, lower case, white space collapsed) and
 * each reference are hashed (keyHash.ts), and the hashes, not the texts, are counted, so that a 1 GB file costs
 * tens of MB.
 */
import { keyAndReferenceHash, lineKeyAndReferenceHash, type LineFields } from './keyHash';
import type { RecordLine } from './jsonLines';

const EMPTY = 0;
const SEEN = 1;
const CONFLICTING = 2;
/** A slot's four 32-bit fields, side by side so that a probe touches one cache line. */
const HIGH = 0;
const LOW = 1;
const REFERENCE = 2;
const STATE = 3;
const SLOT = 4;

/**
 * Counts inputs seen before, and inputs that come with more than one distinct reference.
 * An open-addressing table in one typed array (16 bytes a slot: the key's hash, the reference's, a state)
 * rather than a Map of strings or boxed numbers: a 1 GB file of two and a half million records costs 64 MB
 * here instead of several hundred.
 *
 * Inputs are counted in batches: a table of tens of MB costs a cache miss for each input's slot, so the
 * slots of a batch are read one after another first (the misses then overlap, as JavaScript cannot prefetch)
 * and the inputs counted after, in their order, as one at a time would.
 */
/** The most slots `reserve` makes on an estimate (64 MB); more inputs than those fit grow the table as they come. */
const MAX_RESERVED_SLOTS = 1 << 22;
/** Inputs counted together. */
const BATCH = 64;

export class DuplicateTracker {
  private capacity = 1 << 12;
  private slots = new Uint32Array(this.capacity * SLOT);
  private size = 0;
  private conflicts = 0;
  private duplicateCount = 0;
  /** The batch: each input's key (high, low) and its reference's hash. */
  private readonly batch = new Uint32Array(3 * BATCH);
  private batched = 0;
  /** What the batch's early reads gave, kept so that they are not optimised away. */
  private touched = 0;
  /** The fields the texts of `add`'s lines are read from, or null where they are not read from lines. */
  private lineFields: LineFields | null = null;

  /** Says which top-level fields hold the input, context and reference of the records whose lines `add` is given. */
  readLinesBy(fields: LineFields | null): void {
    this.lineFields = fields;
  }

  /**
   * An input (with its context, joined as `${input}\n${context}`: see duplicateKeyHash) and its reference;
   * with `line`, the record's line in the file (see readLinesBy), which is hashed instead of the strings.
   */
  add(input: string, reference: string, context = '', line?: RecordLine): void {
    const hashes = line && this.lineFields
      ? lineKeyAndReferenceHash(line, this.lineFields, input, reference, context)
      : keyAndReferenceHash(input, reference, context);
    const at = 3 * this.batched;
    this.batch[at] = hashes[0]!;
    this.batch[at + 1] = hashes[1]!;
    this.batch[at + 2] = hashes[2]!;
    if (++this.batched === BATCH) this.countBatch();
  }

  get duplicates(): number {
    this.countBatch();
    return this.duplicateCount;
  }

  get distinctInputs(): number {
    this.countBatch();
    return this.size;
  }

  get conflictingInputs(): number {
    this.countBatch();
    return this.conflicts;
  }

  private countBatch(): void {
    const { batch, slots } = this;
    const end = 3 * this.batched;
    const mask = this.capacity - 1;
    let touched = this.touched;
    for (let i = 0; i < end; i += 3) touched ^= slots[homeSlot(batch[i]!, batch[i + 1]!, mask) * SLOT + STATE]!;
    this.touched = touched;
    for (let i = 0; i < end; i += 3) this.count(batch[i]!, batch[i + 1]!, batch[i + 2]!);
    this.batched = 0;
  }

  private count(high: number, low: number, referenceHash: number): void {
    const slots = this.slots;
    const at = this.find(high, low);
    if (slots[at + STATE] === EMPTY) {
      slots[at + HIGH] = high;
      slots[at + LOW] = low;
      slots[at + REFERENCE] = referenceHash;
      slots[at + STATE] = SEEN;
      if (++this.size > this.capacity * 0.7) this.grow();
      return;
    }
    this.duplicateCount++;
    if (slots[at + STATE] === SEEN && slots[at + REFERENCE] !== referenceHash) {
      slots[at + STATE] = CONFLICTING;
      this.conflicts++;
    }
  }

  /** Makes room for about `inputs` distinct inputs at once, instead of doubling the table (and rehashing) on the way. */
  reserve(inputs: number): void {
    const capacity = Math.min(MAX_RESERVED_SLOTS, 2 ** Math.ceil(Math.log2(Math.max(1, inputs) / 0.7)));
    if (capacity > this.capacity) this.grow(capacity);
  }

  /** The index of the slot holding this key, or of the empty slot where it would go (linear probing). */
  private find(high: number, low: number): number {
    const slots = this.slots;
    const mask = this.capacity - 1;
    let slot = homeSlot(high, low, mask);
    for (;;) {
      const at = slot * SLOT;
      if (slots[at + STATE] === EMPTY || (slots[at + HIGH] === high && slots[at + LOW] === low)) return at;
      slot = (slot + 1) & mask;
    }
  }

  private grow(capacity = 2 * this.capacity): void {
    const old = this.slots;
    this.capacity = capacity;
    const slots = (this.slots = new Uint32Array(this.capacity * SLOT));
    // Written once now, in order: the operating system then maps the table's pages one after another, where
    // the batch's early reads would map each page as zeros first and its first count copy it (two faults a
    // page, in random order: a tenth of a 1 GB scan).
    slots.fill(0);
    for (let from = 0; from < old.length; from += SLOT) {
      if (old[from + STATE] === EMPTY) continue;
      const at = this.find(old[from + HIGH]!, old[from + LOW]!);
      for (let field = 0; field < SLOT; field++) slots[at + field] = old[from + field]!;
    }
  }
}

/** The slot where a key's probe starts. */
function homeSlot(high: number, low: number, mask: number): number {
  return (low ^ Math.imul(high, 0x9e3779b1)) & mask;
}
