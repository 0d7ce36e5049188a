// Prometheus' protobuf exposition: length-delimited `io.prometheus.client.MetricFamily` messages
// (Content-Type `application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;
// encoding=delimited`), what Go clients push to a Pushgateway. Read into the same ParsedExposition the
// text reader gives, so one set of rules serves both: histogram buckets become `_bucket{le=…}` samples
// (as sent: a missing `+Inf` bucket is the reader's to add), summaries `{quantile=…}`, `_sum`, `_count`.
// Field numbers follow prometheus/client_model metrics.proto.

import protobuf from 'protobufjs';
import type { ExpositionType, ParsedExposition, ParsedFamily, ParsedSample } from './exposition-parse.ts';
import { formatSampleValue } from './exposition-text.ts';

const root = protobuf.Root.fromJSON({
  nested: {
    LabelPair: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
    Gauge: { fields: { value: { type: 'double', id: 1 } } },
    Counter: { fields: { value: { type: 'double', id: 1 } } },
    Untyped: { fields: { value: { type: 'double', id: 1 } } },
    Quantile: { fields: { quantile: { type: 'double', id: 1 }, value: { type: 'double', id: 2 } } },
    Summary: { fields: { sample_count: { type: 'uint64', id: 1 }, sample_sum: { type: 'double', id: 2 }, quantile: { rule: 'repeated', type: 'Quantile', id: 3 } } },
    Bucket: { fields: { cumulative_count: { type: 'uint64', id: 1 }, upper_bound: { type: 'double', id: 2 }, cumulative_count_float: { type: 'double', id: 4 } } },
    Histogram: {
      fields: {
        sample_count: { type: 'uint64', id: 1 },
        sample_sum: { type: 'double', id: 2 },
        bucket: { rule: 'repeated', type: 'Bucket', id: 3 },
        sample_count_float: { type: 'double', id: 4 },
      },
    },
    Metric: {
      fields: {
        label: { rule: 'repeated', type: 'LabelPair', id: 1 },
        gauge: { type: 'Gauge', id: 2 },
        counter: { type: 'Counter', id: 3 },
        summary: { type: 'Summary', id: 4 },
        untyped: { type: 'Untyped', id: 5 },
        histogram: { type: 'Histogram', id: 7 },
        timestamp_ms: { type: 'int64', id: 6 },
      },
    },
    MetricFamily: {
      fields: {
        name: { type: 'string', id: 1 },
        help: { type: 'string', id: 2 },
        type: { type: 'int32', id: 3 },
        metric: { rule: 'repeated', type: 'Metric', id: 4 },
        unit: { type: 'string', id: 5 },
      },
    },
  },
});
const MetricFamilyType = root.lookupType('MetricFamily');

const TYPES: ExpositionType[] = ['counter', 'gauge', 'summary', 'untyped', 'histogram', 'gaugehistogram'];

interface MetricMessage {
  label?: Array<{ name?: string; value?: string }>;
  gauge?: { value?: number };
  counter?: { value?: number };
  untyped?: { value?: number };
  summary?: { sample_count?: number | protobuf.Long; sample_sum?: number; quantile?: Array<{ quantile?: number; value?: number }> };
  histogram?: { sample_count?: number | protobuf.Long; sample_sum?: number; sample_count_float?: number; bucket?: Array<{ cumulative_count?: number | protobuf.Long; cumulative_count_float?: number; upper_bound?: number }> };
  timestamp_ms?: number | protobuf.Long;
}

interface FamilyMessage {
  name?: string;
  help?: string;
  type?: number;
  metric?: MetricMessage[];
}

export class MetricFamilyDecodeError extends Error {
  override name = 'MetricFamilyDecodeError';
}

/** The protobuf the Content-Type names (delimited MetricFamily), or false for anything else. */
export function isDelimitedMetricFamily(contentType: string | undefined): boolean {
  return contentType !== undefined && /application\/vnd\.google\.protobuf/i.test(contentType) && /proto=io\.prometheus\.client\.MetricFamily/i.test(contentType) && /encoding=delimited/i.test(contentType);
}

export function decodeMetricFamiliesDelimited(body: Uint8Array): ParsedExposition {
  const reader = protobuf.Reader.create(body);
  const families = new Map<string, ParsedFamily>();
  const samples: ParsedSample[] = [];
  let index = 0;
  while (reader.pos < reader.len) {
    index++;
    const start = reader.pos;
    let message: FamilyMessage;
    try {
      message = MetricFamilyType.toObject(MetricFamilyType.decodeDelimited(reader), { longs: Number }) as FamilyMessage;
    } catch (error) {
      throw new MetricFamilyDecodeError(`metric family ${index} at byte ${start}: ${(error as Error).message}`);
    }
    const name = message.name ?? '';
    if (name === '') throw new MetricFamilyDecodeError(`metric family ${index} at byte ${start} has no name`);
    const type = TYPES[message.type ?? 3];
    if (type === undefined) throw new MetricFamilyDecodeError(`metric family ${name}: unknown type ${message.type}`);
    if (families.has(name)) throw new MetricFamilyDecodeError(`metric family ${name} appears twice`);
    families.set(name, { name, type, ...(message.help !== undefined && message.help !== '' ? { help: message.help } : {}) });
    for (const metric of message.metric ?? []) {
      const labels: Record<string, string> = {};
      for (const pair of metric.label ?? []) labels[pair.name ?? ''] = pair.value ?? '';
      const timestampMs = metric.timestamp_ms === undefined || Number(metric.timestamp_ms) === 0 ? undefined : Number(metric.timestamp_ms);
      const add = (sampleName: string, sampleLabels: Record<string, string>, value: number): void => {
        samples.push({ name: sampleName, labels: sampleLabels, value, family: name, line: index, ...(timestampMs !== undefined ? { timestampMs } : {}) });
      };
      if (type === 'summary') {
        const summary = metric.summary ?? {};
        for (const quantile of summary.quantile ?? []) add(name, { ...labels, quantile: formatSampleValue(quantile.quantile ?? 0) }, quantile.value ?? 0);
        add(`${name}_sum`, labels, summary.sample_sum ?? 0);
        add(`${name}_count`, labels, Number(summary.sample_count ?? 0));
      } else if (type === 'histogram' || type === 'gaugehistogram') {
        const histogram = metric.histogram ?? {};
        const count = histogram.sample_count_float ?? Number(histogram.sample_count ?? 0);
        for (const bucket of histogram.bucket ?? []) {
          add(`${name}_bucket`, { ...labels, le: formatSampleValue(bucket.upper_bound ?? 0) }, bucket.cumulative_count_float ?? Number(bucket.cumulative_count ?? 0));
        }
        add(`${name}_sum`, labels, histogram.sample_sum ?? 0);
        add(`${name}_count`, labels, count);
      } else {
        const value = type === 'counter' ? metric.counter?.value : type === 'gauge' ? metric.gauge?.value : metric.untyped?.value;
        add(name, labels, value ?? 0);
      }
    }
  }
  return { families, samples };
}

/** Encodes families (as plain objects with client_model's field names) delimited, for clients and tests. */
export function encodeMetricFamiliesDelimited(families: FamilyMessage[]): Buffer {
  const writer = protobuf.Writer.create();
  for (const family of families) MetricFamilyType.encodeDelimited(MetricFamilyType.fromObject(family), writer);
  return Buffer.from(writer.finish());
}
