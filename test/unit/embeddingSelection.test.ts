/**
 * Similarity selection through a real transformers.js feature-extraction model: the Llama the tests build,
 * loaded as an embedder (mean-pooled, normalised outputs). Random weights still map shared tokens to nearby
 * vectors, which is all nearest-neighbour selection needs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Example } from '../../src/engine/dataset/schema';
import { loadEmbedder } from '../../src/engine/model/embeddingModel';
import { ModelLoadError } from '../../src/engine/model/languageModel';
import { createSelector, type Embedder } from '../../src/engine/prompt/selection';
import { temporaryFolder } from '../support/paths';
import { buildTinyLlama } from '../support/tinyLlama';

const folder = temporaryFolder('pof-embed-');
let embedder: Embedder & { dispose(): Promise<void> };

before(async () => {
  const modelFolder = join(folder.path, 'model');
  await buildTinyLlama(modelFolder, { seed: 5 });
  embedder = await loadEmbedder({ model: modelFolder, allowDownload: false });
});

after(async () => {
  await embedder?.dispose();
  folder.remove();
});

const example = (line: number, input: string): Example => ({ line, input, context: '', reference: `r${line}` });

test('embeddings are unit vectors of the model width, the same for the same text', async () => {
  const [a, b, c] = await embedder.embed(['the cat sat on the mat', 'the cat sat on the mat', 'zq xv kj']);
  assert.equal(a!.length, 512);
  assert.deepEqual(Array.from(a!), Array.from(b!));
  const norm = Math.sqrt(a!.reduce((sum, value) => sum + value * value, 0));
  assert.ok(Math.abs(norm - 1) < 1e-5, String(norm));
  assert.notDeepEqual(Array.from(a!), Array.from(c!));
});

test('similar selection with an embedder ranks the pool by cosine similarity, never the query or its duplicate', async () => {
  const pool = [
    example(1, 'zq xv kj wp'),
    example(2, 'the cat sat on the mat today'),
    example(3, 'The cat sat on the mat'), // a duplicate of the query after case folding: excluded
    example(4, 'a dog ran in the park'),
    example(5, 'the cat sat on the mat'), // the query itself
  ];
  const selector = await createSelector(pool, { strategy: 'similar', seed: 1, embedder });
  const chosen = await selector.select(pool[4]!, 3);
  // The near-copy comes first; the order of the unrelated rest is the random weights' (observed once).
  assert.deepEqual(chosen.map((e) => e.line), [2, 1, 4]);
});

test('an embedding model that cannot be loaded says how to fall back to BM25', async () => {
  await assert.rejects(loadEmbedder({ model: join(folder.path, 'missing'), allowDownload: false }), (error: unknown) => {
    assert.ok(error instanceof ModelLoadError);
    assert.match(error.message, /leave the embedding model setting empty to select similar examples with BM25/);
    return true;
  });
});
