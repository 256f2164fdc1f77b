/** Where the tests find the shared real datasets and model, beside the repository. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(__dirname, '..', '..');
export const SHARED = resolve(REPO_ROOT, '..', 'shared');
export const REAL_DATASETS = join(SHARED, 'datasets', 'real');
export const STORIES_260K = join(SHARED, 'models', 'stories260K');
export const FIXTURES = join(REPO_ROOT, 'test', 'fixtures');

/** A skip reason when ../shared is not beside the repository (the suite's own models still run). */
export const sharedMissing: string | false = existsSync(SHARED) ? false : `../shared is not beside the repository (${SHARED})`;

export function realDataset(name: string): string {
  return join(REAL_DATASETS, name);
}

/** A fresh temporary folder, removed by the returned function. */
export function temporaryFolder(prefix = 'pof-test-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
