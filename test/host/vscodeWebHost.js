// Runs a REAL VS Code for the tests without desktop VS Code or Electron (neither can be downloaded here):
// the VS Code server shipped in the npm package code-server (installed by scripts/install-code-server.sh) serves the
// web workbench, which headless Debian Chromium opens through playwright-core. Extensions run in the server's Node
// extension host, just as they do in a remote window of desktop VS Code.
//
// Used by test/host/codeShim.js (extension tests through @vscode/test-cli) and by the UI tests (test/e2e/).
// Plain CommonJS on purpose: it runs straight from the source tree, before or without any build.
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..');
const VSCODE_TEST_DIR = path.join(ROOT, '.vscode-test');
const SERVER_MAIN = process.env.CODE_SERVER_MAIN ||
  path.join(VSCODE_TEST_DIR, 'code-server/node_modules/code-server/lib/vscode/out/server-main.js');
// code-server 4.100.x runs on Node 20, the Node running the tests; another release may need another Node.
const SERVER_NODE = process.env.CODE_SERVER_NODE || process.execPath;
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const LOG_DIR = path.join(VSCODE_TEST_DIR, 'logs');
const SCREENSHOT_DIR = path.join(VSCODE_TEST_DIR, 'screenshots');
const KEEP_LOGS = 20;

// A fresh profile opens welcome pages, walkthroughs and tips that steal focus from the palette and quick open, and
// the workbench would try to reach the marketplace and telemetry hosts (unreachable here): switch all that off.
const DEFAULT_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'security.workspace.trust.enabled': false,
  'chat.disableAIFeatures': true,
};

// Set when the tests themselves run inside VS Code (its terminal, or an extension host): they would make the
// server talk to that VS Code instead of being a VS Code of its own.
const INHERITED_VSCODE_ENV = [
  'ELECTRON_RUN_AS_NODE', 'VSCODE_IPC_HOOK', 'VSCODE_IPC_HOOK_CLI', 'VSCODE_PID', 'VSCODE_CWD', 'VSCODE_NLS_CONFIG',
  'VSCODE_ESM_ENTRYPOINT', 'VSCODE_HANDLES_UNCAUGHT_ERRORS', 'VSCODE_CRASH_REPORTER_PROCESS_TYPE',
  'VSCODE_CODE_CACHE_PATH', 'VSCODE_L10N_BUNDLE_LOCATION',
];

const serverOfPage = new WeakMap(); // page -> server, so that helper errors can name the server log

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

function answersHttp(port) {
  return new Promise(resolve => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', timeout: 1000 }, res => {
      res.resume();
      resolve(res.statusCode < 500);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => { req.destroy(); resolve(false); });
  });
}

