/**
 * The runner's remembered encodings (src/engine/model/transformers/encodeMemo.ts) are the tokenizer's own: on
 * icl-tiny's real tokenizer, with and without special tokens, after more texts than are remembered, and a caller
 * that changes the array it got changes nothing for the next.
 *
 * Run: node --import tsx --test test/unit/encodeMemo.test.ts
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import { withEncodeMemo } from '../../src/engine/model/transformers/encodeMemo';
import { loadTransformers } from '../../src/engine/model/transformers/load';
import { type TfTokenizer } from '../../src/engine/model/transformers/tfTypes';
import { REPO_ROOT } from '../support/paths';

test('remembered encodings equal the tokenizer\'s, whatever the order, the flag or the callers do', async () => {
  const tf = await loadTransformers();
  const raw = await tf.AutoTokenizer.from_pretrained(join(REPO_ROOT, 'examples', 'models', 'icl-tiny'), { local_files_only: true }) as TfTokenizer;
  const memo = withEncodeMemo(raw);
  const texts = Array.from({ length: 700 }, (_, i) => `Text: the ${['dot', 'king', 'lime'][i % 3]} ${i}\nLabel:`);
  // Twice over more texts than are remembered (the first ones forgotten), each with both flags, then the first again.
  for (const text of [...texts, ...texts, texts[0]!]) {
    for (const special of [true, false]) {
      const ids = memo.encode(text, { add_special_tokens: special });
      assert.deepEqual(ids, raw.encode(text, { add_special_tokens: special }), `${JSON.stringify(text)} (${special})`);
      ids.push(-1);
    }
  }
  assert.deepEqual(memo.encode(texts[699]!), raw.encode(texts[699]!));
  assert.notDeepEqual(memo.encode('x', { add_special_tokens: true }), memo.encode('x', { add_special_tokens: false }));
  assert.equal(memo.decode(memo.encode('the king')), raw.decode(raw.encode('the king')));
});
