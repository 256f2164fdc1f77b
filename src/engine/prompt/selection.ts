/**
 * Choosing which examples go into a query's prompt.
 *
 * Every selector sees a pool from which the query itself and its duplicates are already removed (see
 * `ExamplePool`), and returns examples in its order of preference, so a token budget drops from the end.
 *
 * Two kinds of selector:
 * - A fixed prompt (`first`, `random`, `stratified`): one ordering of the whole pool, the same for every query;
 *   a query takes the first k of it that are eligible for it. So every held-out item at k shots sees the same
 *   examples (a prompt one could deploy, not an average over prompts), and k shots are the first k of 2k's: the
 *   prompts nest, and the model computes their shared beginning once (experiment/prefixPlan.ts). A verdict on
 *   it is a verdict on that draw of examples (the seed's); another draw may do better or worse.
 * - Ranked per query (`similar`): the examples most relevant to this query first; the builder puts the most
 *   relevant next to the query.
 */
import MiniSearch from 'minisearch';
import type { Example } from '../dataset/schema';
import { deriveSeed, seededRandom, shuffled } from '../random';
import { wordTokens } from '../compare/text';
import { keysOf, leaksInto, type ItemKeys } from './identity';

import type { SelectionStrategy } from './strategies';
export { isFixedPrompt, SELECTION_STRATEGIES, type SelectionStrategy } from './strategies';

export interface ExampleSelector {
  readonly strategy: SelectionStrategy;
  /** Up to `k` examples for `query`, most relevant first. */
  select(query: Example, k: number): Promise<Example[]>;
}

/**
 * The pool as one query may use it: never the query itself, nor any example that is the same item or shows the
 * query's question with its answer (see `leaksInto` in identity.ts: content as the model sees it, normalized so
 * near-duplicates collide, system messages left out). Every key is computed once, and each query's pool once,
 * since every query at every shot count filters the whole pool.
 */
export class ExamplePool {
  private readonly keys: ItemKeys[];
  private readonly byQuery = new Map<number, Example[]>();

  constructor(readonly examples: readonly Example[]) {
    this.keys = examples.map(keysOf);
  }

  eligible(query: Example): Example[] {
    const cached = this.byQuery.get(query.line);
    if (cached) return cached;
    const wanted = keysOf(query);
    const eligible = this.examples.filter((example, index) => example.line !== query.line && !leaksInto(this.keys[index]!, wanted));
    this.byQuery.set(query.line, eligible);
    return eligible;
  }
}

/**
 * Whether an example can stand in a prompt at all (beside the longest query, in the context): a fixed prompt
 * leaves out those that cannot, or one long example early in the draw would cut every item's prompt short.
 */
export type ExampleFits = (example: Example) => Promise<boolean>;

/** A fixed prompt: the first k examples of `order` that are eligible for the query and fit (see the file's comment). */
function fixedOrderSelector(strategy: SelectionStrategy, pool: readonly Example[], order: readonly Example[], fits?: ExampleFits): ExampleSelector {
  const cached = new ExamplePool(pool);
  const fitting = new Map<Example, boolean>();
  return {
    strategy,
    async select(query, k) {
      const eligible = new Set(cached.eligible(query));
      const chosen: Example[] = [];
      for (const example of order) {
        if (chosen.length >= k) break;
        if (!eligible.has(example)) continue;
        if (fits && !fitting.has(example)) fitting.set(example, await fits(example));
        if (fitting.get(example) !== false) chosen.push(example);
      }
      return chosen;
    },
  };
}

/** The pool's first records (that fit), in file order. */
export function firstSelector(pool: readonly Example[], fits?: ExampleFits): ExampleSelector {
  return fixedOrderSelector('first', pool, pool, fits);
}

/** One seeded shuffle of the pool, shared by every query: the same seed gives the same prompt. */
export function randomSelector(pool: readonly Example[], seed: number, fits?: ExampleFits): ExampleSelector {
  return fixedOrderSelector('random', pool, shuffled(pool, seededRandom(deriveSeed(seed, 'random'))), fits);
}

/**
 * Round-robin over labels (most frequent first), each label's examples in one seeded shuffle shared by every
 * query, so that any k examples cover the labels as evenly as k allows.
 */
