/**
 * What a run's prompts leave undecided, in plain sentences beside the verdict (the report's `notes`): a fixed
 * prompt is one draw of examples, so the verdict is about that prompt and not another; and a shot count whose
 * items were shown fewer examples than k (the rest did not fit) measures fewer shots for them.
 */
import { describeSelection, isFixedPrompt } from '../prompt/strategies';
import type { ExperimentReport } from './report';

type NotesInput = Pick<ExperimentReport, 'settings' | 'items' | 'shots'>;

export function promptNotes(report: NotesInput): string[] {
  const notes: string[] = [];
  const { selection, seed } = report.settings;
  if (isFixedPrompt(selection) && report.items.some((item) => item.shotsUsed > 0)) {
    const which = selection === 'first' ? "the pool's first records" : `one draw of examples (seed ${seed})`;
    notes.push(
      `Examples: ${describeSelection(selection)}, ${which}, save where one would show an item its own answer or did not fit. ` +
      'The verdict is about this prompt: another choice of examples may do better or worse' +
      (selection === 'first' ? ' (try random selection).' : '; run again with another seed to see how much it matters (a seed kept because it passed carries no guarantee).'),
    );
  }
  for (const k of report.shots) {
    if (k === 0) continue;
    const rows = report.items.filter((item) => item.k === k);
    const short = rows.filter((item) => item.shotsUsed < k);
    if (short.length === 0) continue;
    const fewest = Math.min(...short.map((item) => item.shotsUsed));
    notes.push(
      `At k = ${k}, ${short.length} of ${rows.length} items were shown fewer examples (as few as ${fewest}): the rest did not fit in the context, ` +
      `so this point measures fewer shots for them.`,
    );
  }
  return notes;
}
