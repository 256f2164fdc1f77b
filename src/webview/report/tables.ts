/** The per-k table, what was left out or skipped, and the bounds with their inputs and assumptions. */
import type { Bound, BoundInputs } from '../../engine/bounds/bounds';
import type { CurvePoint, ExperimentReport, MetricId, PairedComparison, ShotTest } from '../../engine/experiment/report';
import { cell, h, row, table, type Column } from './dom';
import { bigNumber, count, fixed, percent, percentInterval, pValue, signedPoints } from './format';
import { curveMetrics, metricTitle } from './metrics';

const TEST_NAMES: Record<PairedComparison['test'], string> = {
  'mcnemar': "McNemar's test",
  'paired-bootstrap': 'paired bootstrap',
};

function showsLabels(report: ExperimentReport): boolean {
  return report.estimate.task === 'classification' || report.curve.some((point) => point.labelTotalVariation !== null);
}

// ---- The per-k table -------------------------------------------------------------------------------------

export function curveTable(report: ExperimentReport): HTMLTableElement {
  const metrics = curveMetrics(report);
  const labels = showsLabels(report);
  const columns: Column[] = [
    { text: 'k', numeric: true, title: 'Shots asked for' },
    { text: 'n', numeric: true, title: 'Held-out items evaluated' },
    { text: 'shots used', numeric: true, title: 'Mean shots that fitted the context (≤ k)' },
    { text: 'disagreement [interval]', numeric: true, title: `1 − ${metricTitle(report.primaryMetric)} agreement, Wilson interval at confidence 1 − δ` },
    { text: 'Hoeffding ±', numeric: true, title: 'Hoeffding half-width sqrt(ln(2/δ) / 2n)' },
    { text: 'verdict bounds', numeric: true, title: 'The exact one-sided Clopper–Pearson bounds the verdict uses: lower at 1 − δ, upper at the confidence Holm gave this k over the grid' },
    { text: 'measured ε [interval]', numeric: true, title: 'Mean over held-out items of 1 − p(reference and its end | prompt), teacher-forced: the paper\'s ε. Hoeffding interval at confidence 1 − δ; unscored references counted beside' },
    ...(labels ? [{ text: 'cond. label TV', numeric: true, title: "Mean per-item TV between the model's distribution over the labels and the reference label (1 − its normalized probability)" }] : []),
    ...metrics.map((id): Column => ({ text: metricTitle(id), numeric: true, title: `${metricTitle(id)} mean [95% interval: Wilson's for a score of 0 or 1 per item, else a percentile bootstrap over the items]` })),
    { text: 'ref. log-prob/token', numeric: true, title: 'Mean log-probability per token of the references under the prompted model' },
    { text: 'perplexity', numeric: true, title: 'Perplexity of the references under the prompted model' },
    ...(labels ? [{ text: 'marginal label TV', numeric: true, title: 'Total variation distance between the predicted and the reference label shares over all items (0 can hide swapped labels; see cond. label TV)' }] : []),
    { text: 'p vs baseline', numeric: true, title: 'Paired test against the baseline shot count, Holm-adjusted over the grid (raw p beside it)' },
  ];
  const rows = report.curve.map((point) => row([
    cell(point.k, { numeric: true }),
    cell(count(point.n), { numeric: true }),
    cell(fixed(point.meanShotsUsed, 1), { numeric: true }),
    cell(`${percent(point.disagreement.rate)} ${percentInterval(point.disagreement.low, point.disagreement.high)}`, { numeric: true }),
    cell(`± ${percent(point.disagreement.hoeffdingHalfWidth)}`, { numeric: true }),
    verdictBoundsCell(report.verdict.measured.evidence?.shotTests.find((test) => test.k === point.k)),
    epsilonCell(point),
    ...(labels ? [cell(point.conditionalLabelTV ? `${fixed(point.conditionalLabelTV.mean, 3)} [${fixed(point.conditionalLabelTV.low, 3)}, ${fixed(point.conditionalLabelTV.high, 3)}]` : '—', { numeric: true })] : []),
    ...metrics.map((id) => metricCell(point, id)),
    cell(fixed(point.referenceLogProbPerToken, 3), { numeric: true }),
    cell(fixed(point.referencePerplexity, 2), { numeric: true }),
    ...(labels ? [labelCell(point)] : []),
    pairedCell(point.paired),
  ], { attrs: { 'data-k': point.k } }));
  return table('curve-table', columns, rows);
}

