/**
 * What makes two records "the same item", for the split and for the guard that keeps a query's answer out of
 * its prompt. Identity is the content as the model sees it, normalized so that near-duplicates collide:
 * - text records: the input (and its context);
 * - chat records: every turn but the system message (prompts drop the demonstrations' system messages, so two
 *   conversations differing only there show the model the same thing).
 * A demonstration leaks a query's answer when it shows the query's input followed by the query's reference:
 * the same item, or any (user turn, assistant answer) pair in it that is the query's last user turn and reference.
 */
import type { Example } from '../dataset/schema';

const NOT_LETTER_OR_DIGIT = /[^\p{L}\p{M}\p{N}]+/gu;

/**
 * The form under which two texts count as the same: NFKC, lower case, and every character that is not a letter,
 * mark or digit dropped (punctuation, symbols, white space, control and format characters), so "What is 2+2?"
 * and "what is 2 + 2" collide. Over-merging only shrinks the pool; under-merging would leak answers. Text with no
 * letter or digit at all (an emoji) keeps its lightly normalized form, so it does not collide with every other.
 */
export function contentKey(text: string): string {
  const folded = text.normalize('NFKC').toLowerCase();
  return folded.replace(NOT_LETTER_OR_DIGIT, '') || folded.replace(/\s+/gu, ' ').trim();
}

/** The identity of an item, for the split: what its query shows the model, system messages left out. */
export function itemKey(example: Example): string {
  if (example.messages) {
    const turns = example.messages.filter((message) => message.role !== 'system');
    // A lone user turn is the same item as a text record with that input.
    if (turns.length === 1 && turns[0]!.role === 'user') return contentKey(turns[0]!.content);
    return turns.map((message) => `${message.role}\u0000${contentKey(message.content)}`).join('\u0001');
  }
  return contentKey(example.context ? `${example.input}\n${example.context}` : example.input);
}

/** The query's own question: a chat record's last user turn, else its whole input. */
export function questionKey(example: Example): string {
  if (example.messages) {
    const lastUser = [...example.messages].reverse().find((message) => message.role === 'user');
    if (lastUser) return contentKey(lastUser.content);
  }
  return itemKey(example);
}

/**
 * Every (question, answer) pair a demonstration shows: its own (question, reference) and, for a conversation,
 * each user turn with the assistant turn right after it (system and tool turns between them aside).
 */
export function shownPairs(example: Example): string[] {
  const pairs = [pairKey(questionKey(example), contentKey(example.reference))];
  const turns = (example.messages ?? []).filter((message) => message.role !== 'system');
  turns.forEach((message, index) => {
    if (message.role !== 'user') return;
    const answer = turns.slice(index + 1).find((next) => next.role !== 'tool');
    if (answer?.role === 'assistant') pairs.push(pairKey(contentKey(message.content), contentKey(answer.content)));
  });
  return pairs;
}

const pairKey = (question: string, answer: string): string => `${question}\u0000${answer}`;

/** The keys of one example, computed once: a pool filters every query against every example. */
export interface ItemKeys {
  item: string;
  question: string;
  /** The query's (question, reference) pair. */
  answered: string;
  shown: ReadonlySet<string>;
}

const known = new WeakMap<Example, ItemKeys>();

/** Memoized per record object: the pool, the builder's check and every shot count ask again for the same records. */
export function keysOf(example: Example): ItemKeys {
  const cached = known.get(example);
  if (cached) return cached;
  const question = questionKey(example);
  const keys = { item: itemKey(example), question, answered: pairKey(question, contentKey(example.reference)), shown: new Set(shownPairs(example)) };
  known.set(example, keys);
  return keys;
}

/**
 * True when `demonstration`, shown as a shot, would show the model `query`'s input with its answer, or is the
 * same item: it must not be in the query's prompt.
 */
export function leaksInto(demonstration: ItemKeys, query: ItemKeys): boolean {
  return demonstration.item === query.item || demonstration.shown.has(query.answered);
}
