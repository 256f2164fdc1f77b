#!/usr/bin/env node
// Stand-in for the VS Code executable, for @vscode/test-cli (useInstallation.fromPath in .vscode-test.mjs) and
// @vscode/test-electron (runTests({ vscodeExecutablePath })): desktop VS Code cannot be downloaded here.
// It takes the command line those tools give VS Code, runs the extension tests in the Node extension host of the
// VS Code server (test/host/vscodeWebHost.js) with the web workbench in headless Chromium, prints the tests'
// output and exits with their exit code, which is all the tools look at.
//
// env: VSCODE_SHIM_TIMEOUT_S  give up after this many seconds (default 1200)
//      VSCODE_SHIM_VERBOSE=1  also print the workbench's own log chatter
'use strict';

const util = require('util');
const { startServer, workbenchUrl, launchBrowser } = require('./vscodeWebHost');

const argv = process.argv.slice(2);
if (argv.includes('--version') || argv.includes('-v')) {
  console.log('code-shim (VS Code server from code-server)');
  process.exit(0);
}

// Options the tools pass as --name=value or --name value; the rest (--no-sandbox, --disable-updates, ...) are
// desktop-only and ignored. The first bare argument is the folder or .code-workspace to open.
const VALUE_OPTIONS = new Set(['extensionDevelopmentPath', 'extensionTestsPath', 'user-data-dir', 'extensions-dir']);
const options = {};
let folder;
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i];
  const match = /^--([^=]+)(?:=(.*))?$/s.exec(arg);
  if (!match) { folder ??= arg; continue; }
  const [, name, inline] = match;
  const value = inline ?? (VALUE_OPTIONS.has(name) ? argv[++i] : true);
  (options[name] ??= []).push(value);
}
const devPaths = options.extensionDevelopmentPath || [];
const testsPath = options.extensionTestsPath?.[0];
const timeoutMs = Number(process.env.VSCODE_SHIM_TIMEOUT_S || 1200) * 1000;
const verbose = process.env.VSCODE_SHIM_VERBOSE === '1';
// The workbench forwards its own console to codeAutomationLog as well; these lines are about connections,
// service workers and the unreachable marketplace, not the tests.
const NOISE = /^(Resolving connection|Resolved connection|Creating a socket|\[Service Worker\]|Updating additional builtin|ChatSessionStore|\[ChatModelSelection\]|.*getaddrinfo ENOTFOUND|.*Failed to fetch|\s+at )/;

function fail(message) {
  console.error(`[code-shim] ${message}`);
  process.exit(1);
}

async function main() {
  if (!testsPath || devPaths.length === 0) fail('needs --extensionDevelopmentPath=... and --extensionTestsPath=...');

  let server, browser;
  const cleanup = async () => {
    await browser?.close().catch(() => {});
    await server?.stop().catch(() => {});
  };
  // test-electron stops "VS Code" with SIGINT/SIGTERM; the server is in its own process group, so stop it here.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => cleanup().finally(() => process.exit(1)));
  }

  let result;
  try {
    server = await startServer({ userDataDir: options['user-data-dir']?.[0], extensionsDir: options['extensions-dir']?.[0] });
    browser = await launchBrowser();
    const page = await browser.newPage();
    let finish;
    const finished = new Promise(resolve => { finish = resolve; });
    // The extension host reports through these two window functions when it runs tests (its "automation" hooks):
    // output as console-style (format, ...args) calls, then the exit code. They must exist before the page loads.
    await page.exposeFunction('codeAutomationLog', (type, args) => {
      const line = util.format(...args);
      if (verbose || !NOISE.test(line)) (type === 'error' ? process.stderr : process.stdout).write(`${line}\n`);
    });
    await page.exposeFunction('codeAutomationExit', code => finish({ code }));
    page.on('crash', () => finish({ error: 'the workbench page crashed' }));
    const timer = setTimeout(() => finish({ error: `no result within ${timeoutMs / 1000} s` }), timeoutMs);

    await page.goto(workbenchUrl(server, {
      folder,
      extensionDevelopmentPath: devPaths,
      extensionTestsPath: testsPath,
      disableExtensions: Boolean(options['disable-extensions']),
    }));
    result = await finished;
    clearTimeout(timer);
  } catch (err) {
    result = { error: err.stack || String(err) };
  }
  const code = !result.error && Number.isInteger(result.code) ? result.code : 1;
  if (result.error) console.error(`[code-shim] ${result.error}`);
  if (code !== 0 && server) console.error(`[code-shim] tests exited with ${code}; VS Code server log: ${server.log}`);
  await cleanup();
  process.exit(code);
}

main().catch(err => fail(err.stack || String(err)));