// Reports written before the verdict carried its evidence have no shot tests: a dash.
function verdictBoundsCell(test: ShotTest | undefined): HTMLTableCellElement {
  if (!test) return cell('—', { numeric: true });
  const confidence = (value: number): string => `${Number((value * 100).toFixed(2))}%`;
  const title = `lower ${confidence(test.lowerConfidence)} bound ${percent(test.lowerBound)}, upper ${confidence(test.upperConfidence)} bound ${percent(test.upperBound)}; ` +
    `exact test of r ≥ ε: p ${pValue(test.sufficesPValue)}, Holm-adjusted ${pValue(test.sufficesAdjustedPValue)}`;
  return cell(percentInterval(test.lowerBound, test.upperBound), { numeric: true, title, className: 'verdict-bounds' });
}

function metricCell(point: CurvePoint, id: MetricId): HTMLTableCellElement {
  const summary = point.metrics[id];
  if (!summary) return cell('—', { numeric: true });
  return cell([percent(summary.mean), ' ', h('span', { className: 'interval' }, [percentInterval(summary.low, summary.high)])], { numeric: true });
}

function epsilonCell(point: CurvePoint): HTMLTableCellElement {
  const epsilon = point.measuredEpsilon;
  if (!epsilon || epsilon.n === 0) return cell(epsilon?.unscored ? `— (${epsilon.unscored} unscored)` : '—', { numeric: true });
  const reasons = Object.entries(epsilon.unscoredReasons).map(([reason, times]) => `${times}: ${reason}`).join('; ');
  const text = `${percent(epsilon.mean)} ${percentInterval(epsilon.low, epsilon.high)}${epsilon.unscored ? ` (${epsilon.unscored} unscored)` : ''}`;
  return cell(text, { numeric: true, title: `over ${epsilon.n} scored references${reasons ? `; not scored: ${reasons}` : ''}` });
}

function labelCell(point: CurvePoint): HTMLTableCellElement {
  const shares = Object.entries(point.predictedLabels ?? {}).map(([label, share]) => `${label}: ${percent(share)}`).join(', ');
  return cell(fixed(point.labelTotalVariation, 3), { numeric: true, ...(shares ? { title: `predicted ${shares}` } : {}) });
}

function pairedCell(paired: PairedComparison | null): HTMLTableCellElement {
  if (!paired) return cell('—', { numeric: true });
  // Reports written before the Holm adjustment have no adjustedPValue: show the raw p alone for them.
  const adjusted = paired.adjustedPValue ?? paired.pValue;
  const title = `${TEST_NAMES[paired.test] ?? paired.test} against k = ${paired.baseline} on ${metricTitle(paired.metric)}: difference ${signedPoints(paired.difference)}; ` +
    `Holm-adjusted over the grid ${pValue(adjusted)}, raw ${pValue(paired.pValue)}`;
  return cell(`${pValue(adjusted)} (raw ${pValue(paired.pValue)}, k = ${paired.baseline})`, { numeric: true, title, className: 'paired' });
}

// ---- Label distributions (classification) ----------------------------------------------------------------

/** Each label's share among the held-out references and among the predictions at each k: the paper's ε reads here. */
export function labelDistributionTable(report: ExperimentReport): HTMLTableElement | null {
  const points = report.curve.filter((point) => point.predictedLabels && point.referenceLabels);
  if (!showsLabels(report) || points.length === 0) return null;
  const reference = points[0]!.referenceLabels!;
  const labels = [...new Set([...Object.keys(reference), ...points.flatMap((point) => Object.keys(point.predictedLabels!))])]
    .sort((a, b) => (reference[b] ?? 0) - (reference[a] ?? 0) || a.localeCompare(b));
  const columns: Column[] = [
    { text: 'label' },
    { text: 'references', numeric: true, title: 'Share among the held-out references' },
    ...points.map((point): Column => ({ text: `k = ${point.k}`, numeric: true, title: `Share among the predictions with ${point.k} shots (TV distance ${fixed(point.labelTotalVariation, 3)})` })),
  ];
  const rows = labels.map((label) => row([
    cell(label),
    cell(percent(reference[label] ?? 0), { numeric: true }),
    ...points.map((point) => cell(percent(point.predictedLabels![label] ?? 0), { numeric: true })),
  ], { attrs: { 'data-label': label } }));
  return table('label-distribution-table', columns, rows);
}

// ---- Left out and skipped --------------------------------------------------------------------------------

