/**
 * What kind of dataset a file is, and which fields hold the input and the reference output.
 *
 * Detection looks at the keys of the first records. A file may hold both a fine-tuned model's output and a
 * human-written gold answer: both are offered as reference candidates, the model's output first, since the
 * question the tool answers is whether prompting reproduces what the fine-tuned model does.
 */
import type { ChatMessage } from '../model/languageModel';

export const SCHEMA_NAMES = ['chat', 'prompt-completion', 'instruction', 'classification', 'input-output', 'unknown'] as const;
export type SchemaName = (typeof SCHEMA_NAMES)[number];

/** Field paths: dot-separated keys, numeric segments index arrays (`1.choices.0.text`). */
export interface FieldMapping {
  input: string | null;
  /** Extra input that goes with the main one (Alpaca `input`, Dolly `context`). */
  context: string | null;
  reference: string | null;
  label: string | null;
}

export type ReferenceKind = 'model-output' | 'gold';

export interface ReferenceCandidate {
  path: string;
  kind: ReferenceKind;
}

export interface SchemaDetection {
  schema: SchemaName;
  fields: FieldMapping;
  referenceCandidates: ReferenceCandidate[];
}

/** The reference of a chat record is the last assistant message; everything before it is the input. */
export const CHAT_INPUT = 'messages';
export const CHAT_REFERENCE = 'messages[last assistant]';

const MODEL_OUTPUT_NAMES = ['response', 'prediction', 'predictions', 'model_output', 'generated', 'generation', 'completion', 'output', 'filtered_resps', 'resps'];
const GOLD_NAMES = ['target', 'gold', 'ground_truth', 'reference', 'expected_output', 'expected', 'answer', 'solution', 'label', 'targets'];
const INPUT_NAMES = ['prompt', 'instruction', 'question', 'input', 'query', 'text', 'sentence', 'source', 'src', 'problem', 'document', 'content'];
const LABEL_NAMES = ['label', 'labels', 'category', 'class', 'sentiment', 'intent', 'emotion', 'stars', 'rating'];
const CLASSIFICATION_TEXT_NAMES = ['text', 'sentence', 'review', 'content', 'document', 'tweet', 'comment', 'input'];

const EMPTY_FIELDS: FieldMapping = { input: null, context: null, reference: null, label: null };

/** Detects the schema from a sample of records (the first few hundred are plenty). */
export function detectSchema(sample: readonly Record<string, unknown>[]): SchemaDetection {
  if (sample.length === 0) return { schema: 'unknown', fields: { ...EMPTY_FIELDS }, referenceCandidates: [] };
  const share = (predicate: (record: Record<string, unknown>) => boolean): number =>
    sample.filter(predicate).length / sample.length;
  const hasKey = (key: string): boolean => share((record) => Object.hasOwn(record, key) && record[key] !== undefined) >= 0.5;

  if (share((record) => Array.isArray(record.messages)) >= 0.5) {
    return { schema: 'chat', fields: { ...EMPTY_FIELDS, input: CHAT_INPUT, reference: CHAT_REFERENCE }, referenceCandidates: [{ path: CHAT_REFERENCE, kind: 'model-output' }] };
  }
  const present = (names: readonly string[]): string[] => names.filter(hasKey);
  const commonKeys = [...new Set(sample.flatMap((record) => Object.keys(record)))].filter(hasKey);
  const candidates = referenceCandidates(present([...MODEL_OUTPUT_NAMES, ...GOLD_NAMES]), commonKeys);

  if (hasKey('prompt') && hasKey('completion')) {
    return withReference('prompt-completion', { ...EMPTY_FIELDS, input: 'prompt' }, candidates.filter((c) => c.path !== 'prompt'), 'completion');
  }
  if (hasKey('instruction') && candidates.length > 0) {
    const context = hasKey('input') ? 'input' : hasKey('context') ? 'context' : null;
    return withReference('instruction', { ...EMPTY_FIELDS, input: 'instruction', context }, candidates.filter((c) => c.path !== 'input'));
  }
  const label = present(LABEL_NAMES).find((key) => looksLikeLabels(sample.map((record) => record[key])));
  const labelText = present(CLASSIFICATION_TEXT_NAMES).find((key) => key !== label);
  if (label && labelText) {
    return { schema: 'classification', fields: { ...EMPTY_FIELDS, input: labelText, reference: label, label }, referenceCandidates: [{ path: label, kind: 'gold' }] };
  }
  const input = present(INPUT_NAMES).find((key) => !candidates.some((c) => c.path === key) || candidates.length > 1);
  const outputs = candidates.filter((c) => c.path !== input);
  if (input && outputs.length > 0) {
    return withReference('input-output', { ...EMPTY_FIELDS, input }, outputs);
  }
  return detectNested(sample);
}

