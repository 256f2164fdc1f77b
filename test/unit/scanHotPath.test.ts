/**
 * The scan's hot path takes shortcuts that must never change a result:
 * - duplicate tracking hashes inputs without building their keys where it can (`duplicateKeyHash`, an input
 *   and its context without joining them); it must give exactly `hash64(duplicateKey(text))` for every text,
 *   so the counts of distinct, duplicate and conflicting inputs mean what `duplicateKey` says;
 * - a record whose line is the compact JSON of string values is hashed from the line's UTF-8 bytes
 *   (`lineKeyAndReferenceHash`), not from the parsed strings: it must give exactly what the strings give;
 * - a record's repeated top-level key is ruled out by native searches where they can decide, else found by
 *   the character scan as before: every repeated key is still reported, with its column.
 *
 * Run: node --import tsx --test test/unit/scanHotPath.test.ts
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { inspectDataset } from '../../src/engine/dataset/inspect';
import { asText } from '../../src/engine/dataset/schema';
import { temporaryFolder } from '../support/paths';

import { DuplicateTracker } from '../../src/engine/dataset/duplicates';
import {
  duplicateKeyHash, hash32, hash64, isTrimmed, keyAndReferenceHash, lineKeyAndReferenceHash, trimmedHash32, type LineFields,
} from '../../src/engine/dataset/keyHash';
import type { RecordLine } from '../../src/engine/dataset/jsonLines';
import { duplicateKey } from '../../src/engine/dataset/statistics';
import { seededRandom } from '../../src/engine/random';

/** Characters that stay, and characters that NFKC, lower-casing or composition change (or that change a neighbour). */
const PIECES = [
  'a', 'Z', 'q', '7', '.', '"', ' ', '  ', '\t', '\n', '\r\n', '\u000b', '\f',
  'é', 'É', 'ß', 'ẞ', 'ﬁ', 'Ａ', 'ａ', '①', '½', 'e\u0301', '\u0301', 'Σ', 'σ', 'ς', 'İ', 'ı', 'Ω', 'Ω',
  '数据', '中文', 'ｶ', 'カ', 'か\u3099', 'ᄀ', 'ᅡ', '한', '\u00a0', '\u3000', '\u2028', '\u202f', '\ufeff', '\u200b',
  '🙂', '𝐀', '🄰', '\ud83d', '\ude42', 'ε', 'Ε', 'données', 'naïve', 'Ⅸ', 'ǅ',
];

function expected(text: string): number[] {
  return hash64(duplicateKey(text));
}

test('duplicateKeyHash is hash64(duplicateKey(text)): each piece alone, in pairs, and in 5,000 random texts', () => {
  for (const piece of PIECES) assert.deepEqual([...duplicateKeyHash(piece)], expected(piece), JSON.stringify(piece));
  for (const a of PIECES) {
    for (const b of PIECES) assert.deepEqual([...duplicateKeyHash(a + b)], expected(a + b), JSON.stringify(a + b));
  }
  const random = seededRandom(11);
  for (let n = 0; n < 5000; n++) {
    let text = '';
    const length = Math.floor(random() * 12);
    for (let i = 0; i < length; i++) text += PIECES[Math.floor(random() * PIECES.length)];
    assert.deepEqual([...duplicateKeyHash(text)], expected(text), JSON.stringify(text));
  }
  assert.deepEqual([...duplicateKeyHash('')], expected(''));
  assert.deepEqual([...duplicateKeyHash('  \n ')], expected('  \n '));
});

test('duplicateKeyHash(input, context) is the hash of the key of `${input}\n${context}`, for pieces and random texts', () => {
  for (const a of PIECES) {
    for (const b of PIECES) assert.deepEqual([...duplicateKeyHash(a, b)], expected(`${a}\n${b}`), JSON.stringify([a, b]));
  }
  const random = seededRandom(12);
  const text = (pieces: number): string => Array.from({ length: pieces }, () => PIECES[Math.floor(random() * PIECES.length)]).join('');
  for (let n = 0; n < 3000; n++) {
    const input = text(Math.floor(random() * 40));
    const context = random() < 0.3 ? '' : text(Math.floor(random() * 40));
    assert.deepEqual([...duplicateKeyHash(input, context)], expected(context ? `${input}\n${context}` : input), JSON.stringify([input, context]));
  }
});

