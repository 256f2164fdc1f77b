/**
 * The command line: a thin face over the engine, so the same check runs in CI.
 *
 *   prompt-or-finetune inspect <file.jsonl> [--json] [--context-length N] [--epsilon E] [--delta D] …
 *   prompt-or-finetune run <file.jsonl> --model <id|folder> [--shots 0,1,2,4] [--limit N] …
 *   prompt-or-finetune run <file.jsonl> --endpoint http://host:port/v1 --model NAME [--api-key-env VAR] …
 *   prompt-or-finetune demo
 *
 * Exit codes: 0 done; 1 the dataset or model cannot be used (one line says why); 2 the command line is wrong;
 * 3 the measured verdict is one that --fail-on names; 130 cancelled (Ctrl+C), with what was done cached.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { inspectCommand, INSPECT_OPTIONS } from './inspectCommand';
import { runCommand, demoCommand, RUN_OPTIONS } from './runCommand';
import { UsageError, UserFacingError } from './errors';
import { terminalText } from './terminalText';

const USAGE = `Usage:
  prompt-or-finetune inspect <file.jsonl> [--json] [--context-length N] [--epsilon E] [--delta D]
                             [--model <id|folder>] [--fields input=…,reference=…,label=…] [--schema NAME]
                             [--template template.json]
  prompt-or-finetune run <file.jsonl> --model <id|folder> [--shots 0,1,2,4] [--limit N]
                         [--select first|random|stratified|similar] [--json out.json] [--html report.html]
                         [--markdown report.md] [--no-cache] [--seed N] [--max-new-tokens N] [--threads N]
                         [--dtype fp32|fp16|q8|q4] [--device cpu|cuda] [--cache-dir DIR] [--offline]
                         [--embedding-model <id|folder>] [--fail-on fine-tune,undecided,…]
                         [--fields …] [--schema NAME] [--template template.json] [--epsilon E] [--delta D]
  prompt-or-finetune run <file.jsonl> --endpoint http://host:port/v1 --model NAME [--api-key-env VAR]
                         [--concurrency N] [--tokenizer <id|folder>] [--chat-template] [the run options above]
  prompt-or-finetune demo [--model <id|folder>]

Run 'prompt-or-finetune <command> --help' for what each option does (the README lists them all).`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE + '\n');
    return command ? 0 : 2;
  }
  const options: Record<string, ParseArgsConfig['options']> = { inspect: INSPECT_OPTIONS, run: RUN_OPTIONS, demo: RUN_OPTIONS };
  const config = options[command];
  if (!config) throw new UsageError(`unknown command "${command}"`);
  const parsed = parseArgs({ args: rest, options: { ...config, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  if (parsed.values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  switch (command) {
    case 'inspect': return inspectCommand(parsed.positionals, parsed.values);
    case 'run': return runCommand(parsed.positionals, parsed.values);
    default: return demoCommand(parsed.values);
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error: unknown) => {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`prompt-or-finetune: ${terminalText((error as Error).message)}\n\n${USAGE}\n`);
      process.exitCode = 2;
    } else if (error instanceof UserFacingError || ['ModelLoadError', 'ModelRunError'].includes((error as Error).name)) {
      process.stderr.write(`prompt-or-finetune: ${terminalText((error as Error).message)}\n`);
      process.exitCode = 1;
    } else if ((error as Error).name === 'AbortError') {
      process.stderr.write('prompt-or-finetune: cancelled; what was done is kept in the cache and a new run resumes from it.\n');
      process.exitCode = 130;
    } else {
      process.stderr.write(`prompt-or-finetune: unexpected error: ${terminalText((error as Error).stack ?? String(error))}\n`);
      process.exitCode = 1;
    }
  },
);