/**
 * Records whose input and output sit one or more levels down: an API results file read as
 * `{"0": request, "1": response}`, or evaluation logs with a `doc` object.
 */
function detectNested(sample: readonly Record<string, unknown>[]): SchemaDetection {
  const counts = new Map<string, number>();
  for (const record of sample) {
    for (const path of leafPaths(record, '', 0)) counts.set(path, (counts.get(path) ?? 0) + 1);
  }
  const common = [...counts].filter(([, count]) => count >= sample.length / 2).map(([path]) => path);
  const lastSegment = (path: string): string => path.split('.').filter((segment) => !/^\d+$/.test(segment)).pop() ?? '';
  const byName = (names: readonly string[]): string[] =>
    names.flatMap((name) => common.filter((path) => lastSegment(path) === name));
  const chatContent = common.find((path) => /(^|\.)message\.content$/.test(path));
  const choiceText = common.find((path) => /(^|\.)choices\.0\.text$/.test(path));
  const modelOutputs = [chatContent, choiceText, ...byName(MODEL_OUTPUT_NAMES)].filter((path): path is string => !!path);
  const gold = byName(GOLD_NAMES);
  const inputs = byName(INPUT_NAMES).filter((path) => !modelOutputs.includes(path) && !gold.includes(path));
  // `resps`, `resps.0` and `resps.0.0` are one field (asText unwraps one-element arrays): keep the shortest.
  const indexInto = (path: string, paths: readonly string[]): boolean =>
    paths.some((other) => path.startsWith(`${other}.`) && /^(\.\d+)+$/.test(path.slice(other.length)));
  const candidates: ReferenceCandidate[] = dedupe([
    ...modelOutputs.map((path) => ({ path, kind: 'model-output' as const })),
    ...gold.map((path) => ({ path, kind: 'gold' as const })),
  ]).filter((candidate, _, all) => !indexInto(candidate.path, all.map((other) => other.path)));
  const input = inputs[0];
  if (input && candidates.length > 0) return withReference('input-output', { ...EMPTY_FIELDS, input }, candidates);
  return { schema: 'unknown', fields: { ...EMPTY_FIELDS }, referenceCandidates: candidates };
}

function leafPaths(value: unknown, prefix: string, depth: number): string[] {
  const child = (key: string): string => (prefix ? `${prefix}.${key}` : key);
  if (value === null || typeof value !== 'object' || depth > 4) return prefix ? [prefix] : [];
  // An array is a field in itself (lm-eval's `filtered_resps`), and its first element shows its shape.
  if (Array.isArray(value)) return [...(prefix ? [prefix] : []), ...(value.length ? leafPaths(value[0], child('0'), depth + 1) : [])];
  return Object.entries(value).flatMap(([key, nested]) => leafPaths(nested, child(key), depth + 1));
}

function dedupe(candidates: ReferenceCandidate[]): ReferenceCandidate[] {
  const seen = new Set<string>();
  return candidates.filter((candidate) => !seen.has(candidate.path) && seen.add(candidate.path));
}

/** Field names that say "a model wrote this" or "the right answer" without being one of the names above. */
const MODEL_OUTPUT_PATTERN = /pred|generat|model_?(output|answer|response|completion)|fine_?tuned|finetune|^ft_|_output$|_response$|_completion$/i;
const GOLD_PATTERN = /gold|target|ground_?truth|expected|reference|correct_?answer|_answer$|_label$/i;

