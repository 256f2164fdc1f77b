/**
 * The hashes the duplicate tracker counts (duplicates.ts): each input's duplicate key (statistics.ts: NFKC,
 * lower case, white space collapsed) in 64 bits, and each trimmed reference in 32.
 *
 * The hashing is WebAssembly (keyHash.wat), over UTF-8 bytes, from one of two places:
 * - a record's line as the file holds it (`lineKeyAndReferenceHash`): a string value with no escape stands in
 *   it as its UTF-8 bytes, so the file's bytes are copied into the module's memory (64 KiB at a time) and
 *   each line's fields found and hashed in place;
 * - a JavaScript string otherwise (a value with an escape, a record over several lines, a chat, a nested
 *   field): Node copies its UTF-16 code units into the module's memory (`Buffer.write`,
 *   about 0.35 ns a unit and 100 ns a call), which turns them into UTF-8 (a lone surrogate into its own three
 *   bytes, so that no two strings give the same bytes).
 * One SIMD pass hashes a key's bytes, sixteen at a time, with ASCII capitals lowered, while it looks up whether
 * any character could be changed by NFKC or lower case (or composes with a neighbour), and whether any white
 * space would be collapsed. Only text holding such a character builds its key (duplicateKey); text whose only
 * change is white space collapses it natively. Each character's kind is decided once, the first time a text
 * holds it (the table starts undecided, so that starting costs nothing).
 *
 * Nothing is verified after the hash (the tracker keeps no text, to stay small): two different keys count as
 * one when all 64 bits agree, which for two million distinct inputs happens with odds of about 1 in 10^7
 * (n²/2^65), and would then count one duplicate too many.
 */
import { duplicateKey } from './statistics';
import { KEY_HASH_WASM } from './keyHashModule';
import type { RecordLine } from './jsonLines';

/** keyHash.wat's flags (see there). */
const CHANGES = 1;
const CONTROL = 2;
const UNDECIDED = 4;
const SPACES = 16;
const UNREAD = 32;
/** keyHash.wat's memory: the table by code point, the hashes, the field names, a chunk of the file, the texts. */
const TABLE_END = 0x110000;
const HASH_OUT = 0x110000;
const NAME_LENGTHS = 0x110010;
const NAMES = 0x110100;
const NAME_BYTES = 0x100;
const CHUNK = 0x110400;
const CHUNK_BYTES = 0x100000;
const TEXT = 0x210800;
/** The module reads up to 15 bytes past a text, and writes up to 8 past its UTF-8. */
const PADDING_BYTES = 16;

interface KeyHasher {
  memory: WebAssembly.Memory;
  /** The module's memory as bytes, and the hashes as 32-bit words: new views after the memory grows. */
  bytes: Buffer;
  out: Uint32Array;
  hash: (text: number, length: number, lower: number) => number;
  hashBytes: (text: number, length: number) => void;
  toUtf8: (from: number, units: number, to: number) => number;
  hashLine: (line: number, length: number, text: number, lead: number, trail: number) => number;
  /** False when duplicateKey's definition no longer matches the fast path's (see `hasher`): every key is then built. */
  fastPathAgrees: boolean;
  /** The part of a chunk of the file in memory (at CHUNK), and the field names there (see `lineKeyAndReferenceHash`). */
  chunk: Buffer | undefined;
  copiedStart: number;
  copiedEnd: number;
  names: LineFields | undefined;
  refusedNames: LineFields | undefined;
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
  const exports = instance.exports;
  const state: KeyHasher = {
    memory: exports.memory as WebAssembly.Memory, bytes: Buffer.alloc(0), out: new Uint32Array(0),
    hash: exports.hash as KeyHasher['hash'], hashBytes: exports.hashBytes as KeyHasher['hashBytes'],
    toUtf8: exports.toUtf8 as KeyHasher['toUtf8'], hashLine: exports.hashLine as KeyHasher['hashLine'],
    fastPathAgrees: false, chunk: undefined, copiedStart: 0, copiedEnd: 0, names: undefined, refusedNames: undefined,
  };
  views(state);
  state.bytes.fill(UNDECIDED, 0x80, TABLE_END);
  // A lone surrogate's three bytes (only strings have them) make the key be built.
  state.bytes.fill(CHANGES, 0xd800, 0xe000);
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
  state.out = new Uint32Array(state.memory.buffer, HASH_OUT, 4);
}

/** Makes the memory reach at least `end`. */
function reserve(state: KeyHasher, end: number): void {
  if (end <= state.bytes.length) return;
  state.memory.grow(Math.ceil((end - state.bytes.length) / 65536));
  views(state);
}

/** Room for writeText(…, text, at): its UTF-8 (up to 3 bytes a unit) and, after it, its UTF-16. */
function textEnd(at: number, text: string): number {
  return at + 5 * text.length + 2 * PADDING_BYTES;
}

