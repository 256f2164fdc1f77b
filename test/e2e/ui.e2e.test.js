// UI tests as a user meets the extension: the real VS Code workbench (the server from code-server) in headless
// Chromium, the extension in its Node extension host, and a real model (stories260K where ../shared is beside the
// repository, else a model built by the tests). Screenshots go to .vscode-test/screenshots/.
// Run: npm run test:e2e (after npm run build and scripts/install-code-server.sh).
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { openWorkbench, runCommand, openFile, screenshot, testModelFolder, webviewWith: webviewWithOnPage } = require('../host/vscodeWebHost');

const REPO = path.resolve(__dirname, '..', '..');
let session, page, workspace, scratch;
const dialogs = [];

/** The webview (panel or side view) whose page holds `selector`. */
const webviewWith = (selector, timeout = 60000) => webviewWithOnPage(page, selector, { timeout, failureShot: 'failed-webview' });

/** Hovers over the first token of line `line` (1-based) of the active editor and returns the hover's text. */
async function hoverLine(line, expected) {
  await page.keyboard.press('Escape');
  await runCommand(page, 'Go to Line/Column...');
  await page.keyboard.type(String(line));
  await page.keyboard.press('Enter');
  const token = page.locator('.monaco-editor .view-lines .view-line').filter({ has: page.locator('span') }).nth(0);
  await token.waitFor();
  // Keyboard hover (Ctrl+K Ctrl+I) shows the hover at the cursor: steadier than a mouse over a moving layout.
  await page.keyboard.press('Control+K');
  await page.keyboard.press('Control+I');
  const hover = page.locator('.monaco-hover:not(.hidden)').filter({ hasText: expected }).first();
  await hover.waitFor({ timeout: 20000 });
  return hover;
}

/** A hover's text as read, its non-breaking spaces (VS Code escapes plain text with them) made plain. */
async function textOf(locator) {
  return (await locator.innerText()).replace(/\u00a0/g, ' ');
}

/** The extension's log (its LogOutputChannel's file, under the server's data folder), as written so far. */
function extensionLog() {
  const found = [];
  const walk = (folder) => {
    for (const name of readdirSync(folder)) {
      const file = path.join(folder, name);
      if (statSync(file).isDirectory()) walk(file);
      else if (name.endsWith('Prompt or Fine-Tune.log')) found.push(file);
    }
  };
  walk(session.server.tmp);
  return found.map((file) => readFileSync(file, 'utf8')).join('\n');
}