test('duplicateKeyHash agrees with duplicateKey for every UTF-16 code unit, at either place in a word, beside capitals and spaces', () => {
  for (let unit = 0; unit < 0x10000; unit++) {
    const character = String.fromCharCode(unit);
    for (const text of [character, `a${character}`, `Ab${character} ${character}`, `${character}${character}Z`]) {
      assert.deepEqual([...duplicateKeyHash(text)], expected(text), `U+${unit.toString(16)} in ${JSON.stringify(text)}`);
    }
  }
});

test('duplicateKeyHash agrees with duplicateKey for characters beyond U+FFFF (every 61st, and the first of each block of 1,024)', () => {
  for (let point = 0x10000; point <= 0x10ffff; point += point % 1024 === 0 ? 1 : 61) {
    const character = String.fromCodePoint(point);
    for (const text of [character, `a${character}`, `Ab${character} ${character}`, `${character}${character}Z`]) {
      assert.deepEqual([...duplicateKeyHash(text)], expected(text), `U+${point.toString(16)} in ${JSON.stringify(text)}`);
    }
  }
});

test('duplicateKeyHash agrees with duplicateKey wherever a piece stands in a block of eight code units', () => {
  const pieces = ['  ', ' ', '\t', 'É', 'é', '🙂', '🄰', '\ud83d', '\ude42', 'e\u0301', '数', '\u3000', 'Z'];
  for (const piece of pieces) {
    for (let before = 0; before <= 17; before++) {
      for (const after of ['', 'b', 'abcdefg', 'abcdefgh ']) {
        const text = `${'xY'.repeat(9).slice(0, before)}${piece}${after}`;
        assert.deepEqual([...duplicateKeyHash(text)], expected(text), JSON.stringify(text));
        assert.deepEqual([...duplicateKeyHash(text, text)], expected(`${text}\n${text}`), JSON.stringify([text, text]));
      }
    }
  }
});

test('keyAndReferenceHash is duplicateKeyHash and trimmedHash32 at once, for pieces and random texts', () => {
  const random = seededRandom(13);
  const text = (pieces: number): string => Array.from({ length: pieces }, () => PIECES[Math.floor(random() * PIECES.length)]).join('');
  for (let n = 0; n < 3000; n++) {
    const [input, reference] = [text(Math.floor(random() * 30)), text(Math.floor(random() * 30))];
    const context = random() < 0.5 ? '' : text(Math.floor(random() * 30));
    const both = [...keyAndReferenceHash(input, reference, context)];
    assert.deepEqual(both, [...duplicateKeyHash(input, context), trimmedHash32(reference)], JSON.stringify([input, reference, context]));
  }
});

test('the 64-bit hashes of 200,000 texts that differ by one code unit, by length or by the padding character are all distinct', () => {
  const seen = new Set<string>();
  const texts = new Set<string>();
  const add = (text: string): void => {
    if (texts.has(text)) return;
    texts.add(text);
    const [high, low] = hash64(text);
    seen.add(`${high}:${low}`);
  };
  const base = 'The quick brown fox, 数据 🙂 jumps over the lazy dog again and again.';
  for (let length = 0; length <= base.length; length++) {
    const text = base.slice(0, length);
    add(text);
    add(`${text}\u007f`);
    for (let at = 0; at < length; at++) {
      for (const unit of [0x00, 0x20, 0x61, 0x7f, 0xe9, 0x6570, 0xd83d, 0xffff]) {
        if (text.charCodeAt(at) !== unit) add(text.slice(0, at) + String.fromCharCode(unit) + text.slice(at + 1));
      }
    }
  }
  for (let i = 0; texts.size < 200_000; i++) add(`Question ${i}?`);
  assert.equal(seen.size, texts.size);
});

test('the committed WebAssembly (keyHashModule.ts) is what keyHash.wat compiles to', async () => {
  const { keyHashModuleSource, MODULE_FILE } = await import('../../scripts/build-wasm.mjs');
  assert.equal(readFileSync(MODULE_FILE, 'utf8'), await keyHashModuleSource(), 'run `npm run build` and commit keyHashModule.ts');
});

