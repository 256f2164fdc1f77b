/**
 * The items table: one row per held-out item and shot count, with a filter by k and a "disagreements only"
 * switch. Dataset text goes in as text nodes only.
 */
import type { ExperimentReport, ItemRow, MetricId } from '../../engine/experiment/report';
import { cell, h, replaceChildren, row, table, type Column } from './dom';
import { renderWordDiff } from './diff';
import { count, fixed, percent } from './format';
import { itemMetrics, metricTitle } from './metrics';

/** Rendering thousands of rows with prompts would stall the panel; the filter narrows what is shown. */
export const MAX_ITEM_ROWS = 500;

export interface ItemFilter {
  k: number | 'all';
  disagreementsOnly: boolean;
}

export interface ItemsOptions {
  filter: ItemFilter;
  onFilterChange: (filter: ItemFilter) => void;
  /** Absent in the standalone file, where there is no editor to open a line in. */
  openLine?: (line: number) => void;
}

/** A disagreement is an item whose primary metric falls short of a full score. */
export function isDisagreement(item: ItemRow, primary: MetricId): boolean {
  const score = item.scores[primary];
  return typeof score === 'number' && score < 1;
}

export function filterItems(report: ExperimentReport, filter: ItemFilter): ItemRow[] {
  return report.items.filter((item) =>
    (filter.k === 'all' || item.k === filter.k) && (!filter.disagreementsOnly || isDisagreement(item, report.primaryMetric)));
}

/** The k values to filter by: the measured shot counts, and any others the items carry. */
function shotChoices(report: ExperimentReport): number[] {
  return [...new Set([...report.shots, ...report.items.map((item) => item.k)])].sort((a, b) => a - b);
}

/** A filter restored from state may name a k this report lacks: fall back to all. */
export function validFilter(report: ExperimentReport, filter: ItemFilter): ItemFilter {
  return { ...filter, k: filter.k !== 'all' && !shotChoices(report).includes(filter.k) ? 'all' : filter.k };
}

export function itemsSection(report: ExperimentReport, options: ItemsOptions): HTMLElement[] {
  let filter = validFilter(report, options.filter);
  const select = h('select', { id: 'items-filter-k', attrs: { 'aria-label': 'Show items at shot count' } }, [
    h('option', { attrs: { value: 'all' } }, ['all k']),
    ...shotChoices(report).map((k) => h('option', { attrs: { value: k } }, [`k = ${k}`])),
  ]);
  select.value = String(filter.k);
  const checkbox = h('input', { id: 'items-disagreements-only', attrs: { type: 'checkbox' } });
  checkbox.checked = filter.disagreementsOnly;
  const countLine = h('span', { id: 'items-count', className: 'muted', attrs: { 'aria-live': 'polite' } });
  // A filtered list says so, with what filters it and a way back to every item.
  const filtered = h('span', { id: 'items-filtered', className: 'filtered-note', attrs: { hidden: true, role: 'status' } });
  const showAll = h('button', { id: 'items-show-all', className: 'link-button', attrs: { type: 'button' } }, ['show all']);
  const note = h('p', { id: 'items-note', className: 'note', attrs: { hidden: true } });
  const holder = h('div', { className: 'table-scroll', id: 'items-table-holder' });

  const refresh = (): void => {
    const matching = filterItems(report, filter);
    const shown = matching.slice(0, MAX_ITEM_ROWS);
    replaceChildren(holder, [itemsTable(report, shown, options.openLine)]);
    countLine.textContent = `${count(matching.length)} of ${count(report.items.length)} items`;
    const active = [filter.k !== 'all' ? `k = ${filter.k}` : '', filter.disagreementsOnly ? 'disagreements only' : ''].filter(Boolean);
    filtered.hidden = active.length === 0;
    replaceChildren(filtered, active.length ? [`Filtered: ${active.join(', ')} · `, showAll] : []);
    note.hidden = matching.length <= MAX_ITEM_ROWS;
    note.textContent = note.hidden ? '' :
      `Showing the first ${count(MAX_ITEM_ROWS)} of ${count(matching.length)} matching items; filter by k to see others.`;
  };
  const change = (): void => {
    filter = { k: select.value === 'all' ? 'all' : Number(select.value), disagreementsOnly: checkbox.checked };
    refresh();
    options.onFilterChange(filter);
  };
  showAll.addEventListener('click', () => {
    select.value = 'all';
    checkbox.checked = false;
    change();
  });
  select.addEventListener('change', change);
  checkbox.addEventListener('change', change);
  refresh();

  const controls = h('div', { id: 'items-filter', className: 'filter-bar' }, [
    h('label', { attrs: { for: 'items-filter-k' } }, ['Shots ']), select,
    h('label', { className: 'checkbox' }, [checkbox, ' disagreements only']),
    countLine,
    filtered,
  ]);
  return [controls, note, holder];
}

