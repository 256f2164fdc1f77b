/**
 * Malformed lines and schema problems in the Problems panel, and the quick fixes that are obvious:
 * escape raw control characters, delete a line that is not a record, rewrite pretty-printed records one per line.
 */
import * as vscode from 'vscode';
import { escapeControlCharactersInLine, toOneRecordPerLine } from '../engine/dataset/jsonLines';
import type { DatasetCheck } from '../engine/datasetCheck';
import type { DatasetStore } from './datasetStore';

const SOURCE = 'Prompt or Fine-Tune';

export const enum ProblemCode {
  Malformed = 'malformed',
  NotARecord = 'not-a-record',
  ControlCharacter = 'control-character',
  MultiLine = 'multi-line',
  Schema = 'schema',
  Warning = 'warning',
  NotJsonLines = 'not-json-lines',
}

export class DatasetDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('promptOrFinetune');
  private readonly subscription: vscode.Disposable;

  constructor(private readonly store: DatasetStore) {
    this.subscription = store.onDidChange((uri) => this.refresh(uri));
  }

  refresh(uri: vscode.Uri): void {
    const check = this.store.peek(uri);
    if (check) this.collection.set(uri, diagnosticsFor(check));
    else if (!this.store.isPending(uri)) this.collection.delete(uri);
  }

  dispose(): void {
    this.subscription.dispose();
    this.collection.dispose();
  }
}

function diagnosticsFor(check: DatasetCheck): vscode.Diagnostic[] {
  const { inspection } = check;
  const at = (line: number, column: number): vscode.Range => new vscode.Range(line - 1, Math.max(0, column - 1), line - 1, Number.MAX_SAFE_INTEGER);
  const make = (range: vscode.Range, message: string, severity: vscode.DiagnosticSeverity, code: ProblemCode): vscode.Diagnostic => {
    const diagnostic = new vscode.Diagnostic(range, message, severity);
    diagnostic.source = SOURCE;
    diagnostic.code = code;
    return diagnostic;
  };
  if (inspection.notJsonLines) return [make(at(1, 1), inspection.notJsonLines, vscode.DiagnosticSeverity.Error, ProblemCode.NotJsonLines)];
  const diagnostics: vscode.Diagnostic[] = [];
  for (const error of inspection.errors) {
    const notRecord = /^(stray |Git LFS pointer line|line is a JSON |not a JSON object)/.test(error.message);
    diagnostics.push(make(at(error.line, error.column), error.message, vscode.DiagnosticSeverity.Error, notRecord ? ProblemCode.NotARecord : ProblemCode.Malformed));
  }
  for (const problem of inspection.schemaProblems) {
    diagnostics.push(make(at(problem.line, 1), `record cannot be used as a ${inspection.schema} example: ${problem.message}`, vscode.DiagnosticSeverity.Warning, ProblemCode.Schema));
  }
  for (const warning of inspection.warnings) {
    const code = warning.message.startsWith('raw control character') ? ProblemCode.ControlCharacter
      : /span several lines/.test(warning.message) ? ProblemCode.MultiLine : ProblemCode.Warning;
    diagnostics.push(make(at(warning.line, warning.column), warning.message, vscode.DiagnosticSeverity.Warning, code));
  }
  return diagnostics;
}

export class DatasetQuickFixes implements vscode.CodeActionProvider {
  static readonly kinds = [vscode.CodeActionKind.QuickFix];

  provideCodeActions(document: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const actions: vscode.CodeAction[] = [];
    for (const diagnostic of context.diagnostics) {
      if (diagnostic.source !== SOURCE) continue;
      const line = document.lineAt(diagnostic.range.start.line);
      if (diagnostic.code === ProblemCode.ControlCharacter) {
        const action = new vscode.CodeAction('Escape the control characters in this record', vscode.CodeActionKind.QuickFix);
        action.edit = new vscode.WorkspaceEdit();
        action.edit.replace(document.uri, line.range, escapeControlCharactersInLine(line.text));
        action.diagnostics = [diagnostic];
        action.isPreferred = true;
        actions.push(action);
      } else if (diagnostic.code === ProblemCode.NotARecord) {
        const action = new vscode.CodeAction(`Delete line ${line.lineNumber + 1}`, vscode.CodeActionKind.QuickFix);
        action.edit = new vscode.WorkspaceEdit();
        action.edit.delete(document.uri, line.rangeIncludingLineBreak);
        action.diagnostics = [diagnostic];
        actions.push(action);
      } else if (diagnostic.code === ProblemCode.MultiLine) {
        const action = new vscode.CodeAction('Rewrite as JSON Lines (one record per line)', vscode.CodeActionKind.QuickFix);
        action.edit = new vscode.WorkspaceEdit();
        const whole = new vscode.Range(0, 0, document.lineCount, 0);
        action.edit.replace(document.uri, whole, toOneRecordPerLine(document.getText()));
        action.diagnostics = [diagnostic];
        action.isPreferred = true;
        actions.push(action);
      }
    }
    return actions;
  }
}