test('texts longer than the scratch, and lone surrogates, are hashed as themselves', () => {
  const long = 'Ab  c\t'.repeat(60_000);
  assert.deepEqual([...duplicateKeyHash(long)], expected(long));
  assert.deepEqual([...duplicateKeyHash(long, long)], expected(`${long}\n${long}`));
  assert.notDeepEqual(hash64('a\ud800'), hash64('a\ufffd'));
  assert.notDeepEqual([...duplicateKeyHash('a\ud800')], [...duplicateKeyHash('a\ufffd')]);
});

test('trimmedHash32 is hash32(text.trim()), and hash32 tells apart the texts it is given', () => {
  const seen = new Map<number, string>();
  for (const a of PIECES) {
    for (const b of PIECES) {
      const text = `${a} x ${b}`;
      assert.equal(trimmedHash32(text), hash32(text.trim()), JSON.stringify(text));
      assert.equal(trimmedHash32(a + b), hash32((a + b).trim()), JSON.stringify(a + b));
      for (const piece of [text, a + b]) {
        const other = seen.get(hash32(piece));
        assert.ok(other === undefined || other === piece, `${JSON.stringify(piece)} and ${JSON.stringify(other)} hash alike`);
        seen.set(hash32(piece), piece);
      }
    }
  }
  assert.notEqual(hash32('a\ud800'), hash32('a\ufffd'));
  const long = 'Réponse 🙂 '.repeat(40_000);
  assert.equal(hash32(long), hash32(long.slice(0)));
  assert.notEqual(hash32(long), hash32(`${long}.`));
});

test('the tracker counts inputs equal under duplicateKey as duplicates, and a different reference as a conflict', () => {
  for (const reserve of [0, 3, 5000]) {
    const tracker = new DuplicateTracker();
    tracker.reserve(reserve);
    tracker.add('What is the capital of France?', 'Paris');
    tracker.add('  what IS the   capital of france?\n', ' Paris '); // same key, same trimmed reference
    tracker.add('ｗｈａｔ is the capital of France?', 'Lyon'); // full-width letters: NFKC makes the same key
    tracker.add('Café', 'a');
    tracker.add('cafe\u0301', 'a'); // composed by NFKC: the same key as "Café"
    tracker.add('数据 数据', 'b');
    tracker.add('数据\u3000数据', 'b'); // ideographic space collapses like any white space
    tracker.add('What is the capital of Spain?', 'Madrid');
    tracker.add('Translate', 'Hallo', 'hello'); // input and context: the key of "Translate\nhello"
    tracker.add('translate  hello', 'Hallo');
    tracker.add('Translate', 'Hallo', 'goodbye');
    assert.equal(tracker.distinctInputs, 6);
    assert.equal(tracker.duplicates, 5);
    assert.equal(tracker.conflictingInputs, 1);
  }
});

test('the tracker keeps its counts through growth: 20,000 inputs, each twice, every tenth with another reference', () => {
  const tracker = new DuplicateTracker();
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 20_000; i++) tracker.add(`Question ${i}?`, round === 1 && i % 10 === 0 ? 'other' : `answer ${i}`);
  }
  assert.equal(tracker.distinctInputs, 20_000);
  assert.equal(tracker.duplicates, 20_000);
  assert.equal(tracker.conflictingInputs, 2_000);
});

test('the fast path is on: a text of kept characters is hashed without calling duplicateKey', () => {
  // String.prototype.normalize is what duplicateKey calls on non-ASCII text; the fast path only does to
  // classify a character the first time it meets it.
  const text = 'Café au lait, 数据 and données';
  duplicateKeyHash(text);
  const original = String.prototype.normalize;
  let calls = 0;
  String.prototype.normalize = function (this: string, form?: string) {
    calls++;
    return original.call(this, form);
  };
  try {
    duplicateKeyHash(text);
    duplicateKeyHash(` ${text.replace('Caf', 'CAF')}  `);
  } finally {
    String.prototype.normalize = original;
  }
  assert.equal(calls, 0);
});

