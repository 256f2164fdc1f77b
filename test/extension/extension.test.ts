/**
 * Extension-host tests: the real extension in a real VS Code (the server from code-server), driven through
 * its commands and providers with arguments, against the fixture workspace and a real small model.
 */
import * as assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ExperimentReport } from '../../src/engine/experiment/report';
import type { RunOutcome } from '../../src/extension/runController';
import { buildTinyLlama } from '../support/tinyLlama';

const workspace = (): string => vscode.workspace.workspaceFolders![0]!.uri.fsPath;
const fixture = (name: string): vscode.Uri => vscode.Uri.file(path.join(workspace(), name));
const config = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('promptOrFinetune');
const sharedModel = path.resolve(__dirname, '..', '..', '..', '..', 'shared', 'models', 'stories260K');

/** A MarkdownString's value as a reader sees it: appendText's escapes and non-breaking spaces undone. */
const plain = (markdown: vscode.MarkdownString): string => markdown.value.replace(/&nbsp;/g, ' ').replace(/&lt;/g, '<').replace(/&amp;/g, '&').replace(/\\([\\`*_{}[\]()#+\-.!|<>])/g, '$1');

async function waitFor<T>(probe: () => T | undefined, what: string, ms = 20000): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((resolve) => setTimeout(resolve, 100))) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
  }
  throw new Error(`timed out waiting for ${what}`);
}

suite('Prompt or Fine-Tune in VS Code', () => {
  let model: string;

  suiteSetup(async function () {
    this.timeout(120000);
    // stories260K where ../shared is beside the repository, else a model the test builds itself.
    model = existsSync(sharedModel) ? sharedModel : path.join(mkdtempSync(path.join(tmpdir(), 'pof-model-')), 'tiny');
    if (!existsSync(model)) await buildTinyLlama(model);
    await config().update('model', model, vscode.ConfigurationTarget.Global);
    await config().update('shots', [0, 1, 2], vscode.ConfigurationTarget.Global);
    await config().update('heldOut', 4, vscode.ConfigurationTarget.Global);
    await config().update('maxNewTokens', 8, vscode.ConfigurationTarget.Global);
    await vscode.extensions.getExtension('prompt-or-finetune.prompt-or-finetune')!.activate();
  });

  test('every contributed command is registered', async () => {
    const commands = await vscode.commands.getCommands(true);
    const ours = ['inspectDataset', 'estimateShots', 'previewPrompt', 'runComparison', 'cancelRun', 'openReport', 'selectModel', 'exportReport', 'refreshDatasets'];
    for (const name of ours) assert.ok(commands.includes(`promptOrFinetune.${name}`), name);
  });

  test('Inspect Dataset reports every malformed line in the Problems panel', async () => {
    const uri = fixture('broken.jsonl');
    const result = await vscode.commands.executeCommand<{ records: number; invalid: number; schema: string }>('promptOrFinetune.inspectDataset', uri);
    assert.deepEqual({ records: result.records, invalid: result.invalid, schema: result.schema }, { records: 5, invalid: 2, schema: 'prompt-completion' });
    const diagnostics = await waitFor(() => { const found = vscode.languages.getDiagnostics(uri); return found.length ? found : undefined; }, 'diagnostics');
    assert.deepEqual(diagnostics.map((d) => [d.range.start.line + 1, d.range.start.character + 1, d.severity, d.message]), [
      [2, 28, vscode.DiagnosticSeverity.Error, "not valid JSON: Expected ',' or '}' after property value"],
      [4, 1, vscode.DiagnosticSeverity.Error, "stray '}' with no record open"],
      [6, 1, vscode.DiagnosticSeverity.Warning, 'record cannot be used as a prompt-completion example: no "completion" field'],
      [3, 1, vscode.DiagnosticSeverity.Warning, 'raw control character (e.g. a tab) inside a string, which JSON forbids; read as an escape'],
    ]);
  });

  test('quick fixes escape a raw tab and delete a stray line', async () => {
    const document = await vscode.workspace.openTextDocument(fixture('broken.jsonl'));
    await vscode.window.showTextDocument(document);
    const tabFixes = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', document.uri, new vscode.Range(2, 0, 2, 5), vscode.CodeActionKind.QuickFix.value);
    const escape = tabFixes.find((action) => action.title === 'Escape the control characters in this record');
    assert.ok(escape?.edit);
    const strayFixes = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', document.uri, new vscode.Range(3, 0, 3, 1), vscode.CodeActionKind.QuickFix.value);
    assert.ok(strayFixes.some((action) => action.title === 'Delete line 4'));
    await vscode.workspace.applyEdit(escape.edit);
    assert.equal(document.lineAt(2).text, '{"prompt":"Translate: bird\\u0009now","completion":" oiseau"}');
    await vscode.commands.executeCommand('workbench.action.files.revert');
  });

  test('the first-line hover summarises the dataset with command links; a record hover shows its fields', async () => {
    const uri = fixture('capitals.jsonl');
    await vscode.commands.executeCommand('promptOrFinetune.inspectDataset', uri);
    const document = await vscode.workspace.openTextDocument(uri);
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', document.uri, new vscode.Position(0, 3));
    const markdown = hovers.flatMap((hover) => hover.contents as vscode.MarkdownString[]);
    const text = markdown.map(plain).join('\n');
    assert.match(text, /40 records, 0 invalid; schema input-output; input question, reference answer\./);
    assert.match(text, /\[\$\(play\) Run Comparison\]\(command:promptOrFinetune\.runComparison\?/);
    assert.deepEqual((markdown[0]!.isTrusted as { enabledCommands: string[] }).enabledCommands, ['promptOrFinetune.runComparison', 'promptOrFinetune.openReport']);
    const record = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', document.uri, new vscode.Position(2, 3));
    const recordText = (record[0]!.contents as vscode.MarkdownString[]).map(plain).join('\n');
    // With seed 1 and 4 held out, lines 4, 6, 31 and 35 are evaluated; line 3 is in the pool.
    assert.equal(recordText, '**Record on line 3** — in the example pool\n\nquestion (29 characters)\n```text\nWhat is the capital of Italy?\n```\nanswer (4 characters)\n```text\nRome\n```\n');
  });

  test('data in a hover is never markup: scripts, images and command links stay in code blocks', async () => {
    const uri = fixture('xss.jsonl');
    await vscode.commands.executeCommand('promptOrFinetune.inspectDataset', uri);
    for (const line of [0, 1, 3, 4]) {
      const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, new vscode.Position(line, 2));
      const record = hovers.flatMap((hover) => hover.contents as vscode.MarkdownString[]).find((part) => part.value.includes('Record on line'))!;
      assert.ok(!record.isTrusted, 'a record hover is not trusted');
      assert.ok(!record.supportHtml, 'a record hover renders no HTML');
      // Outside code blocks, no data at all: every payload sits between ``` fences.
      const outside = record.value.split(/```text\n[\s\S]*?\n```/).join('');
      assert.doesNotMatch(outside, /<script|<img|command:/);
    }
  });

  test('Select Model sets the model setting; Estimate Shots uses its tokenizer', async () => {
    assert.equal(await vscode.commands.executeCommand('promptOrFinetune.selectModel', model), model);
    assert.equal(config().get('model'), model);
    const estimate = await vscode.commands.executeCommand<{ kFit: number; verdict: string; needed: number }>('promptOrFinetune.estimateShots', fixture('capitals.jsonl'));
    assert.ok(estimate.kFit > 2, `k_fit ${estimate.kFit}`);
    assert.equal(estimate.verdict, 'no-guarantee');
  });

  test('Preview Prompt shows exactly what a run sends, never the record itself among its shots', async () => {
    const preview = await vscode.commands.executeCommand<{ text: string; shots: number; exampleLines: number[]; line: number }>('promptOrFinetune.previewPrompt', fixture('capitals.jsonl'), 5, 2);
    assert.equal(preview.line, 5);
    assert.equal(preview.shots, 2);
    assert.equal(preview.exampleLines.length, 2);
    assert.ok(!preview.exampleLines.includes(5));
    assert.ok(preview.text.endsWith('Input: What is the capital of Portugal?\nOutput:'), preview.text); // no trailing space: the answer brings it
    assert.equal(vscode.window.activeTextEditor?.document.getText(), preview.text);
  });

  test('Run Comparison runs the model in a worker and opens the report; exports write all three formats', async function () {
    this.timeout(120000);
    const uri = fixture('capitals.jsonl');
    const outcome = await vscode.commands.executeCommand<RunOutcome>('promptOrFinetune.runComparison', uri);
    assert.equal(outcome.kind, 'done', JSON.stringify(outcome).slice(0, 300));
    const report = (outcome as { report: ExperimentReport }).report;
    assert.deepEqual(report.shots, [0, 1, 2]);
    assert.deepEqual(report.curve.map((point) => [point.k, point.n]), [[0, 4], [1, 4], [2, 4]]);
    assert.equal(report.split.heldOut, 4);
    assert.equal(await vscode.commands.executeCommand('promptOrFinetune.openReport', uri), true);
    const folder = mkdtempSync(path.join(tmpdir(), 'pof-export-'));
    for (const format of ['json', 'markdown', 'html'] as const) {
      const target = path.join(folder, `report.${format}`);
      assert.equal(await vscode.commands.executeCommand('promptOrFinetune.exportReport', uri, format, target), target);
    }
    assert.deepEqual((JSON.parse(readFileSync(path.join(folder, 'report.json'), 'utf8')) as ExperimentReport).curve, report.curve);
    assert.match(readFileSync(path.join(folder, 'report.markdown'), 'utf8'), /^# Prompt or Fine-Tune: capitals\\\.jsonl\n\n\*\*Measured:\*\* /);
    const html = readFileSync(path.join(folder, 'report.html'), 'utf8');
    assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'sha256-[^']+'; script-src 'nonce-[^']+';">/);
  });

  test('Cancel Run stops a run in the worker and keeps the complete report from before', async function () {
    this.timeout(120000);
    const uri = fixture('capitals.jsonl');
    // A complete report first (from the cache when the test before ran), which the cancelled run must not replace.
    const complete = await vscode.commands.executeCommand<RunOutcome>('promptOrFinetune.runComparison', uri);
    assert.equal(complete.kind, 'done');
    await config().update('shots', [0, 1, 2, 4, 8], vscode.ConfigurationTarget.Global);
    await config().update('heldOut', 20, vscode.ConfigurationTarget.Global);
    try {
      const running = vscode.commands.executeCommand<RunOutcome>('promptOrFinetune.runComparison', uri);
      let cancelled = false;
      for (const end = Date.now() + 20000; !cancelled && Date.now() < end; await new Promise((resolve) => setTimeout(resolve, 20))) {
        cancelled = (await vscode.commands.executeCommand<boolean>('promptOrFinetune.cancelRun')) === true;
      }
      const outcome = await running;
      assert.equal(outcome.kind, 'cancelled', JSON.stringify(outcome).slice(0, 200));
      assert.equal((outcome as { kept: boolean }).kept, false, 'a partial report must not replace the complete one');
    } finally {
      await config().update('shots', [0, 1, 2], vscode.ConfigurationTarget.Global);
      await config().update('heldOut', 4, vscode.ConfigurationTarget.Global);
    }
  });

  test('a dataset with no usable records fails with a clear message, not a stack trace', async () => {
    const outcome = await vscode.commands.executeCommand<RunOutcome>('promptOrFinetune.runComparison', fixture('not-jsonl.jsonl'));
    assert.deepEqual(outcome, { kind: 'failed', message: 'not-jsonl.jsonl: The file is one JSON array, not JSON Lines (one object per line): convert it, e.g. `jq -c ".[]" file.json > file.jsonl`.' });
  });
});
