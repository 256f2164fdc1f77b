/**
 * The command line's cache folder (--cache-dir, else one under XDG_CACHE_HOME or ~/.cache): Hub downloads and
 * cached outputs under it, laid out as engine/cacheFolders.ts says.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where models and outputs are cached between runs unless --cache-dir says otherwise. */
export function defaultCacheFolder(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'prompt-or-finetune');
}

/** The cache folder: --cache-dir, else the default one. */
export function cacheRoot(values: Record<string, string | boolean | undefined>): string {
  return typeof values['cache-dir'] === 'string' ? values['cache-dir'] : defaultCacheFolder();
}