test('repeated top-level keys are reported as the character scan reports them; keys repeated elsewhere are not', async () => {
  const lines = [
    '{"text":"a","label":"x","label":"y"}', // 1: plain repeat
    '{"text":"a","label":"x","\\u006cabel":"y"}', // 2: spelled with an escape: the scan compares keys as written (as before)
    '{"text":"label","label":"x"}', // 3: the key also stands as a value: no repeat
    '{"text":"a","meta":{"label":1},"label":"x"}', // 4: nested key of the same name: no repeat
    '{"text":"a/b","lab\\/el":"x","lab/el":"y"}', // 5: "\/" spells "/"
    '{"text":"a\\"label\\":","label":"x"}', // 6: a quoted key inside a string value: no repeat
    '{"te\\"xt":"a","te\\"xt":"b"}', // 7: a key with an escaped quote, repeated
    '{"q":"x","q":"x"}', // 8: compact, every value a string: ruled out by length only when no key repeats
    '{"q":"\\u0078","r":""}', // 9: an escape makes the line longer than its parts: the searches decide
    '{"q":"x","r":"y"}', // 10: compact, no repeat
  ];
  const folder = temporaryFolder();
  try {
    const file = join(folder.path, 'keys.jsonl');
    writeFileSync(file, lines.join('\n') + '\n');
    const result = await inspectDataset(file);
    assert.equal(result.records, 10);
    assert.deepEqual(result.warnings.map((warning) => [warning.line, warning.column, warning.message.replace(/ appears more.*/, '')]), [
      [1, 25, 'key "label"'],
      [7, 15, 'key "te\\"xt"'],
      [8, 10, 'key "q"'],
    ]);
  } finally {
    folder.remove();
  }
});

