/** `run --endpoint`: the command line on the real llama-server, and its one-line failures. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExperimentReport } from '../../src/engine/experiment/report';
import { FIXTURES, REPO_ROOT, STORIES_260K, temporaryFolder } from '../support/paths';
import { freePort, llamaServerMissing, startLlamaServer, type RunningServer } from '../support/llamaServer';

/** Asynchronous, so the test's own event loop stays free while the command runs. */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts'), ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += String(chunk)));
    child.stderr.on('data', (chunk) => (stderr += String(chunk)));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const DATASET = join(FIXTURES, 'workspace', 'capitals.jsonl');

describe('run --endpoint', { skip: llamaServerMissing }, () => {
  const folder = temporaryFolder('pof-endpoint-cli-');
  let server: RunningServer;

  before(async () => {
    server = await startLlamaServer();
  });

  after(async () => {
    await server?.stop();
    folder.remove();
  });

  test('writes a complete report with the prompts of the in-process run and says how each capability is provided', async () => {
    const common = [DATASET, '--shots', '0,1', '--limit', '4', '--max-new-tokens', '8', '--cache-dir', join(folder.path, 'cache')];
    const served = await cli(['run', ...common, '--endpoint', server.endpoint, '--model', 'stories260K', '--concurrency', '2', '--json', join(folder.path, 'served.json')]);
    assert.equal(served.status, 0, served.stderr);
    assert.match(served.stderr, /^Connected to llama\.cpp llama-server at http:\/\/127\.0\.0\.1:\d+\/v1, serving .*stories260K\.gguf\.$/m);
    assert.match(served.stderr, /^ {2}concurrency: 2 requests in flight$/m);
    const inProcess = await cli(['run', ...common, '--model', STORIES_260K, '--threads', '1', '--json', join(folder.path, 'local.json')]);
    assert.equal(inProcess.status, 0, inProcess.stderr);
    const [a, b] = ['served.json', 'local.json'].map((name) => JSON.parse(readFileSync(join(folder.path, name), 'utf8')) as ExperimentReport);
    assert.equal(a!.complete, true);
    assert.deepEqual(a!.items.map((row) => row.prompt), b!.items.map((row) => row.prompt));
    assert.equal(a!.model.capabilities?.referenceScoring?.startsWith('forced'), true);
    const again = await cli(['run', ...common, '--endpoint', server.endpoint, '--model', 'stories260K', '--json', join(folder.path, 'again.json')]);
    assert.equal(again.status, 0, again.stderr);
    assert.equal((JSON.parse(readFileSync(join(folder.path, 'again.json'), 'utf8')) as ExperimentReport).timing.modelCalls, 0);
  });

  test('an endpoint nobody listens on exits 1 with one line; an unset key variable exits 2', async () => {
    const port = await freePort();
    const unreachable = await cli(['run', DATASET, '--endpoint', `http://127.0.0.1:${port}/v1`, '--model', 'stories260K']);
    assert.equal(unreachable.status, 1);
    assert.equal(unreachable.stderr, `prompt-or-finetune: GET http://127.0.0.1:${port}/v1/models: cannot reach the server (connection refused: is the server running?)\n`);
    const unset = await cli(['run', DATASET, '--endpoint', server.endpoint, '--model', 'stories260K', '--api-key-env', 'POF_TEST_UNSET_KEY']);
    assert.equal(unset.status, 2);
    assert.match(unset.stderr, /^prompt-or-finetune: --api-key-env names POF_TEST_UNSET_KEY, which is not set in the environment\n/);
  });
});