/** Copies the server's logs (every extension host's, the extension's own channel) to .vscode-test/logs/<name>-<time>/. */
function keepLogs(name) {
  const target = path.join(REPO, '.vscode-test', 'logs', `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  cpSync(path.join(session.server.tmp, 'user-data', 'logs'), target, { recursive: true });
  return target;
}

/**
 * Shows the extension's side bar with its view, by the view's own focus command: a click on the icon toggles
 * the bar, and after a reload the icon's state and the bar's can disagree (the bar hidden, the icon checked).
 */
async function showSidePanel() {
  await runCommand(page, 'Prompt or Fine-Tune: Focus on Datasets View');
}

/** Changes a workspace setting the way a user's edit of .vscode/settings.json does (the server watches that file). */
function setWorkspaceSetting(name, value) {
  const file = path.join(workspace, '.vscode', 'settings.json');
  mkdirSync(path.dirname(file), { recursive: true });
  const settings = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  if (value === undefined) delete settings[name]; else settings[name] = value;
  writeFileSync(file, JSON.stringify(settings, null, 2));
}

/** Runs a command of the palette that asks for a choice, and picks `label`. */
async function pickAfterCommand(title, label) {
  await runCommand(page, title);
  const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: new RegExp(`^\\s*${label}\\s*$`) }) }).first();
  await row.waitFor({ state: 'visible', timeout: 20000 });
  await row.click();
}

before(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'pof-e2e-'));
  workspace = path.join(scratch, 'workspace');
  cpSync(path.join(REPO, 'test', 'fixtures', 'workspace'), workspace, { recursive: true });
  session = await openWorkbench({
    folder: workspace,
    extensionPath: REPO,
    settings: {
      'promptOrFinetune.model': testModelFolder(scratch),
      'promptOrFinetune.shots': [0, 1, 2],
      'promptOrFinetune.heldOut': 4,
      'promptOrFinetune.maxNewTokens': 8,
      'promptOrFinetune.cacheFolder': path.join(scratch, 'cache'),
    },
  });
  page = session.page;
  // Nothing from a dataset may ever open a dialog (alert(1) in the fixtures).
  page.on('dialog', (dialog) => { dialogs.push(dialog.message()); void dialog.dismiss(); });
  await page.locator('.activitybar .action-item a[aria-label^="Prompt or Fine-Tune"]').waitFor({ timeout: 60000 });
});

after(async () => {
  await session?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test('Inspect Dataset from the palette lists each malformed line in the Problems panel', async () => {
  await openFile(page, 'broken.jsonl');
  await runCommand(page, 'Prompt or Fine-Tune: Inspect Dataset');
  await runCommand(page, 'View: Focus Problems (Errors, Warnings, Infos)');
  const rows = page.locator('.markers-panel .monaco-list-row');
  await rows.filter({ hasText: "stray '}' with no record open" }).first().waitFor({ timeout: 20000 });
  const text = (await rows.allInnerTexts()).join('\n');
  assert.match(text, /not valid JSON: Expected ',' or '}' after property value[\s\S]*\[Ln 2, Col 28\]/);
  assert.match(text, /stray '}' with no record open[\s\S]*\[Ln 4, Col 1\]/);
  assert.match(text, /no "completion" field[\s\S]*\[Ln 6, Col 1\]/);
  await screenshot(page, 'problems');
});

test('hovers: the dataset summary on the first line, the fields on a record line', async () => {
  await openFile(page, 'capitals.jsonl');
  const summary = await hoverLine(1, 'Prompt or Fine-Tune');
  assert.match(await textOf(summary), /40 records, 0 invalid, 0 warnings; schema input-output; input question, reference answer\./);
  // The paragraph wraps between words: its spaces are ordinary ones, not the non-breaking ones appendText makes.
  const paragraph = summary.locator('p', { hasText: 'Shots that fit' }).first();
  const raw = await paragraph.innerText();
  assert.ok(raw.includes('Shots that fit: ') && !raw.includes('\u00a0'), JSON.stringify(raw));
  assert.match(await textOf(summary), /Run Comparison/);
  await page.waitForTimeout(500); // the hover fades in
  await screenshot(page, 'hover');
  const record = await hoverLine(3, 'Record on line 3');
  assert.match(await textOf(record), /What is the capital of Italy\?/);
});

test('dataset text in a hover is shown as text: no element or link is made from it', async () => {
  await openFile(page, 'xss.jsonl');
  await runCommand(page, 'Prompt or Fine-Tune: Inspect Dataset');
  const hover = await hoverLine(1, 'Record on line 1');
  const text = await textOf(hover);
  assert.ok(text.includes('<script>alert(1)</script>'), text);
  assert.ok(text.includes('<img src=x onerror=alert(1)>'), text);
  assert.equal(await hover.locator('img, script').count(), 0);
  // A key is data too: the record on line 5 has one made of an <img> tag.
  const keyHover = await hoverLine(5, 'Record on line 5');
  assert.match(await textOf(keyHover), /<img src=x onerror=alert\(1\)> \(11 characters, \d+ tokens\)/);
  assert.equal(await keyHover.locator('img, script').count(), 0);
  const links = await page.locator('.monaco-hover a').evaluateAll((anchors) => anchors.map((a) => a.getAttribute('data-href') || a.getAttribute('href') || ''));
  assert.deepEqual(links.filter((href) => href.includes('workbench.action.quit')), []);
  await page.keyboard.press('Escape');
});

test('Run Comparison from the palette opens the report panel with the verdict, the curve and the bounds', async () => {
  await openFile(page, 'capitals.jsonl');
  await runCommand(page, 'Prompt or Fine-Tune: Run Comparison');
  const report = await webviewWith('#verdict-measured', 120000);
  const verdict = await report.locator('#verdict-measured').innerText();
  assert.match(verdict, /^(Fine-tune|Not decided|Prompting suffices|Still improving)/);
  assert.equal(await report.locator('#curve-table tr[data-k]').count(), 3);
  assert.equal(await report.locator('#bounds-table tr[data-bound]').count(), 4);
  assert.equal(await report.locator('canvas#agreement-chart').count(), 1);
  assert.equal(await report.locator('#items-table tr.item-row').count(), 12);
  await screenshot(page, 'report-workbench');
  await page.locator('iframe.webview.ready').last().screenshot({ path: path.join(REPO, '.vscode-test', 'screenshots', 'report-panel.png') });
});

test('the report shows dataset payloads as text, and nothing runs', async () => {
  await openFile(page, 'xss.jsonl');
  await runCommand(page, 'Prompt or Fine-Tune: Run Comparison');
  const report = await webviewWith('#facts .fact[data-fact="file"]:has-text("xss.jsonl")', 120000);
  await report.locator('#items-table tr.item-row').first().waitFor();
  const table = await report.locator('#items-table').innerText();
  assert.ok(table.includes('<img src=x onerror=alert(1)>') || table.includes('<script>alert(1)</script>'), table.slice(0, 500));
  assert.equal(await report.locator('img').count(), 0);
  assert.equal(await report.locator('a').count(), 0);
  // The only scripts are the panel's own bundle and the one VS Code puts into every webview for its API.
  const scripts = await report.locator('script').evaluateAll((elements) => elements.map((s) => s.getAttribute('src') ?? `inline:${s.textContent.includes('acquireVsCodeApi')}`));
  assert.deepEqual(scripts.map((src) => (src.endsWith('report.js') ? 'bundle' : src)).sort(), ['bundle', 'inline:true']);
  assert.deepEqual(dialogs, []);
});

test('report filters do not carry over to another dataset, and a filtered list says so', async () => {
  await openFile(page, 'capitals.jsonl');
  await runCommand(page, 'Prompt or Fine-Tune: Open Report');
  let report = await webviewWith('#facts .fact[data-fact="file"]:has-text("capitals.jsonl")', 60000);
  await report.locator('#items-filter-k').selectOption('1');
  await report.locator('#items-disagreements-only').check();
  assert.equal(await report.locator('#items-filtered').innerText(), 'Filtered: k = 1, disagreements only · show all');
  await openFile(page, 'xss.jsonl');
  await runCommand(page, 'Prompt or Fine-Tune: Open Report');
  report = await webviewWith('#facts .fact[data-fact="file"]:has-text("xss.jsonl")', 60000);
  assert.equal(await report.locator('#items-filter-k').inputValue(), 'all');
  assert.equal(await report.locator('#items-disagreements-only').isChecked(), false);
  assert.equal(await report.locator('#items-filtered').isHidden(), true);
  assert.match(await report.locator('#items-count').innerText(), /^(\d+) of \1 items$/);
});

test('the same k_fit in the hover, the side panel and the report, from the selected model\'s tokenizer', async () => {
  await openFile(page, 'capitals.jsonl');
  const summary = await hoverLine(1, 'Shots that fit');
  const match = /Shots that fit: (\d+) in (\d+) tokens \((.*)'s tokenizer\)/.exec(await textOf(summary));
  assert.ok(match, await textOf(summary));
  const kFit = Number(match[1]);
  assert.equal(Number(match[2]), 512);
  await page.keyboard.press('Escape');
  await runCommand(page, 'Prompt or Fine-Tune: Open Report');
  const report = await webviewWith('#k-fit', 60000);
  assert.equal(Number(await report.locator('#k-fit').getAttribute('data-k-fit')), kFit);
  await showSidePanel();
  const view = await webviewWith('article.dataset-card .dataset-fit', 60000);
  const capitals = view.locator('article.dataset-card', { has: view.locator('.dataset-name', { hasText: /^capitals\.jsonl$/ }) });
  assert.equal(Number(await capitals.locator('.dataset-fit').getAttribute('data-k-fit')), kFit);
  assert.equal(await capitals.locator('.dataset-fit').innerText(), `k_fit ${kFit} in 512 tokens`);
});

test('a second run in the same session uses the model the run worker kept', async () => {
  await openFile(page, 'capitals.jsonl');
  const runsBefore = (extensionLog().match(/Run done: /g) ?? []).length;
  await runCommand(page, 'Prompt or Fine-Tune: Run Comparison');
  for (const end = Date.now() + 120000; (extensionLog().match(/Run done: /g) ?? []).length === runsBefore; await page.waitForTimeout(200)) {
    if (Date.now() > end) throw new Error('the second run did not finish');
  }
  const lines = extensionLog().split('\n').filter((line) => line.includes('Run done: '));
  assert.match(lines[lines.length - 1], /; model kept from an earlier run\)$/);
  // Each phase was shown; a local folder is loaded, never "downloaded".
  assert.match(extensionLog(), /Run phase \(loading\): Loading \/.+…/);
  assert.match(extensionLog(), /Run phase \(reading\): Reading the dataset and building the prompts…/);
  assert.doesNotMatch(extensionLog(), /Downloading \//);
});

test('cancel while the model loads leaves the report, the side panel and the verdict as they were', async () => {
  await openFile(page, 'capitals.jsonl');
  await runCommand(page, 'Prompt or Fine-Tune: Open Report');
  const report = await webviewWith('#verdict-measured', 60000);
  const verdictBefore = await report.locator('#verdict-measured').innerText();
  const badgeBefore = await report.locator('#verdict-badge').innerText();
  // Another thread count is another model: the run worker frees the one it kept and loads anew.
  const freedBefore = (extensionLog().match(/Freed the model kept in the run worker/g) ?? []).length;
  setWorkspaceSetting('promptOrFinetune.threads', 1);
  try {
    // The settings file is watched, not read at once: the extension says when the change reached it.
    for (const end = Date.now() + 30000; (extensionLog().match(/Freed the model kept in the run worker/g) ?? []).length === freedBefore; await page.waitForTimeout(100)) {
      if (Date.now() > end) throw new Error('the threads setting did not reach the extension');
    }
    // The run's status bar item cancels it: clicked in the page the moment it says "Loading", as the model load
    // of stories260K takes about a second.
    const clicked = page.evaluate(() => new Promise((resolve, reject) => {
      const started = Date.now();
      const check = () => {
        const item = [...document.querySelectorAll('.statusbar-item')].find((element) => element.textContent.includes('Loading'));
        if (item) {
          (item.querySelector('a') ?? item).click();
          resolve(item.textContent);
        } else if (Date.now() - started > 60000) reject(new Error('the status bar never said "Loading"'));
        else requestAnimationFrame(check);
      };
      check();
    }));
    await runCommand(page, 'Prompt or Fine-Tune: Run Comparison');
    assert.match(await clicked, /capitals\.jsonl: Loading /);
    await page.locator('.notifications-toasts', { hasText: 'Run cancelled before the model answered anything' }).first().waitFor({ timeout: 30000 });
    const after = await webviewWith('#verdict-measured', 30000);
    assert.equal(await after.locator('#verdict-measured').innerText(), verdictBefore);
    assert.equal(await after.locator('#verdict-badge').innerText(), badgeBefore);
    assert.equal(await after.locator('#partial-note').count(), 0);
    assert.notEqual(badgeBefore, 'NOT RUN');
    await showSidePanel();
    const view = await webviewWith('article.dataset-card', 30000);
    const capitals = view.locator('article.dataset-card', { has: view.locator('.dataset-name', { hasText: /^capitals\.jsonl$/ }) });
    await capitals.locator('.status-pill', { hasText: /^compared$/ }).waitFor({ timeout: 20000 });
    assert.equal(await capitals.locator('.dataset-measured').innerText(), `Measured: ${verdictBefore}`);
  } finally {
    setWorkspaceSetting('promptOrFinetune.threads', undefined);
  }
});

test('Preview Prompt opens a read-only prompt that is never dirty', async () => {
  await openFile(page, 'capitals.jsonl');
  await runCommand(page, 'Go to Line/Column...');
  await page.keyboard.type('5');
  await page.keyboard.press('Enter');
  await pickAfterCommand('Prompt or Fine-Tune: Preview Prompt', '2');
  const tab = page.locator('.tabs-container .tab', { hasText: 'capitals.jsonl.prompt.txt' }).first();
  await tab.waitFor({ timeout: 30000 });
  assert.doesNotMatch(await tab.getAttribute('class'), /\bdirty\b/);
  const editor = page.locator('.editor-group-container', { has: page.locator('.tab.active', { hasText: 'capitals.jsonl.prompt.txt' }) }).locator('.view-lines').first();
  await editor.filter({ hasText: 'What is the capital of Portugal?' }).waitFor({ timeout: 20000 });
  await screenshot(page, 'prompt-preview');
  // Closing it asks nothing: there is nothing to save.
  await tab.click();
  await page.keyboard.press('Control+W');
  await tab.waitFor({ state: 'detached', timeout: 10000 });
  assert.equal(await page.locator('.monaco-dialog-box').count(), 0);
});

test('the dataset view shows fields, duplicates and conflicts, and switches the compared field', async () => {
  await openFile(page, 'graded.jsonl');
  await runCommand(page, 'Prompt or Fine-Tune: Show Dataset');
  const view = await webviewWith('#reference-choices', 60000);
  assert.match(await view.locator('#reference-sentence').innerText(), /^Outputs are compared with response \(a fine-tuned model's output\), as detected\.$/);
  assert.equal(await view.locator('#duplicates-table tr.duplicate-row.conflicting').count(), 1);
  assert.deepEqual(await view.locator('#duplicates-table tr.conflicting .line-link').allInnerTexts(), ['3', '6']);
  assert.equal(await view.locator('canvas#input-length-chart').count(), 1);
  // The screenshot shows the view on its own: the bottom panel hidden, its editor group maximized.
  await runCommand(page, 'View: Hide Panel');
  await page.locator('.tabs-container .tab', { hasText: 'Dataset: graded.jsonl' }).first().click();
  await runCommand(page, 'View: Toggle Maximize Editor Group');
  await page.waitForTimeout(500); // charts redraw for the new size
  await screenshot(page, 'dataset-view');
  await runCommand(page, 'View: Toggle Maximize Editor Group');
  await view.locator('input[type="radio"][data-path="target"]').check();
  await view.locator('#reference-sentence', { hasText: 'set in the promptOrFinetune.fields setting' }).waitFor({ timeout: 30000 });
  assert.match(await view.locator('#reference-sentence').innerText(), /^Outputs are compared with target \(a gold answer\)/);
  assert.equal(await view.locator('#duplicates-table tr.duplicate-row.conflicting').count(), 0);
  await view.locator('#reference-reset').click();
  await view.locator('#reference-sentence', { hasText: 'as detected' }).waitFor({ timeout: 30000 });
  // A line link opens the dataset at that line.
  await view.locator('#duplicates-table .line-link', { hasText: /^6$/ }).first().click();
  await page.locator('.tabs-container .tab.active', { has: page.getByText('graded.jsonl', { exact: true }) }).waitFor({ timeout: 10000 });
});

test('the walkthrough leads a first run through model, dataset, estimate and run', async () => {
  await runCommand(page, 'Prompt or Fine-Tune: Get Started');
  const walkthrough = page.locator('.gettingStartedContainer');
  await walkthrough.locator('text=Select a model').first().waitFor({ timeout: 30000 });
  for (const step of ['Look at a dataset', 'Estimate the shots', 'Run the comparison']) await walkthrough.locator(`text=${step}`).first().waitFor();
  await runCommand(page, 'View: Toggle Maximize Editor Group');
  // The step's Markdown is rendered in a webview beside the steps.
  await webviewWith('h1:has-text("Select a model")', 30000);
  await page.waitForTimeout(500);
  await screenshot(page, 'walkthrough');
  await runCommand(page, 'View: Toggle Maximize Editor Group');
});

test('the side panel lists the datasets with status and verdicts, and its actions work', async () => {
  await showSidePanel();
  const view = await webviewWith('article.dataset-card', 60000);
  await view.locator('article.dataset-card[data-status="compared"]').first().waitFor({ timeout: 20000 });
  await view.locator('article.dataset-card .dataset-name').nth(4).waitFor({ timeout: 20000 });
  const names = await view.locator('article.dataset-card .dataset-name').allInnerTexts();
  assert.deepEqual(names, ['broken.jsonl', 'capitals.jsonl', 'graded.jsonl', 'not-jsonl.jsonl', 'xss.jsonl']);
  const capitals = view.locator('article.dataset-card', { has: view.locator('.dataset-name', { hasText: /^capitals\.jsonl$/ }) });
  assert.match(await capitals.locator('.dataset-measured').innerText(), /^Measured: /);
  const xss = view.locator('article.dataset-card', { has: view.locator('.dataset-name', { hasText: /^xss\.jsonl$/ }) });
  assert.equal(await view.locator('img').count(), 0);
  assert.equal(await xss.locator('.status-pill').innerText(), 'compared');
  await screenshot(page, 'side-panel');
  assert.deepEqual(dialogs, []);
});

test('a window reload restores the report panel and the side panel', async (t) => {
  await openFile(page, 'capitals.jsonl');
  await runCommand(page, 'Prompt or Fine-Tune: Open Report');
  await webviewWith('#verdict-measured', 60000);
  // The workbench's own reload saves its editors' state first, as a user's reload does. A mark on the old page
  // tells when the new one is there.
  await page.evaluate(() => { window.beforeReload = true; });
  await runCommand(page, 'Developer: Reload Window');
  await page.waitForFunction(() => !window.beforeReload, null, { timeout: 60000 });
  await page.locator('.monaco-workbench').waitFor({ timeout: 60000 });
  await page.waitForFunction(() => !!window.driver, null, { timeout: 60000 });
  await page.evaluate(() => window.driver.whenWorkbenchRestored());
  // The panel comes back (its tab, titled by the deserializer with the report it restores). Its page, like the side
  // view's and the dataset panel's, sometimes stays blank after the reload, and the cause is the server, not the
  // extension. VS Code 1.100 registers a service worker per webview (the webview's id is in the worker's URL) and
  // expects each webview on an origin of its own (microsoft/vscode#126444); the server from code-server puts every
  // webview on the workbench's origin (its webviewEndpoint), so they share one worker scope. The restored webviews
  // load together, each registration replaces the worker the others use, and a webview caught in the swap either
  // never sees its worker ready (its index.html waits for that before it writes our page: no page in the frame) or
  // sends its script and stylesheet past the worker to https://vscode-remote+….vscode-resource.vscode-cdn.net
  // (net::ERR_NAME_NOT_RESOLVED: our HTML is there, our script never ran). Measured on 10 reloads with the three webviews shown: 9 of 30 pages blank; with the
  // workbench's configuration patched to give each webview its own origin, 0 of 30. Showing the tab again loads
  // that webview alone, which works, as a user's click would.
  const reportTab = page.locator('.tabs-container .tab', { hasText: 'Report: capitals.jsonl' });
  await reportTab.waitFor({ timeout: 60000 });
  let report;
  try {
    report = await webviewWith('#verdict-measured', 30000);
  } catch {
    await page.locator('.tabs-container .tab', { hasText: /^capitals\.jsonl/ }).first().click();
    await reportTab.click();
    report = await webviewWith('#verdict-measured', 60000);
  }
  assert.match(await report.locator('#verdict-measured').innerText(), /^(Fine-tune|Not decided|Prompting suffices|Still improving)/);
  // The side view comes back with the window, sometimes blank for the reason given above; showing the view again
  // loads it, as a user's click would.
  let view;
  try {
    view = await webviewWith('article.dataset-card[data-status="compared"]', 20000);
  } catch {
    // The side bar may come back hidden (the layout the walkthrough's maximized group left), or shown but blank.
    await showSidePanel();
    try {
      view = await webviewWith('article.dataset-card[data-status="compared"]', 20000);
    } catch {
      // Shown but blank: showing another view of the bar and then this one again loads it alone.
      await runCommand(page, 'View: Show Explorer');
      await showSidePanel();
      view = await webviewWith('article.dataset-card[data-status="compared"]', 60000);
    }
  }
  assert.ok(await view.locator('article.dataset-card').count() >= 5);
  // Every card counts with the model's tokenizer again: the new extension host read it at activation, and the files
  // inspected before that are inspected again with it. No Refresh: the reload alone must bring the counts back.
  const estimated = () => view.locator('.dataset-fit', { hasText: 'estimated from characters' });
  for (const end = Date.now() + 60000; await estimated().count(); await page.waitForTimeout(250)) {
    if (Date.now() > end) {
      await screenshot(page, 'failed-after-reload');
      throw new Error(`a card kept its estimate from characters after the reload: ${await estimated().first().innerText()} (logs: ${keepLogs('failed-after-reload')})`);
    }
  }
  assert.ok(await view.locator('.dataset-fit', { hasText: / in 512 tokens$/ }).count() >= 1);
  // What the new extension host went through to get there (the settings can arrive after activation).
  for (const line of extensionLog().split('\n').filter((entry) => /settings changed while|is not loaded/.test(entry))) t.diagnostic(line);
  await screenshot(page, 'after-reload');
  assert.deepEqual(dialogs, []);
});

test('a tokenizer that cannot be read is named, with the reason, at the top of the side panel and in the dataset view', async () => {
  const missing = path.join(scratch, 'no-such-model');
  setWorkspaceSetting('promptOrFinetune.model', missing);
  try {
    await showSidePanel();
    const view = await webviewWith('#model-problem', 60000);
    assert.equal(await view.locator('#model-problem').innerText(),
      `Tokenizer not read, so counts are estimated from characters: The model folder ${missing} does not exist, and "${missing}" is not a Hugging Face Hub id (org/name).`);
    assert.equal(await view.locator('#model-id').innerText(), missing);
    // The dataset view says the same where its lengths are in characters.
    await view.locator('article.dataset-card[data-uri$="graded.jsonl"]').getByRole('button', { name: 'Dataset' }).click();
    // The dataset panel restored by the reload test is reused, and its page, like the report's there, sometimes
    // stays blank after the reload (the tab there, its frame empty; the shared webview service worker explained in
    // the reload test): showing another tab of its group and then it again loads it, as in the reload test.
    let dataset;
    try {
      dataset = await webviewWith('#characters-why', 20000);
    } catch {
      await page.locator('.tabs-container .tab', { hasText: /^graded\.jsonl/ }).first().click();
      await page.locator('.tabs-container .tab', { hasText: 'Dataset: graded.jsonl' }).click();
      dataset = await webviewWith('#characters-why', 60000);
    }
    assert.equal(await dataset.locator('#characters-why').innerText(),
      `In characters: the tokenizer of ${missing} could not be read: The model folder ${missing} does not exist, and "${missing}" is not a Hugging Face Hub id (org/name).`);
    await screenshot(page, 'side-panel-tokenizer-problem');
  } finally {
    setWorkspaceSetting('promptOrFinetune.model', undefined);
  }
  // The model selected again is read again, and the sentence goes.
  const view = await webviewWith('#model-id', 30000);
  await view.locator('#model-id', { hasText: /stories260K|tiny-llama/ }).waitFor({ timeout: 60000 });
  await view.locator('#model-problem').waitFor({ state: 'detached', timeout: 60000 });
});

test('a large dataset\'s card answers first from its first 256 KB, labelled provisional, then from the whole file', async () => {
  const file = path.join(workspace, 'large.generated.jsonl');
  const lines = [];
  for (let i = 0, bytes = 0; bytes < 6 * 1024 * 1024; i++) {
    lines.push(`${JSON.stringify({ question: `What is item ${i} of the large file, in a few words?`, answer: `Item ${i}` })}\n`);
    bytes += lines[i].length;
  }
  writeFileSync(file, lines.join(''));
  // The head ends after the last whole line within the first 256 KB.
  let headRecords = 0;
  for (let bytes = lines[0].length; bytes <= 256 * 1024; bytes += lines[++headRecords].length);
  try {
    await showSidePanel();
    // Listed, the file gets its first answer on its card without being opened or scanned.
    const view = await webviewWith('article.dataset-card[data-uri$="large.generated.jsonl"] .dataset-summary', 60000);
    const card = view.locator('article.dataset-card[data-uri$="large.generated.jsonl"]');
    await card.locator('.dataset-summary', { hasText: 'provisional' }).waitFor({ timeout: 60000 });
    assert.equal(await card.locator('.dataset-summary').innerText(),
      `6.0 MB · input-output · ${headRecords.toLocaleString('en-US')} records · 0 invalid · 0 warnings · provisional: first 256 KB read`);
    await screenshot(page, 'side-panel-provisional');
    // Asked for, the whole file is read and the card says what the whole file holds.
    await card.getByRole('button', { name: 'Dataset' }).click();
    await card.locator('.dataset-summary', { hasText: `${lines.length.toLocaleString('en-US')} records` }).waitFor({ timeout: 120000 });
    assert.equal(await card.locator('.dataset-summary').innerText(),
      `6.0 MB · input-output · ${lines.length.toLocaleString('en-US')} records · 0 invalid · 0 warnings`);
  } finally {
    rmSync(file, { force: true });
  }
});
