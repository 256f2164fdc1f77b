/**
 * The extension's endpoint settings as the extension host and the run worker connect with them
 * (src/extension/endpointConnection.ts): `endpointTokenizer` for a server behind a proxy without /tokenize, and
 * `endpointChatTemplate`, on the real llama-server (../shared/tools/llama-server) with the stories260K weights.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ModelLoadError } from '../../src/engine/model/languageModel';
import { DEFAULT_MODEL, type ModelSettings } from '../../src/engine/settings';
import { connectWithSettings } from '../../src/extension/endpointConnection';
import { freePort, llamaServerMissing, startLlamaServer, type RunningServer } from '../support/llamaServer';
import { FIXTURES, STORIES_260K, temporaryFolder } from '../support/paths';
import { startTokenizeHidingProxy, type HidingProxy } from '../support/tokenizeHidingProxy';

describe('endpoint settings on llama-server', { skip: llamaServerMissing }, () => {
  const cache = temporaryFolder('pof-endpoint-settings-');
  let server: RunningServer;
  let proxy: HidingProxy;
  const settings = (overrides: Partial<ModelSettings>): ModelSettings & { endpoint: string } => ({
    model: 'stories260K', dtype: 'fp32', device: 'cpu', allowDownload: false, cacheDir: cache.path, endpoint: proxy.endpoint, ...overrides,
  });

  before(async () => {
    server = await startLlamaServer();
    proxy = await startTokenizeHidingProxy(`http://127.0.0.1:${server.port}`);
  });

  after(async () => {
    await proxy?.close();
    await server?.stop();
    cache.remove();
  });

  test('behind a proxy without /tokenize, no tokenizer setting: token counts are estimated and the report will say so', async () => {
    const model = await connectWithSettings(settings({}), undefined);
    assert.ok(proxy.paths.includes('/tokenize'), proxy.paths.join(' '));
    assert.equal(model.capabilities.tokenization, 'estimated as characters ÷ 4');
    // Forced scoring needs a plain token's id from the server's /tokenize too, so the proxy also hides that.
    assert.deepEqual(model.unavailableMeasurements.map((entry) => entry.measurement), ['reference-log-probability', 'token-counts']);
    await model.dispose();
  });

  test("the tokenizer setting's folder gives exact counts through the proxy, the server's ids", async () => {
    const model = await connectWithSettings(settings({ endpointTokenizer: STORIES_260K }), undefined);
    assert.equal(model.capabilities.tokenization, `local tokenizer.json from ${STORIES_260K}`);
    assert.deepEqual(model.unavailableMeasurements.map((entry) => entry.measurement), ['reference-log-probability']);
    // The same ids the server's own /tokenize gives (asked directly, not through the proxy).
    const direct = await fetch(`http://127.0.0.1:${server.port}/tokenize`, { method: 'POST', body: JSON.stringify({ content: 'Once upon a time', add_special: true }) });
    assert.deepEqual(model.tokenizer.encode('Once upon a time'), ((await direct.json()) as { tokens: number[] }).tokens);
    assert.deepEqual(model.tokenizer.encode('Once upon a time'), [1, 403, 407, 261, 378]);
    const generation = await model.generate({ text: 'Once upon a time', addSpecialTokens: true }, { maxNewTokens: 4 });
    assert.equal(generation.promptTokenCount, 5);
    await model.dispose();
  });

  test('a tokenizer folder without tokenizer.json: one line that names the setting', async () => {
    const folder = join(FIXTURES, 'workspace');
    await assert.rejects(connectWithSettings(settings({ endpointTokenizer: folder }), undefined), (error: Error) => {
      assert.ok(error instanceof ModelLoadError);
      assert.equal(error.message, `promptOrFinetune.endpointTokenizer: ${folder} has no tokenizer.json: name the folder (or Hub id) of the served model's tokenizer.`);
      return true;
    });
  });

  test('a Hub id that cannot be read (downloads off, not cached): one line that names the setting and the id', async () => {
    await assert.rejects(connectWithSettings(settings({ endpointTokenizer: DEFAULT_MODEL }), undefined), (error: Error) => {
      assert.ok(error instanceof ModelLoadError);
      assert.match(error.message, new RegExp(`^promptOrFinetune\\.endpointTokenizer: Could not load the tokenizer ${DEFAULT_MODEL.replace(/[.]/g, '\\.')}: [^\\n]+$`));
      return true;
    });
  });

  test("a server's faults stay the server's: an unreachable endpoint does not blame the tokenizer setting", async () => {
    const closed = `http://127.0.0.1:${await freePort()}/v1`;
    await assert.rejects(connectWithSettings(settings({ endpoint: closed, endpointTokenizer: STORIES_260K }), undefined), (error: Error) => {
      assert.equal(error.name, 'EndpointError');
      assert.doesNotMatch(error.message, /endpointTokenizer/);
      return true;
    });
  });

  test("the chat-template setting uses the server's template and its chat route", async () => {
    const plain = await connectWithSettings(settings({ endpoint: server.endpoint }), undefined);
    const chat = await connectWithSettings(settings({ endpoint: server.endpoint, endpointChatTemplate: true }), undefined);
    assert.match(plain.capabilities.chatTemplate!, /^not used/);
    assert.match(chat.capabilities.chatTemplate!, /^the server's: chat data rendered by it/);
    assert.notEqual(chat.fingerprint, plain.fingerprint);
    assert.equal(chat.tokenizer.hasChatTemplate, true);
    await plain.dispose();
    await chat.dispose();
  });
});
