/** `prompt-or-finetune run` and `demo`: measure the base model at several shot counts. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { runExperiment, RunCancelledError, DatasetNotRunnableError } from '../engine/experiment/experiment';
import type { ExperimentReport, MeasuredVerdictKind } from '../engine/experiment/report';
import type { LanguageModel, ModelDtype, ModelDevice } from '../engine/model/languageModel';
import { SELECTION_STRATEGIES, type Embedder, type SelectionStrategy } from '../engine/prompt/selection';
import { renderReportHtml } from '../engine/report/html';
import { renderReportMarkdown, summaryParagraph } from '../engine/report/markdown';
import { type CheckSettings, DEFAULT_MODEL, DEFAULT_SETTINGS, parseShots } from '../engine/settings';
import { UsageError, UserFacingError } from './errors';
import { terminalText } from './terminalText';
import { checkSettings, datasetArgument, INSPECT_OPTIONS, integerOption, LIMITS, numberOption } from './inspectCommand';
import { cacheRoot } from './cacheFolder';
import { checkReportFiles, writeReportFiles, type ReportFile } from './reportFiles';
import { ProgressLine } from './progress';
import { modelsFolder, outputsFolder } from '../engine/cacheFolders';

export const RUN_OPTIONS = {
  ...INSPECT_OPTIONS,
  shots: { type: 'string' },
  limit: { type: 'string' },
  select: { type: 'string' },
  seed: { type: 'string' },
  'max-new-tokens': { type: 'string' },
  threads: { type: 'string' },
  device: { type: 'string' },
  html: { type: 'string' },
  markdown: { type: 'string' },
  'no-cache': { type: 'boolean' },
  'embedding-model': { type: 'string' },
  'fail-on': { type: 'string' },
  json: { type: 'string' },
  endpoint: { type: 'string' },
  'api-key-env': { type: 'string' },
  concurrency: { type: 'string' },
  tokenizer: { type: 'string' },
  'chat-template': { type: 'boolean' },
} satisfies ParseArgsConfig['options'];

type Values = Record<string, string | boolean | undefined>;

export async function runCommand(positionals: string[], values: Values): Promise<number> {
  const file = datasetArgument(positionals, 'run');
  if (typeof values.model !== 'string') {
    throw new UsageError(typeof values.endpoint === 'string'
      ? "--endpoint needs --model NAME: the served model's name, as the server's /v1/models lists it"
      : `run needs --model <Hub id or folder>, e.g. --model ${DEFAULT_MODEL}`);
  }
  if (values['context-length'] !== undefined) throw new UsageError("--context-length is for inspect without a model; run uses the model's own context length");
  // Every option is checked before the model loads (which can take minutes), so a typo costs nothing.
  runSettings(values);
  failOnKinds(values);
  checkReportFiles(reportFiles(values), file, cacheRoot(values));
  const model = typeof values.endpoint === 'string' ? await connectToEndpoint(values.endpoint, values.model, values) : await loadModel(values.model, values);
  try {
    return await runAndReport(file, model, values);
  } catch (error) {
    // A server that stopped answering: one line, and what was done is in the output cache.
    if ((error as Error).name === 'EndpointError') throw new UserFacingError(`${(error as Error).message}. What was done is cached: the same command resumes from it.`);
    throw error;
  } finally {
    await model.dispose();
  }
}

/**
 * `--endpoint URL --model NAME`: a model served by vLLM, SGLang, llama-server, Ollama… The API key comes from the
 * environment variable `--api-key-env` names (never from a flag, which the shell history would keep).
 */
async function connectToEndpoint(endpoint: string, name: string, values: Values): Promise<LanguageModel> {
  for (const flag of ['dtype', 'device', 'threads'] as const) {
    if (values[flag] !== undefined) throw new UsageError(`--${flag} is for in-process models; the server at --endpoint decides how it runs the model`);
  }
  const concurrency = integerOption(values, 'concurrency', 4, 1, LIMITS.concurrency);
  const keyVariable = values['api-key-env'];
  let apiKey: string | undefined;
  if (typeof keyVariable === 'string') {
    apiKey = process.env[keyVariable];
    if (!apiKey) throw new UsageError(`--api-key-env names ${keyVariable}, which is not set in the environment`);
  }
  const { connectEndpoint } = await import('../engine/model/endpoint/endpointModel');
  let model: Awaited<ReturnType<typeof connectEndpoint>>;
  try {
    model = await connectEndpoint({
      endpoint, model: name, apiKey, concurrency, allowDownload: !values.offline,
      tokenizer: typeof values.tokenizer === 'string' ? values.tokenizer : undefined,
      chatTemplate: values['chat-template'] === true,
      cacheDir: modelsFolder(cacheRoot(values)),
    });
  } catch (error) {
    if ((error as Error).name === 'EndpointError') throw new UserFacingError((error as Error).message);
    throw error;
  }
  // The server's own words (its model's name, its version) are shown without the control characters they may hold.
  process.stderr.write(terminalText(`Connected to ${model.capabilities.server}.\n`));
  for (const [what, how] of Object.entries(model.capabilities)) if (what !== 'server') process.stderr.write(terminalText(`  ${what}: ${how}\n`));
  return model;
}

