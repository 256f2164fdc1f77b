/**
 * What a server gives, found out at connect with a few small requests, so the run uses what is there and the
 * report says plainly what is not:
 * - which model it serves (`/v1/models`; llama-server's `/props` adds the model file and its metadata);
 * - tokenization (`/tokenize` at the server root, in llama-server's or vLLM's request shape);
 * - generation (one greedy token);
 * - log-probabilities of prompt tokens (one `echo: true, logprobs: 1, max_tokens: 1` request, as
 *   lm-evaluation-harness scores: do the returned `token_logprobs` cover the prompt?);
 * - forced scoring (llama-server: the log-probability its `/completion` reports for a generated token is taken
 *   from the full distribution before sampling, so a token forced by `logit_bias` gets the model's own
 *   log-probability for it).
 */
import type { EndpointClient } from './httpClient';
import { EndpointError } from './httpClient';
import { tokenIds, type TokenizeDialect } from './serverTokenizer';

export type ServerKind = 'llama.cpp' | 'openai';

export interface ModelsEntry {
  id?: unknown;
  aliases?: unknown;
  owned_by?: unknown;
  root?: unknown;
  max_model_len?: unknown;
  meta?: Record<string, unknown>;
}

export interface ProbeResult {
  kind: ServerKind;
  /** The id the server reports for the model it serves. */
  servedModel: string;
  /** The server's own account of the model, for the cache fingerprint (no timestamps). */
  identity: Record<string, unknown>;
  contextLength: number | undefined;
  contextSource: string;
  vocabularySize: number | undefined;
  /** The dialect of a working /tokenize, else null. */
  tokenize: TokenizeDialect | null;
  /** The end-of-sequence token id, where the server names its EOS token and can tokenize it. */
  eosTokenId: number | undefined;
  /** A token whose text is plain ASCII ("a"), for forcing where a byte token cannot be forced itself. */
  plainTokenId: number | undefined;
  /** The BOS token's text (llama-server's /props), for rendering its chat template as its chat route sees it. */
  bosToken: string | undefined;
  generation: true;
  /** Null when the echo route works; else why not. */
  promptLogProbs: string | null;
  /** Null when forcing works (llama-server); else why not. */
  forcedScoring: string | null;
}

/** A short text every tokenizer encodes into a few tokens. */
const PROBE_TEXT = 'Once upon a time';

/**
 * `localTokenizer` is asked for only when the server has no /tokenize: it loads the tokenizer the user named
 * (undefined when none was named), whose ids then stand for the server's.
 */
export async function probeEndpoint(
  client: EndpointClient, model: string,
  options: { localTokenizer?: () => Promise<{ encode(text: string): number[] } | undefined>; signal?: AbortSignal } = {},
): Promise<ProbeResult> {
  const { signal } = options;
  const models = await client.get<{ data?: ModelsEntry[] }>('/models', { signal, retryNetwork: false });
  const served = Array.isArray(models.data) ? models.data : [];
  const props = await client.get<Record<string, unknown>>('/props', { root: true, signal, retry: false }).catch((error: unknown) => {
    // A key the server refuses is said at once (llama-server lists /v1/models without one); any other failure means no /props.
    if (error instanceof EndpointError && (error.status === 401 || error.status === 403)) throw error;
    if (signal?.aborted) throw error;
    return undefined;
  });
  const kind: ServerKind = props && ('model_path' in props || 'default_generation_settings' in props) ? 'llama.cpp' : 'openai';
  const entry = served.find((candidate) => candidate.id === model || (Array.isArray(candidate.aliases) && candidate.aliases.includes(model)))
    // llama-server serves one model and ignores the name a request gives; other servers route by it.
    ?? (kind === 'llama.cpp' && served.length === 1 ? served[0] : undefined);
  if (!entry) {
    const ids = served.map((candidate) => String(candidate.id)).join(', ');
    throw new EndpointError(`${client.baseUrl} does not serve "${model}"${ids ? `; it serves ${ids}` : ''}: pass one of those with --model`);
  }
  const servedModel = String(entry.id);
  const settings = (props?.default_generation_settings ?? {}) as Record<string, unknown>;
  const identity: Record<string, unknown> = {
    id: entry.id, owned_by: entry.owned_by, root: entry.root, max_model_len: entry.max_model_len, meta: entry.meta,
    ...(props ? { model_path: props.model_path, build_info: props.build_info, bos_token: props.bos_token, eos_token: props.eos_token, chat_template: props.chat_template } : {}),
  };

  const contexts: [number, string][] = [];
  const slotContext = positiveInteger(settings.n_ctx);
  if (slotContext) contexts.push([slotContext, "the server's context per slot (/props)"]);
  const trained = positiveInteger(entry.meta?.n_ctx_train);
  if (trained) contexts.push([trained, "the model's training context (/v1/models)"]);
  const maxModelLength = positiveInteger(entry.max_model_len);
  if (maxModelLength) contexts.push([maxModelLength, 'max_model_len (/v1/models)']);
  const smallest = contexts.sort((a, b) => a[0] - b[0])[0];

  const tokenize = await probeTokenize(client, kind, model, signal);
  const probeIds = tokenize ? await tokenizeOnce(client, tokenize, model, PROBE_TEXT, true, signal) : (await options.localTokenizer?.())?.encode(PROBE_TEXT);
  let eosTokenId: number | undefined;
  let plainTokenId: number | undefined;
  if (tokenize === 'llama.cpp') {
    if (typeof props?.eos_token === 'string') {
      const ids = await tokenizeOnce(client, tokenize, model, props.eos_token, false, signal).catch(() => []);
      if (ids.length === 1) eosTokenId = ids[0];
    }
    plainTokenId = (await tokenizeOnce(client, tokenize, model, 'a', false, signal))[0];
  }

  // Generation is what a run cannot do without: a failure here ends the connect with the server's reason.
  await client.post('/completions', { model, prompt: probeIds ?? PROBE_TEXT, max_tokens: 1, temperature: 0 }, { signal });

  const promptLogProbs = await probeEcho(client, model, probeIds, signal);
  const forcedScoring = kind === 'llama.cpp'
    ? await probeForcing(client, probeIds, signal)
    : 'only llama-server reports the model\'s own log-probability of a forced token';
  return {
    kind, servedModel, identity,
    contextLength: smallest?.[0], contextSource: smallest?.[1] ?? 'not reported by the server',
    vocabularySize: positiveInteger(entry.meta?.n_vocab),
    tokenize, eosTokenId, plainTokenId, bosToken: typeof props?.bos_token === 'string' ? props.bos_token : undefined, generation: true, promptLogProbs,
    forcedScoring: forcedScoring ?? (plainTokenId === undefined || !positiveInteger(entry.meta?.n_vocab) ? 'the server reports no vocabulary size or plain token to list log-probabilities with' : null),
  };
}

