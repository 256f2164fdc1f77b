// Workspace trust, as a user meets it: VS Code with trust switched on (the other UI tests switch it off) opens a
// folder nobody has trusted, whose .vscode/settings.json names a model, an embedding model and a cache folder. The
// extension runs in restricted mode and uses none of them: the model and the cache folder are the user's, and the
// workspace's embedding model (which selection "similar" would load) is never loaded. A setting that is not
// restricted (heldOut) is taken from the same file, so the workspace settings are read, and refused only where
// trust matters.
// Run: npm run test:e2e (after npm run build and scripts/install-code-server.sh).
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { openWorkbench, runCommand, openFile, screenshot, testModelFolder, webviewWith: webviewWithOnPage } = require('../host/vscodeWebHost');

const REPO = path.resolve(__dirname, '..', '..');
let session, page, scratch, userModel, userCache, workspaceSettings;

/** The webview (panel or side view) whose page holds `selector`. */
const webviewWith = (selector, timeout = 60000) => webviewWithOnPage(page, selector, { timeout, failureShot: 'failed-trust-webview' });

before(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'pof-trust-'));
  const workspace = path.join(scratch, 'untrusted-workspace');
  mkdirSync(path.join(workspace, '.vscode'), { recursive: true });
  cpSync(path.join(REPO, 'test', 'fixtures', 'workspace', 'capitals.jsonl'), path.join(workspace, 'capitals.jsonl'));
  // What a hostile repository could ship: paths of its choosing for the model, the embedding model and the cache.
  workspaceSettings = {
    model: path.join(scratch, 'workspace-model'),
    embeddingModel: path.join(scratch, 'workspace-embedding-model'),
    cacheFolder: path.join(scratch, 'workspace-cache'),
  };
  writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify({
    'promptOrFinetune.model': workspaceSettings.model,
    'promptOrFinetune.embeddingModel': workspaceSettings.embeddingModel,
    'promptOrFinetune.cacheFolder': workspaceSettings.cacheFolder,
    'promptOrFinetune.selection': 'similar',
    'promptOrFinetune.heldOut': 3,
  }, null, 2));
  userModel = testModelFolder(scratch);
  userCache = path.join(scratch, 'user-cache');
  session = await openWorkbench({
    folder: workspace,
    extensionPath: REPO,
    workspaceTrust: true,
    settings: {
      'security.workspace.trust.enabled': true,
      // no "Do you trust the authors?" dialog: the folder opens untrusted, in restricted mode
      'security.workspace.trust.startupPrompt': 'never',
      'promptOrFinetune.model': userModel,
      'promptOrFinetune.cacheFolder': userCache,
      'promptOrFinetune.shots': [0, 1],
      'promptOrFinetune.heldOut': 2,
      'promptOrFinetune.maxNewTokens': 4,
    },
  });
  page = session.page;
  await page.locator('.activitybar .action-item a[aria-label^="Prompt or Fine-Tune"]').waitFor({ timeout: 60000 });
});

after(async () => {
  await session?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test('an untrusted workspace cannot choose the model, the embedding model or the cache folder', async () => {
  // The window is in restricted mode: the status bar says so.
  await page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).first().waitFor({ timeout: 30000 });

  // The side panel names the user's model, not the workspace's.
  await page.locator('.activitybar .action-item a[aria-label^="Prompt or Fine-Tune"]').click();
  const view = await webviewWith('#model-id', 60000);
  // The panel names the model once its tokenizer is read (in the background after activation).
  for (const end = Date.now() + 60000; await view.locator('#model-id').innerText() === 'none selected' && Date.now() < end;) await page.waitForTimeout(250);
  assert.equal(await view.locator('#model-id').innerText(), userModel);

  // A run uses the user's model and cache folder; selection "similar" would load the workspace's embedding model
  // (a folder that does not exist, so the run would fail) and falls back to BM25 without one.
  await openFile(page, 'capitals.jsonl');
  await runCommand(page, 'Prompt or Fine-Tune: Run Comparison');
  const report = await webviewWith('#verdict-measured', 120000);
  const modelFact = await report.locator('#facts .fact[data-fact="model"]').innerText();
  assert.ok(modelFact.includes(userModel), modelFact);
  assert.ok(!modelFact.includes(workspaceSettings.model), modelFact);
  // heldOut is not restricted: the workspace's 3, not the user's 2, so the workspace settings were read.
  assert.match(await report.locator('#facts .fact[data-fact="split"]').innerText(), /held out\s+3, pool/);
  assert.equal(await report.locator('#facts .fact[data-fact="selection"]').innerText().then((text) => /similar/.test(text)), true);
  await screenshot(page, 'untrusted-workspace-report');

  assert.equal(existsSync(workspaceSettings.cacheFolder), false, 'the workspace cache folder is never created');
  assert.equal(existsSync(workspaceSettings.model), false);
  assert.equal(existsSync(workspaceSettings.embeddingModel), false);
  const outputs = readdirSync(path.join(userCache, 'outputs'));
  assert.equal(outputs.filter((file) => file.endsWith('.jsonl')).length, 1, `the user's cache folder holds the outputs: ${outputs}`);
});
