// The Prometheus text exposition format (0.0.4), written: the one place that formats a metric family,
// escapes label values and prints sample values, for the server's, the ruler's and the agent's
// /metrics (and whatever else exposes series). See prometheus.io "Exposition formats".

export type ExpositionLabels = Record<string, string>;

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface ExpositionSample {
  labels: ExpositionLabels;
  value: number;
  /** `_bucket`, `_sum`, `_count` for histogram and summary parts; empty for the family's own name. */
  suffix?: string;
}

/** Escapes a label value: backslash, double quote and line feed, as the format requires. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** Escapes HELP text: backslash and line feed (quotes stay as they are there). */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** `{a="x",b="y"}`, or the empty string for no labels. Names are written in the order given. */
export function formatExpositionLabels(labels: ExpositionLabels): string {
  let text = '';
  for (const name in labels) text += `${text === '' ? '' : ','}${name}="${escapeLabelValue(labels[name]!)}"`;
  return text === '' ? '' : `{${text}}`;
}

/** Sample values as Prometheus prints them: NaN, +Inf, -Inf, else the shortest round-trip decimal. */
export function formatSampleValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** Appends one family (HELP, TYPE, then its samples) to `lines`. */
export function writeFamily(lines: string[], name: string, type: MetricType, help: string, samples: Iterable<ExpositionSample>): void {
  lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
  for (const sample of samples) lines.push(`${name}${sample.suffix ?? ''}${formatExpositionLabels(sample.labels)} ${formatSampleValue(sample.value)}`);
}

/** The samples of one classic histogram series: cumulative buckets, then `le="+Inf"`, sum and count. */
export function histogramSamples(
  labels: ExpositionLabels,
  buckets: Iterable<[upperBound: number, cumulativeCount: number]>,
  sum: number,
  count: number,
): ExpositionSample[] {
  const samples: ExpositionSample[] = [];
  for (const [upperBound, cumulativeCount] of buckets) samples.push({ suffix: '_bucket', labels: { ...labels, le: formatSampleValue(upperBound) }, value: cumulativeCount });
  samples.push({ suffix: '_bucket', labels: { ...labels, le: '+Inf' }, value: count });
  samples.push({ suffix: '_sum', labels, value: sum });
  samples.push({ suffix: '_count', labels, value: count });
  return samples;
}
