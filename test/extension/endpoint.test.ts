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

const shared = path.resolve(__dirname, '..', '..', '..', '..', 'shared');
const serverBinary = path.join(shared, 'tools', 'llama-server', 'llama-server');
const gguf = path.join(shared, 'models', 'stories260K', 'stories260K.gguf');
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

  suiteSetup(async function () {
    if (!existsSync(serverBinary) || !existsSync(gguf)) return this.skip();
    this.timeout(60000);
    const port = await freePort();
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
});