/** Writes `text` as UTF-8 at `at` (reserved by textEnd); returns the bytes written. */
function writeText(state: KeyHasher, text: string, at: number): number {
  const units = at + 3 * text.length + PADDING_BYTES;
  state.bytes.write(text, units, 'utf16le');
  return state.toUtf8(units, text.length, at);
}

/** The 64-bit hash of a string, as [high, low]. */
export function hash64(text: string): [number, number] {
  const state = hasher();
  reserve(state, textEnd(TEXT, text));
  state.hash(TEXT, writeText(state, text, TEXT), 0);
  return [state.out[1]!, state.out[0]!];
}

/**
 * A 32-bit hash of a reference, which the tracker only compares with the first reference of the same input
 * (a different one is a conflict; two that differ hash alike with odds of 1 in 4 billion, and the conflict
 * would go uncounted): its UTF-8 bytes, sixteen a block.
 */
export function hash32(text: string): number {
  const state = hasher();
  reserve(state, textEnd(TEXT, text));
  state.hashBytes(TEXT, writeText(state, text, TEXT));
  return state.out[0]!;
}

/** `hash32(text.trim())`. */
export function trimmedHash32(text: string): number {
  const state = hasher();
  reserve(state, textEnd(TEXT, text));
  const length = writeText(state, text, TEXT);
  measureTrim(text);
  state.hashBytes(TEXT + trimLead, length - trimLead - trimTrail);
  return state.out[0]!;
}

/** The UTF-8 bytes that `trim` removes at the start and at the end of the last text measured. */
let trimLead = 0;
let trimTrail = 0;

/** Sets trimLead and trimTrail for `text` (cheaper than `trim`, which makes a new string). */
function measureTrim(text: string): void {
  let start = 0;
  let lead = 0;
  for (let unit: number; start < text.length && isTrimmed((unit = text.charCodeAt(start))); start++) lead += utf8Length(unit);
  let end = text.length;
  let trail = 0;
  for (let unit: number; end > start && isTrimmed((unit = text.charCodeAt(end - 1))); end--) trail += utf8Length(unit);
  trimLead = lead;
  trimTrail = trail;
}

/** What `trim` removes (and `\s` matches): JavaScript's white space and line ends, all in the BMP. */
export function isTrimmed(unit: number): boolean {
  if (unit < 0x80) return unit === 0x20 || (unit >= 0x09 && unit <= 0x0d);
  return unit === 0xa0 || unit === 0x1680 || (unit >= 0x2000 && unit <= 0x200a) || unit === 0x2028 || unit === 0x2029
    || unit === 0x202f || unit === 0x205f || unit === 0x3000 || unit === 0xfeff;
}

/** UTF-8 bytes of a code unit outside the surrogates. */
function utf8Length(unit: number): number {
  return unit < 0x80 ? 1 : unit < 0x800 ? 2 : 3;
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
 * (overwritten by the next call): the input (a space, its context) and the reference are written into the
 * module's memory one after the other and hashed from there. (Joining them into one string to save calls
 * costs more: Node flattens the joined string, a copy and its garbage.)
 */
export function keyAndReferenceHash(input: string, reference: string, context = ''): Uint32Array {
  const state = hasher();
  reserve(state, textEnd(textEnd(textEnd(TEXT, input) + 1, context), reference));
  let keyLength = writeText(state, input, TEXT);
  if (context) {
    state.bytes[TEXT + keyLength] = 0x20;
    keyLength += 1 + writeText(state, context, TEXT + keyLength + 1);
  }
  const referenceLength = writeText(state, reference, TEXT + keyLength);
  measureTrim(reference);
  state.hashBytes(TEXT + keyLength + trimLead, referenceLength - trimLead - trimTrail);
  keyAndReference[2] = state.out[0]!;
  const key = (state.fastPathAgrees && fastKeyHash(state, input, context, keyLength)) || builtKeyHash(input, context);
  keyAndReference[0] = key[0]!;
  keyAndReference[1] = key[1]!;
  return keyAndReference;
}

const keyAndReference = new Uint32Array(3);

/**
 * The key's hash by the fast path, or undefined where the key must be built. `written`: the bytes of the input
 * (and a space and the context) at TEXT, when they are there already.
 */
function fastKeyHash(state: KeyHasher, input: string, context: string, written = -1): Uint32Array | undefined {
  let length = written;
  if (length < 0) {
    reserve(state, textEnd(textEnd(TEXT, input) + 1, context));
    length = writeText(state, input, TEXT);
    if (context) {
      state.bytes[TEXT + length] = 0x20;
      length += 1 + writeText(state, context, TEXT + length + 1);
    }
  }
  let flags = state.hash(TEXT, length, 1);
  if (flags & UNDECIDED) {
    decideCharacters(state, input);
    decideCharacters(state, context);
    flags = state.hash(TEXT, length, 1);
  }
  return keyFromFlags(state, flags, input, context);
}

