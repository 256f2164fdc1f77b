/**
 * Teacher-forced log-probabilities of a reference after its prompt, from a server, by whichever route it has:
 * - echo (vLLM and other servers that score prompt tokens): one lm-evaluation-harness request per pair, the
 *   joint ids as the prompt, `token_logprobs` after the prompt's tokens;
 * - forcing (llama-server, which gives no prompt log-probabilities): one request per reference token, the
 *   prefix as ids and the token forced with `logit_bias`; the server's prompt cache makes each request
 *   compute one new position.
 * Either way the pair is tokenized together and split as transformersModel.ts splits it.
 */
import type { ContinuationScore } from '../languageModel';
import type { EndpointClient } from './httpClient';
import { EndpointError } from './httpClient';
import { echoRequest, forcedRequest, type CompletionAnswer, type NativeAnswer } from './probe';

export interface ScoredPair {
  jointIds: number[];
  /** Index of the continuation's first token in `jointIds`. */
  start: number;
}

/** Where the continuation's tokens begin: after the prompt's own tokens, or where the two tokenizations part. */
export function splitPair(promptIds: readonly number[], jointIds: number[], continuation: string): ScoredPair {
  let start = 0;
  while (start < promptIds.length && start < jointIds.length && promptIds[start] === jointIds[start]) start++;
  if (continuation.length === 0) start = jointIds.length;
  return { jointIds, start };
}

export async function scoreByEcho(client: EndpointClient, model: string, pair: ScoredPair, signal?: AbortSignal): Promise<ContinuationScore> {
  const answer = await client.post<CompletionAnswer>('/completions', echoRequest(model, pair.jointIds), { signal });
  const logprobs = answer.choices?.[0]?.logprobs?.token_logprobs;
  if (!Array.isArray(logprobs) || logprobs.length < pair.jointIds.length) {
    throw new EndpointError(`${client.baseUrl}/completions echoed ${Array.isArray(logprobs) ? logprobs.length : 'no'} token log-probabilities for ${pair.jointIds.length} prompt tokens`);
  }
  // lm-evaluation-harness takes token_logprobs[ctxlen:-1]: the last entry is the one generated token.
  return total(logprobs.slice(pair.start, pair.jointIds.length).map((value, index) => {
    if (typeof value !== 'number') throw new EndpointError(`${client.baseUrl}/completions gave no log-probability for token ${pair.start + index}`);
    return checkedLogProb(value, `${client.baseUrl}/completions`, `token ${pair.start + index}`);
  }));
}

/** What forcing needs besides the pair: the vocabulary's size and a token whose text is plain ASCII. */
export interface ForcingVocabulary {
  vocabularySize: number;
  plainTokenId: number;
}

export async function scoreByForcing(client: EndpointClient, pair: ScoredPair, vocabulary: ForcingVocabulary, signal?: AbortSignal): Promise<ContinuationScore> {
  const values: number[] = [];
  // In order, so each request extends the prefix the server's prompt cache holds from the one before.
  for (let position = pair.start; position < pair.jointIds.length; position++) {
    values.push(await forcedLogProb(client, pair.jointIds.slice(0, position), pair.jointIds[position]!, vocabulary, signal));
  }
  return total(values);
}

/**
 * The log-probability of `token` after `prefix`. A byte token that is only part of a UTF-8 character (a
 * character the vocabulary spells in bytes) gets no log-probability from llama-server when forced (its text is
 * held back), and a prefix ending inside a character makes it answer 500; for those the same position is asked
 * once more with a plain token forced and every token's log-probability listed (`n_probs` = the vocabulary).
 */
async function forcedLogProb(client: EndpointClient, prefix: number[], token: number, vocabulary: ForcingVocabulary, signal?: AbortSignal): Promise<number> {
  const direct = await client.post<NativeAnswer>('/completion', forcedRequest(prefix, token), { root: true, signal, retry: false }).catch((error: unknown) => {
    if (error instanceof EndpointError && error.status !== undefined) return undefined;
    throw error;
  });
  const probability = direct?.completion_probabilities?.[0];
  const where = `${client.rootUrl}/completion`;
  if (probability?.id === token && typeof probability.logprob === 'number') return checkedLogProb(probability.logprob, where, `token ${token} after ${prefix.length} tokens`);
  const listed = await client.post<NativeAnswer>('/completion', { ...forcedRequest(prefix, vocabulary.plainTokenId), n_probs: vocabulary.vocabularySize }, { root: true, signal });
  const entry = listed.completion_probabilities?.[0]?.top_logprobs?.find((candidate) => candidate.id === token);
  if (typeof entry?.logprob !== 'number') throw new EndpointError(`${client.rootUrl}/completion gave no log-probability for token ${token} after ${prefix.length} tokens`);
  return checkedLogProb(entry.logprob, where, `token ${token} after ${prefix.length} tokens`);
}

/**
 * Rounding can put a log-probability a hair above 0; anything more, or not finite, is a server that does not
 * answer what the API says (a probability above 1 would make every ε, perplexity and score in the report impossible).
 */
const LOG_PROBABILITY_ROUNDING = 1e-4;

function checkedLogProb(value: number, where: string, what: string): number {
  if (!Number.isFinite(value) && value !== Number.NEGATIVE_INFINITY) throw new EndpointError(`${where} gave ${value} as the log-probability of ${what}`);
  if (value > LOG_PROBABILITY_ROUNDING) throw new EndpointError(`${where} gave ${value} as the log-probability of ${what}: a log-probability is at most 0`);
  return Math.min(value, 0);
}

function total(tokenLogProbs: number[]): ContinuationScore {
  return { logProb: tokenLogProbs.reduce((sum, value) => sum + value, 0), tokenCount: tokenLogProbs.length, tokenLogProbs };
}
