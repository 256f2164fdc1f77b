/**
 * The report panel: renders an ExperimentReport into <main id="report">.
 *
 * Two homes: the VS Code webview (the host sends the report and progress; we send exports and line
 * openings), and the standalone HTML export (no VS Code API; the report is JSON in #report-data).
 */
import type { Chart } from 'chart.js';
import { degenerateNotes } from '../../engine/experiment/degenerate';
import type { ExperimentReport } from '../../engine/experiment/report';
import { chartDescription, renderAgreementChart } from './chart';
import { h, replaceChildren, section } from './dom';
import { itemsSection, type ItemFilter } from './items';
import { isReportHostMessage, type ReportHostMessage, type ReportPanelState, type ReportWebviewMessage } from './protocol';
import { exportBar, factsLine, partialNote, verdictBanner } from './summary';
import { assumptions, boundInputsTable, boundsTable, curveTable, labelDistributionTable, leftOutLists, shotFit } from './tables';
import { getWebviewApi } from './vscodeApi';

const api = getWebviewApi<ReportWebviewMessage>();
const standalone = api === null;

const root = rootElement();
const progressLine = h('div', { id: 'progress', className: 'progress-line', attrs: { hidden: true, role: 'status' } });
const errorLine = h('div', { id: 'error', className: 'error-line', attrs: { hidden: true, role: 'alert' } });
const content = h('div', { id: 'report-content' });
const bar = standalone ? null : exportBar((format) => api?.postMessage({ type: 'export', format }));

let chart: Chart<'line', number[], string> | null = null;
let shownReport: ExperimentReport | null = null;

function rootElement(): HTMLElement {
  const existing = document.getElementById('report');
  if (existing) return existing;
  const created = h('main', { id: 'report' });
  document.body.appendChild(created);
  return created;
}

// ---- Filter state: kept across reloads, merged into the host's state (which holds the report file) --------

/** Which report a filter belongs to: a filter never carries over to another dataset's report, or a newer run. */
function filterKey(report: ExperimentReport): string {
  return `${report.dataset.file}@${report.createdAt}`;
}

function savedFilter(report: ExperimentReport): ItemFilter {
  const state = (api?.getState() ?? {}) as Partial<ReportPanelState>;
  if (state.filterFor !== filterKey(report)) return { k: 'all', disagreementsOnly: false };
  const k = state.filterK;
  return {
    k: typeof k === 'number' && Number.isFinite(k) ? k : 'all',
    disagreementsOnly: state.disagreementsOnly === true,
  };
}

function saveFilter(report: ExperimentReport, filter: ItemFilter): void {
  const patch: Pick<ReportPanelState, 'filterK' | 'disagreementsOnly' | 'filterFor'> = { filterK: filter.k, disagreementsOnly: filter.disagreementsOnly, filterFor: filterKey(report) };
  api?.mergeState(patch);
}

// ---- Rendering -----------------------------------------------------------------------------------------

/** Classification reports: predicted against reference label shares, per k. */
function labelSection(report: ExperimentReport): HTMLElement[] {
  const labels = labelDistributionTable(report);
  return labels ? [section('labels', 'Label distributions', [h('div', { className: 'table-scroll' }, [labels])])] : [];
}

/** The plain sentences of a degenerate run (no shot fits, the query exceeds the context, no valid label). */
function degenerateNotesBlock(report: ExperimentReport): HTMLElement | null {
  const notes = report.notes ?? degenerateNotes(report);
  if (!notes.length) return null;
  return h('div', { id: 'run-notes', className: 'run-notes', attrs: { role: 'note' } }, notes.map((note) => h('p', { className: 'run-note' }, [note])));
}

