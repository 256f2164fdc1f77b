/**
 * Greedy generation on a server, as the in-process runner does it: the prompt as the server's token ids (or as
 * text when no tokenizer matches the server), temperature 0, the template's stop sequences, the output cut before
 * the stop sequence and the generated ids kept (with the stop sequence's tokens, and the EOS token when one ended
 * the output, as transformersModel.ts keeps them).
 */
import type { ChatMessage, FinishReason, Generation } from '../languageModel';
import type { EndpointClient } from './httpClient';
import { EndpointError } from './httpClient';
import type { CompletionAnswer, NativeAnswer } from './probe';

export interface GenerationRequest {
  /** Token ids when the tokenizer is the server's (or matches it); else the text. */
  prompt: number[] | string;
  promptTokenCount: number;
  maxNewTokens: number;
  stopSequences: string[];
  signal?: AbortSignal;
}

/** llama-server's native /completion: it returns the generated ids and says why it stopped. */
export async function generateNative(client: EndpointClient, request: GenerationRequest, eosTokenId: number | undefined): Promise<Generation> {
  const answer = await client.post<NativeAnswer>('/completion', {
    prompt: request.prompt, n_predict: request.maxNewTokens, temperature: 0, repeat_penalty: 1,
    ...(request.stopSequences.length ? { stop: request.stopSequences } : {}),
    cache_prompt: true, return_tokens: true,
  }, { root: true, signal: request.signal });
  if (typeof answer.content !== 'string' || !Array.isArray(answer.tokens)) throw new EndpointError(`${client.rootUrl}/completion answered without content and tokens`);
  const tokenIds = checkedIds(answer.tokens, `${client.rootUrl}/completion`, request.maxNewTokens);
  let finishReason: FinishReason = 'max-new-tokens';
  if (answer.stop_type === 'word') finishReason = 'stop-sequence';
  else if (answer.stop_type === 'eos') {
    finishReason = 'end-of-sequence';
    if (eosTokenId !== undefined && tokenIds[tokenIds.length - 1] !== eosTokenId) tokenIds.push(eosTokenId);
  }
  return { text: answer.content, tokenIds, promptTokenCount: request.promptTokenCount, finishReason };
}

/**
 * The OpenAI-compatible /v1/completions (vLLM, SGLang, Ollama, LM Studio). Generated ids come from the answer's
 * `token_ids` where the server gives them, else from `encode` of the text (exact tokenizer), else placeholders
 * counting `usage.completion_tokens`. `finish_reason: "stop"` is a stop sequence when the server names it in
 * `stop_reason` (vLLM), else the end of sequence.
 */
export async function generateOpenAi(
  client: EndpointClient, model: string, request: GenerationRequest, encode: ((text: string) => Promise<number[]>) | undefined,
): Promise<Generation> {
  const answer = await client.post<CompletionAnswer & { usage?: { completion_tokens?: unknown } }>('/completions', {
    model, prompt: request.prompt, max_tokens: request.maxNewTokens, temperature: 0,
    ...(request.stopSequences.length ? { stop: request.stopSequences } : {}),
  }, { signal: request.signal });
  const choice = answer.choices?.[0];
  if (!choice || typeof choice.text !== 'string') throw new EndpointError(`${client.baseUrl}/completions answered without a choice`);
  const finishReason: FinishReason = choice.finish_reason === 'length' ? 'max-new-tokens'
    : typeof choice.stop_reason === 'string' ? 'stop-sequence' : 'end-of-sequence';
  let tokenIds: number[];
  if (Array.isArray(choice.token_ids)) tokenIds = checkedIds(choice.token_ids, `${client.baseUrl}/completions`, request.maxNewTokens);
  else if (encode) tokenIds = checkedLength(await encode(choice.text), `${client.baseUrl}/completions`, request.maxNewTokens);
  else tokenIds = new Array<number>(Number(answer.usage?.completion_tokens) || 0).fill(-1);
  return { text: choice.text, tokenIds, promptTokenCount: request.promptTokenCount, finishReason };
}

/**
 * The server's chat route (`--chat-template` only): the messages the prompt was rendered from; the server applies
 * its template, as the rendered prompt shows. Ids as for `generateOpenAi`.
 */
export async function generateChat(
  client: EndpointClient, model: string, messages: readonly ChatMessage[], request: GenerationRequest, encode: (text: string) => Promise<number[]>,
): Promise<Generation> {
  const answer = await client.post<{ choices?: { message?: { content?: unknown }; finish_reason?: unknown; stop_reason?: unknown }[] }>('/chat/completions', {
    model, messages, max_tokens: request.maxNewTokens, temperature: 0,
    ...(request.stopSequences.length ? { stop: request.stopSequences } : {}),
  }, { signal: request.signal });
  const choice = answer.choices?.[0];
  const text = choice?.message?.content;
  if (typeof text !== 'string') throw new EndpointError(`${client.baseUrl}/chat/completions answered without a message`);
  const finishReason: FinishReason = choice!.finish_reason === 'length' ? 'max-new-tokens'
    : typeof choice!.stop_reason === 'string' ? 'stop-sequence' : 'end-of-sequence';
  return { text, tokenIds: checkedLength(await encode(text), `${client.baseUrl}/chat/completions`, request.maxNewTokens), promptTokenCount: request.promptTokenCount, finishReason };
}

/**
 * Generated ids as the server gave them: each a token id (a non-negative integer), no more than the tokens asked
 * for. A server that answers otherwise is not doing what its API says, and its answer is not scored.
 */
function checkedIds(ids: readonly unknown[], where: string, maxNewTokens: number): number[] {
  const numbers = ids.map(Number);
  const bad = numbers.findIndex((id) => !Number.isSafeInteger(id) || id < 0);
  if (bad >= 0) throw new EndpointError(`${where} answered ${JSON.stringify(ids[bad])} as generated token ${bad + 1}, which is not a token id`);
  if (numbers.length > maxNewTokens) throw new EndpointError(`${where} answered ${numbers.length} tokens where at most ${maxNewTokens} were asked for`);
  return numbers;
}

/**
 * Ids from tokenizing the generated text again: they may differ from what the server generated by a few (merges
 * across the boundary), never by many; a text far longer than the tokens asked for is a server that ignored them.
 */
function checkedLength(ids: number[], where: string, maxNewTokens: number): number[] {
  if (ids.length > 2 * maxNewTokens + 8) throw new EndpointError(`${where} answered a text of ${ids.length} tokens where at most ${maxNewTokens} were asked for`);
  return ids;
}
