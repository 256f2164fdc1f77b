/**
 * Messages between the dataset view (a webview panel: labels, lengths, duplicates, fields, problems) and the
 * extension host. Shared by both sides; each type says which way it travels.
 */
import type { DatasetOverview } from '../../engine/dataset/overview';

/** Host → webview. */
export type DatasetHostMessage =
  /**
   * `referenceOverride`: the reference field set in the `promptOrFinetune.fields` setting, null when detected.
   * `provisional`: bytes read so far when the overview covers only the start of a large file.
   * `charactersWhy`: why lengths are in characters when they are (the tokenizer could not be read, or is being read).
   */
  | { type: 'overview'; overview: DatasetOverview; referenceOverride: string | null; provisionalBytes: number | null; charactersWhy?: string }
  | { type: 'inspecting'; name: string }
  | { type: 'error'; message: string };

/** What the page keeps in webview state across reloads: which file it shows, never the data. */
export interface DatasetPanelState {
  file: string;
}

/** Webview → host. */
export type DatasetWebviewMessage =
  | { type: 'ready' }
  /** Reveal a line of the dataset in the editor. */
  | { type: 'openLine'; line: number }
  /** Compare with this field (writes `promptOrFinetune.fields.reference`); null goes back to the detected one. */
  | { type: 'setReference'; path: string | null };

export function isDatasetWebviewMessage(value: unknown): value is DatasetWebviewMessage {
  if (typeof value !== 'object' || value === null) return false;
  const message = value as { type?: unknown; line?: unknown; path?: unknown };
  switch (message.type) {
    case 'ready': return true;
    case 'openLine': return Number.isInteger(message.line) && (message.line as number) > 0;
    case 'setReference': return message.path === null || (typeof message.path === 'string' && message.path.length > 0 && message.path.length < 500);
    default: return false;
  }
}

export function isDatasetHostMessage(value: unknown): value is DatasetHostMessage {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  return type === 'overview' || type === 'inspecting' || type === 'error';
}