/**
 * The README's first command, offline and in seconds: the shipped icl-tiny (a model that copies the answer of an
 * example matching the query) on the shipped example dataset, measured twice, with examples chosen by similarity
 * (BM25) and at random, so the difference the examples make is on screen, with each verdict and its evidence.
 */
export async function demoCommand(values: Values): Promise<number> {
  const root = packageRoot();
  const file = join(root, 'examples', 'icl-classify.jsonl');
  const model = await loadModel(typeof values.model === 'string' ? values.model : relativeToHere(join(root, 'examples', 'models', 'icl-tiny')), values);
  const outputs = join(root, '.cache', 'demo');
  const reports: ExperimentReport[] = [];
  try {
    for (const select of ['similar', 'random'] as const) {
      const measured = await measure(file, model, {
        shots: '0,1,2,4', limit: '60', epsilon: '0.2', ...values, select,
        json: join(outputs, `report-${select}.json`), html: join(outputs, `report-${select}.html`),
      });
      if (typeof measured === 'number') return measured;
      if (measured.writeFailure) throw new UserFacingError(measured.writeFailure);
      reports.push(measured.report);
    }
  } finally {
    await model.dispose();
  }
  process.stdout.write(demoSummary(reports[0]!, reports[1]!, file) + '\n');
  return 0;
}

/** A path as short as it reads from the working folder. */
function relativeToHere(path: string): string {
  const short = relative(process.cwd(), path);
  return short && !short.startsWith('..') ? short : path;
}

/** Both curves side by side, each verdict with the evidence it rests on, and how to run the same on your data. */
export function demoSummary(similar: ExperimentReport, random: ExperimentReport, file: string): string {
  const percent = (value: number | undefined): string => (value === undefined || Number.isNaN(value) ? '—' : `${(value * 100).toFixed(1)}%`);
  const metric = similar.primaryMetric === 'label_accuracy' ? 'accuracy' : 'exact match';
  const pad = (text: string, width: number): string => text.padEnd(width);
  const cells = (report: ExperimentReport, k: number): string => {
    const point = report.curve.find((candidate) => candidate.k === k);
    const epsilon = point?.measuredEpsilon;
    return pad(percent(point ? 1 - point.disagreement.rate : undefined), 10) +
      pad(epsilon && epsilon.n ? `${percent(epsilon.mean)} [${percent(epsilon.low)}, ${percent(epsilon.high)}]` : '—', 28);
  };
  // The evidence the verdict rule itself used (aggregate.ts): n, the deciding bound, the test and its p-value.
  const evidence = (report: ExperimentReport): string => {
    const verdict = report.verdict.measured;
    const facts = verdict.evidence;
    if (!facts) return verdict.sentence;
    const bound = facts.bound ? `, ${facts.bound.side} ${percent(facts.bound.confidence)} bound ${percent(facts.bound.value)}` : '';
    return `${verdict.sentence}\n    Evidence: k = ${verdict.k}, n = ${facts.n} held-out items, disagreement ${percent(facts.rate)}${bound} ` +
      `against ε = ${percent(report.settings.epsilon)}; ${facts.test}, p = ${Number(facts.pValue.toPrecision(2))}.`;
  };
  const lines = [
    `${similar.dataset.name} (${similar.dataset.usable} records) with ${similar.model.id}: ${similar.split.heldOut} held-out items at each k.`,
    '',
    `     ${pad('examples chosen by similarity (BM25)', 38)}examples chosen at random`,
    `  k  ${pad(metric, 10)}${pad('measured ε [interval]', 28)}${pad(metric, 10)}measured ε [interval]`,
    ...similar.shots.map((k) => `${String(k).padStart(3)}  ${cells(similar, k)}${cells(random, k)}`.trimEnd()),
    '',
    `Measured ε is the mean of 1 − p(reference and its end | prompt) (Hoeffding interval at ${percent(1 - similar.settings.delta)}): how far the model's`,
    'output distribution is from the reference, which greedy accuracy does not show.',
    '',
    `With similar examples: ${evidence(similar)}`,
    `With random examples: ${evidence(random)}`,
    ...(similar.warnings ?? []).map((warning) => `Warning (similar examples): ${warning}`),
    ...(random.warnings ?? []).map((warning) => `Warning (random examples): ${warning}`),
    ...(random.notes ?? []).map((note) => `Note (random examples): ${note}`),
    '',
    `Reports: ${relativeToHere(join(dirname(dirname(file)), '.cache', 'demo'))}/report-similar.{json,html} and report-random.{json,html}. Dataset: ${relativeToHere(file)}.`,
    `Your own data, with a model from the Hugging Face Hub (downloaded once):`,
    `  node dist/cli.js run your-data.jsonl --model ${DEFAULT_MODEL} --select similar --html report.html`,
  ];
  return lines.join('\n');
}

