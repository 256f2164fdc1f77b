/**
 * Token counts from the server itself (`/tokenize` at the server root, llama-server's and vLLM's), so k_fit,
 * the prompt budget and the ids sent are the served model's own.
 *
 * The prompt builder and the estimate call a synchronous `encode`; an HTTP answer is asynchronous. Rather than
 * block a thread per call or duplicate the builder as async code, this tokenizer keeps every encoding it fetched
 * and offers `settle(compute)`: it runs the (pure, synchronous) computation, answering what it knows and
 * recording what it does not (answering those with a length estimate, whose result is thrown away), fetches the
 * recorded texts together (requests in parallel, bounded by the client), and runs the computation again until it
 * asked for nothing new. The builder's bisection needs about log₂ k rounds; a run settles a batch of 8 prompts at
 * once, so a round costs one round trip. Outside `settle` a miss throws: an estimate never passes as a count.
 */
import type { ChatMessage, Tokenizer } from '../languageModel';
import type { EndpointClient } from './httpClient';

/** Which request shape the server's /tokenize and /detokenize take. */
export type TokenizeDialect = 'llama.cpp' | 'vllm';

/** Renders messages with the server's own chat template (chattemplate.ts), as the text its chat route sees. */
export type ChatRenderer = (messages: readonly ChatMessage[], signal?: AbortSignal) => Promise<string>;

/** A computation that still asks for new encodings after this many rounds is not converging: a bug, said so. */
const MAX_ROUNDS = 40;

export class ServerTokenizer implements Tokenizer {
  readonly hasChatTemplate: boolean;
  private readonly encodings = new Map<string, number[]>();
  private readonly decodings = new Map<string, string>();
  /** Rendered chat prompts by their messages, and the messages by the rendered text (for the chat route). */
  private readonly rendered = new Map<string, string>();
  private readonly conversations = new Map<string, ChatMessage[]>();
  private recording: { encode: Set<string>; decode: Set<string>; render: Set<string> } | null = null;
  /** Characters per token over what was fetched: makes a miss's stand-in length close, so rounds are few. */
  private characters = 0;
  private tokens = 0;

  /** `chat`: the server's chat template, used only when the user asked for it; else prompts are plain text. */
  constructor(private readonly client: EndpointClient, private readonly dialect: TokenizeDialect, private readonly model: string, private readonly chat?: ChatRenderer) {
    this.hasChatTemplate = chat !== undefined;
  }

  encode(text: string, options?: { addSpecialTokens?: boolean }): number[] {
    const key = encodingKey(text, options?.addSpecialTokens ?? true);
    const known = this.encodings.get(key);
    if (known) return known;
    if (!this.recording) throw new Error(`The server's token ids for a ${text.length}-character text were not fetched: count tokens inside settleTokens().`);
    this.recording.encode.add(key);
    const ratio = this.tokens > 0 ? this.characters / this.tokens : 4;
    return new Array<number>(Math.max(1, Math.round(text.length / ratio))).fill(-1);
  }

  countTokens(text: string): number {
    return this.encode(text, { addSpecialTokens: false }).length;
  }

  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string {
    const key = JSON.stringify([options?.skipSpecialTokens ?? false, ids]);
    const known = this.decodings.get(key);
    if (known !== undefined) return known;
    if (!this.recording) throw new Error('The server has not decoded these ids yet: decode inside settleTokens().');
    this.recording.decode.add(key);
    return '';
  }

  applyChatTemplate(messages: readonly ChatMessage[], options: { addGenerationPrompt: boolean }): string {
    if (!this.chat) throw new Error("Prompts to this server use the plain-text templates; connect with its chat template to use it.");
    if (!options.addGenerationPrompt) throw new Error("The server's chat template renders prompts for an answer only (addGenerationPrompt: true).");
    const key = JSON.stringify(messages.map(({ role, content }) => ({ role, content })));
    const known = this.rendered.get(key);
    if (known !== undefined) return known;
    if (!this.recording) throw new Error("The server's chat template has not rendered these messages yet: render inside settleTokens().");
    this.recording.render.add(key);
    return '';
  }

