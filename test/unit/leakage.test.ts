/**
 * No demonstration ever shows a query's input with its reference: adversarial records (chat records differing only
 * in their system message, near-duplicates by case, white space and punctuation, a longer conversation that
 * continues into the query's answer), swept over seeds, selection strategies and shot counts, with an oracle written
 * independently of the guard; and the same sweep over the real chat datasets 01 and 13.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspectDataset } from '../../src/engine/dataset/inspect';
import type { Example } from '../../src/engine/dataset/schema';
import { splitExamples } from '../../src/engine/experiment/split';
import type { ChatMessage, Tokenizer } from '../../src/engine/model/languageModel';
import { buildPrompt, type PromptSettings } from '../../src/engine/prompt/builder';
import { contentKey, itemKey } from '../../src/engine/prompt/identity';
import { createSelector, SELECTION_STRATEGIES } from '../../src/engine/prompt/selection';
import { DEFAULT_TEMPLATES } from '../../src/engine/prompt/template';
import { realDataset, sharedMissing } from '../support/paths';

/** A chat template that renders the messages as JSON, so the test reads back exactly what the model would see. */
const jsonChatTokenizer: Tokenizer = {
  encode: (text) => [1, ...text.split(/\s+/).filter(Boolean).map((word) => word.length)],
  decode: (ids) => ids.join(' '),
  countTokens: (text) => text.split(/\s+/).filter(Boolean).length,
  hasChatTemplate: true,
  applyChatTemplate: (messages) => JSON.stringify(messages),
};

const settings: PromptSettings = {
  schema: 'chat', template: DEFAULT_TEMPLATES.chat, chatTemplate: 'auto', contextLength: 1_000_000, reservedOutputTokens: 10, labels: [],
};

/** The oracle's own normalization: letters and digits only, lower case (not the product's code). */
const plain = (text: string): string => [...text.normalize('NFKC').toLowerCase()].filter((char) => /[\p{L}\p{N}]/u.test(char)).join('');

/** Demonstrations in a built chat prompt (every turn before the query's own) that show `query`'s last question with its reference. */
function leaksIn(promptText: string, query: Example): number {
  const messages = JSON.parse(promptText) as ChatMessage[];
  const queryTurns = query.messages!.filter((message) => message.role !== 'system').length;
  const shown = messages.slice(0, messages.length - queryTurns).filter((message) => message.role !== 'system');
  const question = plain([...query.messages!].reverse().find((message) => message.role === 'user')!.content);
  const answer = plain(query.reference);
  let leaks = 0;
  shown.forEach((message, index) => {
    if (message.role === 'user' && plain(message.content) === question && plain(shown[index + 1]?.content ?? '\u0000') === answer) leaks++;
  });
  return leaks;
}

const chat = (line: number, turns: [ChatMessage['role'], string][]): Example => {
  const messages = turns.map(([role, content]) => ({ role, content }));
  const last = messages.length - 1;
  return { line, messages: messages.slice(0, last), reference: messages[last]!.content, context: '', input: messages.slice(0, last).map((m) => `${m.role}: ${m.content}`).join('\n') };
};

/** 13-style records: each question-answer pair under several system messages, near-duplicated, and inside longer talks. */
function adversarialRecords(): Example[] {
  const pairs: [string, string][] = Array.from({ length: 12 }, (_, index) => [`¿Qué ejercicio número ${index} recomiendas?`, `Recomiendo el ejercicio ${index}, tres series.`]);
  const systems = ['Eres un entrenador.', 'Eres un asistente útil.', 'Responde en español.'];
  const records: Example[] = [];
  let line = 1;
  for (const [question, answer] of pairs) {
    for (const system of systems) records.push(chat(line++, [['system', system], ['user', question], ['assistant', answer]]));
    records.push(chat(line++, [['user', question], ['assistant', answer]]));
    records.push(chat(line++, [['user', `  ${question.toUpperCase().replace('?', ' ?')}  `], ['assistant', answer.replace(',', '').replace('.', '!')]]));
    records.push(chat(line++, [['system', 'Hola.'], ['user', 'Hola'], ['assistant', 'Hola, ¿en qué te ayudo?'], ['user', question], ['assistant', answer], ['user', 'Gracias'], ['assistant', 'De nada.']]));
  }
  return records;
}

/** Every held-out query at every k under every strategy and several seeds; returns (prompts, demonstrations, leaks). */
async function sweep(records: readonly Example[], seeds: readonly number[], shots: readonly number[], heldOut = 20): Promise<{ prompts: number; demonstrations: number; leaks: number }> {
  let prompts = 0;
  let demonstrations = 0;
  let leaks = 0;
  for (const seed of seeds) {
    const split = splitExamples(records, heldOut, seed);
    for (const strategy of SELECTION_STRATEGIES) {
      const selector = await createSelector(split.pool, { strategy, seed });
      for (const query of split.heldOut) {
        for (const k of shots) {
          const result = buildPrompt(query, await selector.select(query, k), jsonChatTokenizer, settings);
          assert.ok(result.ok);
          prompts++;
          demonstrations += result.built.shots;
          leaks += leaksIn(result.built.prompt.text, query);
        }
      }
    }
  }
  return { prompts, demonstrations, leaks };
}

