/**
 * The dataset view: a dataset in full — the field mapping (and which field is compared, with a way to switch),
 * label distribution, length histograms, duplicate and conflicting inputs with links to their lines, and the
 * problems. The host sends a DatasetOverview; dataset text goes into the page as text nodes only.
 */
import { BarController, BarElement, CategoryScale, Chart, LinearScale, Tooltip } from 'chart.js';
import type { DatasetOverview, DuplicateGroup, Histogram, OverviewProblem } from '../../engine/dataset/overview';
import { cell, h, replaceChildren, row, section, table } from '../report/dom';
import { bytes, count } from '../report/format';
import { getWebviewApi } from '../report/vscodeApi';
import { isDatasetHostMessage, type DatasetHostMessage, type DatasetWebviewMessage } from './protocol';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

const api = getWebviewApi<DatasetWebviewMessage>();
const root = document.getElementById('dataset') ?? document.body.appendChild(h('main', { id: 'dataset' }));
let charts: Chart[] = [];

const KIND_TEXT: Record<string, string> = { 'model-output': "a fine-tuned model's output", gold: 'a gold answer' };

function theme(): { foreground: string; grid: string; bar: string; fontFamily: string } {
  const style = getComputedStyle(document.body);
  const read = (name: string, fallback: string): string => style.getPropertyValue(name).trim() || fallback;
  return {
    foreground: read('--vscode-foreground', '#1f2328'),
    grid: read('--vscode-editorWidget-border', 'rgba(128, 128, 128, 0.35)'),
    bar: read('--vscode-charts-blue', '#1a85ff'),
    fontFamily: read('--vscode-font-family', 'system-ui, sans-serif'),
  };
}

function barChart(id: string, labels: string[], values: number[], xTitle: string, description: string): HTMLElement {
  const canvas = h('canvas', { id, attrs: { role: 'img', 'aria-label': description } });
  const box = h('div', { className: 'chart-box small' }, [canvas]);
  queueMicrotask(() => {
    const colors = theme();
    charts.push(new Chart(canvas, {
      type: 'bar',
      data: { labels, datasets: [{ label: 'records', data: values, backgroundColor: colors.bar }] },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false, color: colors.foreground, font: { family: colors.fontFamily },
        scales: {
          x: { title: { display: true, text: xTitle, color: colors.foreground }, ticks: { color: colors.foreground }, grid: { color: colors.grid } },
          y: { beginAtZero: true, title: { display: true, text: 'records', color: colors.foreground }, ticks: { color: colors.foreground, precision: 0 }, grid: { color: colors.grid } },
        },
        plugins: { tooltip: { enabled: true } },
      },
    }));
  });
  return box;
}

function lineButton(line: number): HTMLElement {
  return h('button', { className: 'line-link', title: `Open line ${line}`, attrs: { type: 'button', 'data-line': line } }, [line]);
}

function facts(overview: DatasetOverview, provisionalBytes: number | null): HTMLElement {
  const parts = [
    `${count(overview.records)} records`, `${count(overview.usable)} usable`, `${count(overview.invalid)} invalid`,
    `${count(overview.warningCount)} ${overview.warningCount === 1 ? 'warning' : 'warnings'}`, `schema ${overview.schema}`, bytes(overview.bytes),
  ];
  return h('div', {}, [
    h('h1', { id: 'dataset-name' }, [overview.name]),
    h('p', { id: 'dataset-facts', className: 'facts' }, [parts.join(' · ')]),
    provisionalBytes !== null
      ? h('p', { id: 'provisional-note', className: 'partial-note', attrs: { role: 'note' } }, [`Provisional: from the first ${bytes(provisionalBytes)} of ${bytes(overview.bytes)}; the whole file is being read.`])
      : null,
    overview.recordsShown < overview.usable
      ? h('p', { className: 'muted' }, [`Lengths and duplicate groups below are from the first ${count(overview.recordsShown)} usable records; the counts above are from the whole file.`])
      : null,
  ]);
}