// Logs live in the git-ignored .vscode-test/logs (not in the run's temp dir, which is deleted on stop) so that the
// path quoted in an error message still exists when someone reads it; only the newest few are kept.
function newLogFile() {
  fs.mkdirSync(LOG_DIR, { recursive: true });
  const old = fs.readdirSync(LOG_DIR).filter(f => f.endsWith('.log')).sort();
  for (const f of old.slice(0, Math.max(0, old.length - KEEP_LOGS + 1))) fs.rmSync(path.join(LOG_DIR, f), { force: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return path.join(LOG_DIR, `server-${stamp}-${process.pid}.log`);
}

function readJsonObject(file) {
  try {
    const value = JSON.parse(fs.readFileSync(file, 'utf8'));
    return value && typeof value === 'object' && !Array.isArray(value) ? value : {};
  } catch {
    return {};
  }
}

function withLog(server, message) {
  return server ? `${message} (VS Code server log: ${server.log})` : message;
}

/**
 * Starts the VS Code server on a free loopback port and resolves once it answers HTTP.
 * Runs server-main.js directly rather than the code-server CLI: only the server accepts --enable-smoke-test-driver,
 * without which the web workbench ignores extensionDevelopmentPath / extensionTestsPath.
 *
 * @param {object} [options]
 * @param {string} [options.userDataDir]   profile; default: fresh temp dir (user settings in <dir>/User/settings.json)
 * @param {string} [options.extensionsDir] installed extensions; default: fresh temp dir
 * @param {Record<string,string|undefined>} [options.env] extra environment; the extension host inherits it
 * @param {object} [options.settings]      user settings, over DEFAULT_SETTINGS and any settings.json already there
 * @param {string[]} [options.args]        extra server arguments
 * @param {boolean} [options.workspaceTrust] true: leave workspace trust on (no --disable-workspace-trust), for tests
 *   of restricted mode; they also need the user setting security.workspace.trust.enabled: true
 * @returns {Promise<{port:number, host:string, url:string, log:string, tmp:string, userDataDir:string,
 *   extensionsDir:string, pid:number, startupMs:number, stop:() => Promise<void>}>}
 */
async function startServer({ userDataDir, extensionsDir, env = {}, settings = {}, args = [], workspaceTrust = false } = {}) {
  if (!fs.existsSync(SERVER_MAIN)) {
    throw new Error(`VS Code server not installed (${SERVER_MAIN} missing): run bash scripts/install-code-server.sh`);
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vscode-web-'));
  userDataDir = path.resolve(userDataDir || path.join(tmp, 'user-data'));
  extensionsDir = path.resolve(extensionsDir || path.join(tmp, 'extensions'));
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  fs.mkdirSync(extensionsDir, { recursive: true });
  const settingsFile = path.join(userDataDir, 'User', 'settings.json');
  fs.writeFileSync(settingsFile,
    JSON.stringify({ ...DEFAULT_SETTINGS, ...readJsonObject(settingsFile), ...settings }, null, 2));

  // Its own TMPDIR: the server drops vscode-ipc-*.sock / vscode-git-*.sock there, and they go with the temp dir.
  const serverTmp = path.join(tmp, 'tmp');
  fs.mkdirSync(serverTmp);
  const childEnv = { ...process.env, TMPDIR: serverTmp };
  for (const name of INHERITED_VSCODE_ENV) delete childEnv[name];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[name]; else childEnv[name] = String(value);
  }

  const port = await freePort();
  const log = newLogFile();
  const out = fs.openSync(log, 'a');
  const t0 = Date.now();
  const child = spawn(SERVER_NODE, [SERVER_MAIN,
    '--host', '127.0.0.1', '--port', String(port),
    '--without-connection-token', '--accept-server-license-terms', '--telemetry-level', 'off',
    '--enable-smoke-test-driver', ...(workspaceTrust ? [] : ['--disable-workspace-trust']),
    '--user-data-dir', userDataDir, '--server-data-dir', path.join(tmp, 'server-data'),
    '--extensions-dir', extensionsDir, ...args,
  ], {
    // Own process group: the server forks a file watcher, pty host and one extension host per window; killing
    // the group is the only way not to leave them behind (an orphaned extension host waits 3 h for a reconnect).
    detached: true,
    stdio: ['ignore', out, out],
    env: childEnv,
  });
  fs.closeSync(out);
  let spawnError; // e.g. CODE_SERVER_NODE pointing nowhere
  child.once('error', err => { spawnError = err; });

  const killGroup = signal => { try { process.kill(-child.pid, signal); } catch { /* already gone */ } };
  const killOnExit = () => killGroup('SIGKILL'); // last resort if the test process dies without calling stop()
  process.on('exit', killOnExit);

  let stopped;
  const stop = () => stopped || (stopped = (async () => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      let timer;
      const exited = new Promise(resolve => child.once('exit', resolve));
      killGroup('SIGTERM');
      await Promise.race([exited, new Promise(resolve => { timer = setTimeout(resolve, 5000); })]);
      clearTimeout(timer); // a pending timer would keep the test process alive for 5 s
    }
    killGroup('SIGKILL'); // children that ignored SIGTERM or outlived the main process
    fs.rmSync(tmp, { recursive: true, force: true });
  })());

  const server = { port, host: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}`, log, tmp, userDataDir,
    extensionsDir, pid: child.pid, startupMs: 0, stop };
  // 127.0.0.1, not a LAN address: webviews need a secure context for their service worker, and loopback is one.
  while (!(await answersHttp(port))) {
    if (spawnError || child.exitCode !== null || child.signalCode !== null) {
      await stop();
      const why = spawnError ? spawnError.message : child.exitCode ?? child.signalCode;
      throw new Error(withLog(server, `VS Code server exited early (${why})`));
    }
    if (Date.now() - t0 > 60000) {
      await stop();
      throw new Error(withLog(server, 'VS Code server did not answer within 60 s'));
    }
    await sleep(100);
  }
  server.startupMs = Date.now() - t0;
  return server;
}

/**
 * URL of the web workbench for `server`, opening a folder (or a .code-workspace file, or an empty window) with the
 * given extensions in development mode and, when extensionTestsPath is set, running those tests.
 * Paths are local absolute paths: the server runs on this machine.
 *
 * @param {object} server from startServer
 * @param {object} [options]
 * @param {string} [options.folder]
 * @param {string|string[]} [options.extensionDevelopmentPath]
 * @param {string} [options.extensionTestsPath]
 * @param {boolean} [options.disableExtensions] disable installed (not built-in, not development) extensions
 */
function workbenchUrl(server, { folder, extensionDevelopmentPath = [], extensionTestsPath, disableExtensions } = {}) {
  const remote = p => `vscode-remote://${server.host}${path.resolve(p).split(path.sep).map(encodeURIComponent).join('/')}`;
  const devPaths = [].concat(extensionDevelopmentPath).filter(Boolean);
  const payload = [
    ...devPaths.map(p => ['extensionDevelopmentPath', remote(p)]),
    ['skipWelcome', 'true'],
    ['skipReleaseNotes', 'true'],
  ];
  if (extensionTestsPath) payload.push(['extensionTestsPath', remote(extensionTestsPath)]);
  if (disableExtensions) payload.push(['disableExtensions', 'true']);
  let target = 'ew=true'; // empty window
  if (folder) {
    const abs = path.resolve(folder);
    target = `${abs.endsWith('.code-workspace') ? 'workspace' : 'folder'}=${encodeURIComponent(abs)}`;
  }
  return `${server.url}/?${target}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

/**
 * Launches Debian's Chromium through playwright-core (playwright's own browser builds cannot be downloaded here).
 * @param {{headless?: boolean, args?: string[]}} [options]
 * @returns {Promise<import('playwright-core').Browser>}
 */
async function launchBrowser({ headless = true, args = [] } = {}) {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} missing: run bash scripts/install-code-server.sh (or set CHROMIUM_PATH)`);
  }
  const { chromium } = require('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless,
    args: [
      '--no-sandbox', // Chromium's sandbox refuses to run as root
      '--disable-dev-shm-usage', // containers often have a tiny /dev/shm
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', // nothing to reach
      ...args,
    ],
  });
}