function referenceCandidates(keys: readonly string[], allKeys: readonly string[] = []): ReferenceCandidate[] {
  const named = new Set(keys);
  const byPattern = allKeys.filter((key) => !named.has(key) && !INPUT_NAMES.includes(key));
  const modelOutputs = [...keys.filter((key) => MODEL_OUTPUT_NAMES.includes(key) && key !== 'output'), ...byPattern.filter((key) => MODEL_OUTPUT_PATTERN.test(key))];
  const gold = [...keys.filter((key) => GOLD_NAMES.includes(key)), ...byPattern.filter((key) => !MODEL_OUTPUT_PATTERN.test(key) && GOLD_PATTERN.test(key))];
  // `output` is what the model was trained to give: a model output when no other field says so, else the gold side.
  const output = keys.includes('output') ? [{ path: 'output', kind: (modelOutputs.length ? 'gold' : 'model-output') as ReferenceKind }] : [];
  return dedupe([
    ...modelOutputs.map((path) => ({ path, kind: 'model-output' as const })),
    ...output,
    ...gold.map((path) => ({ path, kind: 'gold' as const })),
  ]).sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'model-output' ? -1 : 1));
}

function withReference(schema: SchemaName, fields: FieldMapping, candidates: ReferenceCandidate[], preferred?: string): SchemaDetection {
  const ordered = preferred ? [...candidates.filter((c) => c.path === preferred), ...candidates.filter((c) => c.path !== preferred)] : candidates;
  return { schema, fields: { ...fields, reference: ordered[0]?.path ?? null }, referenceCandidates: ordered };
}

/** Labels are short strings or integers with few distinct values. */
function looksLikeLabels(values: readonly unknown[]): boolean {
  const present = values.filter((value) => value !== undefined && value !== null);
  if (present.length === 0) return false;
  const labelLike = present.every((value) => (typeof value === 'string' && value.length <= 40) || Number.isInteger(value) || typeof value === 'boolean');
  if (!labelLike) return false;
  const distinct = new Set(present.map(String)).size;
  return distinct <= Math.max(2, Math.min(100, present.length / 2));
}

/** One record as the rest of the pipeline sees it. */
export interface Example {
  /** 1-based line where the record starts. */
  line: number;
  /** The input as plain text (chat: the conversation before the reference, one turn a line). */
  input: string;
  /** Chat records: the conversation before the reference. */
  messages?: ChatMessage[];
  /** Extra input (Alpaca `input`, Dolly `context`), empty when none. */
  context: string;
  reference: string;
  /** Classification: the label as a string. */
  label?: string;
}

export type Extraction = { ok: true; example: Example } | { ok: false; reason: string };

/**
 * Reads a value at a field path; `undefined` where any segment is missing. Only the record's own properties
 * count: a path such as `__proto__` or `constructor` names data, never what every object inherits.
 */
export function valueAt(record: unknown, path: string): unknown {
  // A top-level field (the usual mapping) without split's array: this runs for every record of a scan.
  if (!path.includes('.')) {
    return record !== null && typeof record === 'object' && Object.hasOwn(record, path) ? (record as Record<string, unknown>)[path] : undefined;
  }
  let current: unknown = record;
  for (const segment of path.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/** Text of a field value: strings as they are, numbers and booleans printed, objects as compact JSON. */
export function asText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.length === 1 && typeof value[0] === 'string') return value[0];
  if (Array.isArray(value) && value.length === 1 && Array.isArray(value[0]) && typeof value[0][0] === 'string') return value[0][0];
  return JSON.stringify(value);
}

/**
 * The top-level fields that extractExample takes a record's input, context and reference from as they are,
 * when they hold strings (asText leaves a string alone); null where it takes them otherwise (a chat's
 * messages, a nested path) or takes none.
 */
export function topLevelFields(schema: SchemaName, fields: FieldMapping): { input: string; context: string | null; reference: string } | null {
  if (schema === 'chat' && fields.input === CHAT_INPUT && fields.reference === CHAT_REFERENCE) return null;
  if (!fields.input || !fields.reference) return null;
  // An empty context path reads no context, as extractExample does.
  const context = fields.context || null;
  if ([fields.input, fields.reference, context].some((path) => path !== null && path.includes('.'))) return null;
  return { input: fields.input, context, reference: fields.reference };
}

/** Turns a record into an Example under a schema and field mapping, or says why it cannot. */
export function extractExample(record: Record<string, unknown>, line: number, schema: SchemaName, fields: FieldMapping): Extraction {
  if (schema === 'chat' && fields.input === CHAT_INPUT && fields.reference === CHAT_REFERENCE) return extractChat(record, line);
  if (!fields.input) return { ok: false, reason: 'no input field is mapped' };
  if (!fields.reference) return { ok: false, reason: 'no reference field is mapped' };
  const input = asText(valueAt(record, fields.input));
  if (input === undefined) return { ok: false, reason: `no "${fields.input}" field` };
  const reference = asText(valueAt(record, fields.reference));
  if (reference === undefined) return { ok: false, reason: `no "${fields.reference}" field` };
  const context = fields.context ? asText(valueAt(record, fields.context)) ?? '' : '';
  const example: Example = { line, input, context, reference };
  const label = fields.label ? asText(valueAt(record, fields.label)) : undefined;
  if (label !== undefined) example.label = label;
  return { ok: true, example };
}