async function loadModel(id: string, values: Values): Promise<LanguageModel> {
  const dtype = (values.dtype ?? 'fp32') as ModelDtype;
  if (!['fp32', 'fp16', 'q8', 'q4'].includes(dtype)) throw new UsageError(`--dtype must be fp32, fp16, q8 or q4, not "${dtype}"`);
  const device = (values.device ?? 'cpu') as ModelDevice;
  if (!['cpu', 'cuda'].includes(device)) throw new UsageError(`--device must be cpu or cuda, not "${device}"`);
  const threads = values.threads === undefined ? undefined : integerOption(values, 'threads', 1, 1, LIMITS.threads);
  const progress = new ProgressLine(`Loading ${id}`);
  const { loadLanguageModel } = await import('../engine/model/transformers/transformersModel');
  try {
    return await loadLanguageModel({
      model: id, dtype, device, threads, allowDownload: !values.offline,
      cacheDir: modelsFolder(cacheRoot(values)),
      onProgress: (event) => progress.update((event.percent ?? 0) / 100, event.file),
    });
  } finally {
    progress.done();
  }
}

/** The measured verdicts `--fail-on` names. */
function failOnKinds(values: Values): string[] {
  const failOn = typeof values['fail-on'] === 'string' ? values['fail-on'].split(',').map((kind) => kind.trim()).filter(Boolean) : [];
  // An empty value (a CI variable left unset) would turn the gate off without a word.
  if (typeof values['fail-on'] === 'string' && failOn.length === 0) throw new UsageError(`--fail-on needs at least one measured verdict (${MEASURED_KINDS.join(', ')})`);
  const unknownKinds = failOn.filter((kind) => !MEASURED_KINDS.includes(kind as MeasuredVerdictKind));
  if (unknownKinds.length) throw new UsageError(`--fail-on takes measured verdicts (${MEASURED_KINDS.join(', ')}), not "${unknownKinds.join(', ')}"`);
  return failOn;
}

async function runAndReport(file: string, model: LanguageModel, values: Values): Promise<number> {
  const failOn = failOnKinds(values);
  const measured = await measure(file, model, values);
  if (typeof measured === 'number') return measured;
  const { report, writeFailure } = measured;
  process.stdout.write(summaryParagraph(report) + '\n');
  for (const entry of report.unavailableMeasurements ?? []) process.stdout.write(terminalText(`Not measured (${entry.measurement}): ${entry.reason}.\n`));
  // The verdict is on screen first: a report file that could not be written does not hide it.
  if (writeFailure) throw new UserFacingError(writeFailure);
  if (failOn.includes(report.verdict.measured.kind)) {
    process.stderr.write(`prompt-or-finetune: the measured verdict is ${report.verdict.measured.kind}, which --fail-on names.\n`);
    return 3;
  }
  return 0;
}