function showReport(report: ExperimentReport): void {
  shownReport = report;
  chart?.destroy();
  chart = null;
  errorLine.hidden = true;
  const chartCanvas = report.curve.length
    ? h('canvas', { id: 'agreement-chart', attrs: { role: 'img', 'aria-label': chartDescription(report) } })
    : null;
  replaceChildren(content, [
    verdictBanner(report),
    degenerateNotesBlock(report),
    partialNote(report),
    factsLine(report),
    section('agreement', 'Agreement against shots', report.curve.length
      ? [h('div', { className: 'chart-box' }, [chartCanvas]), h('div', { className: 'table-scroll' }, [curveTable(report)])]
      : [h('p', { className: 'muted', id: 'no-curve' }, ['Nothing was measured.'])]),
    ...labelSection(report),
    ...leftOutLists(report),
    section('bounds', 'Bounds', [
      h('div', { className: 'table-scroll' }, [boundsTable(report)]),
      h('h3', {}, ['Inputs']),
      h('div', { className: 'table-scroll' }, [boundInputsTable(report)]),
      shotFit(report),
      assumptions(),
    ]),
    section('items', 'Items', itemsSection(report, {
      filter: savedFilter(report),
      onFilterChange: (filter) => saveFilter(report, filter),
      ...(standalone ? {} : { openLine: (line: number) => api?.postMessage({ type: 'openLine', line }) }),
    })),
  ]);
  // The chart is drawn once the canvas is in the document, so it has a size to fill.
  if (chartCanvas) chart = renderAgreementChart(chartCanvas, report);
  bar?.querySelectorAll('button').forEach((button) => { button.disabled = false; });
  root.dataset.state = 'rendered';
}

function showProgress(progress: { done: number; total: number; message: string } | null): void {
  progressLine.hidden = progress === null;
  if (!progress) {
    replaceChildren(progressLine, []);
    return;
  }
  const meter = h('progress', { attrs: { max: Math.max(1, progress.total), 'aria-label': 'Run progress' } });
  meter.value = Math.min(progress.done, Math.max(1, progress.total));
  replaceChildren(progressLine, [meter, h('span', { className: 'progress-text' }, [`${progress.done} / ${progress.total} · ${progress.message}`])]);
}

function showError(message: string): void {
  errorLine.hidden = false;
  errorLine.textContent = message;
  if (!shownReport) root.dataset.state = 'error';
}

function handle(message: ReportHostMessage): void {
  switch (message.type) {
    case 'showReport':
      // The host restores the panel from this after a reload (its deserializer reads reportFile).
      if (typeof message.reportFile === 'string') api?.mergeState({ reportFile: message.reportFile });
      showReport(message.report);
      break;
    case 'showProgress': showProgress(message.progress); break;
    case 'showError': showError(message.message); break;
  }
}

/** The theme changed (VS Code swaps body classes): redraw the chart in the new colours. */
function redrawChartOnThemeChange(): void {
  new MutationObserver(() => {
    const canvas = document.getElementById('agreement-chart');
    if (!shownReport || !(canvas instanceof HTMLCanvasElement)) return;
    chart?.destroy();
    chart = renderAgreementChart(canvas, shownReport);
  }).observe(document.body, { attributes: true, attributeFilter: ['class'] });
}

function readEmbeddedReport(): void {
  const data = document.getElementById('report-data');
  try {
    if (!data?.textContent) throw new Error('the report data is missing from this file');
    showReport(JSON.parse(data.textContent) as ExperimentReport);
  } catch (error) {
    showError(`Cannot show the report: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function start(): void {
  replaceChildren(root, [bar, progressLine, errorLine, content]);
  root.dataset.state = 'waiting';
  if (standalone) {
    document.body.classList.add('standalone');
    readEmbeddedReport();
  } else {
    replaceChildren(content, [h('p', { className: 'muted', id: 'waiting' }, ['Waiting for the report…'])]);
    // Listen before saying ready, or the host's first message could arrive unheard.
    window.addEventListener('message', (event: MessageEvent<unknown>) => {
      if (isReportHostMessage(event.data)) handle(event.data);
    });
    api?.postMessage({ type: 'ready' });
  }
  redrawChartOnThemeChange();
}

start();
