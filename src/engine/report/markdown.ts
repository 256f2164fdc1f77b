/**
 * The report as Markdown (an export, and the command line's summary paragraph). Every value is escaped for
 * the place it goes (heading, paragraph, table cell, code span): dataset text, file and model names never
 * become markup, HTML or a new line of a table.
 */
import { degenerateNotes } from '../experiment/degenerate';
import { describeSelection } from '../prompt/strategies';
import type { CurvePoint, ExperimentReport, MetricId } from '../experiment/report';

export const METRIC_TITLES: Record<MetricId, string> = {
  label_accuracy: 'Label accuracy',
  exact_match: 'Exact match',
  token_f1: 'Token F1',
  rouge_l: 'ROUGE-L',
  chrf: 'chrF',
  bleu: 'BLEU',
};

const percent = (value: number | null | undefined): string =>
  value === null || value === undefined || Number.isNaN(value) ? '—' : `${(value * 100).toFixed(1)}%`;

/** One paragraph: the verdicts, what was measured, and how long it took. */
export function summaryParagraph(report: ExperimentReport): string {
  const { measured, theory } = report.verdict;
  const best = report.curve.reduce<CurvePoint | undefined>((a, b) => (!a || b.disagreement.rate < a.disagreement.rate ? b : a), undefined);
  const timing = report.timing;
  // Rates over the time spent inside the model's calls, not over the run's whole time beside them.
  const speed = timing.generatedTokensPerSecond
    ? `; while at it the model generated ${Math.round(timing.generatedTokensPerSecond)} tokens/s and scored ${Math.round(timing.scoredTokensPerSecond ?? 0)} tokens/s`
    : '';
  // The paragraph goes to a terminal: no control characters (escape sequences) from a file or model name.
  const plain = (text: string): string => text.replace(CONTROL_CHARACTERS, '\uFFFD').replace(LINE_BREAKS, ' ');
  return [
    `${report.complete ? '' : '(Cancelled: partial results.) '}${measured.sentence}`,
    ...(report.notes ?? degenerateNotes(report)),
    `Theory: ${theory.sentence}`,
    `Measured ${plain(report.dataset.name)} with ${plain(report.model.id)} on ${report.split.heldOut} held-out items (pool ${report.split.pool}) at k = ${report.shots.join(', ')}` +
      (best ? `; best ${METRIC_TITLES[report.primaryMetric].toLowerCase()} ${percent(1 - best.disagreement.rate)} at k = ${best.k}` : '') +
      (report.leftOutShots.length ? `; left out ${report.leftOutShots.map((s) => `k = ${s.k} (${s.reason})`).join(', ')}` : '') +
      (report.skippedItems.length ? `; ${report.skippedItems.length} item runs skipped (e.g. line ${report.skippedItems[0]!.line}: ${report.skippedItems[0]!.reason})` : '') +
      `. ${timing.modelCalls} answers and scores from the model, ${timing.cachedCalls} from the cache, ${timing.seconds.toFixed(1)} s${speed}.`,
  ].join(' ');
}

/** Every line break CommonMark knows (LF, CRLF and a lone CR), and Unicode's line and paragraph separators. */
const LINE_BREAKS = /\r\n|\r|\n|\u2028|\u2029/g;
/** C0 controls but tab, LF and CR (handled as line breaks), and DEL. */
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;

/**
 * Escapes text for a heading, a paragraph or a table cell: every character that can start markup (emphasis,
 * links, autolinks, HTML, entities, a cell's `|`) is backslash-escaped, and line breaks of every kind become
 * ' ⏎ ', so the text stays on its line and in its cell.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(CONTROL_CHARACTERS, '\uFFFD')
    .replace(/[\\`*_{}[\]()#+\-.!|<>&~=:$^@]/g, (char) => `\\${char}`)
    .replace(LINE_BREAKS, ' ⏎ ');
}

/**
 * Text as an inline code span: fenced by one backtick more than its longest run of backticks, padded with a
 * space where it begins or ends with one, on one line. Inside a code span HTML is text.
 */