/** The pieces a compact line can hold as they are: no quote, backslash or line end, no lone surrogate. */
const RAW_PIECES = PIECES.filter((piece) => !/["\\\n]/.test(piece) && !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(piece));

/** The compact line of these fields (values written as they are), with other bytes before and after it. */
function recordLine(entries: readonly (readonly [string, string])[], before = '', after = ''): RecordLine {
  const text = `{${entries.map(([key, value]) => `"${key}":"${value}"`).join(',')}}`;
  const start = Buffer.byteLength(before);
  return { bytes: Buffer.from(before + text + after), start, end: start + Buffer.byteLength(text) };
}

test('lineKeyAndReferenceHash is keyAndReferenceHash for compact lines: fields in any order, among others, with a context or none', () => {
  const random = seededRandom(14);
  const text = (pieces: number): string => Array.from({ length: pieces }, () => RAW_PIECES[Math.floor(random() * RAW_PIECES.length)]).join('');
  const mappings: LineFields[] = [
    { input: 'q', context: 'ctx', reference: 'a' },
    { input: 'quéstion', context: null, reference: '答え🙂' },
    { input: 'text', context: 'text', reference: 'label' }, // one field twice
    { input: '0', context: null, reference: '__proto__' }, // keys JSON.parse reads as own fields like any other
  ];
  for (let n = 0; n < 4000; n++) {
    const fields = mappings[n % mappings.length]!;
    const input = text(Math.floor(random() * 30));
    const reference = text(Math.floor(random() * 20));
    const context = fields.context && fields.context !== fields.input && random() < 0.7 ? text(Math.floor(random() * 20)) : undefined;
    const entries: [string, string][] = [[fields.input, input], [fields.reference, reference]];
    if (context !== undefined) entries.push([fields.context!, context]);
    if (random() < 0.5) entries.push(['other', text(5)], ['q2', text(3)], ['', text(2)]);
    entries.sort(() => random() - 0.5);
    const line = recordLine(entries, random() < 0.5 ? '{"prompt":"x"}\n' : '', random() < 0.5 ? '\n{"a":"b"}' : '');
    const used = fields.context === fields.input ? input : context ?? '';
    const expected = [...keyAndReferenceHash(input, reference, fields.context ? used : '')];
    assert.deepEqual([...lineKeyAndReferenceHash(line, fields, input, reference, fields.context ? used : '')], expected, JSON.stringify(entries));
  }
});

test('lineKeyAndReferenceHash is keyAndReferenceHash for any line JSON.parse reads as an object: white space, nested and escaped values, a key written twice', () => {
  const random = seededRandom(18);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const raw = (pieces: number): string => Array.from({ length: pieces }, () => pick(RAW_PIECES)).join('');
  const any = (pieces: number): string => Array.from({ length: pieces }, () => pick(PIECES)).join('');
  const value = (): unknown => pick<() => unknown>([
    () => raw(Math.floor(random() * 12)), () => raw(Math.floor(random() * 12)), () => any(Math.floor(random() * 8)),
    () => 12.5, () => true, () => null, () => ['a"]', { b: '}{', c: [1, '\\'] }], () => ({ q: raw(2), a: '"' }), () => [],
  ])();
  const fields: LineFields = { input: 'q', context: 'c', reference: 'a' };
  const space = (): string => pick(['', '', ' ', '\t', '  ', ' \t ']);
  for (let n = 0; n < 6000; n++) {
    const entries: [string, unknown][] = [['q', random() < 0.9 ? raw(Math.floor(random() * 20)) : value()], ['a', random() < 0.9 ? raw(5) : value()]];
    if (random() < 0.5) entries.push(['c', random() < 0.8 ? raw(Math.floor(random() * 10)) : value()]);
    for (let extra = Math.floor(random() * 4); extra > 0; extra--) entries.push([pick(['x', 'qq', '', 'q', 'a', 'c', 'é']), value()]);
    entries.sort(() => random() - 0.5);
    // A key spelled with an escape is the same key to JSON.parse.
    const key = (name: string): string => (name === 'q' && random() < 0.05 ? '"\\u0071"' : JSON.stringify(name));
    const json = `{${space()}${entries.map(([name, item]) => `${key(name)}${space()}:${space()}${JSON.stringify(item)}`).join(`${space()},${space()}`)}${space()}}`;
    // Tabs inside strings written raw, as the scanner reads them (with a warning).
    const text = `${pick(['', ' ', '\u00a0', '\u3000 '])}${random() < 0.2 ? json.replace(/\\t/g, '\t') : json}${pick(['', ' ', '\u2028'])}`;
    const record = JSON.parse(json) as Record<string, unknown>;
    const input = asText(record.q);
    const reference = asText(record.a);
    if (input === undefined || reference === undefined) continue;
    const context = asText(record.c) ?? '';
    const bytes = Buffer.from(`{"prompt":"x"}\n${text}\n`);
    const line: RecordLine = { bytes, start: 15, end: bytes.length - 1 };
    assert.deepEqual([...lineKeyAndReferenceHash(line, fields, input, reference, context)], [...keyAndReferenceHash(input, reference, context)], text);
  }
});

test('lineKeyAndReferenceHash is keyAndReferenceHash for every UTF-16 code unit and characters beyond U+FFFF, at either end of a text', () => {
  const fields: LineFields = { input: 'q', context: 'c', reference: 'a' };
  const check = (character: string): void => {
    for (const [input, reference, context] of [[`Ab${character} ${character}`, `${character}x${character}`, ''], [character, ` ${character} `, `${character}Z`]] as const) {
      const entries: [string, string][] = [['q', input], ['a', reference]];
      if (context) entries.push(['c', context]);
      assert.deepEqual([...lineKeyAndReferenceHash(recordLine(entries), fields, input, reference, context)],
        [...keyAndReferenceHash(input, reference, context)], `U+${character.codePointAt(0)!.toString(16)}`);
    }
  };
  for (let unit = 0; unit < 0x10000; unit++) {
    if (unit === 0x22 || unit === 0x5c || unit === 0x0a || (unit >= 0xd800 && unit <= 0xdfff)) continue;
    check(String.fromCharCode(unit));
  }
  for (let point = 0x10000; point <= 0x10ffff; point += point % 1024 === 0 ? 1 : 61) check(String.fromCodePoint(point));
});

test('lineKeyAndReferenceHash reads lines from any place of a chunk, from a new chunk at the same places, and between string hashes', () => {
  const fields: LineFields = { input: 'prompt', context: null, reference: 'completion' };
  const chunk = (seed: number): { bytes: Buffer; lines: { line: RecordLine; input: string; reference: string }[] } => {
    const random = seededRandom(seed);
    const records: [string, string][] = [];
    for (let i = 0; i < 3000; i++) {
      const input = `${i}: ${Array.from({ length: 1 + Math.floor(random() * 20) }, () => RAW_PIECES[Math.floor(random() * RAW_PIECES.length)]).join('')}`;
      records.push([i === 1500 ? input + ' données'.repeat(12_000) : input, RAW_PIECES[Math.floor(random() * RAW_PIECES.length)]!]);
    }
    const texts = records.map(([input, reference]) => `{"prompt":"${input}","completion":"${reference}"}`);
    const bytes = Buffer.from(texts.join('\n'));
    let start = 0;
    const lines = texts.map((text, index) => {
      const line = { bytes, start, end: start + Buffer.byteLength(text) };
      start = line.end + 1;
      return { line, input: records[index]![0], reference: records[index]![1] };
    });
    return { bytes, lines };
  };
  const first = chunk(15);
  const second = chunk(16);
  assert.equal(first.bytes.length > 256 * 1024, true);
  const order = [...first.lines, ...[...first.lines].reverse(), ...second.lines];
  for (const [index, { line, input, reference }] of order.entries()) {
    if (index % 7 === 0) hash64(`between ${index}`);
    assert.deepEqual([...lineKeyAndReferenceHash(line, fields, input, reference)], [...keyAndReferenceHash(input, reference)], `record ${index}`);
  }
});

test('isTrimmed is what trim removes and \\s matches, for every UTF-16 code unit', () => {
  for (let unit = 0; unit < 0x10000; unit++) {
    const character = String.fromCharCode(unit);
    assert.equal(isTrimmed(unit), /\s/.test(character), `U+${unit.toString(16)}`);
    assert.equal(isTrimmed(unit), `${character}x${character}`.trim() === 'x', `U+${unit.toString(16)}`);
  }
});

test('inspect counts duplicates and conflicts as duplicateKey and trim define them, from compact lines and from the same records spaced out', async () => {
  const random = seededRandom(17);
  const piece = (): string => PIECES[Math.floor(random() * PIECES.length)]!;
  const inputs = Array.from({ length: 400 }, () => Array.from({ length: 1 + Math.floor(random() * 6) }, piece).join(''));
  const references = [' Paris', 'Paris ', 'paris', '\u3000Paris\u00a0', 'Lyon', 'é', 'e\u0301', '\ufeffok\u2028'];
  const records = Array.from({ length: 60_000 }, () => {
    const record: Record<string, string> = { instruction: inputs[Math.floor(random() * inputs.length)]!, output: references[Math.floor(random() * references.length)]! };
    if (random() < 0.6) record.input = random() < 0.2 ? '' : inputs[Math.floor(random() * 40)]!;
    return record;
  });
  // Raw tabs are read (with a warning) and the line stays compact; escapes make it not compact.
  const compact = records.map((record) => JSON.stringify(record).replace(/\\t/g, '\t')).join('\n');
  const spaced = records.map((record) => JSON.stringify(record, null, 1).replace(/\n */g, ' ')).join('\r\n');
  const expected = { distinct: 0, duplicates: 0, conflicts: 0 };
  const firstReference = new Map<string, { reference: string; conflicting: boolean }>();
  for (const { instruction, input, output } of records) {
    const key = duplicateKey(input ? `${instruction}\n${input}` : instruction!);
    const seen = firstReference.get(key);
    if (!seen) {
      expected.distinct++;
      firstReference.set(key, { reference: output!.trim(), conflicting: false });
      continue;
    }
    expected.duplicates++;
    if (!seen.conflicting && seen.reference !== output!.trim()) {
      seen.conflicting = true;
      expected.conflicts++;
    }
  }
  const folder = temporaryFolder();
  try {
    for (const [name, text] of [['compact.jsonl', compact], ['spaced.jsonl', spaced], ['bom.jsonl', `\ufeff${compact}\n`]] as const) {
      const file = join(folder.path, name);
      writeFileSync(file, text);
      const result = await inspectDataset(file);
      assert.equal(result.records, records.length, name);
      assert.deepEqual({ distinct: result.distinctInputs, duplicates: result.duplicateInputs, conflicts: result.conflictingInputs }, expected, name);
    }
  } finally {
    folder.remove();
  }
});
