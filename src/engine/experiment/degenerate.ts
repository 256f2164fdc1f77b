/**
 * Plain sentences for runs whose curve cannot mean what a verdict says: no example fits in the context, the
 * query alone does not fit, or the model never produced a valid label. Each is its own sentence, shown beside
 * the verdict (the report's `notes`), so that "levels off at 100% (best at 0 shots)" is never the whole story.
 */
import type { ExperimentReport } from './report';

type NotesInput = Pick<ExperimentReport, 'estimate' | 'curve' | 'items' | 'skippedItems' | 'model' | 'primaryMetric'>;

export function degenerateNotes(report: NotesInput): string[] {
  const notes: string[] = [];
  const fit = report.estimate.fit;
  const context = report.model.contextLength;
  const fixed = fit.instructionTokens + fit.queryTokens + fit.reservedOutputTokens;
  const queryTooLong = fixed > fit.contextLength;
  if (queryTooLong) {
    notes.push(
      `The query alone does not fit: the instruction, a ${fit.percentile} query and the space reserved for the answer take ` +
      `${fixed} tokens, more than the model's context of ${fit.contextLength}. Choose a model with a longer context; ` +
      'selecting fewer or more relevant examples cannot help.',
    );
  } else if (fit.kFit === 0) {
    notes.push(
      `No example fits in the context (${context} tokens): only k = 0 could be measured, so this run says nothing about ` +
      'prompting with examples. Choose a model with a longer context, or shorten the examples.',
    );
  }
  const measured = report.items.length;
  const skippedAtZero = report.skippedItems.filter((item) => item.k === 0).length;
  if (!queryTooLong && measured === 0 && skippedAtZero > 0) {
    notes.push(`No held-out item could be asked at all: each prompt was longer than the context of ${context} tokens. Choose a model with a longer context.`);
  }
  if (report.primaryMetric === 'label_accuracy' && measured > 0 && report.items.every((item) => item.predictedLabel === null)) {
    notes.push(`The model produced no valid label in any of its ${measured} answers: none matched one of the dataset's labels, so the disagreement is 100% by construction. Check the prompt template, or try a model that follows the format.`);
  }
  return notes;
}
