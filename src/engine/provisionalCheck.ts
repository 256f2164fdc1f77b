/**
 * First answer first: the check of a file's first bytes, cut after its last whole line, so the hover and the side
 * panel can say something about a 1 GB file in milliseconds while the whole scan runs. The head goes through the
 * same checkDataset as the whole file (from a temporary copy, as checkDataset reads files), so the provisional
 * summary means what the final one means, on fewer records; every face labels it with the bytes read.
 */
import { closeSync, fstatSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { checkDataset, type DatasetCheck, type ModelFacts } from './datasetCheck';
import type { CheckSettings } from './settings';

export const PROVISIONAL_HEAD_BYTES = 256 * 1024;

export interface ProvisionalCheck {
  /** The check of the head; its inspection names the whole file. */
  check: DatasetCheck;
  /** Bytes of the file it was made from (whole lines only). */
  bytesRead: number;
  totalBytes: number;
}

/** Undefined when the head holds no whole line (a single record longer than the head). */
export async function checkFileHead(
  file: string, settings: CheckSettings, options: { model?: ModelFacts; headBytes?: number } = {},
): Promise<ProvisionalCheck | undefined> {
  const buffer = Buffer.alloc(options.headBytes ?? PROVISIONAL_HEAD_BYTES);
  const descriptor = openSync(file, 'r');
  let read: number;
  let totalBytes: number;
  try {
    read = readSync(descriptor, buffer, 0, buffer.length, 0);
    totalBytes = fstatSync(descriptor).size;
  } finally {
    closeSync(descriptor);
  }
  const end = read === totalBytes ? read : buffer.subarray(0, read).lastIndexOf(0x0a) + 1;
  if (end <= 0) return undefined;
  const folder = mkdtempSync(path.join(tmpdir(), 'pof-head-'));
  try {
    const head = path.join(folder, path.basename(file));
    writeFileSync(head, buffer.subarray(0, end));
    // No per-record token statistics: nothing shows them, and they would double the head's time with a tokenizer.
    const check = await checkDataset(head, settings, { model: options.model, collectExamples: false, tokenStatistics: false });
    return { check: { ...check, inspection: { ...check.inspection, file, bytes: totalBytes } }, bytesRead: end, totalBytes };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
