/**
 * Which part of a run's prompts the model computes once. Prompts that share their instruction and examples
 * (every held-out item at one k with a fixed prompt: `first`, `random`, `stratified`; the instruction alone
 * with `similar`) share a key/value cache of that text (`LanguageModel.prefill`), and each prompt then costs
 * only its query. A fixed prompt's examples nest across shot counts (k shots are the first k of 2k's, in the
 * same places), so the prefix at 2k extends the one at k: over a whole sweep the examples are computed once.
 * Outputs and scores do not change: the model uses a prefix only where its tokens are exactly the prompt's
 * first tokens.
 */
import type { LanguageModel, PrefixState, PromptInput } from '../model/languageModel';

/** Below this many tokens a shared prefix is not worth a pass of its own. */
const MINIMUM_PREFIX_TOKENS = 16;
/** Cut points tried, from the longest shared text back: each costs one tokenization of the prefix. */
const CUTS_TRIED = 4;

/**
 * The longest text every prompt starts with, cut just before a line break (where tokenizers start a new
 * token in every prompt alike) and checked: its tokens must be exactly the first tokens of every prompt,
 * and leave each prompt at least one token of its own. Null when no cut passes, the prompts differ in
 * special tokens, it would be shorter than `minimumTokens`, or no longer than `longerThan` characters (a
 * prefix already at hand: then nothing is tokenized).
 */
export function sharedPrefix(
  prompts: readonly PromptInput[],
  encode: (text: string, addSpecialTokens: boolean) => number[],
  minimumTokens = MINIMUM_PREFIX_TOKENS,
  longerThan = 0,
): { text: string; tokenCount: number } | null {
  if (prompts.length < 2) return null;
  const addSpecialTokens = prompts[0]!.addSpecialTokens;
  if (prompts.some((prompt) => prompt.addSpecialTokens !== addSpecialTokens)) return null;
  let common = prompts[0]!.text.length;
  for (const { text } of prompts) {
    common = Math.min(common, text.length);
    let i = 0;
    while (i < common && text.charCodeAt(i) === prompts[0]!.text.charCodeAt(i)) i++;
    common = i;
  }
  const first = prompts[0]!.text;
  let promptIds: number[][] | undefined;
  let tried = 0;
  for (let cut = first.lastIndexOf('\n', common); cut > 0 && tried < CUTS_TRIED; cut = first.lastIndexOf('\n', cut - 1)) {
    if (cut <= longerThan) return null;
    if (/\s/.test(first[cut - 1]!)) continue;
    tried++;
    const text = first.slice(0, cut);
    const ids = encode(text, addSpecialTokens);
    if (ids.length < minimumTokens) return null;
    promptIds ??= prompts.map((prompt) => encode(prompt.text, addSpecialTokens));
    if (promptIds.every((own) => own.length > ids.length && ids.every((id, index) => own[index] === id))) {
      return { text, tokenCount: ids.length };
    }
  }
  return null;
}

/**
 * The prefix a run is using, kept while prompts still start with it (the next items at the same k, and
 * their scoring) and replaced when they no longer do. Dispose at the end of the run.
 */
export class SharedPrefixes {
  private current: PrefixState | undefined;

  constructor(private readonly model: LanguageModel, private readonly minimumTokens = MINIMUM_PREFIX_TOKENS) {}

  /** The prefix for these prompts (computing it if need be), or undefined where none is worth it. */
  async prefixFor(prompts: readonly PromptInput[]): Promise<PrefixState | undefined> {
    const prefill = this.model.prefill?.bind(this.model);
    if (!prefill || prompts.length === 0) return undefined;
    const current = this.current;
    const starts = (prompt: PromptInput): boolean => current !== undefined && prompt.text.startsWith(current.text);
    // The current prefix serves while every prompt starts with it and no longer one is shared.
    const serving = current !== undefined && prompts.every(starts);
    const encode = (text: string, addSpecialTokens: boolean): number[] => this.model.tokenizer.encode(text, { addSpecialTokens });
    const found = sharedPrefix(prompts, encode, this.minimumTokens, serving ? current.text.length : 0);
    if (!found) return current && prompts.some(starts) ? current : undefined;
    // Prompts of a fixed prompt nest across shot counts: the new prefix usually extends the current one, and
    // only its new examples are computed.
    const next = await prefill({ text: found.text, addSpecialTokens: prompts[0]!.addSpecialTokens }, { extending: current });
    this.dispose();
    this.current = next;
    return this.current;
  }

  dispose(): void {
    this.current?.dispose();
    this.current = undefined;
  }
}