export function stratifiedSelector(pool: readonly Example[], seed: number, fits?: ExampleFits): ExampleSelector {
  const byLabel = new Map<string, Example[]>();
  for (const example of shuffled(pool, seededRandom(deriveSeed(seed, 'stratified')))) {
    const label = example.label ?? example.reference;
    const queue = byLabel.get(label);
    if (queue) queue.push(example);
    else byLabel.set(label, [example]);
  }
  const queues = [...byLabel.values()].sort((a, b) => b.length - a.length);
  const order: Example[] = [];
  for (let round = 0; queues.some((queue) => queue.length > round); round++) {
    for (const queue of queues) if (queue[round]) order.push(queue[round]!);
  }
  return fixedOrderSelector('stratified', pool, order, fits);
}

/** Nearest neighbours by BM25 over word tokens (CJK characters count as words), via MiniSearch. */
export function bm25Selector(pool: readonly Example[]): ExampleSelector {
  const cached = new ExamplePool(pool);
  const index = new MiniSearch<{ id: number; text: string }>({
    fields: ['text'],
    tokenize: (text) => wordTokens(text),
    processTerm: (term) => term,
    searchOptions: { tokenize: (text) => wordTokens(text), processTerm: (term) => term },
  });
  index.addAll(pool.map((example, id) => ({ id, text: textOf(example) })));
  return {
    strategy: 'similar',
    async select(query, k) {
      const eligible = new Set(cached.eligible(query));
      const hits = index.search(textOf(query), { combineWith: 'OR' });
      const ranked = hits.map((hit) => pool[hit.id as number]!).filter((example) => eligible.has(example));
      if (ranked.length >= k) return ranked.slice(0, k);
      // Queries sharing too few words with the pool still get k examples: the rest in pool order.
      const seen = new Set(ranked);
      return [...ranked, ...[...eligible].filter((example) => !seen.has(example))].slice(0, k);
    },
  };
}

function textOf(example: Example): string {
  return example.context ? `${example.input}\n${example.context}` : example.input;
}

/** Turns texts into vectors; the transformers.js implementation is in embeddingModel.ts. */
export interface Embedder {
  readonly id: string;
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>;
}

/** Nearest neighbours by cosine similarity of embeddings (KATE, Liu et al. 2021). */
export async function embeddingSelector(pool: readonly Example[], embedder: Embedder, signal?: AbortSignal): Promise<ExampleSelector> {
  const cached = new ExamplePool(pool);
  const vectors = normalizeAll(await embedder.embed(pool.map(textOf), signal));
  const position = new Map(pool.map((example, index) => [example, index]));
  // A query is embedded once, not once per shot count.
  const queryVectors = new Map<number, Float32Array>();
  return {
    strategy: 'similar',
    async select(query, k) {
      let queryVector = queryVectors.get(query.line);
      if (!queryVector) {
        [queryVector] = normalizeAll(await embedder.embed([textOf(query)], signal));
        queryVectors.set(query.line, queryVector!);
      }
      const scored = cached.eligible(query).map((example) => ({ example, similarity: dot(queryVector!, vectors[position.get(example)!]!) }));
      scored.sort((a, b) => b.similarity - a.similarity || a.example.line - b.example.line);
      return scored.slice(0, k).map((entry) => entry.example);
    },
  };
}

function normalizeAll(vectors: Float32Array[]): Float32Array[] {
  return vectors.map((vector) => {
    const norm = Math.sqrt(dot(vector, vector)) || 1;
    return vector.map((value) => value / norm);
  });
}

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

export interface SelectorOptions {
  strategy: SelectionStrategy;
  seed: number;
  /** Used by 'similar' when given; BM25 otherwise. */
  embedder?: Embedder;
  /** For a fixed prompt: which examples can stand in a prompt at all (see ExampleFits). */
  fits?: ExampleFits;
  signal?: AbortSignal;
}

/** The one place runs, previews and tests get a selector from. */
export async function createSelector(pool: readonly Example[], options: SelectorOptions): Promise<ExampleSelector> {
  switch (options.strategy) {
    case 'first': return firstSelector(pool, options.fits);
    case 'random': return randomSelector(pool, options.seed, options.fits);
    case 'stratified': return stratifiedSelector(pool, options.seed, options.fits);
    case 'similar': return options.embedder ? embeddingSelector(pool, options.embedder, options.signal) : bm25Selector(pool);
  }
}
