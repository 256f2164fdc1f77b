// Packages the extension once per platform: `vsce package --target <target>`, each VSIX with its own native
// binaries only — onnxruntime-node's for that OS and CPU, and sharp's (@img/sharp-<target>, which
// @huggingface/transformers requires at load). The repository's node_modules holds this machine's platform only,
// so each target is staged in .cache/package/<target>: the built extension, and its production dependencies
// installed from the lockfile for that OS and CPU (`npm ci --os --cpu`), then packaged with a .vscodeignore
// written for the target.
//
// usage: node scripts/package.mjs [--targets linux-x64,darwin-arm64,...] [--out folder]
// Prints one line per target with the VSIX's size.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** vsce target → Node's platform and CPU names, and where onnxruntime-node keeps that platform's binaries. */
const TARGETS = {
  'linux-x64': { os: 'linux', cpu: 'x64' },
  'linux-arm64': { os: 'linux', cpu: 'arm64' },
  'darwin-arm64': { os: 'darwin', cpu: 'arm64' },
  'darwin-x64': { os: 'darwin', cpu: 'x64' },
  'win32-x64': { os: 'win32', cpu: 'x64' },
  'win32-arm64': { os: 'win32', cpu: 'arm64' },
};
const DEFAULT_TARGETS = ['linux-x64', 'linux-arm64', 'darwin-arm64', 'darwin-x64', 'win32-x64'];
/** What every package leaves out: sources, tests, tooling, maps, and the browser build of onnxruntime. */
const ALWAYS_IGNORED = [
  '.vscode-test/**', '.vscode-test.mjs', 'src/**', 'test/**', 'scripts/**', 'out/**', 'bench-data/**', '.cache/**',
  '**/*.map', '**/*.ts', 'tsconfig.json', 'eslint.config.mjs', 'examples/**', '.npmrc',
  'node_modules/onnxruntime-web/**',
];
/** The files of the built extension that go into a package. */
const SHIPPED = ['package.json', 'package-lock.json', 'package.nls.json', 'l10n', 'media', 'dist', 'language-configuration.json', 'README.md', 'LICENSE'];

function argument(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 && process.argv[index + 1] ? process.argv[index + 1] : fallback;
}

function run(command, args, options = {}) {
  execFileSync(command, args, { stdio: ['ignore', 'inherit', 'inherit'], ...options });
}

/** onnxruntime-node's binary folders of the other platforms, as ignore patterns (napi-v* covers its N-API versions). */
function otherRuntimeBinaries(stage, target) {
  const patterns = [];
  const bin = path.join(stage, 'node_modules', 'onnxruntime-node', 'bin');
  for (const napi of existsSync(bin) ? execFileSync('ls', [bin], { encoding: 'utf8' }).split('\n').filter(Boolean) : []) {
    for (const os of execFileSync('ls', [path.join(bin, napi)], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
      for (const cpu of execFileSync('ls', [path.join(bin, napi, os)], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
        if (os !== target.os || cpu !== target.cpu) patterns.push(`node_modules/onnxruntime-node/bin/${napi}/${os}/${cpu}/**`);
      }
    }
  }
  return patterns;
}

function runtimeBinaryExists(stage, target) {
  const bin = path.join(stage, 'node_modules', 'onnxruntime-node', 'bin');
  return execFileSync('ls', [bin], { encoding: 'utf8' }).split('\n').filter(Boolean)
    .some((napi) => existsSync(path.join(bin, napi, target.os, target.cpu, 'onnxruntime_binding.node')));
}

function packageTarget(name, out, vsce) {
  const target = TARGETS[name];
  if (!target) throw new Error(`unknown target ${name}; known: ${Object.keys(TARGETS).join(', ')}`);
  const stage = path.join(ROOT, '.cache', 'package', name);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  for (const entry of SHIPPED) if (existsSync(path.join(ROOT, entry))) cpSync(path.join(ROOT, entry), path.join(stage, entry), { recursive: true });
  // The extension is built already (production); the stage has no sources to build it from.
  const manifest = JSON.parse(readFileSync(path.join(stage, 'package.json'), 'utf8'));
  delete manifest.scripts['vscode:prepublish'];
  writeFileSync(path.join(stage, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
  // Production dependencies for the target's OS and CPU; install scripts off (onnxruntime-node's would fetch a
  // CUDA provider; the CPU runtime is in the package).
  run('npm', ['ci', '--omit=dev', `--os=${target.os}`, `--cpu=${target.cpu}`, '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: stage });
  if (!runtimeBinaryExists(stage, target)) {
    rmSync(stage, { recursive: true, force: true });
    return { name, skipped: `onnxruntime-node ${readFileSync(path.join(ROOT, 'node_modules/onnxruntime-node/package.json'), 'utf8').match(/"version": "([^"]+)"/)[1]} ships no ${target.os}/${target.cpu} binary, so a model could not load there` };
  }
  const sharp = `@img/sharp-${target.os}-${target.cpu}`;
  if (!existsSync(path.join(stage, 'node_modules', sharp))) throw new Error(`${name}: ${sharp} was not installed; @huggingface/transformers needs it`);
  writeFileSync(path.join(stage, '.vscodeignore'), [
    `# Written by scripts/package.mjs for ${name}: everything but this platform's native binaries is left out.`,
    ...ALWAYS_IGNORED, ...otherRuntimeBinaries(stage, target), '',
  ].join('\n'));
  const file = path.join(out, `prompt-or-finetune-${manifest.version}-${name}.vsix`);
  run(process.execPath, [vsce, 'package', '--target', name, '--out', file, '--allow-missing-repository', '--skip-license'], { cwd: stage });
  rmSync(stage, { recursive: true, force: true });
  return { name, file, bytes: statSync(file).size };
}

const out = path.resolve(argument('out', path.join(ROOT, '.cache', 'vsix')));
const targets = argument('targets', DEFAULT_TARGETS.join(',')).split(',').map((target) => target.trim()).filter(Boolean);
const vsce = path.join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
mkdirSync(out, { recursive: true });
run(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs'), '--production'], { cwd: ROOT });
const results = [];
for (const name of targets) results.push(packageTarget(name, out, vsce));
console.log('\ntarget         size      file');
for (const result of results) {
  if (result.skipped) console.log(`${result.name.padEnd(14)} —         not packaged: ${result.skipped}`);
  else console.log(`${result.name.padEnd(14)} ${(result.bytes / 1024 / 1024).toFixed(1).padStart(5)} MB  ${path.relative(ROOT, result.file)}`);
}