export function codeSpan(text: string): string {
  const oneLine = text.replace(CONTROL_CHARACTERS, '\uFFFD').replace(LINE_BREAKS, ' ');
  const longestRun = Math.max(0, ...(oneLine.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  const pad = /^[` ]|[` ]$/.test(oneLine) && oneLine.trim() !== '' ? ' ' : '';
  return `${fence}${pad}${oneLine}${pad}${fence}`;
}

export function renderReportMarkdown(report: ExperimentReport): string {
  const metricIds = Object.keys(report.curve[0]?.metrics ?? {}) as MetricId[];
  const lines: string[] = [];
  lines.push(`# Prompt or Fine-Tune: ${escapeMarkdown(report.dataset.name)}`, '');
  lines.push(`**Measured:** ${escapeMarkdown(report.verdict.measured.sentence)}`, '');
  for (const note of report.notes ?? degenerateNotes(report)) lines.push(`**Note:** ${escapeMarkdown(note)}`, '');
  lines.push(`**Theory:** ${escapeMarkdown(report.verdict.theory.sentence)}`, '');
  for (const warning of report.warnings ?? []) lines.push(`**Warning:** ${escapeMarkdown(warning)}`, '');
  lines.push(`Model ${codeSpan(report.model.id)} (context ${report.model.contextLength}), schema ${escapeMarkdown(report.dataset.schema)}, ${report.dataset.records} records, ` +
    `${report.split.heldOut} held out, pool ${report.split.pool}, seed ${report.settings.seed}, selection ${escapeMarkdown(describeSelection(report.settings.selection))}, ` +
    `ε = ${report.settings.epsilon}, δ = ${report.settings.delta}.`, '');
  // Whatever the curve lacks is said where its n is read: left-out shot counts and skipped item runs.
  if (report.leftOutShots.length) {
    lines.push('**Shot counts left out:**', '', ...report.leftOutShots.map((shot) => `- k = ${shot.k}: ${escapeMarkdown(shot.reason)}`), '');
  }
  if (report.skippedItems.length) {
    lines.push(`**Item runs skipped (${report.skippedItems.length}):**`, '', ...report.skippedItems.map((item) => `- line ${item.line} at k = ${item.k}: ${escapeMarkdown(item.reason)}`), '');
  }
  // A served model: how the server provided each measurement, and what it could not give (never a made-up number).
  if (report.model.capabilities) {
    lines.push('**Served model:**', '', ...Object.entries(report.model.capabilities).map(([what, how]) => `- ${what}: ${escapeMarkdown(how)}`), '');
  }
  if (report.unavailableMeasurements?.length) {
    lines.push('**Not measured:**', '', ...report.unavailableMeasurements.map((entry) => `- ${entry.measurement}: ${escapeMarkdown(entry.reason)}`), '');
  }
  lines.push('## Agreement against shots', '');
  lines.push(`| k | n | shots used | disagreement (interval) | ${metricIds.map((id) => `${METRIC_TITLES[id]} (95% interval)`).join(' | ')} | ref. log-prob/token | perplexity | Holm p vs k=${report.shots[0]} |`);
  lines.push(`|---|---|---|---|${metricIds.map(() => '---').join('|')}|---|---|---|`);
  for (const point of report.curve) {
    const d = point.disagreement;
    lines.push(`| ${point.k} | ${point.n} | ${point.meanShotsUsed.toFixed(1)} | ${percent(d.rate)} [${percent(d.low)}, ${percent(d.high)}] | ` +
      metricIds.map((id) => metricCell(point.metrics[id])).join(' | ') +
      ` | ${point.referenceLogProbPerToken?.toFixed(3) ?? '—'} | ${point.referencePerplexity?.toFixed(2) ?? '—'} | ${point.paired ? `${(point.paired.adjustedPValue ?? point.paired.pValue).toPrecision(3)} (raw ${point.paired.pValue.toPrecision(3)})` : '—'} |`);
  }
  lines.push(...measuredEpsilonMarkdown(report));
  lines.push('', '## Bounds (C = 1 in the paper\'s form; the standard inequality beside it)', '');
  lines.push('| task | context | paper | value (C = 1) | standard inequality | value |', '|---|---|---|---|---|---|');
  for (const bound of report.estimate.bounds) {
    lines.push(`| ${escapeMarkdown(bound.task)} | ${escapeMarkdown(bound.context)} | ${escapeMarkdown(bound.paperForm)} | ${Math.ceil(bound.withUnitConstant).toLocaleString('en-US')} | ${escapeMarkdown(bound.standardInequality)} | ${Math.ceil(bound.standardValue).toLocaleString('en-US')} |`);
  }
  const fit = report.estimate.fit;
  lines.push('', `k\\_fit = floor((${fit.contextLength} − ${fit.instructionTokens} − ${fit.queryTokens} − ${fit.reservedOutputTokens}) / ${fit.meanTokensPerExample.toFixed(1)}) = ${fit.kFit} (query at ${escapeMarkdown(fit.percentile)}; the output reserved is the answer cap).`, '');
  lines.push('## Items', '', '| k | line | output | reference | ' + METRIC_TITLES[report.primaryMetric] + ' |', '|---|---|---|---|---|');
  for (const row of report.items) {
    lines.push(`| ${row.k} | ${row.line} | ${escapeMarkdown(row.output.slice(0, 200))} | ${escapeMarkdown(row.reference.slice(0, 200))} | ${row.scores[report.primaryMetric] ?? '—'} |`);
  }
  return lines.join('\n') + '\n';
}

/** A metric's mean and its 95% interval (Wilson's or a bootstrap, as the report's JSON says). */
function metricCell(summary: CurvePoint['metrics'][MetricId]): string {
  return summary ? `${percent(summary.mean)} [${percent(summary.low)}, ${percent(summary.high)}]` : '—';
}

/** The paper's ε per k (measuredEpsilon.ts); nothing for reports that predate it. The run's warnings stand under the verdict. */
function measuredEpsilonMarkdown(report: ExperimentReport): string[] {
  const points = report.curve.filter((point) => point.measuredEpsilon);
  const lines: string[] = [];
  if (points.length) {
    const labels = points.some((point) => point.conditionalLabelTV);
    lines.push('', `## Measured ε: mean of 1 − p(reference and its end | prompt), Hoeffding interval at ${percent(1 - report.settings.delta)}`, '');
    lines.push(`| k | scored | measured ε (interval) | unscored |${labels ? ' cond. label TV (interval) |' : ''}`, `|---|---|---|---|${labels ? '---|' : ''}`);
    for (const point of points) {
      const e = point.measuredEpsilon!;
      const tv = point.conditionalLabelTV;
      const why = escapeMarkdown(Object.entries(e.unscoredReasons).map(([reason, times]) => `${times}: ${reason}`).join('; '));
      lines.push(`| ${point.k} | ${e.n} | ${percent(e.mean)} [${percent(e.low)}, ${percent(e.high)}] | ${e.unscored}${why ? ` (${why})` : ''} |` +
        (labels ? ` ${tv ? `${tv.mean.toFixed(3)} [${tv.low.toFixed(3)}, ${tv.high.toFixed(3)}]` : '—'} |` : ''));
    }
  }
  return lines;
}
