/**
 * The layout of a cache folder, one for the command line (`--cache-dir`) and the extension
 * (`promptOrFinetune.cacheFolder`): Hub downloads in `models/`, cached model outputs in `outputs/`. Pointing both at
 * the same folder shares a downloaded model instead of fetching it twice.
 */
import { join } from 'node:path';

/** Where Hub models are downloaded under the cache folder `root`; undefined without one (the library's default). */
export function modelsFolder(root: string): string;
export function modelsFolder(root: string | undefined): string | undefined;
export function modelsFolder(root: string | undefined): string | undefined {
  return root === undefined ? undefined : join(root, 'models');
}

/** Where model outputs are cached between runs under the cache folder `root`. */
export function outputsFolder(root: string): string {
  return join(root, 'outputs');
}
