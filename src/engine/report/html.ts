/**
 * The standalone HTML export: the report webview's own script and style inlined, with the report as JSON
 * data, so the file renders exactly as the panel does, offline, with a strict CSP.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ExperimentReport } from '../experiment/report';

export interface ReportAssets {
  script: string;
  style: string;
}

export function renderReportHtml(report: ExperimentReport, assets: ReportAssets): string {
  const nonce = randomBytes(16).toString('base64');
  // JSON inside <script> must not close the element: escape '<' (and the JS line separators) everywhere.
  const data = JSON.stringify(report).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  const styleHash = createHash('sha256').update(assets.style).digest('base64');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'sha256-${styleHash}'; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Prompt or Fine-Tune: ${escapeHtml(report.dataset.name)}</title>
<style>${assets.style}</style>
</head>
<body class="standalone">
<main id="report" aria-live="polite"></main>
<script id="report-data" type="application/json" nonce="${nonce}">${data}</script>
<script nonce="${nonce}">${assets.script.replace(/<\/script/gi, '<\\/script')}</script>
</body>
</html>
`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]!);
}
