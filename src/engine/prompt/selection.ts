/**
 * Choosing which examples go into a query's prompt.
 *
 * Every selector sees a pool from which the query itself and its duplicates are already removed (see
 * `ExamplePool`), and returns examples most relevant first, so a token budget drops from the end.
 */
import MiniSearch from 'minisearch';
import type { Example } from '../dataset/schema';
import { deriveSeed, seededRandom, shuffled } from '../random';
import { wordTokens } from '../compare/text';
import { keysOf, leaksInto, type ItemKeys } from './identity';

export const SELECTION_STRATEGIES = ['first', 'random', 'stratified', 'similar'] as const;
export type SelectionStrategy = (typeof SELECTION_STRATEGIES)[number];

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

export function firstSelector(pool: readonly Example[]): ExampleSelector {
  const cached = new ExamplePool(pool);
  return { strategy: 'first', select: async (query, k) => cached.eligible(query).slice(0, k) };
}

/** A seeded shuffle per query: the same seed gives the same shots; a query's shots do not depend on k's order. */
export function randomSelector(pool: readonly Example[], seed: number): ExampleSelector {
  const cached = new ExamplePool(pool);
  return {
    strategy: 'random',
    select: async (query, k) => shuffled(cached.eligible(query), seededRandom(deriveSeed(seed, `random:${query.line}`))).slice(0, k),
  };
}

/** Round-robin over labels (most frequent first), each label's examples in seeded random order. */
export function stratifiedSelector(pool: readonly Example[], seed: number): ExampleSelector {
  const cached = new ExamplePool(pool);
  return {
    strategy: 'stratified',
    async select(query, k) {
      const random = seededRandom(deriveSeed(seed, `stratified:${query.line}`));
      const byLabel = new Map<string, Example[]>();
      for (const example of shuffled(cached.eligible(query), random)) {
        const label = example.label ?? example.reference;
        const queue = byLabel.get(label);
        if (queue) queue.push(example);
        else byLabel.set(label, [example]);
      }
      const queues = [...byLabel.values()].sort((a, b) => b.length - a.length);
      const chosen: Example[] = [];
      for (let round = 0; chosen.length < k && queues.some((queue) => queue.length > round); round++) {
        for (const queue of queues) if (chosen.length < k && queue[round]) chosen.push(queue[round]!);
      }
      return chosen;
    },
  };
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
  signal?: AbortSignal;
}

/** The one place runs, previews and tests get a selector from. */
export async function createSelector(pool: readonly Example[], options: SelectorOptions): Promise<ExampleSelector> {
  switch (options.strategy) {
    case 'first': return firstSelector(pool);
    case 'random': return randomSelector(pool, options.seed);
    case 'stratified': return stratifiedSelector(pool, options.seed);
    case 'similar': return options.embedder ? embeddingSelector(pool, options.embedder, options.signal) : bm25Selector(pool);
  }
}