export function leftOutLists(report: ExperimentReport): HTMLElement[] {
  const lists: HTMLElement[] = [];
  if (report.warnings?.length) {
    lists.push(h('div', { id: 'run-warnings', className: 'note-list' }, [
      h('h3', {}, ['Warnings']),
      h('ul', {}, report.warnings.map((warning) => h('li', {}, [warning]))),
    ]));
  }
  if (report.leftOutShots.length) {
    lists.push(h('div', { id: 'left-out-shots', className: 'note-list' }, [
      h('h3', {}, ['Shot counts left out']),
      h('ul', {}, report.leftOutShots.map((shot) => h('li', { attrs: { 'data-k': shot.k } }, [`k = ${shot.k}: ${shot.reason}`]))),
    ]));
  }
  if (report.skippedItems.length) {
    const shown = report.skippedItems.slice(0, 50);
    const rest = report.skippedItems.length - shown.length;
    lists.push(h('div', { id: 'skipped-items', className: 'note-list' }, [
      h('h3', {}, [`Items skipped (${count(report.skippedItems.length)})`]),
      h('ul', {}, [
        ...shown.map((item) => h('li', { attrs: { 'data-k': item.k, 'data-line': item.line } }, [`line ${item.line} at k = ${item.k}: ${item.reason}`])),
        rest > 0 ? h('li', { className: 'muted' }, [`and ${count(rest)} more`]) : null,
      ]),
    ]));
  }
  return lists;
}

// ---- Bounds ----------------------------------------------------------------------------------------------

export function boundsTable(report: ExperimentReport): HTMLTableElement {
  const restsOn = report.verdict.theory.bound;
  const columns: Column[] = [
    { text: 'task' },
    { text: 'context' },
    { text: "paper's form" },
    { text: 'value (C = 1)', numeric: true, title: 'The paper\'s form with the constant hidden in O(·) set to 1' },
    { text: 'standard inequality', title: 'The standard inequality of the same form: our assumption, not named by the paper' },
    { text: 'value', numeric: true },
  ];
  const rows = report.estimate.bounds.map((bound: Bound) => row([
    cell(bound.task),
    cell(bound.context),
    cell(h('code', {}, [bound.paperForm])),
    cell(bigNumber(bound.withUnitConstant), { numeric: true, title: String(bound.withUnitConstant) }),
    cell(bound.standardInequality, { className: 'inequality' }),
    cell(bigNumber(bound.standardValue), { numeric: true, title: String(bound.standardValue) }),
  ], {
    className: bound.id === restsOn ? 'verdict-bound' : '',
    attrs: { 'data-bound': bound.id, ...(bound.id === restsOn ? { title: 'The theory verdict rests on this bound' } : {}) },
  }));
  return table('bounds-table', columns, rows);
}

const INPUTS: { key: keyof BoundInputs; symbol: string; name: string }[] = [
  { key: 'epsilon', symbol: 'ε', name: 'error tolerance' },
  { key: 'delta', symbol: 'δ', name: 'failure probability' },
  { key: 'vocabularySize', symbol: 'V', name: 'vocabulary size' },
  { key: 'contexts', symbol: 'm', name: 'distinct contexts' },
  { key: 'outputLength', symbol: 'l', name: 'output length (tokens)' },
  { key: 'inputDimension', symbol: 'd', name: 'input dimension' },
];

export function boundInputsTable(report: ExperimentReport): HTMLTableElement {
  const { inputs, sources } = report.estimate;
  const rows = INPUTS.map(({ key, symbol, name }) => row([
    cell(h('var', {}, [symbol])),
    cell(name),
    cell(count(inputs[key]), { numeric: true }),
    cell(sources[key] ?? '—', { className: 'muted' }),
  ], { attrs: { 'data-input': key } }));
  return table('bounds-inputs-table', [{ text: 'symbol' }, { text: 'input' }, { text: 'value', numeric: true }, { text: 'source' }], rows);
}

/** k_fit written out with each part named, so the number can be checked by hand. */
export function shotFit(report: ExperimentReport): HTMLElement {
  const fit = report.estimate.fit;
  const part = (name: string, value: string): HTMLElement => h('span', { className: 'fit-part' }, [h('span', { className: 'muted' }, [name]), ' ', value]);
  return h('p', { id: 'k-fit', className: 'k-fit', attrs: { 'data-k-fit': fit.kFit } }, [
    h('var', {}, ['k_fit']), ' = ⌊(',
    part('context length', count(fit.contextLength)), ' − ',
    part('instruction', count(fit.instructionTokens)), ' − ',
    part('query', count(fit.queryTokens)), ' − ',
    part('reserved output', count(fit.reservedOutputTokens)), ') / ',
    part('mean tokens per example', fixed(fit.meanTokensPerExample, 1)), '⌋ = ',
    h('strong', {}, [count(fit.kFit)]),
    `; query at ${fit.percentile}, the output reserved is the answer cap`,
    fit.estimated ? h('span', { className: 'estimated' }, ['; estimated from characters (no tokenizer)']) : null,
    '.',
  ]);
}

export function assumptions(): HTMLElement {
  return h('p', { id: 'assumptions', className: 'assumptions' }, [
    'Assumptions: the constants hidden in O(·) are taken as C = 1. ',
    'The standard inequalities beside them are our assumption of an inequality of the same form; the paper does not name them. ',
    'The generation bounds are theory, never a shot count to try: the measured curve above decides.',
  ]);
}
