/**
 * The side panel's dataset list (a webview view): one card per JSONL file of the workspace, with the
 * theory's and the measured verdicts and the actions on it. The host owns the state; this only renders it.
 */
import { h, replaceChildren } from '../report/dom';
import { bytes, count } from '../report/format';
import { getWebviewApi } from '../report/vscodeApi';
import {
  isDatasetsHostMessage, type DatasetCard, type DatasetsHostMessage, type DatasetsWebviewMessage, type DatasetStatus, type RunProgress,
} from './protocol';

const api = getWebviewApi<DatasetsWebviewMessage>();
const root = rootElement();

let model: string | null = null;
let modelProblem: string | undefined;
let cards: DatasetCard[] = [];
let progress: RunProgress | null = null;
/** False until the host's first list arrives: "no files" must not flash before it. */
let received = false;

function rootElement(): HTMLElement {
  const existing = document.getElementById('datasets');
  if (existing) return existing;
  const created = h('main', { id: 'datasets' });
  document.body.appendChild(created);
  return created;
}

const STATUS_TEXT: Record<DatasetStatus, string> = {
  'not-inspected': 'not inspected',
  'inspecting': 'inspecting…',
  'ready': 'ready',
  'running': 'running…',
  'compared': 'compared',
  'error': 'error',
};

type CardAction = 'inspect' | 'run' | 'openReport' | 'openFile' | 'showDataset' | 'cancel';
type PanelAction = 'selectModel' | 'refresh';

/** The one place a button's data attributes become a typed message. */
function messageFor(action: string, uri: string | undefined): DatasetsWebviewMessage | null {
  switch (action) {
    case 'selectModel': case 'refresh': case 'cancel': return { type: action };
    case 'inspect': case 'run': case 'openReport': case 'openFile': case 'showDataset': return uri === undefined ? null : { type: action, uri };
    default: return null;
  }
}

function button(action: CardAction | PanelAction, label: string, options: { uri?: string; disabled?: boolean; primary?: boolean; title?: string } = {}): HTMLButtonElement {
  return h('button', {
    className: `action-button${options.primary ? ' primary' : ''}`,
    ...(options.title ? { title: options.title } : {}),
    attrs: { type: 'button', 'data-action': action, 'data-uri': options.uri, disabled: options.disabled === true },
  }, [label]);
}

// ---- Rendering -----------------------------------------------------------------------------------------

function header(): HTMLElement {
  return h('header', { id: 'datasets-header', className: 'panel-header' }, [
    h('div', { id: 'model-line', className: 'model-line' }, [
      h('span', { className: 'muted' }, ['Model: ']),
      h('span', { id: 'model-id', className: model ? 'model-id' : 'model-id none' }, [model ?? 'none selected']),
    ]),
    modelProblem ? h('p', { id: 'model-problem', className: 'dataset-error', attrs: { role: 'alert' } }, [`Tokenizer not read, so counts are estimated from characters: ${modelProblem}`]) : null,
    h('div', { className: 'button-row' }, [
      button('selectModel', 'Select model', { primary: !model }),
      button('refresh', 'Refresh', { title: 'Look for .jsonl files again' }),
    ]),
  ]);
}

function summaryLine(card: DatasetCard): string {
  const parts = [bytes(card.bytes)];
  if (card.schema) parts.push(card.schema);
  if (card.records !== undefined) parts.push(`${count(card.records)} records`);
  if (card.invalid !== undefined) parts.push(`${count(card.invalid)} invalid`);
  if (card.warnings !== undefined) parts.push(`${count(card.warnings)} ${card.warnings === 1 ? 'warning' : 'warnings'}`);
  if (card.provisionalBytes !== undefined) parts.push(`provisional: first ${bytes(card.provisionalBytes)} read`);
  return parts.join(' · ');
}

/** The shot estimate as every view shows it: k_fit in the context, and whether tokens were counted or guessed. */
function fitLine(card: DatasetCard): string | null {
  if (card.kFit === undefined || card.contextLength === undefined) return null;
  return `k_fit ${count(card.kFit)} in ${count(card.contextLength)} tokens${card.estimatedFromCharacters ? ' (estimated from characters)' : ''}`;
}

/** A sentence clamped to two lines by CSS (at a word, with an ellipsis); the whole of it on hover. */
function clamped(className: string, label: string | null, text: string, extra: HTMLElement | null = null): HTMLElement {
  return h('p', { className: `${className} clamp`, title: `${label ?? ''}${text}` }, [label ? h('span', { className: 'label' }, [label]) : null, text, extra]);
}

