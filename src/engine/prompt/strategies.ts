/** The selection strategies' names, apart from their code (which needs a search index) so reports and webviews can name them. */
export const SELECTION_STRATEGIES = ['first', 'random', 'stratified', 'similar'] as const;
export type SelectionStrategy = (typeof SELECTION_STRATEGIES)[number];

/** Whether the strategy makes one fixed prompt shared by every item (selection.ts), rather than one per query. */
export function isFixedPrompt(strategy: SelectionStrategy): boolean {
  return strategy !== 'similar';
}

/** The strategy as a report names it: a fixed prompt says that every item saw the same draw (selection.ts). */
export function describeSelection(strategy: SelectionStrategy): string {
  return !isFixedPrompt(strategy) ? "similar (each item's nearest examples)" : `${strategy} (one fixed prompt: the same examples for every item)`;
}
