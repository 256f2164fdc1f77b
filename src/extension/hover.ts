/**
 * Hovers in .jsonl files. On a record: its fields, lengths, whether it is held out or in the example pool,
 * and any problem on its line. On the first line, the dataset's summary with the shot estimate and verdicts.
 *
 * Dataset text is never trusted markup: field values go in code blocks, names as escaped text (appendPlain), and the
 * only command links enabled are the extension's own two.
 */
import * as vscode from 'vscode';
import { asText } from '../engine/dataset/schema';
import { CommandId } from './commandIds';
import { t } from './l10n';
import { plainMarkdown } from './markdownText';
import type { DatasetStore } from './datasetStore';
import type { ModelService } from './modelService';
import type { ReportStore } from './reportStore';
import { formatBytes } from '../engine/report/formatBytes';

const SHOWN_CHARACTERS = 400;

function appendPlain(markdown: vscode.MarkdownString, text: string): void {
  markdown.appendMarkdown(plainMarkdown(text));
}
const MAX_TOKENIZED_CHARACTERS = 20_000;
/**
 * How long the line-1 hover waits for a large file's first answer (milliseconds when the thread is free). A whole
 * scan already under way, counting tokens, can hold the thread for a second or more between the head's reads:
 * the hover then says the file is being inspected rather than stay empty.
 */
const FIRST_ANSWER_WAIT_MS = 1000;

export class DatasetHoverProvider implements vscode.HoverProvider {
  constructor(private readonly store: DatasetStore, private readonly reports: ReportStore, private readonly models: ModelService) {}

  provideHover(document: vscode.TextDocument, position: vscode.Position): vscode.ProviderResult<vscode.Hover> {
    const check = this.store.peek(document.uri);
    // Start an inspection for next time, without waiting for it: a hover must stay instant on large files.
    if (!check && !this.store.isPending(document.uri)) this.store.checkInBackground(document.uri);
    this.models.ensureCurrent();
    // On line 1 of a large file whose head is being read, the first answer is milliseconds away: wait for it
    // (never for the whole scan) rather than say "hover again".
    const firstAnswer = position.line === 0 && !check ? this.store.firstAnswer(document.uri) : undefined;
    if (firstAnswer) {
      const waited = new Promise((resolve) => setTimeout(resolve, FIRST_ANSWER_WAIT_MS));
      return Promise.race([firstAnswer, waited]).then(() => this.hover(document, position));
    }
    return this.hover(document, position);
  }

  private hover(document: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
    const line = position.line + 1;
    const check = this.store.peek(document.uri);
    const parts: vscode.MarkdownString[] = [];
    if (line === 1) parts.push(this.summary(document.uri, check));
    const record = this.record(document, line);
    if (record) parts.push(record);
    return parts.length ? new vscode.Hover(parts, document.lineAt(position.line).range) : undefined;
  }

