// Bundles the extension-host test suites (test/extension/*.test.ts) for @vscode/test-cli, which runs plain
// JavaScript files under out/. `vscode` is the host's; the ML packages stay external as in the extension.
import { build } from 'esbuild';
import { readdirSync } from 'node:fs';

const suites = readdirSync('test/extension').filter((name) => name.endsWith('.test.ts')).map((name) => `test/extension/${name}`);
await build({
  entryPoints: suites, bundle: true, platform: 'node', format: 'cjs', target: 'node20', mainFields: ['module', 'main'], sourcemap: true,
  outdir: 'out/test/extension', external: ['vscode', 'mocha', '@huggingface/transformers', 'onnxruntime-node', 'sharp'], logLevel: 'warning',
});