/**
 * Roles as they are written in the data, to the role they are. A Map, not an object literal: a role named
 * `constructor` or `__proto__` must not find what every object inherits. Older OpenAI chat data calls a tool's
 * answer a `function` message.
 */
const ROLES = new Map<string, ChatMessage['role']>([
  ['system', 'system'], ['user', 'user'], ['assistant', 'assistant'], ['tool', 'tool'], ['function', 'tool'], ['developer', 'system'],
]);

function extractChat(record: Record<string, unknown>, line: number): Extraction {
  const raw = Object.hasOwn(record, 'messages') ? record.messages : undefined;
  if (!Array.isArray(raw)) return { ok: false, reason: 'no "messages" array' };
  const messages: ChatMessage[] = [];
  for (const [index, message] of raw.entries()) {
    if (message === null || typeof message !== 'object') return { ok: false, reason: `messages[${index}] is not an object` };
    const { role, content, tool_calls: toolCalls } = ownFields(message, ['role', 'content', 'tool_calls']);
    const known = typeof role === 'string' ? ROLES.get(role) : undefined;
    if (!known) return { ok: false, reason: `messages[${index}] has no valid role (system, user, assistant or tool)` };
    const { function_call: functionCall } = ownFields(message, ['function_call']);
    const calls = Array.isArray(toolCalls) && toolCalls.length ? describeToolCalls(toolCalls)
      : functionCall && typeof functionCall === 'object' ? describeToolCalls([{ function: functionCall }]) : '';
    messages.push({ role: known, content: [contentText(content), calls].filter(Boolean).join('\n') });
  }
  const last = messages.map((message) => message.role).lastIndexOf('assistant');
  if (last === -1) return { ok: false, reason: 'no assistant message to compare with' };
  const before = messages.slice(0, last);
  if (!before.some((message) => message.role === 'user')) return { ok: false, reason: 'no user message before the last assistant message' };
  return {
    ok: true,
    example: {
      line, messages: before, context: '',
      input: before.map((message) => `${message.role}: ${message.content}`).join('\n'),
      reference: messages[last]!.content,
    },
  };
}

/** The named fields of a parsed object that it really has (not inherited ones such as `constructor`). */
function ownFields(value: object, names: readonly string[]): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const name of names) if (Object.hasOwn(value, name)) fields[name] = (value as Record<string, unknown>)[name];
  return fields;
}

/** Message content as text: a string, or the text parts of a multi-part content array. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (content == null) return '';
  if (Array.isArray(content)) {
    const texts = content.map((part) => (typeof part === 'string' ? part : typeof (part as { text?: unknown })?.text === 'string' ? (part as { text: string }).text : null));
    if (texts.every((text) => text !== null)) return texts.join('');
  }
  return JSON.stringify(content);
}

/** Tool calls compared as text: `name(arguments)` one per line, arguments as the model wrote them. */
function describeToolCalls(calls: readonly unknown[]): string {
  return calls.map((call) => {
    const fn = (call as { function?: { name?: unknown; arguments?: unknown } }).function;
    const name = typeof fn?.name === 'string' ? fn.name : 'tool';
    const args = typeof fn?.arguments === 'string' ? fn.arguments : JSON.stringify(fn?.arguments ?? {});
    return `${name}(${args})`;
  }).join('\n');
}

/** Parses a user's mapping override such as `input=question,reference=answer`. */
export function parseFieldOverride(text: string): Partial<FieldMapping> {
  const override: Partial<FieldMapping> = {};
  for (const part of text.split(',').map((piece) => piece.trim()).filter(Boolean)) {
    const [key, value] = part.split('=').map((piece) => piece.trim());
    if (key !== 'input' && key !== 'reference' && key !== 'label' && key !== 'context') {
      throw new RangeError(`unknown field "${key}" in "${text}": use input=, reference=, label= or context=`);
    }
    override[key] = value ? value : null;
  }
  return override;
}