/**
 * Starts a server, opens the workbench on `folder` with the extension at `extensionPath` in development mode and
 * waits until the workbench has restored (its lifecycle phase, through the smoke-test driver's window.driver).
 * The extension may still be activating then: runCommand retries until the palette lists the command.
 *
 * @param {object} [options]
 * @param {string} [options.folder]          folder or .code-workspace to open; default: empty window
 * @param {string|string[]} [options.extensionPath] extension(s) to load in development mode
 * @param {Record<string,string|undefined>} [options.env] environment of the server and its extension host
 * @param {object} [options.settings]        user settings (over the quiet defaults)
 * @param {{width:number,height:number}} [options.viewport]
 * @param {number} [options.timeout]         ms to wait for the workbench (default 60000)
 * @param {boolean} [options.workspaceTrust] keep workspace trust on (see startServer)
 * @returns {Promise<{server:object, browser:import('playwright-core').Browser, page:import('playwright-core').Page,
 *   url:string, close:() => Promise<void>}>}
 */
async function openWorkbench({ folder, extensionPath, env, settings, viewport = { width: 1400, height: 900 },
  timeout = 60000, workspaceTrust = false } = {}) {
  let server, browser;
  const close = async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
  };
  try {
    server = await startServer({ env, settings, workspaceTrust });
    browser = await launchBrowser();
    const page = await browser.newPage({ viewport });
    serverOfPage.set(page, server);
    // The browser side's errors go into the server log too, so one file tells the whole story of a failure.
    const note = line => fs.appendFile(server.log, `[browser] ${line}\n`, () => {});
    page.on('pageerror', err => note(`pageerror: ${err.stack || err}`));
    page.on('console', msg => { if (msg.type() === 'error') note(`console.error: ${msg.text()}`); });
    page.on('crash', () => note('renderer crashed'));

    const url = workbenchUrl(server, { folder, extensionDevelopmentPath: extensionPath });
    await page.goto(url);
    await page.locator('.monaco-workbench').waitFor({ timeout });
    await page.waitForFunction(() => !!window.driver, null, { timeout });
    await page.evaluate(() => window.driver.whenWorkbenchRestored());
    return { server, browser, page, url, close };
  } catch (err) {
    await close();
    throw new Error(withLog(server, `openWorkbench failed: ${err.message}`), { cause: err });
  }
}

