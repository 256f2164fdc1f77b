/**
 * Plain sentences for runs whose curve cannot mean what a verdict says: no example fits in the context, the
 * query alone does not fit, or the model never produced a valid label. Each is its own sentence, shown beside
 * the verdict (the report's `notes`), so that "levels off at 100% (best at 0 shots)" is never the whole story.
 */
import type { ExperimentReport, ItemRow, MeasuredVerdict } from './report';

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

/**
 * A classification run in which no answer was one of the labels measures the answer format, not the task: every
 * k is at 100% disagreement by construction, and the rule would say "fine-tune" (with its guarantee intact, as a
 * statement about this prompt). A template the model does not follow is the likelier cause, and fine-tuning on
 * that evidence would be GPU days spent on a formatting problem, so such a run is not decided; the rule's own
 * sentence stays beside the reason.
 */
export function withoutFormatFailure(measured: MeasuredVerdict, items: readonly ItemRow[], classification: boolean): MeasuredVerdict {
  if (!classification || items.length === 0 || measured.kind === 'not-run' || items.some((item) => item.predictedLabel !== null)) return measured;
  return {
    // The rule's evidence (a bound above ε, its test) is about the format failure, not shown as this verdict's.
    ...measured, kind: 'undecided', itemsNeeded: null, evidence: null,
    sentence: `Not decided: the model gave none of the dataset's labels in any of its ${items.length} answers, so the curve measures the answer ` +
      `format, not the task (the rule alone: ${measured.sentence.replace(/\.$/, '')}).`,
  };
}
