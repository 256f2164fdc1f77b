/**
 * Duplicate tracking: each input's duplicate key (statistics.ts: NFKC, lower case, white space collapsed) and
 * each reference are hashed, and the hashes, not the texts, are counted, so that a 1 GB file costs tens of MB.
 *
 * The hashing is WebAssembly (keyHash.wat: about 1 ns a UTF-16 code unit with the copy, where JavaScript took
 * 3.5–4, the scan's largest cost): Node copies a text's code units into the module's memory (`Buffer.write`,
 * about 0.35 ns a unit and 100 ns a call), and one SIMD pass hashes them, eight at a time, with ASCII capitals lowered, while it looks up
 * whether any character could be changed by NFKC or lower case (or composes with a neighbour), and whether
 * any white space would be collapsed. Only text holding such a character builds its key (duplicateKey); text
 * whose only change is white space collapses it natively. Each character's kind is decided once, the first
 * time a text holds it (the tables start undecided, so that starting costs nothing).
 *
 * The hash is 64 bits over the UTF-16 code units (a lone surrogate is hashed as itself). Nothing is verified
 * after it (the tracker keeps no text, to stay small): two different keys count as one when all 64 bits
 * agree, which for two million distinct inputs happens with odds of about 1 in 10^7 (n²/2^65), and would then
 * count one duplicate too many.
 */
import { duplicateKey } from './statistics';
import { KEY_HASH_WASM } from './keyHashModule';

/** keyHash.wat's flags (see there). */
const CHANGES = 1;
const CONTROL = 2;
const UNDECIDED = 4;
const SURROGATE = 8;
const SPACES = 16;
/** keyHash.wat's memory: the code units' table, the characters' beyond U+FFFF, the hash, the text. */
const ASTRAL_TABLE = 0x10000;
const HASH_OUT = 0x110000;
const TEXT = 0x110100;
/** The module reads up to 14 bytes past a text (and does not use them). */
const PADDING_BYTES = 16;

interface KeyHasher {
  memory: WebAssembly.Memory;
  /** The module's memory as bytes, and the hash as 32-bit words [low, high]: new views after the memory grows. */
  bytes: Buffer;
  out: Uint32Array;
  hash: (text: number, length: number, lower: number) => number;
  hashBytes: (text: number, length: number) => void;
  /** False when duplicateKey's definition no longer matches the fast path's (see `load`): every key is then built. */
  fastPathAgrees: boolean;
}

let loaded: KeyHasher | undefined;

/** The module, instantiated at the first hash (not at import: the webviews' bundles import this file's neighbours). */
function hasher(): KeyHasher {
  if (loaded) return loaded;
  let instance: WebAssembly.Instance;
  try {
    instance = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(KEY_HASH_WASM, 'base64')));
  } catch (error) {
    throw new Error(`counting duplicate inputs needs WebAssembly with SIMD (Node 20 or later, not --jitless): ${(error as Error).message}`);
  }
  const memory = instance.exports.memory as WebAssembly.Memory;
  const state: KeyHasher = {
    memory, bytes: Buffer.alloc(0), out: new Uint32Array(0),
    hash: instance.exports.hash as KeyHasher['hash'], hashBytes: instance.exports.hashBytes as KeyHasher['hashBytes'],
    fastPathAgrees: false,
  };
  views(state);
  state.bytes.fill(UNDECIDED, 0x80, 0x10000);
  state.bytes.fill(SURROGATE, 0xd800, 0xe000);
  state.bytes.fill(UNDECIDED, ASTRAL_TABLE, ASTRAL_TABLE + 0x100000);
  loaded = state;
  // The fast path assumes `duplicateKey` is NFKC, lower case and collapsed white space. Should that definition
  // change (say, to drop punctuation), these probes disagree and every text takes the slow path: slower, right.
  state.fastPathAgrees = ['Hello,  World!', ' a\tB-c\n', 'Café 数据', 'Mixed CASE 🙂', 'AB  C'].every((probe) => {
    const [high, low] = hash64(duplicateKey(probe));
    const fast = fastKeyHash(state, probe, '');
    return fast !== undefined && fast[0] === high && fast[1] === low;
  });
  return state;
}

function views(state: KeyHasher): void {
  state.bytes = Buffer.from(state.memory.buffer);
  state.out = new Uint32Array(state.memory.buffer, HASH_OUT, 2);
}

/** Makes room for a text of `units` code units. */
function reserveText(state: KeyHasher, units: number): void {
  const needed = TEXT + 2 * units + PADDING_BYTES;
  if (needed <= state.bytes.length) return;
  state.memory.grow(Math.ceil((needed - state.bytes.length) / 65536));
  views(state);
}

/** Writes `text`'s code units from unit `offset` of the text on; returns the units written. */
function writeUnits(state: KeyHasher, text: string, offset: number): number {
  return state.bytes.write(text, TEXT + 2 * offset, 'utf16le') >> 1;
}

/** The text's hash (the text written by writeUnits), capitals lowered when `lower`; returns the flags. */
function hashText(state: KeyHasher, length: number, lower: boolean): number {
  return state.hash(TEXT, length, lower ? 1 : 0);
}

/** The 64-bit hash of a string, as [high, low]. */
export function hash64(text: string): [number, number] {
  const state = hasher();
  reserveText(state, text.length);
  hashText(state, writeUnits(state, text, 0), false);
  return [state.out[1]!, state.out[0]!];
}