function fieldSection(overview: DatasetOverview, override: string | null): HTMLElement {
  const fields = overview.fields;
  const mapping = table('fields-table', [{ text: 'role' }, { text: 'field' }], (['input', 'context', 'reference', 'label'] as const).map((role) =>
    row([cell(role), cell(h('code', {}, [fields[role] ?? '—']))], { attrs: { 'data-role': role } })));
  const candidates = overview.referenceCandidates;
  const compared = fields.reference;
  const kind = candidates.find((candidate) => candidate.path === compared)?.kind;
  const children: (HTMLElement | null)[] = [
    h('p', { id: 'reference-sentence' }, compared
      ? ['Outputs are compared with ', h('code', {}, [compared]), kind ? ` (${KIND_TEXT[kind] ?? kind})` : '', override ? ', set in the promptOrFinetune.fields setting.' : ', as detected.']
      : ['No reference field was found: set one in the promptOrFinetune.fields setting.']),
  ];
  if (candidates.length > 1 || override) {
    const choices = candidates.map((candidate) => {
      const input = h('input', { attrs: { type: 'radio', name: 'reference', value: candidate.path, 'data-path': candidate.path } });
      input.checked = candidate.path === compared;
      input.addEventListener('change', () => { if (input.checked) api?.postMessage({ type: 'setReference', path: candidate.path }); });
      return h('label', { className: 'reference-choice' }, [input, ' ', h('code', {}, [candidate.path]), ` — ${KIND_TEXT[candidate.kind] ?? candidate.kind}`]);
    });
    const reset = override
      ? h('button', { id: 'reference-reset', className: 'link-button', attrs: { type: 'button' } }, ['use the detected field'])
      : null;
    reset?.addEventListener('click', () => api?.postMessage({ type: 'setReference', path: null }));
    children.push(h('fieldset', { id: 'reference-choices', className: 'reference-choices' }, [h('legend', {}, ['Compare the outputs with']), ...choices, reset]));
  }
  return section('fields', 'Fields', [h('div', { className: 'table-scroll' }, [mapping]), ...children]);
}

function labelSection(overview: DatasetOverview): HTMLElement | null {
  if (!overview.labels?.length) return null;
  const total = overview.labels.reduce((sum, entry) => sum + entry.count, 0);
  return section('labels', 'Labels', [
    barChart('labels-chart', overview.labels.map((entry) => entry.label), overview.labels.map((entry) => entry.count), 'label',
      `Bar chart of records per label: ${overview.labels.map((entry) => `${entry.label} ${entry.count}`).join(', ')}`),
    h('div', { className: 'table-scroll' }, [table('labels-table', [{ text: 'label' }, { text: 'records', numeric: true }, { text: 'share', numeric: true }],
      overview.labels.map((entry) => row([cell(entry.label), cell(count(entry.count), { numeric: true }), cell(`${((100 * entry.count) / Math.max(1, total)).toFixed(1)}%`, { numeric: true })], { attrs: { 'data-label': entry.label } })))]),
  ]);
}

function histogramBlock(id: string, title: string, unit: string, histogram: Histogram): HTMLElement {
  const labels = histogram.bins.map((bin) => (bin.to - bin.from <= 1 ? String(bin.from) : `${bin.from}–${bin.to - 1}`));
  return h('div', { className: 'histogram' }, [
    h('h3', {}, [title]),
    histogram.count
      ? barChart(id, labels, histogram.bins.map((bin) => bin.count), unit, `Histogram of ${title.toLowerCase()} in ${unit}: ${histogram.bins.map((bin, index) => `${labels[index]}: ${bin.count}`).join(', ')}`)
      : h('p', { className: 'muted' }, ['No usable records.']),
  ]);
}

function lengthSection(overview: DatasetOverview, charactersWhy: string | undefined): HTMLElement {
  const unit = overview.lengths.unit;
  return section('lengths', `Lengths in ${unit}`, [
    unit === 'characters' ? h('p', { id: 'characters-why', className: 'muted' }, [charactersWhy ?? 'In characters: select a model to count tokens with its tokenizer.']) : null,
    h('div', { className: 'histograms' }, [
      histogramBlock('input-length-chart', 'Inputs', unit, overview.lengths.input),
      histogramBlock('reference-length-chart', 'References', unit, overview.lengths.reference),
    ]),
  ]);
}