async function probeTokenize(client: EndpointClient, kind: ServerKind, model: string, signal?: AbortSignal): Promise<TokenizeDialect | null> {
  const dialects: TokenizeDialect[] = kind === 'llama.cpp' ? ['llama.cpp'] : ['vllm', 'llama.cpp'];
  for (const dialect of dialects) {
    const ids = await tokenizeOnce(client, dialect, model, PROBE_TEXT, true, signal).catch((error: unknown) => {
      if (signal?.aborted) throw error;
      return undefined;
    });
    if (ids && ids.length > 0) return dialect;
  }
  return null;
}

async function tokenizeOnce(client: EndpointClient, dialect: TokenizeDialect, model: string, text: string, addSpecial: boolean, signal?: AbortSignal): Promise<number[]> {
  const body = dialect === 'llama.cpp'
    ? { content: text, add_special: addSpecial, parse_special: true }
    : { model, prompt: text, add_special_tokens: addSpecial };
  const answer = await client.post<{ tokens?: unknown }>('/tokenize', body, { root: true, signal, retry: false });
  return tokenIds(answer.tokens);
}

/** The lm-evaluation-harness loglikelihood request: do the echoed `token_logprobs` cover the prompt's tokens? */
async function probeEcho(client: EndpointClient, model: string, ids: number[] | undefined, signal?: AbortSignal): Promise<string | null> {
  if (!ids || ids.length < 2) return 'the prompt cannot be sent as token ids (no tokenizer that matches the server)';
  try {
    const answer = await client.post<CompletionAnswer>('/completions', echoRequest(model, ids), { signal, retry: false });
    const logprobs = answer.choices?.[0]?.logprobs?.token_logprobs;
    if (!Array.isArray(logprobs)) return 'the server answers an echo request without token_logprobs (it ignores echo)';
    if (logprobs.length < ids.length || !logprobs.slice(1, ids.length).every((value) => typeof value === 'number')) {
      return `the echoed token_logprobs cover ${logprobs.length} of the prompt's ${ids.length} tokens`;
    }
    return null;
  } catch (error) {
    if (signal?.aborted) throw error;
    return `the server refuses an echo request (${(error as Error).message})`;
  }
}

async function probeForcing(client: EndpointClient, ids: number[] | undefined, signal?: AbortSignal): Promise<string | null> {
  if (!ids || ids.length < 2) return 'the prompt cannot be sent as token ids';
  try {
    const forced = ids[ids.length - 1]!;
    const answer = await client.post<NativeAnswer>('/completion', forcedRequest(ids.slice(0, -1), forced), { root: true, signal, retry: false });
    const probability = answer.completion_probabilities?.[0];
    if (probability?.id !== forced || typeof probability.logprob !== 'number') return "/completion does not report the forced token's log-probability";
    return null;
  } catch (error) {
    if (signal?.aborted) throw error;
    return `/completion refuses a forced request (${(error as Error).message})`;
  }
}

/**
 * lm-evaluation-harness's `local-completions` loglikelihood payload (lm_eval/models/openai_completions.py
 * `_create_payload`), key for key, its default seed included.
 */
export function echoRequest(model: string, ids: readonly number[]): Record<string, unknown> {
  return { model, prompt: [...ids], temperature: 0, max_tokens: 1, logprobs: 1, seed: 1234, echo: true };
}

/** A logit bias far above any logit gap forces `token`; the log-probability reported is the model's own. */
export const FORCING_BIAS = 1e4;

/** llama-server: one token after `ids`, forced to `token`, with its log-probability. */
export function forcedRequest(ids: readonly number[], token: number): Record<string, unknown> {
  return {
    prompt: [...ids], n_predict: 1, temperature: 0, n_probs: 1, logit_bias: [[token, FORCING_BIAS]],
    cache_prompt: true, return_tokens: true,
  };
}

export interface CompletionAnswer {
  choices?: {
    text?: unknown;
    finish_reason?: unknown;
    stop_reason?: unknown;
    token_ids?: unknown;
    logprobs?: { token_logprobs?: unknown[]; tokens?: unknown[] } | null;
  }[];
}

export interface NativeAnswer {
  content?: unknown;
  tokens?: unknown;
  stop_type?: unknown;
  completion_probabilities?: { id?: unknown; logprob?: unknown; top_logprobs?: { id?: unknown; logprob?: unknown }[] }[];
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}
