// @vscode/test-cli configuration (`npx vscode-test`, run by `npm run test:extension`).
// Desktop VS Code cannot be downloaded on these machines, so "VS Code" is test/host/codeShim.js: it runs these mocha
// suites in the Node extension host of the VS Code server that scripts/install-code-server.sh installs.
import { defineConfig } from '@vscode/test-cli';
import { fileURLToPath } from 'node:url';

// eslint-disable-next-line no-restricted-syntax -- @vscode/test-cli reads the config from the default export
export default defineConfig({
  files: 'out/test/extension/**/*.test.js',
  workspaceFolder: './test/fixtures/workspace',
  useInstallation: { fromPath: fileURLToPath(new URL('./test/host/codeShim.js', import.meta.url)) },
  mocha: { ui: 'tdd', timeout: 60000 },
});