function duplicateRow(group: DuplicateGroup): HTMLTableRowElement {
  const lines = h('span', { className: 'line-list' }, group.lines.slice(0, 20).flatMap((line, index) => [index ? ' ' : '', lineButton(line)]));
  return row([
    cell(h('pre', { className: 'text' }, [group.input])),
    cell([lines, group.lines.length > 20 ? ` +${group.lines.length - 20}` : '']),
    cell(group.conflicting ? 'conflicting references' : 'same reference', { className: group.conflicting ? 'conflict' : '' }),
  ], { className: group.conflicting ? 'duplicate-row conflicting' : 'duplicate-row' });
}

function duplicateSection(overview: DatasetOverview): HTMLElement {
  const plural = (n: number, one: string, many: string): string => `${count(n)} ${n === 1 ? one : many}`;
  const summary = `${plural(overview.distinctInputs, 'distinct input', 'distinct inputs')}; ${plural(overview.duplicateInputs, 'duplicate', 'duplicates')}; ${plural(overview.conflictingInputs, 'input', 'inputs')} with conflicting references.`;
  return section('duplicates', 'Duplicates and conflicts', [
    h('p', { id: 'duplicates-summary' }, [summary]),
    overview.duplicateGroups.length
      ? h('div', { className: 'table-scroll' }, [table('duplicates-table', [{ text: 'input' }, { text: 'lines' }, { text: 'references' }], overview.duplicateGroups.map(duplicateRow))])
      : h('p', { className: 'muted' }, ['No input appears twice.']),
  ]);
}

const SEVERITY_TEXT: Record<OverviewProblem['severity'], string> = { error: 'error', warning: 'warning', unusable: 'not usable' };

function problemSection(overview: DatasetOverview): HTMLElement {
  return section('problems', 'Problems', overview.problems.length
    ? [h('div', { className: 'table-scroll' }, [table('problems-table', [{ text: 'line', numeric: true }, { text: 'kind' }, { text: 'problem' }],
      overview.problems.map((problem) => row([cell(lineButton(problem.line), { numeric: true }), cell(SEVERITY_TEXT[problem.severity]), cell(problem.message)], { className: `problem-row ${problem.severity}` })))])]
    : [h('p', { className: 'muted' }, ['No problems: every line is a usable record.'])]);
}

function show(message: Extract<DatasetHostMessage, { type: 'overview' }>): void {
  for (const chart of charts) chart.destroy();
  charts = [];
  const { overview } = message;
  // The host restores the panel from this after a reload.
  api?.mergeState({ file: overview.file });
  replaceChildren(root, [
    facts(overview, message.provisionalBytes),
    fieldSection(overview, message.referenceOverride),
    labelSection(overview),
    lengthSection(overview, message.charactersWhy),
    duplicateSection(overview),
    problemSection(overview),
  ]);
  root.dataset.state = message.provisionalBytes === null ? 'rendered' : 'provisional';
}

function handle(message: DatasetHostMessage): void {
  if (message.type === 'overview') show(message);
  else if (message.type === 'inspecting') {
    replaceChildren(root, [h('p', { className: 'muted', id: 'inspecting' }, [`Reading ${message.name}…`])]);
    root.dataset.state = 'inspecting';
  } else {
    replaceChildren(root, [h('p', { className: 'error-line', attrs: { role: 'alert' } }, [message.message])]);
    root.dataset.state = 'error';
  }
}

root.addEventListener('click', (event) => {
  const target = event.target instanceof Element ? event.target.closest<HTMLElement>('button.line-link') : null;
  const line = Number(target?.dataset.line);
  if (target && Number.isInteger(line) && line > 0) api?.postMessage({ type: 'openLine', line });
});
window.addEventListener('message', (event: MessageEvent<unknown>) => {
  if (isDatasetHostMessage(event.data)) handle(event.data);
});
api?.postMessage({ type: 'ready' });