/**
 * A 32-bit hash of a reference, which the tracker only compares with the first reference of the same input
 * (a different one is a conflict; two that differ hash alike with odds of 1 in 4 billion, and the conflict
 * would go uncounted): the bytes of its UTF-16 code units, sixteen a block.
 */
export function hash32(text: string): number {
  const state = hasher();
  reserveText(state, text.length);
  state.hashBytes(TEXT, 2 * writeUnits(state, text, 0));
  return state.out[0]!;
}

/** `hash32(text.trim())`. */
export function trimmedHash32(text: string): number {
  return hash32(text.trim());
}

const keyHash = new Uint32Array(2);

/**
 * `hash64(duplicateKey(context ? `${input}\n${context}` : input))`, without building the key where it need
 * not be built (an input and its context are written one after the other with a space between, not joined).
 * Returns `keyHash` ([high, low]), overwritten by the next call.
 */
export function duplicateKeyHash(input: string, context = ''): Uint32Array {
  const state = hasher();
  return (state.fastPathAgrees && fastKeyHash(state, input, context)) || builtKeyHash(input, context);
}

/** The key's hash by building the key. */
function builtKeyHash(input: string, context: string): Uint32Array {
  const [high, low] = hash64(duplicateKey(context ? `${input}\n${context}` : input));
  keyHash[0] = high;
  keyHash[1] = low;
  return keyHash;
}

/**
 * `duplicateKeyHash(input, context)` and `trimmedHash32(reference)` at once, in `[high, low, reference]`
 * (overwritten by the next call): the input (a space, its context) and the reference are copied into the
 * module's memory one after the other and hashed from there. (Joining them into one string to save calls
 * costs more: Node flattens the joined string, a copy and its garbage.)
 */
export function keyAndReferenceHash(input: string, reference: string, context = ''): Uint32Array {
  const state = hasher();
  const trimmed = reference.trim();
  const keyLength = context ? input.length + 1 + context.length : input.length;
  reserveText(state, keyLength + trimmed.length);
  writeUnits(state, input, 0);
  if (context) {
    state.bytes[TEXT + 2 * input.length] = 0x20;
    state.bytes[TEXT + 2 * input.length + 1] = 0;
    writeUnits(state, context, input.length + 1);
  }
  writeUnits(state, trimmed, keyLength);
  state.hashBytes(TEXT + 2 * keyLength, 2 * trimmed.length);
  keyAndReference[2] = state.out[0]!;
  const key = (state.fastPathAgrees && fastKeyHash(state, input, context, true)) || builtKeyHash(input, context);
  keyAndReference[0] = key[0]!;
  keyAndReference[1] = key[1]!;
  return keyAndReference;
}

const keyAndReference = new Uint32Array(3);

/**
 * The key's hash by the fast path, or undefined where the key must be built. `written`: the input (and a
 * space and the context) are in memory already.
 */
function fastKeyHash(state: KeyHasher, input: string, context: string, written = false): Uint32Array | undefined {
  const length = context ? input.length + 1 + context.length : input.length;
  if (!written) {
    reserveText(state, length);
    writeUnits(state, context ? `${input} ${context}` : input, 0);
  }
  let flags = hashText(state, length, true);
  if (flags & UNDECIDED) {
    decideCharacters(state, length);
    flags = hashText(state, length, true);
  }
  if (flags & CHANGES) return undefined;
  if (flags & (CONTROL | SPACES)) {
    // Only ASCII white space is left (the rest changes), so collapsing it natively is duplicateKey's own step.
    const collapsed = (context ? `${input}\n${context}` : input).replace(/\s+/g, ' ').trim();
    hashText(state, writeUnits(state, collapsed, 0), true);
  }
  keyHash[0] = state.out[1]!;
  keyHash[1] = state.out[0]!;
  return keyHash;
}

/**
 * A character is KEPT (0 in the tables) when NFKC and lower case leave it alone and nothing composes with it
 * (not a mark, not a Hangul jamo: those combine with what precedes them); a text of KEPT characters and ASCII
 * is its own NFKC form, and its lower case is its ASCII capitals lowered.
 */
function isKept(character: string): boolean {
  if (/\s/.test(character)) return false;
  if (character.normalize('NFKC') !== character || character.toLowerCase() !== character) return false;
  return !/\p{M}|[\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\ud7b0-\ud7ff]/u.test(character);
}

/** Decides the undecided characters of the text in memory. */
function decideCharacters(state: KeyHasher, length: number): void {
  const { bytes } = state;
  for (let i = 0; i < length; i++) {
    const unit = bytes.readUInt16LE(TEXT + 2 * i);
    if (unit < 0x80) continue;
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < length) {
      const next = bytes.readUInt16LE(TEXT + 2 * i + 2);
      if (next >= 0xdc00 && next <= 0xdfff) {
        const at = ASTRAL_TABLE + ((unit - 0xd800) << 10) + (next - 0xdc00);
        if (bytes[at] === UNDECIDED) bytes[at] = isKept(String.fromCharCode(unit, next)) ? 0 : CHANGES;
        i++;
      }
    } else if (bytes[unit] === UNDECIDED) {
      bytes[unit] = isKept(String.fromCharCode(unit)) ? 0 : CHANGES;
    }
  }
}

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

  /** An input (with its context, joined as `${input}\n${context}`: see duplicateKeyHash) and its reference. */
  add(input: string, reference: string, context = ''): void {
    const hashes = keyAndReferenceHash(input, reference, context);
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
