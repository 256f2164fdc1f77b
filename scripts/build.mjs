// Bundles the faces with esbuild: the extension and its run worker and the command line for Node (CommonJS),
// the webviews for the browser. Native and ML packages stay external and ship as dependencies.
import { build } from 'esbuild';
import { chmodSync } from 'node:fs';
import { buildKeyHashModule } from './build-wasm.mjs';

const production = process.argv.includes('--production');
const external = ['vscode', '@huggingface/transformers', 'onnxruntime-node', 'onnxruntime-web', 'sharp'];
const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'warning' };
// Node bundles prefer a package's ES module build: UMD builds (jsonc-parser's) require their parts at run time.

// The scan's WebAssembly first: the bundles include what it compiles to.
await buildKeyHashModule();

await Promise.all([
  build({
    ...common, platform: 'node', format: 'cjs', target: 'node20', mainFields: ['module', 'main'], external,
    entryPoints: { extension: 'src/extension/extension.ts', runWorker: 'src/extension/runWorker.ts' },
    outdir: 'dist',
  }),
  build({
    ...common, platform: 'node', format: 'cjs', target: 'node20', mainFields: ['module', 'main'], external,
    entryPoints: { cli: 'src/cli/main.ts' }, outdir: 'dist', banner: { js: '#!/usr/bin/env node' },
  }),
  build({
    ...common, platform: 'browser', format: 'iife', target: 'es2022',
    entryPoints: { 'webview/report': 'src/webview/report/main.ts', 'webview/datasets': 'src/webview/datasets/main.ts', 'webview/dataset': 'src/webview/dataset/main.ts' },
    outdir: 'dist',
  }),
]);
chmodSync('dist/cli.js', 0o755);
