// `GET /api/v1/metrics` as the Pushgateway answers it: one object per group with its grouping
// `labels`, `last_push_successful`, and one entry per metric family (its push time, type, help and
// metrics), push_time_seconds and push_failure_time_seconds included. Values are strings printed as
// Go's strconv 'g' shortest form prints them ("3", "1.7965897927e+09"); histograms carry `buckets`,
// `count`, `sum`, summaries `quantiles`, `count`, `sum`.

import type { Labels } from '../push/types.ts';
import {
  PUSH_FAILURE_TIME_HELP,
  PUSH_FAILURE_TIME_METRIC,
  PUSH_TIME_HELP,
  PUSH_TIME_METRIC,
  type FamilyType,
  type PushedFamily,
  type PushGroup,
} from './group-store.ts';

export interface FamilyJson {
  time_stamp: string;
  type: FamilyType;
  help?: string;
  metrics: Array<Record<string, unknown>>;
}

export type GroupJson = Record<string, unknown> & { labels: Labels; last_push_successful: boolean };

/** A float as Go's strconv.FormatFloat(v, 'g', -1, 64) writes it (exponent form from 1e+06 and below 1e-04). */
export function formatGoFloat(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const [mantissa, exponentText] = value.toExponential().split('e') as [string, string];
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 6) return `${mantissa}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  return String(value);
}

export function groupJson(group: PushGroup): GroupJson {
  const json: GroupJson = { labels: { ...group.labels }, last_push_successful: group.pushTimeMs >= group.pushFailureTimeMs && group.pushTimeMs > 0 };
  for (const [name, family] of Object.entries(group.families)) json[name] = familyJson(name, family);
  const timeLabels: Labels = { ...group.labels };
  timeLabels.instance ??= '';
  const changedMs = Math.max(group.pushTimeMs, group.pushFailureTimeMs, group.createdMs);
  json[PUSH_TIME_METRIC] = gaugeJson(changedMs, PUSH_TIME_HELP, timeLabels, group.pushTimeMs / 1000);
  json[PUSH_FAILURE_TIME_METRIC] = gaugeJson(changedMs, PUSH_FAILURE_TIME_HELP, timeLabels, group.pushFailureTimeMs / 1000);
  // rankscope's extension, present only on groups pushed with a TTL.
  if (group.ttlMs !== undefined) json.ttl_seconds = group.ttlMs / 1000;
  return json;
}

function gaugeJson(timeMs: number, help: string, labels: Labels, value: number): FamilyJson {
  return { time_stamp: new Date(timeMs).toISOString(), type: 'GAUGE', help, metrics: [{ labels, value: formatGoFloat(value) }] };
}

function familyJson(name: string, family: PushedFamily): FamilyJson {
  const json: FamilyJson = { time_stamp: new Date(family.pushTimeMs).toISOString(), type: family.type, metrics: [] };
  if (family.help !== undefined && family.help !== '') json.help = family.help;
  if (family.type !== 'HISTOGRAM' && family.type !== 'SUMMARY') {
    json.metrics = family.samples.map((sample) => ({ labels: sample.labels, value: formatGoFloat(sample.value) }));
    return json;
  }
  // Histogram and summary series are one metric per label set without `le`/`quantile`.
  const partLabel = family.type === 'HISTOGRAM' ? 'le' : 'quantile';
  const partKey = family.type === 'HISTOGRAM' ? 'buckets' : 'quantiles';
  const metrics = new Map<string, Record<string, unknown> & { labels: Labels }>();
  for (const sample of family.samples) {
    const labels = { ...sample.labels };
    const part = labels[partLabel];
    delete labels[partLabel];
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    let metric = metrics.get(key);
    if (metric === undefined) {
      metric = { labels, [partKey]: {} };
      metrics.set(key, metric);
    }
    if (sample.name === `${name}_sum`) metric.sum = formatGoFloat(sample.value);
    else if (sample.name === `${name}_count`) metric.count = formatGoFloat(sample.value);
    else if (part !== undefined) (metric[partKey] as Record<string, string>)[formatGoFloat(Number(part.replace(/^\+?Inf$/i, 'Infinity')))] = formatGoFloat(sample.value);
  }
  json.metrics = [...metrics.values()];
  return json;
}
