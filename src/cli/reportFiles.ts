/**
 * The report files `run` writes (--json, --markdown, --html): checked before the model loads, so a path that
 * cannot be a report costs nothing, and written so that a failure never destroys what was there (a complete
 * report, the dataset itself, the output cache).
 */
import { accessSync, chmodSync, constants, existsSync, lstatSync, mkdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, extname, isAbsolute, relative, resolve, sep } from 'node:path';
import { modelsFolder, outputsFolder } from '../engine/cacheFolders';
import type { ExperimentReport } from '../engine/experiment/report';
import { UsageError } from './errors';

export interface ReportFile {
  flag: 'json' | 'markdown' | 'html';
  path: string;
  what: string;
  render: (report: ExperimentReport) => string;
}

/** Where the partial report of a cancelled run goes: `report.json` → `report.partial.json`. */
export function partialPath(path: string): string {
  const extension = extname(path);
  return `${path.slice(0, path.length - extension.length)}.partial${extension}`;
}

/** The path as the file system knows it (symbolic links resolved where the file or its folders exist). */
function canonical(path: string): string {
  let existing = resolve(path);
  const rest: string[] = [];
  while (!existsSync(existing) && dirname(existing) !== existing) {
    rest.unshift(existing.slice(dirname(existing).length).replace(/^[\\/]/, ''));
    existing = dirname(existing);
  }
  try {
    return resolve(realpathSync(existing), ...rest);
  } catch {
    return resolve(path);
  }
}

function isWithin(folder: string, path: string): boolean {
  const inside = relative(folder, path);
  return inside === '' || (!inside.startsWith(`..${sep}`) && inside !== '..' && !isAbsolute(inside));
}

/**
 * Refuses, before anything runs, a report path that is the dataset (or would put its partial report there),
 * lies in the cache folder's models or outputs (which it would overwrite), is named twice, is a folder, or
 * cannot be written (an existing file or device that is not writable; else its nearest existing folder).
 */
export function checkReportFiles(files: readonly ReportFile[], dataset: string, cacheFolder: string): void {
  const datasetPath = canonical(dataset);
  const managed = [modelsFolder(cacheFolder), outputsFolder(cacheFolder)];
  const seen = new Map<string, string>();
  for (const file of files) {
    const target = canonical(file.path);
    const flag = `--${file.flag} ${file.path}`;
    if (target === datasetPath) throw new UsageError(`${flag} is the dataset itself: the report would replace it. Name another file`);
    if (canonical(partialPath(file.path)) === datasetPath) {
      throw new UsageError(`${flag} would put a cancelled run's partial report (and remove it after a complete one) at ${partialPath(file.path)}, the dataset itself. Name another file`);
    }
    const managedFolder = managed.find((candidate) => isWithin(canonical(candidate), target));
    if (managedFolder) throw new UsageError(`${flag} is inside ${managedFolder}, whose files the tool manages (cached models or outputs). Name a file outside it`);
    const twice = seen.get(target);
    if (twice) throw new UsageError(`${flag} is also given as ${twice}: each report needs a file of its own`);
    seen.set(target, flag);
    const existing = statSync(target, { throwIfNoEntry: false });
    if (existing?.isDirectory()) throw new UsageError(`${flag} is a folder; name a file in it`);
    let checked = target;
    if (!existing) {
      checked = dirname(target);
      while (!existsSync(checked) && dirname(checked) !== checked) checked = dirname(checked);
    }
    try {
      if (!existing && !statSync(checked).isDirectory()) throw new Error('not a folder');
      accessSync(checked, constants.W_OK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new UsageError(`${flag} cannot be written: ${checked} ${code === 'EACCES' || code === 'EROFS' || code === 'EPERM' ? 'is not writable' : 'is not a folder'}`);
    }
  }
}

/**
 * Writes each report. A regular file (or a new one) is written to a temporary file beside it, with the old one's
 * permissions, then renamed over it, so a full disk or a killed process leaves the previous report whole. A path
 * that is a symbolic link, a device or a pipe (`/dev/stdout`) is written through, never replaced. A partial
 * (cancelled) report goes to `x.partial.ext` and never replaces a complete one; a complete report removes the
 * partial one it supersedes. A file that cannot be written does not stop the others.
 * Returns what could not be written, as one sentence, or null.
 */
export function writeReportFiles(report: ExperimentReport, files: readonly ReportFile[], options: { cached: boolean }): string | null {
  const failures: string[] = [];
  for (const file of files) {
    const target = report.complete ? file.path : partialPath(file.path);
    const temporary = `${target}.${process.pid}.tmp`;
    try {
      mkdirSync(dirname(resolve(target)), { recursive: true });
      const link = lstatSync(target, { throwIfNoEntry: false });
      if (link && !link.isFile()) {
        writeFileSync(target, file.render(report));
      } else {
        writeFileSync(temporary, file.render(report), link ? { mode: link.mode & 0o7777 } : {});
        if (link) chmodSync(temporary, link.mode & 0o7777);
        renameSync(temporary, target);
      }
      if (report.complete) rmSync(partialPath(file.path), { force: true });
      process.stderr.write(`${report.complete ? '' : 'Partial '}${file.what} written to ${target}\n`);
    } catch (error) {
      rmSync(temporary, { force: true });
      failures.push(`the ${file.what} could not be written to ${target} (${(error as Error).message})`);
    }
  }
  if (failures.length === 0) return null;
  return `${failures.join('; ')}; a report that was there before is left as it was. ` +
    (options.cached
      ? 'The answers are in the output cache: the same command with another path writes the report without running the model again'
      : 'This run kept no output cache (--no-cache): a new run computes the answers again');
}