// Runs `action`; on failure saves a screenshot and rethrows with the screenshot and the server log named.
async function step(page, what, action) {
  try {
    return await action();
  } catch (err) {
    const shot = await screenshot(page, `failed-${what.replace(/[^\w.-]+/g, '_').slice(0, 60)}`).catch(() => null);
    const where = shot ? ` (screenshot: ${shot})` : '';
    throw new Error(withLog(serverOfPage.get(page), `${what} failed: ${err.message}${where}`), { cause: err });
  }
}

const QUICK_INPUT = '.quick-input-widget';
const QUICK_INPUT_BOX = `${QUICK_INPUT} .quick-input-box input`;
const QUICK_INPUT_ROW = `${QUICK_INPUT} .quick-input-list .monaco-list-row`;

// Opens a quick input with `key`, types `text` and clicks the first row labelled exactly `label`. An open
// palette does not pick up commands registered after it opened, and right after start-up an extension's commands
// may not be registered yet: so on a miss it closes the palette and tries again, until `timeout`.
async function pickFromQuickInput(page, key, text, label, timeout) {
  const exact = new RegExp(`^\\s*${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
  const deadline = Date.now() + timeout;
  for (let attempt = 1; ; attempt++) {
    try {
      await page.keyboard.press(key);
      const input = page.locator(QUICK_INPUT_BOX);
      await input.waitFor({ state: 'visible', timeout: 5000 });
      // Its own short limit: a palette closed under the input by a focus change is retried, not waited out.
      await input.fill(text, { timeout: 5000 });
      const row = page.locator(QUICK_INPUT_ROW).filter({ has: page.locator('.label-name', { hasText: exact }) }).first();
      await row.waitFor({ state: 'visible', timeout: Math.min(1500, Math.max(500, deadline - Date.now())) });
      // Enter picks the *focused* row; make sure it is ours, then accept.
      await row.click();
      return;
    } catch (err) {
      if (Date.now() >= deadline) {
        throw new Error(`"${text}" listed no "${label}" within ${timeout} ms (${attempt} tries): ${err.message}`);
      }
      await page.keyboard.press('Escape').catch(() => {});
      await sleep(500);
    }
  }
}

/**
 * Runs a command by its palette title ("Category: Title" as shown in the palette) through F1.
 * @param {import('playwright-core').Page} page
 * @param {string} title
 * @param {{timeout?: number}} [options] default 30000
 */
async function runCommand(page, title, { timeout = 30000 } = {}) {
  await step(page, `runCommand("${title}")`, () => pickFromQuickInput(page, 'F1', `>${title}`, title, timeout));
}

/**
 * Opens a file of the workspace through quick open (Ctrl+P) and waits for its editor tab to be the active one.
 * @param {import('playwright-core').Page} page
 * @param {string} name  file name or workspace-relative path
 * @param {{timeout?: number}} [options] default 30000
 */
async function openFile(page, name, { timeout = 30000 } = {}) {
  const base = path.basename(name);
  await step(page, `openFile("${name}")`, async () => {
    await pickFromQuickInput(page, 'Control+P', name, base, timeout);
    await page.locator('.tabs-container .tab.active', { has: page.getByText(base, { exact: true }) })
      .waitFor({ state: 'visible', timeout });
  });
}

/**
 * The content frame of a webview (panel or view). A webview is two nested iframes: the outer `iframe.webview` (host
 * page, gets class "ready" once loaded) and the inner `#active-frame` (the extension's HTML, titled with the
 * webview's title). Waits until that webview is ready.
 * @param {import('playwright-core').Page} page
 * @param {string|number} [titleOrIndex] title of the webview, or index among the ready webviews (default 0)
 * @param {{timeout?: number}} [options] default 30000
 * @returns {Promise<import('playwright-core').FrameLocator>}
 */
async function webviewFrame(page, titleOrIndex = 0, { timeout = 30000 } = {}) {
  return step(page, `webviewFrame(${JSON.stringify(titleOrIndex)})`, async () => {
    const outer = page.locator('iframe.webview.ready');
    const inner = i => outer.nth(i).contentFrame().locator('iframe#active-frame');
    const deadline = Date.now() + timeout;
    for (;;) {
      const count = await outer.count();
      if (typeof titleOrIndex === 'number') {
        if (count > titleOrIndex && await inner(titleOrIndex).count()) return inner(titleOrIndex).contentFrame();
      } else {
        for (let i = 0; i < count; i++) {
          const frame = inner(i);
          if (await frame.count() && await frame.getAttribute('title', { timeout: 1000 }).catch(() => null) === titleOrIndex) {
            return frame.contentFrame();
          }
        }
      }
      if (Date.now() > deadline) throw new Error(`no ready webview ${JSON.stringify(titleOrIndex)} (${count} ready)`);
      await sleep(250);
    }
  });
}

/**
 * Saves a full-window PNG into .vscode-test/screenshots/ and returns its path.
 * @param {import('playwright-core').Page} page
 * @param {string} name  file name; ".png" is added when missing
 */
async function screenshot(page, name) {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, name.endsWith('.png') ? name : `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/**
 * The content frame of the webview (panel or side view) whose page holds `selector`, searched across all ready
 * webviews until `timeout`; a screenshot named `failureShot` is saved when none shows it.
 * @param {import('playwright-core').Page} page
 * @param {string} selector
 * @param {{timeout?: number, failureShot?: string}} [options] default 60000, 'failed-webview'
 * @returns {Promise<import('playwright-core').FrameLocator>}
 */
async function webviewWith(page, selector, { timeout = 60000, failureShot = 'failed-webview' } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const outer = page.locator('iframe.webview.ready');
    const count = await outer.count();
    for (let i = 0; i < count; i++) {
      const inner = outer.nth(i).contentFrame().locator('iframe#active-frame');
      if (!(await inner.count())) continue;
      const frame = inner.contentFrame();
      if (await frame.locator(selector).count()) return frame;
    }
    if (Date.now() > deadline) {
      await screenshot(page, failureShot);
      throw new Error(`no webview shows ${selector} (${count} ready webviews)`);
    }
    await sleep(250);
  }
}

/**
 * A model folder for the UI tests: stories260K where ../shared is beside the repository, else a small Llama the
 * test support code builds into `scratch` (no network either way).
 * @param {string} scratch
 */
function testModelFolder(scratch) {
  const shared = path.resolve(ROOT, '..', 'shared', 'models', 'stories260K');
  if (fs.existsSync(shared)) return shared;
  const folder = path.join(scratch, 'tiny-llama');
  require('child_process').execFileSync(process.execPath, ['--import', 'tsx', '-e', `require('./test/support/tinyLlama').buildTinyLlama(${JSON.stringify(folder)})`], { cwd: ROOT });
  return folder;
}

module.exports = {
  startServer,
  workbenchUrl,
  launchBrowser,
  openWorkbench,
  runCommand,
  openFile,
  webviewFrame,
  webviewWith,
  testModelFolder,
  screenshot,
  DEFAULT_SETTINGS,
  SERVER_MAIN,
  SCREENSHOT_DIR,
  LOG_DIR,
};