function itemsTable(report: ExperimentReport, items: readonly ItemRow[], openLine?: (line: number) => void): HTMLTableElement {
  const metrics = itemMetrics(report);
  const columns: Column[] = [
    { text: 'k', numeric: true },
    { text: 'line', numeric: true, title: 'Line of the held-out record in the dataset' },
    { text: 'prompt' },
    { text: 'output' },
    { text: 'reference' },
    { text: 'diff', title: 'Word diff from the reference to the output: struck words are in the reference only, underlined words in the output only' },
    ...metrics.map((id): Column => ({ text: metricTitle(id), numeric: true })),
    { text: 'ref. log-prob', numeric: true, title: 'Log-probability of the reference under the prompted model (total; per token on hover)' },
  ];
  const rows = items.map((item) => row([
    cell(item.k, { numeric: true }),
    cell(lineCell(item.line, openLine), { numeric: true }),
    cell(promptDetails(item)),
    cell(outputText(item)),
    cell(h('pre', { className: 'text' }, [item.reference])),
    cell(renderWordDiff(item.reference, item.output)),
    ...metrics.map((id) => cell(percent(item.scores[id]), { numeric: true })),
    referenceLogProbCell(item),
  ], {
    className: `item-row${isDisagreement(item, report.primaryMetric) ? ' disagreement' : ''}`,
    attrs: { 'data-k': item.k, 'data-line': item.line },
  }));
  return table('items-table', columns, rows);
}

function lineCell(line: number, openLine?: (line: number) => void): HTMLElement {
  if (!openLine) return h('span', { className: 'line-number' }, [line]);
  const button = h('button', { className: 'line-link', title: `Open line ${line} of the dataset`, attrs: { type: 'button', 'data-line': line } }, [line]);
  button.addEventListener('click', () => openLine(line));
  return button;
}

function promptDetails(item: ItemRow): HTMLElement {
  const shots = `${item.shotsUsed} shot${item.shotsUsed === 1 ? '' : 's'}, ${count(item.promptTokens)} tokens`;
  const examples = item.exampleLines.length ? `examples from lines ${item.exampleLines.join(', ')}` : 'no examples';
  return h('details', { className: 'prompt' }, [
    h('summary', { title: examples }, [shots]),
    h('pre', { className: 'text' }, [item.prompt]),
  ]);
}

function outputText(item: ItemRow): HTMLElement[] {
  const marks: string[] = [];
  if (item.finishReason === 'max-new-tokens') marks.push('cut at the token limit');
  if (item.predictedLabel !== null) marks.push(`label: ${item.predictedLabel}`);
  if (item.cached) marks.push('cached');
  return [
    h('pre', { className: 'text', title: `finished by ${item.finishReason}, ${fixed(item.milliseconds, 0)} ms` }, [item.output]),
    ...(marks.length ? [h('span', { className: 'muted item-marks' }, [marks.join(' · ')])] : []),
  ];
}

function referenceLogProbCell(item: ItemRow): HTMLTableCellElement {
  if (item.referenceLogProb === null) return cell('—', { numeric: true });
  const perToken = item.referenceTokens ? item.referenceLogProb / item.referenceTokens : null;
  return cell(fixed(item.referenceLogProb, 2), {
    numeric: true,
    title: perToken === null ? '' : `${fixed(perToken, 3)} per token over ${item.referenceTokens} tokens`,
  });
}
