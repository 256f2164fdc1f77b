/**
 * Extension-host tests: the real extension in a real VS Code (the server from code-server), driven through
 * its commands and providers with arguments, against the fixture workspace and a real small model.
 */
import * as assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
const plain = (markdown: vscode.MarkdownString): string => markdown.value.replace(/&nbsp;/g, ' ').replace(/&lt;/g, '<').replace(/&amp;/g, '&').replace(/\\([!-/:-@[-`{-~])/g, '$1');

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** The line-1 hover's summary once `ready` accepts it (the store re-inspects in the background after a change). */
async function waitForHover(uri: vscode.Uri, ready: (text: string) => boolean, ms = 30000): Promise<string> {
  let text = '';
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((resolve) => setTimeout(resolve, 100))) {
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, new vscode.Position(0, 3));
    text = plain(hovers.flatMap((hover) => hover.contents as vscode.MarkdownString[])[0]!);
    if (ready(text)) return text;
  }
  throw new Error(`timed out waiting for the hover; last: ${text}`);
}

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
    const ours = ['inspectDataset', 'estimateShots', 'previewPrompt', 'runComparison', 'cancelRun', 'openReport', 'selectModel', 'exportReport', 'refreshDatasets', 'showDataset', 'showWalkthrough'];
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
    assert.match(text, /40 records, 0 invalid, 0 warnings; schema input-output; input question, reference answer\./);
    // Ordinary spaces: a hover paragraph wraps between words, never inside one.
    assert.ok(!markdown[0]!.value.includes('&nbsp;'), markdown[0]!.value);
    assert.match(text, /\[\$\(play\) Run Comparison\]\(command:promptOrFinetune\.runComparison\?/);
    assert.deepEqual((markdown[0]!.isTrusted as { enabledCommands: string[] }).enabledCommands, ['promptOrFinetune.runComparison', 'promptOrFinetune.openReport']);
    const record = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', document.uri, new vscode.Position(2, 3));
    const recordText = (record[0]!.contents as vscode.MarkdownString[]).map(plain).join('\n');
    // With seed 1 and 4 held out, lines 4, 6, 31 and 35 are evaluated; line 3 is in the pool.
    // The model's tokenizer is read right after activation, so fields are counted in its tokens too.
    assert.equal(recordText.replace(/, \d+ tokens\)/g, ', N tokens)'), '**Record on line 3** — in the example pool\n\nquestion (29 characters, N tokens)\n```text\nWhat is the capital of Italy?\n```\nanswer (4 characters, N tokens)\n```text\nRome\n```\n');
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

  test('Preview Prompt shows exactly what a run sends in a read-only document, updated in place for another k', async () => {
    const uri = fixture('capitals.jsonl');
    const preview = await vscode.commands.executeCommand<{ text: string; shots: number; exampleLines: number[]; line: number; uri: string }>('promptOrFinetune.previewPrompt', uri, 5, 2);
    assert.equal(preview.line, 5);
    assert.equal(preview.shots, 2);
    assert.equal(preview.exampleLines.length, 2);
    assert.ok(!preview.exampleLines.includes(5));
    assert.ok(preview.text.endsWith('Input: What is the capital of Portugal?\nOutput:'), preview.text); // no trailing space: the answer brings it
    const document = vscode.workspace.textDocuments.find((candidate) => candidate.uri.toString() === preview.uri)!;
    assert.equal(document.uri.scheme, 'prompt-or-finetune-prompt');
    assert.equal(document.getText(), preview.text);
    assert.equal(document.isDirty, false);
    assert.equal(document.isUntitled, false);
    // Another k: the same document, its text replaced.
    const zero = await vscode.commands.executeCommand<{ text: string; shots: number; uri: string }>('promptOrFinetune.previewPrompt', uri, 5, 0);
    assert.equal(zero.uri, preview.uri);
    assert.equal(zero.shots, 0);
    await waitFor(() => document.getText() === zero.text || undefined, 'the preview to update');
    assert.equal(document.isDirty, false);
    assert.ok(zero.text.length < preview.text.length);
  });

  test('one shot estimate everywhere: the hover says the k_fit of the model\'s tokenizer that the report uses', async function () {
    this.timeout(120000);
    const uri = fixture('capitals.jsonl');
    const estimate = await vscode.commands.executeCommand<{ kFit: number }>('promptOrFinetune.estimateShots', uri);
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, new vscode.Position(0, 3));
    const text = hovers.flatMap((hover) => hover.contents as vscode.MarkdownString[]).map(plain).join('\n');
    const match = /Shots that fit: (\d+) in (\d+) tokens \(([^)]*)'s tokenizer\)/.exec(text);
    assert.ok(match, text);
    assert.deepEqual([Number(match[1]), Number(match[2]), match[3]], [estimate.kFit, 512, model]);
    const outcome = await vscode.commands.executeCommand<RunOutcome>('promptOrFinetune.runComparison', uri);
    assert.equal(outcome.kind, 'done');
    assert.equal((outcome as { report: ExperimentReport }).report.estimate.fit.kFit, estimate.kFit);
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
    // The worker kept the model from the run before: this run did not load it again.
    assert.equal((outcome as { modelLoaded: boolean }).modelLoaded, false);
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

  test('Cancel during the model load keeps the previous state: no report replaced, nothing saved', async function () {
    this.timeout(120000);
    const uri = fixture('capitals.jsonl');
    const folder = mkdtempSync(path.join(tmpdir(), 'pof-cancel-'));
    const before = path.join(folder, 'before.json');
    assert.equal(await vscode.commands.executeCommand('promptOrFinetune.exportReport', uri, 'json', before), before);
    // Another thread count is another model: the worker frees the one it kept and loads anew.
    await config().update('threads', 1, vscode.ConfigurationTarget.Global);
    try {
      const running = vscode.commands.executeCommand<RunOutcome>('promptOrFinetune.runComparison', uri);
      let cancelled = false;
      for (const end = Date.now() + 20000; !cancelled && Date.now() < end; await new Promise((resolve) => setTimeout(resolve, 5))) {
        cancelled = (await vscode.commands.executeCommand<boolean>('promptOrFinetune.cancelRun')) === true;
      }
      const outcome = await running;
      assert.deepEqual(outcome, { kind: 'cancelled', report: undefined, kept: false, modelLoaded: false });
      const after = path.join(folder, 'after.json');
      await vscode.commands.executeCommand('promptOrFinetune.exportReport', uri, 'json', after);
      assert.equal(readFileSync(after, 'utf8'), readFileSync(before, 'utf8'));
      // The next run loads the model it needs, and completes.
      const next = await vscode.commands.executeCommand<RunOutcome>('promptOrFinetune.runComparison', uri);
      assert.equal(next.kind, 'done');
      assert.equal((next as { modelLoaded: boolean }).modelLoaded, true);
    } finally {
      await config().update('threads', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  test('a verdict measured with another model than the one selected is marked stale', async () => {
    const uri = fixture('capitals.jsonl');
    // A settings change makes the file be inspected again: the summary is back once that is done.
    const summary = async (): Promise<string> => {
      for (const end = Date.now() + 20000; ; await new Promise((resolve) => setTimeout(resolve, 100))) {
        const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, new vscode.Position(0, 3));
        const text = plain(hovers.flatMap((hover) => hover.contents as vscode.MarkdownString[])[0]!);
        if (!text.includes('Inspecting this file') || Date.now() > end) return text;
      }
    };
    assert.match(await summary(), /\nMeasured: /);
    const other = path.join(tmpdir(), 'another-model-folder');
    await config().update('model', other, vscode.ConfigurationTarget.Global);
    try {
      assert.match(await summary(), new RegExp(`\\nMeasured \\(stale: measured with ${escape(model)}, not the model selected now\\): `));
      // A tokenizer that cannot be read is not only logged: the hover says why its counts are in characters.
      const unreadable = await waitForHover(uri, (text) => text.includes('could not be read'));
      assert.match(unreadable, new RegExp(`\\nShots that fit: \\d+ in 2048 tokens \\(estimated from characters: the tokenizer of ${escape(other)} could not be read: The model folder ${escape(other)} does not exist, and "${escape(other)}" is not a Hugging Face Hub id \\(org/name\\)\\.\\)\\. Theory: `));
    } finally {
      await config().update('model', model, vscode.ConfigurationTarget.Global);
    }
    assert.match(await summary(), /\nMeasured: /);
  });

  test('Show Dataset opens the dataset view; a file with a model output and a gold answer compares the output by default', async () => {
    const uri = fixture('graded.jsonl');
    assert.equal(await vscode.commands.executeCommand('promptOrFinetune.showDataset', uri), true);
    const inspected = await vscode.commands.executeCommand<{ fields: { reference: string } }>('promptOrFinetune.inspectDataset', uri);
    assert.equal(inspected.fields.reference, 'response');
  });

  test('first answer first: a large file\'s line-1 hover gives a provisional summary with the bytes read, then the whole', async function () {
    this.timeout(120000);
    const file = path.join(workspace(), 'large.generated.jsonl');
    const line = (i: number): string => `${JSON.stringify({ question: `What is item ${i} of the large file, in a few words?`, answer: `Item ${i}` })}\n`;
    const lines: string[] = [];
    for (let i = 0, bytes = 0; bytes < 8 * 1024 * 1024; i++) { lines.push(line(i)); bytes += lines[i]!.length; }
    writeFileSync(file, lines.join(''));
    try {
      const uri = vscode.Uri.file(file);
      const summaryOf = async (): Promise<string> => {
        const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, new vscode.Position(0, 2));
        return plain(hovers.flatMap((hover) => hover.contents as vscode.MarkdownString[])[0]!);
      };
      await vscode.workspace.openTextDocument(uri);
      // The hover waits for the head's first answer (milliseconds on a free thread; up to a second, then it says
      // the file is being inspected), never for the whole scan.
      let first = await summaryOf();
      for (const end = Date.now() + 30000; first.includes('Inspecting this file'); first = await summaryOf()) {
        if (Date.now() > end) throw new Error('no first answer after 30 s');
      }
      let headRecords = 0;
      for (let bytes = lines[0]!.length; bytes <= 256 * 1024; bytes += lines[++headRecords]!.length);
      assert.match(first, new RegExp(`^\\*\\*Prompt or Fine-Tune\\*\\*\\n\\nProvisional, from the first 256 KB of 8\\.0 MB; the whole file is being read\\.\\n\\n${headRecords.toLocaleString('en-US')} records, 0 invalid, 0 warnings; schema input-output; input question, reference answer\\.\\n\\nShots that fit: `), first);
      let final = first;
      for (const end = Date.now() + 90000; final.includes('Provisional'); await new Promise((resolve) => setTimeout(resolve, 200))) {
        if (Date.now() > end) throw new Error('the whole scan did not end');
        final = await summaryOf();
      }
      assert.match(final, new RegExp(`^\\*\\*Prompt or Fine-Tune\\*\\*\\n\\n${lines.length.toLocaleString('en-US')} records, 0 invalid, 0 warnings; schema input-output; input question, reference answer\\.\\n\\nShots that fit: \\d+ in 512 tokens \\(${escape(model)}'s tokenizer\\)\\. `), final);
    } finally {
      rmSync(file, { force: true });
    }
  });

  test('a dataset with no usable records fails with a clear message, not a stack trace', async () => {
    const outcome = await vscode.commands.executeCommand<RunOutcome>('promptOrFinetune.runComparison', fixture('not-jsonl.jsonl'));
    assert.deepEqual(outcome, { kind: 'failed', message: 'not-jsonl.jsonl: The file is one JSON array, not JSON Lines (one object per line): convert it, e.g. `jq -c ".[]" file.json > file.jsonl`.' });
  });
});
