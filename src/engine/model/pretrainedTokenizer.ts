/**
 * The `Tokenizer` of the model interface over a transformers.js tokenizer: one adapter for the in-process
 * runner, the tokenizer-only load of the editor and a serving engine's local tokenizer, so that a count made in
 * one place equals the count made in another.
 */
import type { ChatMessage, Tokenizer } from './languageModel';

/** The part of a transformers.js tokenizer the adapter uses. */
export interface RawTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): number[];
  decode(ids: number[], options?: { skip_special_tokens?: boolean }): string;
  apply_chat_template(messages: ChatMessage[], options: { tokenize: false; add_generation_prompt: boolean }): string;
  readonly chat_template?: unknown;
}

export class PretrainedTokenizer implements Tokenizer {
  readonly hasChatTemplate: boolean;

  constructor(protected readonly inner: RawTokenizer) {
    this.hasChatTemplate = inner.chat_template !== null && inner.chat_template !== undefined && inner.chat_template !== '';
  }

  encode(text: string, options?: { addSpecialTokens?: boolean }): number[] {
    return this.inner.encode(text, { add_special_tokens: options?.addSpecialTokens ?? true });
  }

  /** `skipSpecialTokens` defaults to false, as in transformers: `decode(encode(s))` shows the BOS. */
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string {
    if (ids.length === 0) return '';
    return this.inner.decode([...ids], { skip_special_tokens: options?.skipSpecialTokens ?? false });
  }

  /** The text's own tokens, without the BOS that `encode` adds. */
  countTokens(text: string): number {
    return this.inner.encode(text, { add_special_tokens: false }).length;
  }

  applyChatTemplate(messages: readonly ChatMessage[], options: { addGenerationPrompt: boolean }): string {
    if (!this.hasChatTemplate) {
      throw new Error('This model has no chat template (tokenizer_config.json has no chat_template); format the prompt as plain text.');
    }
    return this.inner.apply_chat_template(
      messages.map((message) => ({ role: message.role, content: message.content })),
      { tokenize: false, add_generation_prompt: options.addGenerationPrompt },
    );
  }
}
