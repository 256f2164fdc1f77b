/**
 * The server's own chat template, used only when the user asks for it (`--chat-template`): the prompt builder then
 * renders chat data through it, and generation goes to `/v1/chat/completions`. Token counts and Preview Prompt need
 * the rendered text, so it is fetched as the server renders it: llama-server's `/apply-template` (with its BOS token
 * in front when it adds one, as its chat route does), or vLLM's `/tokenize` of the messages, decoded.
 */
import type { ChatMessage } from '../languageModel';
import type { EndpointClient } from './httpClient';
import type { ServerKind } from './probe';
import { tokenIds, type ChatRenderer, type TokenizeDialect } from './serverTokenizer';

export async function serverChatTemplate(
  client: EndpointClient, kind: ServerKind, dialect: TokenizeDialect | null, model: string, bosToken: string | undefined, signal?: AbortSignal,
): Promise<{ render: ChatRenderer } | { reason: string }> {
  const hello: ChatMessage[] = [{ role: 'user', content: 'Hello' }];
  let render: ChatRenderer;
  if (kind === 'llama.cpp' && dialect === 'llama.cpp') {
    // The chat route tokenizes the rendered text with the model's special tokens added: a BOS when the model has one.
    const [withSpecial, without] = await Promise.all([true, false].map(async (add_special) =>
      tokenIds((await client.post<{ tokens?: unknown }>('/tokenize', { content: 'a', add_special }, { root: true, signal })).tokens)));
    const bos = withSpecial!.length > without!.length && bosToken ? bosToken : '';
    render = async (messages, abort) => {
      const answer = await client.post<{ prompt?: unknown }>('/apply-template', { messages }, { root: true, signal: abort });
      if (typeof answer.prompt !== 'string') throw new Error(`${client.rootUrl}/apply-template answered without a prompt`);
      return bos + answer.prompt;
    };
  } else if (dialect === 'vllm') {
    render = async (messages, abort) => {
      const tokens = tokenIds((await client.post<{ tokens?: unknown }>('/tokenize', { model, messages, add_generation_prompt: true, add_special_tokens: false }, { root: true, signal: abort })).tokens);
      const answer = await client.post<{ prompt?: unknown }>('/detokenize', { model, tokens }, { root: true, signal: abort });
      if (typeof answer.prompt !== 'string') throw new Error(`${client.rootUrl}/detokenize answered without the text`);
      return answer.prompt;
    };
  } else {
    return { reason: 'the server renders no chat template where the tool can read it (no /apply-template, no /tokenize of messages)' };
  }
  try {
    await render(hello, signal);
    return { render };
  } catch (error) {
    if (signal?.aborted) throw error;
    return { reason: `the server did not render a chat template (${(error as Error).message})` };
  }
}
