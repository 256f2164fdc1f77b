/**
 * Datasets in the formats icl-tiny learned (../shared/datasets/icl/README.md, examples/models/icl-tiny/SOURCE.md):
 * "{filler} {key}" texts with labels, each dataset with a fresh seeded mapping from key words to labels.
 */
import { writeFileSync } from 'node:fs';
import { seededRandom, shuffled } from '../../src/engine/random';

/** Words whose " word" is one or two tokens of icl-tiny's vocabulary (taken from the datasets it was checked on). */
export const ICL_WORDS = [
  'ball', 'bay', 'beam', 'bell', 'car', 'cat', 'cow', 'dad', 'dam', 'day', 'dime', 'door', 'dot', 'ear', 'fan', 'fork',
  'had', 'happy', 'hat', 'hem', 'hen', 'herb', 'hot', 'ink', 'kit', 'lily', 'lime', 'little', 'mad', 'named', 'neck',
  'nest', 'net', 'new', 'oar', 'oat', 'pad', 'pet', 'rat', 'red', 'rim', 'ring', 'sail', 'sand', 'sap', 'saw', 'tan',
  'ten', 'there', 'tim', 'time', 'tin', 'top', 'tot', 'tow', 'toy', 'upon', 'very', 'wad', 'want', 'war', 'was', 'wave',
  'web', 'wed', 'wit', 'yes',
] as const;
/**
 * Labels of the shipped datasets. icl-tiny copies some label sets better than others (with well, king, old, ton it
 * never says "old"); `ICL_CHECKED_LABELS` is the set its SOURCE.md measured (icl-classify.jsonl's).
 */
export const ICL_LABELS = ['cot', 'fin', 'king', 'old', 'run', 'tar', 'ton', 'well'] as const;
export const ICL_CHECKED_LABELS = ['fin', 'king', 'ton', 'old'] as const;
/**
 * Filler words, fewer than the keys so each is more frequent than any key: BM25 then ranks a record with the query's
 * key above one with its filler (with as many fillers as keys, "one dad" finds "one tim" as often as "his dad").
 */
export const ICL_FILLERS = ['a', 'her', 'his', 'its', 'my', 'the'] as const;

export interface IclClassification {
  /** JSONL text, one {"text", "label"} record a line. */
  jsonl: string;
  /** key word → label; empty when labels are random per record. */
  mapping: Record<string, string>;
  labels: string[];
}

/**
 * `records` classification records over `keys` key words and the `labels`: a fresh seeded mapping (learnable from
 * the example with the same key), or with `randomLabels` a label drawn per record (nothing to learn).
 */
export function iclClassification(options: { seed: number; records: number; keys: number; labels: readonly string[]; randomLabels?: boolean }): IclClassification {
  const random = seededRandom(options.seed);
  const keys = shuffled(ICL_WORDS.filter((word) => !options.labels.includes(word)), random).slice(0, options.keys);
  const labels = shuffled([...options.labels], random);
  const mapping: Record<string, string> = {};
  // Every label is used: keys take the labels in turn, in shuffled order.
  keys.forEach((key, index) => (mapping[key] = labels[index % labels.length]!));
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  const lines: string[] = [];
  for (let index = 0; index < options.records; index++) {
    const key = pick(keys);
    const label = options.randomLabels ? pick(labels) : mapping[key]!;
    lines.push(JSON.stringify({ text: `${pick(ICL_FILLERS)} ${key}`, label }));
  }
  return { jsonl: lines.join('\n') + '\n', mapping: options.randomLabels ? {} : mapping, labels };
}

export function writeIclClassification(file: string, options: Parameters<typeof iclClassification>[0]): IclClassification {
  const data = iclClassification(options);
  writeFileSync(file, data.jsonl);
  return data;
}
