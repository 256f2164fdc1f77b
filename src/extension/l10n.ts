/**
 * User-facing strings go through VS Code's l10n (`l10n/bundle.l10n.json` is the English source bundle; a
 * translation is a `bundle.l10n.<locale>.json` beside it). `{0}`, `{1}` … are the arguments, in order.
 */
import * as vscode from 'vscode';

export function t(message: string, ...args: (string | number | boolean)[]): string {
  return vscode.l10n.t(message, ...args);
}
