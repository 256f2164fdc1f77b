/**
 * Builds the few-shot prompt for one query: the chosen examples, in the template or the model's chat
 * template, within the token budget. The budget drops the least relevant examples; it never cuts the query.
 */
import type { Example, SchemaName } from '../dataset/schema';
import type { ChatMessage, PromptInput, Tokenizer } from '../model/languageModel';
import { keysOf, leaksInto } from './identity';
import { answerEnd, answerLead, renderExample, renderInstruction, renderQuery, validateTemplate, type PromptTemplate } from './template';

export interface PromptSettings {
  schema: SchemaName;
  template: PromptTemplate;
  /** 'auto' uses the model's chat template when it has one. */
  chatTemplate: 'auto' | 'never';
  contextLength: number;
  /** Tokens kept free for the model's answer. */
  reservedOutputTokens: number;
  /** Known labels (classification), for the instruction. */
  labels: readonly string[];
  /**
   * Where the examples stand: 'most-relevant-last' (default) puts the first one given next to the query, for a
   * selector that ranks examples per query; 'as-given' keeps their order, for a fixed prompt (selection.ts), so
   * that k shots are the beginning of 2k's and the prompts nest.
   */
  exampleOrder?: 'most-relevant-last' | 'as-given';
}

export interface BuiltPrompt {
  prompt: PromptInput;
  /** Shots that made it into the prompt. */
  shots: number;
  /** Lines of the examples used, in prompt order. */
  exampleLines: number[];
  /** Examples asked for but dropped to stay within the budget. */
  droppedForBudget: number;
  promptTokens: number;
  stopSequences: string[];
  usesChatTemplate: boolean;
  /**
   * What the answer brings before the reference (" " after a query ending "Label:"); empty with a chat template.
   * Scoring conditions on `prompt` and scores `answerLead + reference`; a generated output loses it before comparing.
   */
  answerLead: string;
  /**
   * What ends the answer: the template's end as the demonstrations show it (`answerEnd`), or with a chat template
   * its end-of-turn token. Scoring `answerLead + reference + answerEnd` measures "says the reference, then stops".
   */
  answerEnd: string;
}

export type PromptResult = { ok: true; built: BuiltPrompt } | { ok: false; reason: string; promptTokens: number };

/**
 * `examples` come in the selector's order of preference; in the prompt the first stands nearest the query, or
 * first of all with `exampleOrder: 'as-given'`. The budget drops from the end of that order either way.
 * The caller guarantees (via ExamplePool) that none of them is the query, the same item or one that shows the
 * query's question with its answer; this function checks it once more, since a leak would make every score
 * meaningless.
 */
export function buildPrompt(query: Example, examples: readonly Example[], tokenizer: Tokenizer, settings: PromptSettings): PromptResult {
  if (examples.some((example) => example.line === query.line)) throw new Error(`line ${query.line} was offered as its own example`);
  const queryKeys = keysOf(query);
  const leaking = examples.find((example) => leaksInto(keysOf(example), queryKeys));
  if (leaking) throw new Error(`line ${leaking.line} was offered as an example for line ${query.line}, but it shows the same input or its answer`);
  return assemblePrompt(query, examples, tokenizer, settings);
}

/**
 * `buildPrompt` without the leak check, for measuring prompt sizes only (the shot estimate pairs records with
 * whatever record is at hand); never for a prompt a model answers.
 */