  private summary(uri: vscode.Uri, check: ReturnType<DatasetStore['peek']>): vscode.MarkdownString {
    const markdown = new vscode.MarkdownString('', true);
    markdown.isTrusted = { enabledCommands: [CommandId.RunComparison, CommandId.OpenReport] };
    markdown.appendMarkdown('**Prompt or Fine-Tune**\n\n');
    const provisional = check ? undefined : this.store.provisional(uri);
    const shown = check ?? provisional?.check;
    if (!shown) {
      const error = this.store.errorOf(uri);
      appendPlain(markdown, error ? `Could not inspect this file: ${error}` : 'Inspecting this file… hover again in a moment.');
      return markdown;
    }
    if (provisional) {
      appendPlain(markdown, `Provisional, from the first ${formatBytes(provisional.bytesRead)} of ${formatBytes(provisional.totalBytes)}; the whole file is being read.`);
      markdown.appendMarkdown('\n\n');
    }
    const { inspection, estimate } = shown;
    if (inspection.notJsonLines) {
      appendPlain(markdown, inspection.notJsonLines);
      return markdown;
    }
    const fields = inspection.fields;
    appendPlain(markdown, `${inspection.records.toLocaleString('en-US')} records, ${inspection.invalid.toLocaleString('en-US')} invalid, ${inspection.warningCount.toLocaleString('en-US')} ${inspection.warningCount === 1 ? 'warning' : 'warnings'}; schema ${inspection.schema}; input ${fields.input ?? '—'}, reference ${fields.reference ?? '—'}${fields.label ? `, label ${fields.label}` : ''}.`);
    markdown.appendMarkdown('\n\n');
    if (estimate) {
      const unit = estimate.fit.estimated ? ` (${this.estimatedWhy(provisional !== undefined)})` : ` (${this.store.model?.id ?? 'the model'}'s tokenizer)`;
      appendPlain(markdown, `Shots that fit: ${estimate.fit.kFit} in ${estimate.fit.contextLength} tokens${unit}. Theory: ${estimate.verdict.sentence}`);
      markdown.appendMarkdown('\n\n');
    }
    const report = this.reports.load(uri);
    if (report) {
      const stale = report.model.id !== this.models.settings().model ? ` (stale: measured with ${report.model.id}, not the model selected now)` : '';
      appendPlain(markdown, `Measured${stale}: ${report.verdict.measured.sentence}`);
      markdown.appendMarkdown('\n\n');
    }
    const args = encodeURIComponent(JSON.stringify([uri.toString()]));
    markdown.appendMarkdown(`[$(play) Run Comparison](command:${CommandId.RunComparison}?${args})`);
    if (report) markdown.appendMarkdown(` · [$(graph) Open Report](command:${CommandId.OpenReport}?${args})`);
    return markdown;
  }

  /** Why a count is an estimate from characters: the tokenizer could not be read (and why), or is being read. */
  private estimatedWhy(provisional: boolean): string {
    const problem = this.models.problem;
    if (problem) return t('estimated from characters: the tokenizer of {0} could not be read: {1}', problem.model, problem.message);
    const ready = this.models.ready;
    if (ready?.tokenizer.estimated) return t('estimated from characters: the server gives no tokenizer');
    if (ready && provisional) return t('estimated from characters in this first answer; counted with the tokenizer next');
    return t('estimated from characters until the tokenizer of {0} is read', this.models.settings().model);
  }

  private record(document: vscode.TextDocument, line: number): vscode.MarkdownString | undefined {
    const text = document.lineAt(line - 1).text.trim();
    const problems = vscode.languages.getDiagnostics(document.uri).filter((diagnostic) => diagnostic.range.start.line === line - 1);
    if (!text && !problems.length) return undefined;
    const markdown = new vscode.MarkdownString();
    markdown.appendMarkdown(`**Record on line ${line}**`);
    const role = this.store.roleOfLine(document.uri, line);
    if (role) appendPlain(markdown, ` — ${role}`);
    markdown.appendMarkdown('\n\n');
    for (const problem of problems) {
      appendPlain(markdown, `⚠ ${problem.message}`);
      markdown.appendMarkdown('\n\n');
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return markdown;
    }
    if (value === null || typeof value !== 'object') return markdown;
    const loaded = this.models.ready?.tokenizer;
    // A server's tokenizer counts only inside settleTokens, and an estimate is no count: characters only then.
    const tokenizer = loaded && !loaded.settle && !loaded.estimated ? loaded : undefined;
    for (const [key, field] of Object.entries(value as Record<string, unknown>)) {
      const shown = asText(field) ?? 'null';
      // Token counts only where they stay cheap: a hover must not tokenize a 1 MB field.
      const length = tokenizer && shown.length <= MAX_TOKENIZED_CHARACTERS ? `${shown.length} characters, ${tokenizer.countTokens(shown)} tokens` : `${shown.length} characters`;
      appendPlain(markdown, `${key} (${length})`);
      const clipped = shown.length > SHOWN_CHARACTERS ? `${shown.slice(0, SHOWN_CHARACTERS)}…` : shown;
      // A run of backticks in the data would close the code fence and let the rest render as Markdown.
      markdown.appendCodeblock(clipped.replace(/`{3,}/g, (run) => run.split('').join('\u200b')), 'text');
    }
    return markdown;
  }
}
