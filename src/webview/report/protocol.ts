/**
 * Messages between the report panel (webview) and the extension host. Shared by both sides; each type says
 * which way it travels. Dataset text inside a report is data: the webview renders it with textContent only.
 */
import type { ExperimentReport } from '../../engine/experiment/report';

export type ExportFormat = 'html' | 'json' | 'markdown';

/** Host → webview. */
export type ReportHostMessage =
  /** `reportFile` is where the host keeps the report: the panel stores it in its state to restore after a reload. */
  | { type: 'showReport'; report: ExperimentReport; reportFile: string }
  | { type: 'showProgress'; progress: { done: number; total: number; message: string } | null }
  | { type: 'showError'; message: string };

/** Webview → host. */
export type ReportWebviewMessage =
  | { type: 'ready' }
  | { type: 'export'; format: ExportFormat }
  /** Reveal a record of the dataset in the editor. */
  | { type: 'openLine'; line: number };

/** What the panel keeps in webview state across reloads: where the report is, never the report itself. */
export interface ReportPanelState {
  reportFile: string;
  /** The report (file and creation time) the filter was set on: another report starts unfiltered. */
  filterFor?: string;
  filterK: number | 'all';
  disagreementsOnly: boolean;
}

export function isReportWebviewMessage(value: unknown): value is ReportWebviewMessage {
  if (typeof value !== 'object' || value === null) return false;
  const message = value as { type?: unknown; format?: unknown; line?: unknown };
  switch (message.type) {
    case 'ready': return true;
    case 'export': return message.format === 'html' || message.format === 'json' || message.format === 'markdown';
    case 'openLine': return Number.isInteger(message.line) && (message.line as number) > 0;
    default: return false;
  }
}

export function isReportHostMessage(value: unknown): value is ReportHostMessage {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  return type === 'showReport' || type === 'showProgress' || type === 'showError';
}