/** The run's settings from the command line, checked (all but what needs the model: see `measure`). */
function runSettings(values: Values): CheckSettings {
  const base = checkSettings(values);
  const selection = (values.select ?? DEFAULT_SETTINGS.selection) as SelectionStrategy;
  if (!SELECTION_STRATEGIES.includes(selection)) throw new UsageError(`--select must be one of ${SELECTION_STRATEGIES.join(', ')}, not "${selection}"`);
  let shots = DEFAULT_SETTINGS.shots;
  try {
    if (typeof values.shots === 'string') shots = parseShots(values.shots);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const settings = {
    ...base, shots, selection,
    heldOut: integerOption(values, 'limit', DEFAULT_SETTINGS.heldOut, 1, LIMITS.heldOut),
    seed: integerOption(values, 'seed', DEFAULT_SETTINGS.seed, 0, LIMITS.seed),
    // Unset: from the references' token lengths (the report says which cap was used).
    maxNewTokens: values['max-new-tokens'] === undefined ? null : numberOption(values, 'max-new-tokens', 0, (v) => Number.isInteger(v) && v > 0, 'a whole number ≥ 1'),
  };
  return settings;
}

/** A finished run: its report, and what of it could not be written (one sentence), if anything. */
interface MeasuredRun {
  report: ExperimentReport;
  writeFailure: string | null;
}

/** One run with the command line's settings: the report, written where the flags say; 130 when cancelled. */
async function measure(file: string, model: LanguageModel, values: Values): Promise<MeasuredRun | number> {
  const settings = runSettings(values);
  if (settings.maxNewTokens !== null && settings.maxNewTokens >= model.contextLength) {
    throw new UsageError(`--max-new-tokens ${settings.maxNewTokens} leaves no room for a prompt in ${model.id}'s context of ${model.contextLength} tokens; give at most ${model.contextLength - 1}`);
  }
  const cacheFolder = values['no-cache'] ? null : outputsFolder(cacheRoot(values));
  const embedder = typeof values['embedding-model'] === 'string' ? await loadEmbedder(values['embedding-model'], values) : undefined;

  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.once('SIGINT', onSignal);
  const progress = new ProgressLine(`Running ${model.id}`);
  let report: ExperimentReport;
  try {
    report = await runExperiment({
      file, settings, model, cacheFolder, embedder, signal: controller.signal,
      onProgress: (event) => progress.update(event.total ? event.done / event.total : 0, `${event.done}/${event.total} · ${event.message}`),
    });
  } catch (error) {
    progress.done();
    if (error instanceof RunCancelledError) {
      // A report of nothing (cancelled before the first item was answered) is not written.
      if (error.partial && error.partial.items.length > 0) {
        for (const warning of error.partial.warnings ?? []) process.stderr.write(terminalText(`prompt-or-finetune: warning: ${warning}\n`));
        const failure = writeOutputs(error.partial, values);
        if (failure) process.stderr.write(terminalText(`prompt-or-finetune: ${failure}.\n`));
      }
      const answered = error.partial?.items.length ?? 0;
      process.stderr.write(answered > 0
        ? `Cancelled after ${answered} items; they are cached, so the same command resumes from them. A partial report never replaces a complete one.\n`
        : 'Cancelled before any item was answered: no report written.\n');
      return 130;
    }
    if (error instanceof DatasetNotRunnableError) throw new UserFacingError(error.message);
    throw error;
  } finally {
    process.removeListener('SIGINT', onSignal);
    progress.done();
  }
  if (report.items.length === 0 && report.skippedItems.length > 0) {
    const first = report.skippedItems[0]!;
    throw new UserFacingError(`${file}: no held-out item fits ${model.id}'s context of ${model.contextLength} tokens (line ${first.line}: ${first.reason}); nothing was measured. Use a model with a longer context, shorter records or a smaller --max-new-tokens.`);
  }
  const writeFailure = writeOutputs(report, values);
  for (const warning of report.warnings ?? []) process.stderr.write(terminalText(`prompt-or-finetune: warning: ${warning}\n`));
  return { report, writeFailure };
}

/** Every measured verdict, for `--fail-on` (a CI check that fails when prompting does not do). */
const MEASURED_KINDS: readonly MeasuredVerdictKind[] = ['prompting-suffices', 'still-improving', 'fine-tune', 'undecided', 'not-run'];

async function loadEmbedder(id: string, values: Values): Promise<Embedder> {
  const { loadEmbedder: load } = await import('../engine/model/embeddingModel');
  return load({ model: id, allowDownload: !values.offline, cacheDir: modelsFolder(cacheRoot(values)) });
}

/** The report files the command line names, in the order they are written. */
function reportFiles(values: Values): ReportFile[] {
  const files: ReportFile[] = [];
  if (typeof values.json === 'string') files.push({ flag: 'json', path: values.json, what: 'JSON report', render: (report) => JSON.stringify(report, null, 2) + '\n' });
  if (typeof values.markdown === 'string') files.push({ flag: 'markdown', path: values.markdown, what: 'Markdown report', render: renderReportMarkdown });
  if (typeof values.html === 'string') files.push({ flag: 'html', path: values.html, what: 'HTML report', render: (report) => renderReportHtml(report, webviewAssets()) });
  return files;
}

function writeOutputs(report: ExperimentReport, values: Values): string | null {
  return writeReportFiles(report, reportFiles(values), { cached: values['no-cache'] !== true });
}

/** The project folder (where package.json is), whether this runs bundled from dist/ or from src/ under tsx. */
function packageRoot(): string {
  for (let folder = __dirname; ; folder = dirname(folder)) {
    if (existsSync(join(folder, 'package.json')) && existsSync(join(folder, 'examples'))) return folder;
    if (dirname(folder) === folder) return resolve(__dirname, '..');
  }
}

/** The report webview's own script and style, inlined into the HTML export so it renders the same. */
function webviewAssets(): { script: string; style: string } {
  const root = packageRoot();
  const script = join(root, 'dist', 'webview', 'report.js');
  if (!existsSync(script)) throw new UserFacingError(`${script} is missing: run 'npm run build' first`);
  return { script: readFileSync(script, 'utf8'), style: readFileSync(join(root, 'media', 'report.css'), 'utf8') };
}
