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
    return value;
  }));
}

export async function scoreByForcing(client: EndpointClient, pair: ScoredPair, signal?: AbortSignal): Promise<ContinuationScore> {
  const values: number[] = [];
  // In order, so each request extends the prefix the server's prompt cache holds from the one before.
  for (let position = pair.start; position < pair.jointIds.length; position++) {
    const token = pair.jointIds[position]!;
    const answer = await client.post<NativeAnswer>('/completion', forcedRequest(pair.jointIds.slice(0, position), token), { root: true, signal });
    const probability = answer.completion_probabilities?.[0];
    if (probability?.id !== token || typeof probability.logprob !== 'number') {
      throw new EndpointError(`${client.rootUrl}/completion did not force token ${token} at position ${position}`);
    }
    values.push(probability.logprob);
  }
  return total(values);
}

function total(tokenLogProbs: number[]): ContinuationScore {
  return { logProb: tokenLogProbs.reduce((sum, value) => sum + value, 0), tokenCount: tokenLogProbs.length, tokenLogProbs };
}