  /** The messages a rendered chat prompt came from, for the server's chat route; undefined for plain text. */
  messagesOf(text: string): ChatMessage[] | undefined {
    return this.conversations.get(text);
  }

  async settle<T>(compute: () => T, signal?: AbortSignal): Promise<T> {
    for (let round = 1; ; round++) {
      const recording = { encode: new Set<string>(), decode: new Set<string>(), render: new Set<string>() };
      this.recording = recording;
      let result: T;
      try {
        result = compute();
      } finally {
        this.recording = null;
      }
      if (recording.encode.size === 0 && recording.decode.size === 0 && recording.render.size === 0) return result;
      if (round >= MAX_ROUNDS) throw new Error(`Token counts did not settle after ${MAX_ROUNDS} rounds of /tokenize requests.`);
      await Promise.all([
        ...[...recording.encode].map(async (key) => {
          const { text, addSpecialTokens } = parseEncodingKey(key);
          await this.encodeAsync(text, addSpecialTokens, signal);
        }),
        ...[...recording.decode].map(async (key) => {
          const [skipSpecialTokens, ids] = JSON.parse(key) as [boolean, number[]];
          await this.decodeAsync(ids, skipSpecialTokens, signal);
        }),
        ...[...recording.render].map(async (key) => {
          const messages = JSON.parse(key) as ChatMessage[];
          const text = await this.chat!(messages, signal);
          this.rendered.set(key, text);
          this.conversations.set(text, messages);
        }),
      ]);
    }
  }

  /** The server's ids for `text`, fetched once and kept. */
  async encodeAsync(text: string, addSpecialTokens: boolean, signal?: AbortSignal): Promise<number[]> {
    const key = encodingKey(text, addSpecialTokens);
    const known = this.encodings.get(key);
    if (known) return known;
    const body = this.dialect === 'llama.cpp'
      ? { content: text, add_special: addSpecialTokens, parse_special: true }
      : { model: this.model, prompt: text, add_special_tokens: addSpecialTokens };
    const answer = await this.client.post<{ tokens?: unknown }>('/tokenize', body, { root: true, signal });
    const ids = tokenIds(answer.tokens);
    this.encodings.set(key, ids);
    this.characters += text.length;
    this.tokens += ids.length;
    return ids;
  }

  async decodeAsync(ids: readonly number[], skipSpecialTokens: boolean, signal?: AbortSignal): Promise<string> {
    const key = JSON.stringify([skipSpecialTokens, ids]);
    const known = this.decodings.get(key);
    if (known !== undefined) return known;
    const body = this.dialect === 'llama.cpp' ? { tokens: ids } : { model: this.model, tokens: ids };
    const answer = await this.client.post<{ content?: unknown; prompt?: unknown }>('/detokenize', body, { root: true, signal });
    const text = typeof answer.content === 'string' ? answer.content : typeof answer.prompt === 'string' ? answer.prompt : undefined;
    if (text === undefined) throw new Error(`${this.client.rootUrl}/detokenize answered without the text`);
    this.decodings.set(key, text);
    return text;
  }
}

function encodingKey(text: string, addSpecialTokens: boolean): string {
  return `${addSpecialTokens ? 1 : 0}${text}`;
}

function parseEncodingKey(key: string): { text: string; addSpecialTokens: boolean } {
  return { text: key.slice(1), addSpecialTokens: key[0] === '1' };
}

/** llama-server gives ids (or `{id, piece}` with `with_pieces`); vLLM gives ids. */
export function tokenIds(tokens: unknown): number[] {
  if (!Array.isArray(tokens)) throw new Error('/tokenize answered without a token list');
  return tokens.map((token: unknown) => {
    const id = typeof token === 'number' ? token : (token as { id?: unknown } | null)?.id;
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) throw new Error(`/tokenize answered ${JSON.stringify(id)} as a token, which is not a token id`);
    return id;
  });
}
