// Every string the extension passes to vscode.l10n.t (through src/extension/l10n.ts's t) is in the English source
// bundle, and every %key% of package.json is in package.nls.json: a missing one would show its key to the user.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const read = (file: string): string => readFileSync(path.join(root, file), 'utf8');

test('every t() message of the extension is in l10n/bundle.l10n.json', () => {
  const bundle = JSON.parse(read('l10n/bundle.l10n.json')) as Record<string, string>;
  const messages = new Set<string>();
  for (const name of readdirSync(path.join(root, 'src/extension'))) {
    if (!name.endsWith('.ts')) continue;
    for (const match of read(`src/extension/${name}`).matchAll(/\bt\(\s*(['"])((?:\\.|(?!\1).)*)\1/g)) messages.add(match[2]!.replace(/\\'/g, "'"));
  }
  assert.ok(messages.size > 10, `only ${messages.size} messages found`);
  assert.deepEqual([...messages].filter((message) => !(message in bundle)), []);
});

test('every %key% in package.json has its text in package.nls.json', () => {
  const nls = JSON.parse(read('package.nls.json')) as Record<string, string>;
  const keys = [...read('package.json').matchAll(/"%([^"%]+)%"/g)].map((match) => match[1]!);
  assert.ok(keys.length > 40, `only ${keys.length} keys`);
  assert.deepEqual(keys.filter((key) => !(key in nls)), []);
});

test('every setting has a scope, and every command an icon', () => {
  const manifest = JSON.parse(read('package.json')) as { contributes: { configuration: { properties: Record<string, { scope?: string }> }; commands: { command: string; icon?: string }[] } };
  assert.deepEqual(Object.entries(manifest.contributes.configuration.properties).filter(([, property]) => !property.scope).map(([name]) => name), []);
  assert.deepEqual(manifest.contributes.commands.filter((command) => !command.icon).map((command) => command.command), []);
});
