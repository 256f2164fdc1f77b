/**
 * A model's identity for the output cache: a sha256 over every byte that can change its outputs (the
 * weights, their external data, the tokenizer and the configuration), and the dtype.
 *
 * Hashing a 500 MB model takes a second or two, so each file's hash is remembered in a small index
 * (a JSON file in the cache folder) under its path, size, modification time, change time and inode; a
 * file whose stat is unchanged is not read again. Replacing or editing a file changes its mtime or ctime
 * (ctime cannot be set back by copying tools), so a stale hash is not reused.
 */
import { createHash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

/** The model folder's files that decide outputs, besides the ONNX weights: relative paths. */
const SETTINGS_FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json'] as const;

/** transformers.js' own dtype → file-name suffix mapping (src/utils/dtypes.js DEFAULT_DTYPE_SUFFIX_MAPPING). */
export const DTYPE_SUFFIX: Readonly<Record<string, string>> = {
  fp32: '',
  fp16: '_fp16',
  int8: '_int8',
  uint8: '_uint8',
  q8: '_quantized',
  q4: '_q4',
  q2: '_q2',
  q1: '_q1',
  q4f16: '_q4f16',
  q2f16: '_q2f16',
  q1f16: '_q1f16',
  bnb4: '_bnb4',
};

/** The ONNX file transformers.js loads for a decoder-only model of this dtype, relative to the model folder. */
export function onnxFileForDtype(dtype: string): string {
  return `onnx/model${DTYPE_SUFFIX[dtype] ?? ''}.onnx`;
}

export interface ModelFingerprint {
  /** sha256, hex. */
  fingerprint: string;
  /** The files (relative paths) read in full this time; the others' hashes came from the index. */
  hashedFiles: string[];
}

export interface FingerprintOptions {
  /** The index of remembered file hashes; without one every file is read. */
  indexFile?: string;
  signal?: AbortSignal;
}

/**
 * The files a fingerprint covers, relative to the folder: the settings files, the dtype's ONNX file and
 * its external data (`model.onnx_data`, `model.onnx_data_1`, … or `model.onnx.data`), whether present or not.
 */
export async function fingerprintedFiles(folder: string, dtype: string): Promise<string[]> {
  const onnxFile = onnxFileForDtype(dtype);
  const baseName = path.posix.basename(onnxFile);
  let dataFiles: string[] = [];
  try {
    dataFiles = (await fs.readdir(path.join(folder, 'onnx')))
      .filter((file) => file.startsWith(`${baseName}_data`) || file.startsWith(`${baseName}.data`))
      .sort()
      .map((file) => `onnx/${file}`);
  } catch {
    // no onnx folder: the ONNX file hashes as absent
  }
  return [...SETTINGS_FILES, onnxFile, ...dataFiles];
}

export async function fingerprintModelFolder(
  folder: string,
  dtype: string,
  options: FingerprintOptions = {},
): Promise<ModelFingerprint> {
  const index = options.indexFile ? await HashIndex.open(options.indexFile) : undefined;
  const hash = createHash('sha256');
  hash.update(`prompt-or-finetune/model-fingerprint/v2\0dtype=${dtype}\0`);
  const hashedFiles: string[] = [];
  for (const file of await fingerprintedFiles(folder, dtype)) {
    const absolute = path.resolve(folder, file);
    let stat: Stats;
    try {
      stat = await fs.stat(absolute);
    } catch {
      hash.update(`${file}\0<absent>\0`);
      continue;
    }
    let fileHash = index?.lookup(absolute, stat);
    if (fileHash === undefined) {
      fileHash = await hashFile(absolute, options.signal);
      hashedFiles.push(file);
      index?.remember(absolute, stat, fileHash);
    }
    hash.update(`${file}\0${fileHash}\0`);
  }
  await index?.save();
  return { fingerprint: hash.digest('hex'), hashedFiles };
}

/** sha256 of a whole file, hex; reads it in 4 MiB chunks and stops when `signal` aborts. */
export async function hashFile(file: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  const stream = createReadStream(file, { highWaterMark: 4 * 1024 * 1024 });
  try {
    for await (const chunk of stream) {
      signal?.throwIfAborted();
      hash.update(chunk as Buffer);
    }
  } finally {
    stream.destroy();
  }
  return hash.digest('hex');
}

interface IndexEntry {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  sha256: string;
  /** When the entry was last used (ms since the epoch): the oldest go first when the index is full. */
  used: number;
}

/** At most this many files are remembered: a few dozen models with their data files. */
const MAX_INDEX_ENTRIES = 512;

/**
 * The on-disk index: `{ "version": 1, "files": { "<absolute path>": IndexEntry } }`. A missing, unreadable
 * or malformed index is treated as empty; saving is atomic (a temporary file renamed over it) and a failure
 * to save only costs a re-hash next time.
 */
class HashIndex {
  private changed = false;

  private constructor(
    private readonly file: string,
    private readonly entries: Map<string, IndexEntry>,
  ) {}

  static async open(file: string): Promise<HashIndex> {
    const entries = new Map<string, IndexEntry>();
    try {
      const value = JSON.parse(await fs.readFile(file, 'utf8')) as unknown;
      const files = isRecord(value) && value.version === 1 && isRecord(value.files) ? value.files : {};
      for (const [name, entry] of Object.entries(files)) {
        if (isEntry(entry)) entries.set(name, entry);
      }
    } catch {
      // no index yet, or a damaged one: start afresh
    }
    return new HashIndex(file, entries);
  }

  lookup(file: string, stat: Stats): string | undefined {
    const entry = this.entries.get(file);
    if (!entry) return undefined;
    if (entry.size !== stat.size || entry.mtimeMs !== stat.mtimeMs || entry.ctimeMs !== stat.ctimeMs || entry.ino !== stat.ino) {
      return undefined;
    }
    entry.used = Date.now();
    this.changed = true;
    return entry.sha256;
  }

  remember(file: string, stat: Stats, sha256: string): void {
    this.entries.set(file, { size: stat.size, mtimeMs: stat.mtimeMs, ctimeMs: stat.ctimeMs, ino: stat.ino, sha256, used: Date.now() });
    this.changed = true;
  }

  async save(): Promise<void> {
    if (!this.changed) return;
    const kept = [...this.entries].sort((a, b) => b[1].used - a[1].used).slice(0, MAX_INDEX_ENTRIES);
    const text = JSON.stringify({ version: 1, files: Object.fromEntries(kept) });
    const temporary = `${this.file}.${process.pid}.${Date.now()}.tmp`;
    try {
      await fs.mkdir(path.dirname(this.file), { recursive: true });
      await fs.writeFile(temporary, text);
      await fs.rename(temporary, this.file);
    } catch {
      await fs.rm(temporary, { force: true }).catch(() => undefined);
    }
  }
}

function isEntry(value: unknown): value is IndexEntry {
  return (
    isRecord(value) &&
    typeof value.size === 'number' &&
    typeof value.mtimeMs === 'number' &&
    typeof value.ctimeMs === 'number' &&
    typeof value.ino === 'number' &&
    typeof value.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(value.sha256) &&
    typeof value.used === 'number'
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