export function assemblePrompt(query: Example, examples: readonly Example[], tokenizer: Tokenizer, settings: PromptSettings): PromptResult {
  validateTemplate(settings.template);
  const useChat = settings.chatTemplate === 'auto' && tokenizer.hasChatTemplate;
  const budget = settings.contextLength - settings.reservedOutputTokens;
  const render = (count: number): { prompt: PromptInput; tokens: number } => {
    const chosen = examples.slice(0, count);
    const prompt = useChat ? chatPrompt(query, chosen, tokenizer, settings) : textPrompt(query, chosen, settings);
    return { prompt, tokens: tokenizer.encode(prompt.text, { addSpecialTokens: prompt.addSpecialTokens }).length };
  };
  // The most relevant examples that fit: all of them usually; else the longest prefix that fits, found by
  // bisection (about log₂ k tokenizations), so one long example does not push out the short ones before it.
  let best = render(examples.length);
  let count = examples.length;
  if (best.tokens > budget) {
    let fits = -1;
    let low = 0;
    let high = examples.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const attempt = render(middle);
      if (attempt.tokens <= budget) {
        fits = middle;
        best = attempt;
        low = middle + 1;
      } else {
        high = middle - 1;
        if (middle === 0) best = attempt;
      }
    }
    if (fits === -1) {
      return { ok: false, reason: `the query alone takes ${best.tokens} tokens, more than the ${budget} left after reserving ${settings.reservedOutputTokens} for the answer`, promptTokens: best.tokens };
    }
    count = fits;
  }
  return {
    ok: true,
    built: {
      prompt: best.prompt, shots: count, exampleLines: inPromptOrder(examples.slice(0, count), settings).map((example) => example.line),
      droppedForBudget: examples.length - count, promptTokens: best.tokens,
      stopSequences: useChat ? [] : settings.template.stopSequences, usesChatTemplate: useChat,
      answerLead: useChat ? '' : answerLead(settings.template, query),
      answerEnd: useChat ? chatAnswerEnd(tokenizer) : answerEnd(settings.template, query),
    },
  };
}

function inPromptOrder(examples: readonly Example[], settings: PromptSettings): readonly Example[] {
  return settings.exampleOrder === 'as-given' ? examples : [...examples].reverse();
}

function textPrompt(query: Example, examples: readonly Example[], settings: PromptSettings): PromptInput {
  const { template } = settings;
  const parts: string[] = [];
  const instruction = renderInstruction(template, settings.labels);
  if (instruction) parts.push(instruction);
  for (const example of inPromptOrder(examples, settings)) parts.push(renderExample(template, example));
  parts.push(renderQuery(template, query));
  return { text: parts.join(template.separator), addSpecialTokens: true };
}

/**
 * Chat: each example becomes its own turns (its conversation, then the reference as the assistant's turn),
 * the query's conversation comes last; one system message, the query's, stays first.
 */
function chatPrompt(query: Example, examples: readonly Example[], tokenizer: Tokenizer, settings: PromptSettings): PromptInput {
  const turns = (example: Example): ChatMessage[] =>
    example.messages ?? [{ role: 'user', content: renderQuery(settings.template, example).trimEnd() }];
  const queryTurns = turns(query);
  const system = queryTurns.filter((message) => message.role === 'system');
  const instruction = renderInstruction(settings.template, settings.labels);
  const messages: ChatMessage[] = [
    ...(system.length ? system : instruction ? [{ role: 'system' as const, content: instruction }] : []),
  ];
  for (const example of inPromptOrder(examples, settings)) {
    messages.push(...turns(example).filter((message) => message.role !== 'system'), { role: 'assistant', content: example.reference });
  }
  messages.push(...queryTurns.filter((message) => message.role !== 'system'));
  return { text: tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true }), addSpecialTokens: false };
}

const chatEnds = new WeakMap<Tokenizer, string>();

/**
 * The chat template's end of an assistant turn: the first token the template writes after the assistant's content
 * (`<|im_end|>` for ChatML), found by rendering a probe conversation once per tokenizer. Empty when the template
 * rewrites past turns (some insert reasoning blocks), so the probe cannot be found.
 */
export function chatAnswerEnd(tokenizer: Tokenizer): string {
  const known = chatEnds.get(tokenizer);
  if (known !== undefined) return known;
  const probe = 'Probe answer 7Q';
  const question: ChatMessage[] = [{ role: 'user', content: 'Probe question' }];
  let end = '';
  try {
    const prompt = tokenizer.applyChatTemplate(question, { addGenerationPrompt: true });
    const full = tokenizer.applyChatTemplate([...question, { role: 'assistant', content: probe }], { addGenerationPrompt: false });
    if (full.startsWith(prompt + probe)) {
      const ids = tokenizer.encode(full.slice(prompt.length + probe.length), { addSpecialTokens: false });
      if (ids.length) end = tokenizer.decode([ids[0]!], { skipSpecialTokens: false });
    }
  } catch {
    // A template that refuses the probe conversation: no end found, and the report says so.
  }
  chatEnds.set(tokenizer, end);
  return end;
}