/** The key's hash from what `hash` (or `hashLine`) found: as hashed, with its white space collapsed, or undefined (built). */
function keyFromFlags(state: KeyHasher, flags: number, input: string, context: string): Uint32Array | undefined {
  if (flags & CHANGES) return undefined;
  if (flags & (CONTROL | SPACES)) {
    // Only ASCII white space is left (the rest changes), so collapsing it natively is duplicateKey's own step.
    const collapsed = (context ? `${input}\n${context}` : input).replace(/\s+/g, ' ').trim();
    reserve(state, textEnd(TEXT, collapsed));
    state.hash(TEXT, writeText(state, collapsed, TEXT), 1);
  }
  keyHash[0] = state.out[1]!;
  keyHash[1] = state.out[0]!;
  return keyHash;
}

/** The top-level fields whose values are the input, its context and the reference, read as they are (schema.ts). */
export interface LineFields {
  input: string;
  context: string | null;
  reference: string;
}

/**
 * `keyAndReferenceHash(input, reference, context)` for a record read from the one line `line`, whose `fields`
 * gave those texts: hashed from the line's bytes, without the strings (which only the rarer paths read: a key
 * to build or to collapse, characters to decide), or from the strings where the bytes are not the texts.
 */
export function lineKeyAndReferenceHash(line: RecordLine, fields: LineFields, input: string, reference: string, context = ''): Uint32Array {
  const state = hasher();
  if (line.end - line.start > CHUNK_BYTES || !useNames(state, fields)) return keyAndReferenceHash(input, reference, context);
  if (state.chunk !== line.bytes || line.start < state.copiedStart || line.end > state.copiedEnd) copyLines(state, line);
  const at = CHUNK + line.start - state.copiedStart;
  reserve(state, TEXT + line.end - line.start + PADDING_BYTES);
  measureTrim(reference);
  let flags = state.hashLine(at, line.end - line.start, TEXT, trimLead, trimTrail);
  if (flags === -1) return keyAndReferenceHash(input, reference, context);
  if (flags & UNDECIDED) {
    decideCharacters(state, input);
    decideCharacters(state, context);
    flags = state.hashLine(at, line.end - line.start, TEXT, trimLead, trimTrail);
  }
  const referenceHash = state.out[2]!;
  const key = (state.fastPathAgrees && keyFromFlags(state, flags, input, context)) || builtKeyHash(input, context);
  keyAndReference[0] = key[0]!;
  keyAndReference[1] = key[1]!;
  keyAndReference[2] = flags & UNREAD ? trimmedHash32(reference) : referenceHash;
  return keyAndReference;
}

/** Lines copied into memory at once: a part of the chunk just read (so still in the processor's cache), not all of it. */
const COPIED_BYTES = 64 * 1024;

/** Copies the chunk's bytes from the line's start on into memory: the line, and the lines after it that fit. */
function copyLines(state: KeyHasher, line: RecordLine): void {
  const end = Math.min(line.bytes.length, line.start + Math.max(COPIED_BYTES, line.end - line.start));
  line.bytes.copy(state.bytes, CHUNK, line.start, end);
  state.chunk = line.bytes;
  state.copiedStart = line.start;
  state.copiedEnd = end;
}

/** Puts the field names into the module's memory, unless there already; false when a name cannot be matched there. */
function useNames(state: KeyHasher, fields: LineFields): boolean {
  if (state.names === fields) return true;
  if (state.refusedNames === fields) return false;
  state.names = undefined;
  const names = [fields.input, fields.context, fields.reference];
  const lengths = new Int32Array(state.memory.buffer, NAME_LENGTHS, 3);
  for (const [index, name] of names.entries()) {
    // A name with a lone surrogate is no key of a line without escapes (and its bytes would be U+FFFD's).
    if (name !== null && (Buffer.byteLength(name) > NAME_BYTES || !isWellFormed(name))) {
      state.refusedNames = fields;
      return false;
    }
    lengths[index] = name === null ? -1 : state.bytes.write(name, NAMES + index * NAME_BYTES, 'utf8');
  }
  state.names = fields;
  return true;
}

function isWellFormed(text: string): boolean {
  try {
    encodeURIComponent(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * A character is KEPT (0 in the table) when NFKC and lower case leave it alone and nothing composes with it
 * (not a mark, not a Hangul jamo: those combine with what precedes them); a text of KEPT characters and ASCII
 * is its own NFKC form, and its lower case is its ASCII capitals lowered.
 */
function isKept(character: string): boolean {
  if (/\s/.test(character)) return false;
  if (character.normalize('NFKC') !== character || character.toLowerCase() !== character) return false;
  return !/\p{M}|[\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\ud7b0-\ud7ff]/u.test(character);
}

/** Decides the undecided characters of `text`. */
function decideCharacters(state: KeyHasher, text: string): void {
  const { bytes } = state;
  for (let i = 0; i < text.length; i++) {
    const point = text.codePointAt(i)!;
    if (point > 0xffff) i++;
    if (point >= 0x80 && bytes[point] === UNDECIDED) bytes[point] = isKept(String.fromCodePoint(point)) ? 0 : CHANGES;
  }
}
