/**
 * Prompt templates: how one example, and the query, read in a few-shot prompt.
 *
 * A template is plain text with placeholders `{input}`, `{context}`, `{reference}` and `{labels}`.
 * `[[ … ]]` marks an optional section, dropped when a placeholder inside it is empty (Alpaca's
 * "### Input:" when a record has no input). The query is the example template cut just before `{reference}`.
 */
import type { Example, SchemaName } from '../dataset/schema';

export interface PromptTemplate {
  /** Text before the examples; may use `{labels}`. */
  instruction: string;
  /** One example; must contain `{reference}`. */
  example: string;
  /** Between examples, and between the last example and the query. */
  separator: string;
  /** Generation stops at any of these (the start of a next example). */
  stopSequences: string[];
}

export const DEFAULT_TEMPLATES: Record<SchemaName, PromptTemplate> = {
  // Legacy OpenAI fine-tuning data: the prompt already ends with its separator, the completion with its stop.
  'prompt-completion': { instruction: '', example: '{input}{reference}', separator: '\n', stopSequences: ['\n'] },
  instruction: {
    instruction: 'Below are instructions that describe tasks, each followed by a response that completes it.',
    example: '### Instruction:\n{input}\n\n[[### Input:\n{context}\n\n]]### Response:\n{reference}',
    separator: '\n\n',
    stopSequences: ['### Instruction:', '\n\n\n'],
  },
  classification: {
    instruction: 'Classify each text as one of: {labels}.',
    example: 'Text: {input}\nLabel: {reference}',
    separator: '\n\n',
    stopSequences: ['\n'],
  },
  'input-output': { instruction: '', example: 'Input: {input}\n[[Context: {context}\n]]Output: {reference}', separator: '\n\n', stopSequences: ['\nInput:', '\n\n\n'] },
  // Chat records without a chat template in the model: turns as plain text.
  chat: { instruction: '', example: '{input}\nassistant: {reference}', separator: '\n\n', stopSequences: ['\nuser:', '\n\n\n'] },
  unknown: { instruction: '', example: 'Input: {input}\nOutput: {reference}', separator: '\n\n', stopSequences: ['\nInput:'] },
};

/** The schema's default template with the user's overrides, field by field. */
export function templateFor(schema: SchemaName, overrides: Partial<PromptTemplate> | undefined): PromptTemplate {
  const template = { ...DEFAULT_TEMPLATES[schema], ...overrides };
  validateTemplate(template);
  return template;
}

/** Checks a template read from a setting or a file; the message names what is wrong. */
export function parseTemplate(value: unknown, where: string): Partial<PromptTemplate> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new RangeError(`${where}: a template is an object with instruction, example, separator and stopSequences`);
  const template: Partial<PromptTemplate> = {};
  for (const [key, field] of Object.entries(value)) {
    if (key === 'instruction' || key === 'example' || key === 'separator') {
      if (typeof field !== 'string') throw new RangeError(`${where}: "${key}" must be a string`);
      template[key] = field;
    } else if (key === 'stopSequences') {
      if (!Array.isArray(field) || !field.every((stop) => typeof stop === 'string')) throw new RangeError(`${where}: "stopSequences" must be a list of strings`);
      template.stopSequences = field;
    } else throw new RangeError(`${where}: unknown template field "${key}" (instruction, example, separator, stopSequences)`);
  }
  if (template.example !== undefined) validateTemplate({ ...DEFAULT_TEMPLATES.unknown, ...template });
  return template;
}

export function validateTemplate(template: PromptTemplate): void {
  const example = template.example;
  const at = example.indexOf('{reference}');
  if (at === -1) throw new RangeError('the example template must contain {reference}, where the model writes its answer');
  if (example.indexOf('{reference}', at + 1) !== -1) throw new RangeError('the example template must contain {reference} once: the query is the text before it');
  const before = example.slice(0, at);
  if ((before.match(/\[\[/g) ?? []).length !== (before.match(/\]\]/g) ?? []).length) throw new RangeError('{reference} must not stand inside an optional [[…]] section');
  if (!before.includes('{input}')) throw new RangeError('the example template must contain {input} before {reference}, or the query would not be in the prompt');
}

interface Values {
  input: string;
  context: string;
  reference: string;
  labels: string;
}

/** Fills placeholders, dropping optional sections whose placeholders are empty. */
export function fill(text: string, values: Partial<Values>): string {
  const withSections = text.replace(/\[\[([\s\S]*?)\]\]/g, (_, section: string) => {
    const names = [...section.matchAll(/\{(input|context|reference|labels)\}/g)].map((match) => match[1] as keyof Values);
    return names.some((name) => !values[name]) ? '' : section;
  });
  return withSections.replace(/\{(input|context|reference|labels)\}/g, (_, name: keyof Values) => values[name] ?? '');
}

/** One example, as it reads among the shots. */
export function renderExample(template: PromptTemplate, example: Example): string {
  return fill(template.example, { input: example.input, context: example.context, reference: example.reference });
}

/**
 * The query: the example template up to `{reference}`, filled with the query's input, without its trailing spaces
 * ("Label:", not "Label: "). A prompt ending in a lone space token conditions generation on a token that scoring,
 * which tokenizes prompt and reference together, merges into the reference's first word: the two would see
 * different prompts. The spaces go to the answer's side instead (`answerLead`).
 */
export function renderQuery(template: PromptTemplate, example: Example): string {
  return splitQuery(template, example).query;
}

/** What the answer brings before the reference: the spaces cut from the end of the query (" " after "Label:"). */
export function answerLead(template: PromptTemplate, example: Example): string {
  return splitQuery(template, example).lead;
}

function splitQuery(template: PromptTemplate, example: Example): { query: string; lead: string } {
  const head = fill(template.example.slice(0, template.example.indexOf('{reference}')), { input: example.input, context: example.context });
  const lead = /[ \t]*$/.exec(head)![0];
  return { query: head.slice(0, head.length - lead.length), lead };
}

/**
 * The end of an answer as the demonstrations show it: the text that follows a reference in a few-shot prompt (the
 * rest of the example, the separator, the start of the next example), up to and including the first stop sequence
 * in it, where generation would stop ("\n" for classification, "\n\nInput:" for input/output pairs). The measured
 * ε scores the reference followed by this end, so "the model says the reference and stops" is what is measured,
 * not "the model's answer starts with the reference". Empty when no stop sequence follows a reference.
 */
export function answerEnd(template: PromptTemplate, query: Example): string {
  // After the last demonstration's reference come the rest of its example, the separator and the query.
  const tail = fill(template.example.slice(template.example.indexOf('{reference}') + '{reference}'.length), {});
  const after = tail + template.separator + renderQuery(template, query);
  let end = '';
  let endsAt = Number.POSITIVE_INFINITY;
  for (const stop of template.stopSequences) {
    const at = stop ? after.indexOf(stop) : -1;
    if (at !== -1 && at + stop.length < endsAt) {
      endsAt = at + stop.length;
      end = after.slice(0, endsAt);
    }
  }
  return end;
}

export function renderInstruction(template: PromptTemplate, labels: readonly string[]): string {
  return fill(template.instruction, { labels: labels.join(', ') });
}
