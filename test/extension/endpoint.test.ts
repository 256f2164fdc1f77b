/**
 * The extension on a serving engine: the real llama-server (../shared/tools/llama-server, started with an API key)
 * as `promptOrFinetune.endpoint`, the key from Set API Key in SecretStorage, and a run in the worker through it.
 */
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RunOutcome } from '../../src/extension/runController';
import { startTokenizeHidingProxy, type HidingProxy } from '../support/tokenizeHidingProxy';

const shared = path.resolve(__dirname, '..', '..', '..', '..', 'shared');
const serverBinary = path.join(shared, 'tools', 'llama-server', 'llama-server');
const stories = path.join(shared, 'models', 'stories260K');
const gguf = path.join(stories, 'stories260K.gguf');
const config = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('promptOrFinetune');
const API_KEY = 'sk-pof-extension-test';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

suite('Prompt or Fine-Tune on a serving engine', () => {
  let server: ChildProcess | undefined;
  let port = 0;
  let proxy: HidingProxy | undefined;

  suiteSetup(async function () {
    if (!existsSync(serverBinary) || !existsSync(gguf)) return this.skip();
    this.timeout(60000);
    port = await freePort();
    server = spawn(serverBinary, ['-m', gguf, '--host', '127.0.0.1', '--port', String(port), '-c', '2048', '-np', '4', '-t', '1', '--api-key', API_KEY], { stdio: 'ignore' });
    for (const end = Date.now() + 30000; ; await new Promise((resolve) => setTimeout(resolve, 100))) {
      const healthy = await fetch(`http://127.0.0.1:${port}/health`).then((response) => response.ok, () => false);
      if (healthy) break;
      if (Date.now() > end) throw new Error('llama-server did not become healthy');
    }
    await config().update('endpoint', `http://127.0.0.1:${port}/v1`, vscode.ConfigurationTarget.Global);
    await config().update('model', 'stories260K', vscode.ConfigurationTarget.Global);
    await config().update('shots', [0, 1], vscode.ConfigurationTarget.Global);
    await config().update('heldOut', 4, vscode.ConfigurationTarget.Global);
    await config().update('maxNewTokens', 8, vscode.ConfigurationTarget.Global);
    await vscode.extensions.getExtension('prompt-or-finetune.prompt-or-finetune')!.activate();
  });

  suiteTeardown(async () => {
    await config().update('endpoint', undefined, vscode.ConfigurationTarget.Global);
    await config().update('endpointTokenizer', undefined, vscode.ConfigurationTarget.Global);
    await proxy?.close();
    await vscode.commands.executeCommand('promptOrFinetune.setApiKey', '');
    if (server?.pid !== undefined) process.kill(server.pid, 'SIGTERM');
  });

  test('without the API key the server refuses the connection, and the run says why', async function () {
    this.timeout(60000);
    await vscode.commands.executeCommand('promptOrFinetune.setApiKey', '');
    const outcome = await vscode.commands.executeCommand<RunOutcome>('promptOrFinetune.runComparison', vscode.Uri.file(path.join(vscode.workspace.workspaceFolders![0]!.uri.fsPath, 'capitals.jsonl')));
    assert.equal(outcome.kind, 'failed');
    assert.match((outcome as { message: string }).message, /^GET http:\/\/127\.0\.0\.1:\d+\/props: HTTP 401 Invalid API Key$/);
  });

  test('Set API Key keeps the key in secret storage; a run in the worker goes through the server and reports its capabilities', async function () {
    this.timeout(120000);
    assert.equal(await vscode.commands.executeCommand('promptOrFinetune.setApiKey', API_KEY), true);
    const preview = await vscode.commands.executeCommand<{ promptTokens: number; text: string }>('promptOrFinetune.previewPrompt', vscode.Uri.file(path.join(vscode.workspace.workspaceFolders![0]!.uri.fsPath, 'capitals.jsonl')), 1, 1);
    assert.ok(preview.promptTokens > 0 && preview.text.length > 0);
    const outcome = await vscode.commands.executeCommand<RunOutcome>('promptOrFinetune.runComparison', vscode.Uri.file(path.join(vscode.workspace.workspaceFolders![0]!.uri.fsPath, 'capitals.jsonl')));
    assert.equal(outcome.kind, 'done', JSON.stringify(outcome).slice(0, 300));
    const report = (outcome as { report: { complete: boolean; items: unknown[]; model: { id: string; capabilities?: Record<string, string> }; unavailableMeasurements?: unknown } }).report;
    assert.equal(report.complete, true);
    assert.equal(report.items.length, 8);
    assert.equal(report.model.id, 'stories260K');
    assert.equal(report.model.capabilities?.tokenization, "the server's /tokenize");
    assert.equal(report.unavailableMeasurements, undefined);
  });

  test('behind a proxy without /tokenize: counts are estimated; endpointTokenizer makes them exact, and a folder without tokenizer.json is an error naming the setting', async function () {
    this.timeout(180000);
    assert.equal(await vscode.commands.executeCommand('promptOrFinetune.setApiKey', API_KEY), true);
    proxy = await startTokenizeHidingProxy(`http://127.0.0.1:${port}`);
    await config().update('endpoint', proxy.endpoint, vscode.ConfigurationTarget.Global);
    const dataset = vscode.Uri.file(path.join(vscode.workspace.workspaceFolders![0]!.uri.fsPath, 'capitals.jsonl'));
    const capabilitiesOf = (outcome: RunOutcome | undefined): Record<string, string> | undefined => {
      assert.equal(outcome?.kind, 'done', JSON.stringify(outcome).slice(0, 300));
      return (outcome as { report: { model: { capabilities?: Record<string, string> } } }).report.model.capabilities;
    };
    assert.equal(capabilitiesOf(await vscode.commands.executeCommand<RunOutcome>('promptOrFinetune.runComparison', dataset))?.tokenization, 'estimated as characters ÷ 4');

    const noTokenizer = vscode.workspace.workspaceFolders![0]!.uri.fsPath;
    await config().update('endpointTokenizer', noTokenizer, vscode.ConfigurationTarget.Global);
    const failed = await vscode.commands.executeCommand<RunOutcome>('promptOrFinetune.runComparison', dataset);
    assert.equal(failed.kind, 'failed');
    assert.equal((failed as { message: string }).message, `promptOrFinetune.endpointTokenizer: ${noTokenizer} has no tokenizer.json: name the folder (or Hub id) of the served model's tokenizer.`);

    await config().update('endpointTokenizer', stories, vscode.ConfigurationTarget.Global);
    const preview = await vscode.commands.executeCommand<{ promptTokens: number; text: string }>('promptOrFinetune.previewPrompt', dataset, 1, 1);
    // The host's connection was replaced too: the preview counts with the named tokenizer, as the server's own /tokenize does.
    const served = await fetch(`http://127.0.0.1:${port}/tokenize`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}` }, body: JSON.stringify({ content: preview.text, add_special: true }) });
    assert.equal(preview.promptTokens, ((await served.json()) as { tokens: number[] }).tokens.length);
    assert.equal(capabilitiesOf(await vscode.commands.executeCommand<RunOutcome>('promptOrFinetune.runComparison', dataset))?.tokenization, `local tokenizer.json from ${stories}`);
  });
});