test('near-duplicates by case, white space and punctuation share one key; an emoji keeps its own', () => {
  assert.equal(contentKey('  What is 2+2? '), contentKey('what is 2 + 2'));
  assert.equal(contentKey('¿Qué  es ESTO?'), contentKey('qué es esto'));
  assert.notEqual(contentKey('qué es esto'), contentKey('que es esto')); // a different letter is a different text
  assert.equal(contentKey('🙂'), '🙂');
  assert.notEqual(contentKey('🙂'), contentKey('🙁'));
});

test('chat records that differ only in their system message are one item; the split keeps them on one side', () => {
  const records = adversarialRecords();
  assert.equal(itemKey(records[0]!), itemKey(records[1]!));
  assert.equal(itemKey(records[0]!), itemKey(records[3]!));
  assert.equal(itemKey(records[0]!), itemKey(records[4]!)); // the near-duplicate
  assert.notEqual(itemKey(records[0]!), itemKey(records[5]!)); // the longer talk is another item
  for (const seed of [1, 2, 3]) {
    const split = splitExamples(records, 6, seed);
    const heldOutKeys = new Set(split.heldOut.map(itemKey));
    assert.equal(split.heldOut.length, 6);
    assert.equal(split.pool.filter((example) => heldOutKeys.has(itemKey(example))).length, 0);
  }
});

test('over a seeded sweep of adversarial chat records, no demonstration shows the query\'s input with its reference', async () => {
  const records = adversarialRecords();
  const result = await sweep(records, [1, 2, 3, 4, 5], [1, 2, 4, 8]);
  assert.equal(result.leaks, 0);
  assert.equal(result.prompts, 5 * 4 * 4 * 12); // 5 seeds × 4 strategies × 4 k × 12 held-out (half of 24 items)
  assert.ok(result.demonstrations >= result.prompts * 3, String(result.demonstrations));

  // The oracle has teeth: the same prompts with shots chosen by line alone (the query itself excluded) leak.
  const split = splitExamples(records, 20, 1);
  let naiveLeaks = 0;
  for (const query of split.heldOut) {
    const naive = records.filter((example) => example.line !== query.line).slice(0, 40);
    const result = buildPromptUnguarded(query, naive);
    naiveLeaks += leaksIn(result, query);
  }
  assert.ok(naiveLeaks >= split.heldOut.length, String(naiveLeaks));
});

test('the prompt builder refuses a demonstration that shows the query\'s question with its answer', () => {
  const [query, , , , nearDuplicate, longer] = adversarialRecords();
  assert.throws(() => buildPrompt(query!, [nearDuplicate!], jsonChatTokenizer, settings), /line 5 was offered as an example for line 1, but it shows the same input or its answer/);
  assert.throws(() => buildPrompt(query!, [longer!], jsonChatTokenizer, settings), /line 6 was offered as an example for line 1/);
});

test('the real chat datasets 01 and 13: no demonstration shows a query\'s input with its reference', { skip: sharedMissing }, async () => {
  for (const [name, usable] of [['01-openai-toy-chat.jsonl', 4], ['13-messy-pretty-printed-chat-es.jsonl', 24]] as const) {
    const inspection = await inspectDataset(realDataset(name), { collectExamples: true });
    assert.equal(inspection.examples.length, usable, name);
    const result = await sweep(inspection.examples, [1, 2, 3], [1, 2, 4, 8]);
    assert.equal(result.leaks, 0, name);
    // 13-style data with system messages added (the shape that leaked 940 of 2,280 demonstrations before).
    const withSystems = inspection.examples.flatMap((example, index) => ['Eres útil.', 'Sé breve.'].map((system, variant) => {
      const messages: ChatMessage[] = [{ role: 'system', content: system }, ...example.messages!.filter((m) => m.role !== 'system')];
      // As the reader makes it: the input is the conversation before the reference, system message included.
      return { ...example, line: index * 2 + variant + 1, messages, input: messages.map((m) => `${m.role}: ${m.content}`).join('\n') };
    }));
    const systems = await sweep(withSystems, [1, 2, 3], [1, 2, 4, 8]);
    assert.equal(systems.leaks, 0, `${name} with system messages`);
    assert.ok(systems.demonstrations > 0);
  }
});

/** A prompt of all `examples` as chat turns, bypassing selection and the builder's guard (what a naive pool shows). */
function buildPromptUnguarded(query: Example, examples: readonly Example[]): string {
  const messages: ChatMessage[] = [];
  for (const example of examples) messages.push(...example.messages!.filter((m) => m.role !== 'system'), { role: 'assistant', content: example.reference });
  messages.push(...query.messages!.filter((m) => m.role !== 'system'));
  return JSON.stringify(messages);
}
