/**
 * Agreement against shots: the primary metric's agreement (1 − disagreement) with its interval as a band,
 * the other metrics' means dashed, and the target 1 − ε. Colours come from the VS Code theme.
 */
import {
  CategoryScale, Chart, Filler, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip,
  type ChartDataset, type TooltipItem,
} from 'chart.js';
import type { ExperimentReport } from '../../engine/experiment/report';
import { percent, percentInterval } from './format';
import { curveMetrics, metricTitle } from './metrics';

// Only what a line chart with a band needs: keeps the bundle small.
Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, Filler, Legend, Tooltip);

interface Palette {
  foreground: string;
  grid: string;
  fontFamily: string;
  primary: string;
  target: string;
  others: string[];
}

/** Fallbacks are the light-theme colours, for the standalone file (which defines these variables too). */
function themePalette(): Palette {
  const style = getComputedStyle(document.body);
  const read = (name: string, fallback: string): string => style.getPropertyValue(name).trim() || fallback;
  return {
    foreground: read('--vscode-foreground', '#1f2328'),
    grid: read('--vscode-editorWidget-border', read('--vscode-panel-border', 'rgba(128, 128, 128, 0.35)')),
    fontFamily: read('--vscode-font-family', 'system-ui, sans-serif'),
    primary: read('--vscode-charts-blue', '#1a85ff'),
    target: read('--vscode-charts-red', '#e51400'),
    others: [
      read('--vscode-charts-green', '#388a34'),
      read('--vscode-charts-orange', '#d18616'),
      read('--vscode-charts-purple', '#652d90'),
      read('--vscode-charts-yellow', '#bf8803'),
      read('--vscode-descriptionForeground', '#717171'),
    ],
  };
}

/** The band needs a translucent version of a theme colour; unknown colour syntax falls back to grey. */
export function withAlpha(color: string, alpha: number): string {
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})([0-9a-f]{2})?$/i.exec(color);
  if (hex) {
    const digits = hex[1]!.length === 3 ? [...hex[1]!].map((d) => d + d).join('') : hex[1]!;
    const [r, g, b] = [0, 2, 4].map((offset) => parseInt(digits.slice(offset, offset + 2), 16));
    return `rgba(${r}, ${g}, ${b}, ${alpha})`;
  }
  const rgb = /^rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)/i.exec(color);
  if (rgb) return `rgba(${rgb[1]}, ${rgb[2]}, ${rgb[3]}, ${alpha})`;
  return `rgba(128, 128, 128, ${alpha})`;
}

const BAND_LOW = 0;
const BAND_HIGH = 1;

function datasets(report: ExperimentReport, palette: Palette): ChartDataset<'line', number[]>[] {
  const curve = report.curve;
  const primary = metricTitle(report.primaryMetric);
  const target = 1 - report.settings.epsilon;
  const band = (label: string, data: number[], fill: false | '-1'): ChartDataset<'line', number[]> => ({
    label, data, fill, borderWidth: 0, pointRadius: 0, pointHitRadius: 0,
    borderColor: 'transparent', backgroundColor: withAlpha(palette.primary, 0.18),
  });
  const others = curveMetrics(report).filter((id) => id !== report.primaryMetric);
  return [
    // Agreement's interval is the disagreement interval turned over: [1 − high, 1 − low].
    band('interval low', curve.map((point) => 1 - point.disagreement.high), false),
    band(`${primary} interval (1 − δ)`, curve.map((point) => 1 - point.disagreement.low), '-1'),
    {
      label: `${primary} agreement`, data: curve.map((point) => 1 - point.disagreement.rate),
      borderColor: palette.primary, backgroundColor: palette.primary, borderWidth: 2, pointRadius: 3, fill: false,
    },
    ...others.map((id, index): ChartDataset<'line', number[]> => {
      const color = palette.others[index % palette.others.length]!;
      return {
        label: `${metricTitle(id)} (mean)`, data: curve.map((point) => point.metrics[id]?.mean ?? Number.NaN),
        borderColor: color, backgroundColor: color, borderWidth: 1.5, borderDash: [6, 4], pointRadius: 2, fill: false,
      };
    }),
    {
      label: `target 1 − ε = ${percent(target)}`, data: curve.map(() => target),
      borderColor: palette.target, backgroundColor: palette.target, borderWidth: 1.5, borderDash: [3, 3],
      pointRadius: 0, pointHitRadius: 0, fill: false,
    },
  ];
}

/** A sentence for screen readers: what the chart shows, in numbers. */
export function chartDescription(report: ExperimentReport): string {
  const points = report.curve.map((point) => `k = ${point.k}: ${percent(1 - point.disagreement.rate)}`).join(', ');
  return `Line chart of ${metricTitle(report.primaryMetric)} agreement against shots (${points}), ` +
    `with its interval as a band, the other metrics dashed, and the target 1 − ε = ${percent(1 - report.settings.epsilon)}.`;
}

export function renderAgreementChart(canvas: HTMLCanvasElement, report: ExperimentReport): Chart<'line', number[], string> {
  const palette = themePalette();
  const curve = report.curve;
  return new Chart<'line', number[], string>(canvas, {
    type: 'line',
    data: { labels: curve.map((point) => String(point.k)), datasets: datasets(report, palette) },
    options: {
      // Tests take screenshots: the chart must be complete on its first frame.
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      color: palette.foreground,
      font: { family: palette.fontFamily },
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: {
          type: 'category',
          title: { display: true, text: 'shots k', color: palette.foreground },
          ticks: { color: palette.foreground },
          grid: { color: palette.grid },
        },
        y: {
          type: 'linear', min: 0, max: 1,
          title: { display: true, text: 'agreement with the reference', color: palette.foreground },
          ticks: { color: palette.foreground, callback: (value) => percent(Number(value)) },
          grid: { color: palette.grid },
        },
      },
      plugins: {
        legend: {
          labels: { color: palette.foreground, filter: (item) => item.datasetIndex !== BAND_LOW },
        },
        tooltip: {
          filter: (item) => item.datasetIndex !== BAND_LOW && item.datasetIndex !== BAND_HIGH,
          callbacks: {
            label: (item: TooltipItem<'line'>) => `${item.dataset.label ?? ''}: ${percent(item.parsed.y)}`,
            afterBody: (items: TooltipItem<'line'>[]) => {
              const point = items[0] ? curve[items[0].dataIndex] : undefined;
              if (!point) return '';
              const d = point.disagreement;
              return `interval ${percentInterval(1 - d.high, 1 - d.low)}, n = ${point.n}`;
            },
          },
        },
      },
    },
  });
}
