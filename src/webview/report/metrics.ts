/** Which metrics a report has, in a stable order with the primary metric first. */
import type { ExperimentReport, MetricId } from '../../engine/experiment/report';
import { METRIC_TITLES } from '../../engine/report/markdown';

const ORDER = Object.keys(METRIC_TITLES) as MetricId[];

function ordered(present: ReadonlySet<string>, primary: MetricId): MetricId[] {
  return [primary, ...ORDER.filter((id) => id !== primary && present.has(id))];
}

/** Metrics summarised on the curve. */
export function curveMetrics(report: ExperimentReport): MetricId[] {
  return ordered(new Set(report.curve.flatMap((point) => Object.keys(point.metrics))), report.primaryMetric);
}

/** Metrics scored on the items. */
export function itemMetrics(report: ExperimentReport): MetricId[] {
  return ordered(new Set(report.items.flatMap((item) => Object.keys(item.scores))), report.primaryMetric);
}

export function metricTitle(id: MetricId): string {
  return METRIC_TITLES[id] ?? id;
}