function datasetCard(card: DatasetCard): HTMLElement {
  const busy = card.status === 'inspecting' || card.status === 'running';
  const fit = fitLine(card);
  const stale = card.measuredWith !== undefined
    ? h('span', { className: 'stale-pill', title: `Measured with ${card.measuredWith}, not the model selected now: run again to update.` }, ['stale'])
    : null;
  return h('article', { className: `dataset-card status-${card.status}`, attrs: { 'data-uri': card.uri, 'data-status': card.status, ...(card.measuredWith !== undefined ? { 'data-stale': true } : {}) } }, [
    h('div', { className: 'card-title' }, [
      h('span', { className: 'dataset-name', title: card.relativePath }, [card.name]),
      h('span', { className: `status-pill status-${card.status}`, attrs: { 'data-status': card.status } }, [STATUS_TEXT[card.status] ?? card.status]),
    ]),
    h('div', { className: 'dataset-summary muted' }, [summaryLine(card)]),
    // One line for the theory: k_fit first (the number every view shares), the sentence after it, cut at a word.
    fit || card.theory ? h('p', { className: 'dataset-theory clamp-1', title: [fit, card.theory].filter(Boolean).join(' · ') }, [
      fit ? h('span', { className: 'dataset-fit', attrs: { 'data-k-fit': card.kFit } }, [fit]) : null,
      fit && card.theory ? ' · ' : null,
      card.theory ?? null,
    ]) : null,
    card.measured ? clamped('dataset-measured', 'Measured: ', card.measured, stale) : null,
    card.error ? h('p', { className: 'dataset-error', attrs: { role: 'alert' } }, [card.error]) : null,
    h('div', { className: 'card-progress', attrs: { 'data-uri': card.uri } }),
    h('div', { className: 'button-row card-actions' }, [
      button('run', 'Run', { uri: card.uri, disabled: busy, primary: true }),
      button('showDataset', 'Dataset', { uri: card.uri, disabled: card.status === 'inspecting', title: 'Inspect: labels, lengths, duplicates, fields and problems' }),
      button('openReport', 'Report', { uri: card.uri, disabled: !card.hasReport, title: card.hasReport ? 'Open the report' : 'No report yet: run first' }),
      button('openFile', 'Open', { uri: card.uri, title: 'Open the file' }),
    ]),
  ]);
}

function render(): void {
  const list = !received
    ? h('p', { id: 'datasets-loading', className: 'muted' }, ['Looking for datasets…'])
    : cards.length
      ? h('div', { id: 'dataset-list', className: 'dataset-list' }, cards.map(datasetCard))
      : h('p', { id: 'datasets-empty', className: 'empty muted' }, ['No .jsonl files in this workspace.']);
  replaceChildren(root, [header(), list]);
  renderProgress();
}

/**
 * Progress changes many times a second: update the matching card's slot in place instead of re-rendering
 * the list, so focus (say, on Cancel) survives.
 */
function renderProgress(): void {
  root.querySelectorAll<HTMLElement>('.card-progress').forEach((slot) => {
    if (!progress || slot.dataset.uri !== progress.uri) {
      replaceChildren(slot, []);
      return;
    }
    let meter = slot.querySelector('progress');
    let text = slot.querySelector<HTMLElement>('.progress-text');
    if (!meter || !text) {
      meter = h('progress', { attrs: { 'aria-label': 'Run progress' } });
      text = h('span', { className: 'progress-text' });
      replaceChildren(slot, [meter, text, button('cancel', 'Cancel', { uri: progress.uri })]);
    }
    meter.max = Math.max(1, progress.total);
    meter.value = Math.min(progress.done, meter.max);
    text.textContent = `${count(progress.done)} / ${count(progress.total)}${progress.message ? ` · ${progress.message}` : ''}`;
  });
}

function handle(message: DatasetsHostMessage): void {
  if (message.type === 'datasets') {
    model = message.model;
    modelProblem = message.modelProblem;
    cards = message.datasets;
    received = true;
    render();
  } else {
    progress = message.progress;
    renderProgress();
  }
}

// One listener for every button, present or future: cards are re-rendered whenever the host sends a list.
root.addEventListener('click', (event) => {
  const target = event.target instanceof Element ? event.target.closest<HTMLButtonElement>('button[data-action]') : null;
  if (!target || target.disabled) return;
  const message = messageFor(target.dataset.action ?? '', target.dataset.uri);
  if (message) api?.postMessage(message);
});

render();
// Listen before saying ready, or the host's first list could arrive unheard.
window.addEventListener('message', (event: MessageEvent<unknown>) => {
  if (isDatasetsHostMessage(event.data)) handle(event.data);
});
api?.postMessage({ type: 'ready' });
