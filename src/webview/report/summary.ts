/** The top of the report: the export bar, the two verdicts, the partial-run note and the facts line. */
import type { ExperimentReport, MeasuredVerdict, MeasuredVerdictKind } from '../../engine/experiment/report';
import type { TheoryVerdictKind } from '../../engine/bounds/bounds';
import { describeSelection } from '../../engine/prompt/strategies';
import type { ExportFormat } from './protocol';
import { h } from './dom';
import { count, duration, percent, pValue } from './format';

const MEASURED_BADGES: Record<MeasuredVerdictKind, string> = {
  'prompting-suffices': 'PROMPT',
  'fine-tune': 'FINE-TUNE',
  'still-improving': 'STILL IMPROVING',
  'undecided': 'UNDECIDED',
  'not-run': 'NOT RUN',
};

const THEORY_TITLES: Record<TheoryVerdictKind, string> = {
  'prompting-suffices': 'Theory: prompting suffices',
  'retrieval': 'Theory: retrieve the most relevant examples',
  'no-guarantee': 'Theory: no guarantee',
};

const EXPORTS: { format: ExportFormat; label: string }[] = [
  { format: 'html', label: 'HTML' },
  { format: 'json', label: 'JSON' },
  { format: 'markdown', label: 'Markdown' },
];

/** Buttons start disabled: there is nothing to export until a report is shown. */
export function exportBar(onExport: (format: ExportFormat) => void): HTMLElement {
  const buttons = EXPORTS.map(({ format, label }) => {
    const button = h('button', { className: 'export-button', attrs: { type: 'button', 'data-format': format, disabled: true } }, [label]);
    button.addEventListener('click', () => onExport(format));
    return button;
  });
  return h('div', { id: 'export-bar', className: 'export-bar', attrs: { role: 'toolbar', 'aria-label': 'Export the report' } }, [
    h('span', { className: 'muted' }, ['Export:']),
    ...buttons,
  ]);
}

export function verdictBanner(report: ExperimentReport): HTMLElement {
  const { measured, theory } = report.verdict;
  return h('section', { id: 'verdict', className: `verdict verdict-${measured.kind}`, attrs: { 'data-kind': measured.kind, 'aria-label': 'Verdict' } }, [
    h('p', { className: 'verdict-line verdict-measured' }, [
      h('span', { id: 'verdict-badge', className: `badge badge-measured badge-${measured.kind}`, attrs: { 'data-kind': measured.kind } }, [MEASURED_BADGES[measured.kind] ?? measured.kind]),
      h('span', { id: 'verdict-measured', className: 'verdict-sentence' }, [measured.sentence]),
    ]),
    ...evidenceLine(measured.evidence, measured.k),
    h('p', { className: 'verdict-line verdict-theory' }, [
      h('span', { id: 'theory-badge', className: `badge badge-theory badge-theory-${theory.kind}`, title: THEORY_TITLES[theory.kind] ?? theory.kind, attrs: { 'data-kind': theory.kind } }, ['THEORY']),
      h('span', { id: 'verdict-theory', className: 'verdict-sentence' }, [theory.sentence]),
    ]),
  ]);
}

/** The measured verdict's evidence in one line: k, n, the deciding bound at its adjusted confidence, the test, p. */
function evidenceLine(evidence: MeasuredVerdict['evidence'] | undefined, k: number | null): HTMLElement[] {
  if (!evidence) return [];
  const bound = evidence.bound
    ? `${evidence.bound.side} ${Number((evidence.bound.confidence * 100).toFixed(2))}% bound ${percent(evidence.bound.value)} (ε = ${percent(evidence.epsilon)})`
    : null;
  const parts = [k === null ? null : `k = ${k}`, `n = ${count(evidence.n)}`, `disagreement ${percent(evidence.rate)}`, bound, evidence.test, pEquals(evidence.pValue)];
  return [h('p', { id: 'verdict-evidence', className: 'verdict-line verdict-evidence muted' }, [`Evidence: ${parts.filter((part) => part !== null).join(' · ')}`])];
}

// "p = 0.0103", but "p < 0.0001" where the formatter gives a floor.
function pEquals(value: number): string {
  const shown = pValue(value);
  return shown.startsWith('<') ? `p ${shown}` : `p = ${shown}`;
}

export function partialNote(report: ExperimentReport): HTMLElement | null {
  if (report.complete) return null;
  return h('p', { id: 'partial-note', className: 'partial-note', attrs: { role: 'note' } }, [
    'partial: the run was cancelled; the curve covers what was done.',
  ]);
}

function fact(name: string, label: string, value: string, title?: string): HTMLElement {
  return h('span', { className: 'fact', attrs: { 'data-fact': name }, ...(title ? { title } : {}) }, [
    h('span', { className: 'fact-label' }, [label]), ' ', value,
  ]);
}

/** One line of what was run on what: enough to reproduce it. */
export function factsLine(report: ExperimentReport): HTMLElement {
  const { dataset, model, settings, split, timing } = report;
  const facts = [
    fact('file', 'file', dataset.name, dataset.file),
    fact('schema', 'schema', dataset.schema),
    fact('records', 'records', `${count(dataset.records)} (${count(dataset.usable)} usable, ${count(dataset.invalid)} invalid)`),
    fact('model', 'model', `${model.id} (context ${count(model.contextLength)})`, `fingerprint ${model.fingerprint}`),
    fact('split', 'held out', `${count(split.heldOut)}, pool ${count(split.pool)}`),
    fact('seed', 'seed', String(settings.seed)),
    fact('selection', 'selection', describeSelection(settings.selection)),
    fact('epsilon', 'ε', String(settings.epsilon)),
    fact('delta', 'δ', String(settings.delta)),
    fact('duration', 'took', duration(timing.seconds), `run at ${report.createdAt}`),
    fact('calls', 'answers and scores', `${count(timing.modelCalls)} from the model, ${count(timing.cachedCalls)} cached`, 'One per generated answer or scored continuation (not forward passes: a batch computes several)'),
  ];
  const children: (HTMLElement | string)[] = [];
  facts.forEach((element, index) => {
    if (index > 0) children.push(' · ');
    children.push(element);
  });
  return h('p', { id: 'facts', className: 'facts' }, children);
}
