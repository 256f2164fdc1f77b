// The published form: the linux-x64 VSIX that scripts/package.mjs builds is installed into the VS Code server with
// its own CLI (--install-extension), and a comparison runs in the workbench from the installed extension — its
// bundled onnxruntime-node and sharp, not the repository's node_modules.
// Run: npm run test:e2e (packages the VSIX first, about a minute).
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, launchBrowser, workbenchUrl, runCommand, openFile, screenshot, SERVER_MAIN } = require('../host/vscodeWebHost');

const REPO = path.resolve(__dirname, '..', '..');
const SHARED_MODEL = path.resolve(REPO, '..', 'shared', 'models', 'stories260K');
const VSIX_FOLDER = path.join(REPO, '.cache', 'vsix-test');
let scratch, server, browser, page;

before(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'pof-vsix-'));
  execFileSync(process.execPath, [path.join(REPO, 'scripts', 'package.mjs'), '--targets', 'linux-x64', '--out', VSIX_FOLDER], { cwd: REPO, stdio: 'ignore' });
  const vsix = readdirSync(VSIX_FOLDER).find((name) => name.endsWith('-linux-x64.vsix'));
  assert.ok(vsix, `no linux-x64 VSIX in ${VSIX_FOLDER}`);
  const extensions = path.join(scratch, 'extensions');
  const output = execFileSync(process.execPath, [SERVER_MAIN, '--install-extension', path.join(VSIX_FOLDER, vsix), '--extensions-dir', extensions,
    '--user-data-dir', path.join(scratch, 'cli-user'), '--server-data-dir', path.join(scratch, 'cli-server')], { encoding: 'utf8' });
  assert.match(output, /was successfully installed/);
  assert.deepEqual(readdirSync(extensions).filter((name) => name.startsWith('prompt-or-finetune.')), ['prompt-or-finetune.prompt-or-finetune-0.1.0']);
  const workspace = path.join(scratch, 'workspace');
  cpSync(path.join(REPO, 'test', 'fixtures', 'workspace'), workspace, { recursive: true });
  const model = existsSync(SHARED_MODEL) ? SHARED_MODEL : path.join(scratch, 'tiny-llama');
  if (!existsSync(model)) execFileSync(process.execPath, ['--import', 'tsx', '-e', `require('./test/support/tinyLlama').buildTinyLlama(${JSON.stringify(model)})`], { cwd: REPO });
  server = await startServer({
    extensionsDir: extensions,
    settings: {
      'promptOrFinetune.model': model, 'promptOrFinetune.shots': [0, 1], 'promptOrFinetune.heldOut': 3,
      'promptOrFinetune.maxNewTokens': 6, 'promptOrFinetune.cacheFolder': path.join(scratch, 'cache'),
    },
  });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(workbenchUrl(server, { folder: workspace }));
  await page.locator('.monaco-workbench').waitFor({ timeout: 60000 });
  await page.locator('.activitybar .action-item a[aria-label^="Prompt or Fine-Tune"]').waitFor({ timeout: 60000 });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test('the installed linux-x64 VSIX runs a comparison in the workbench', async () => {
  await openFile(page, 'capitals.jsonl');
  await runCommand(page, 'Prompt or Fine-Tune: Run Comparison');
  // The report panel: found across the ready webviews (a webview is two nested iframes).
  const deadline = Date.now() + 180000;
  let verdict;
  while (!verdict) {
    for (const frame of page.frames()) {
      const text = await frame.locator('#verdict-measured').innerText({ timeout: 200 }).catch(() => undefined);
      if (text) verdict = text;
    }
    if (!verdict && Date.now() > deadline) {
      await screenshot(page, 'failed-vsix');
      throw new Error('no report from the installed extension');
    }
    if (!verdict) await page.waitForTimeout(500);
  }
  assert.match(verdict, /^(Fine-tune|Not decided|Prompting suffices|Still improving)/);
  await screenshot(page, 'vsix-report');
});
