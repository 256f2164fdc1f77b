/**
 * A run tokenizes the same prompt many times: the builder counts it, generation encodes it, each scored
 * continuation (the reference, every other label) encodes it alone and joined, the draft joined again. With a
 * slow tokenizer that was a third of a small model's sweep (icl-tiny: 1.2 of 3.3 CPU-s in BPE merges). The
 * runner's tokenizer therefore remembers its latest encodings; the ids are the tokenizer's, so nothing else changes.
 */
import { type TfTokenizer } from './tfTypes';

/** How many texts are remembered per setting of `add_special_tokens`: a batch's prompts and their continuations. */
const REMEMBERED = 512;

/** `tokenizer` with `encode` remembered (least recently used texts forgotten first); everything else is its own. */
export function withEncodeMemo(tokenizer: TfTokenizer): TfTokenizer {
  const memo = { true: new Map<string, number[]>(), false: new Map<string, number[]>() };
  const encode = tokenizer.encode.bind(tokenizer);
  const remembering = Object.create(tokenizer) as TfTokenizer;
  remembering.encode = (text, options) => {
    const special = options?.add_special_tokens ?? true;
    const seen = memo[special ? 'true' : 'false'];
    let ids = seen.get(text);
    if (ids) seen.delete(text); // re-inserted below: most recently used last
    else ids = encode(text, { ...options, add_special_tokens: special });
    seen.set(text, ids);
    if (seen.size > REMEMBERED) seen.delete(seen.keys().next().value!);
    return ids.slice(); // callers may change theirs
  };
  return remembering;
}
