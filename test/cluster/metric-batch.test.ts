import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMetricBatch, encodeMetricBatches, isMetricBatch, metricPartitionOf, MetricBatchError } from '../../src/cluster/metric-batch.ts';
import { encodePushBatches } from '../../src/cluster/push-batch.ts';
import type { AppendSeries } from '../../src/tsdb/types.ts';

const series: AppendSeries[] = [
  { labels: { __name__: 'gpu_util', gpu: '0', host: 'n1' }, samples: [{ timestampMs: 1000, value: 0.5 }, { timestampMs: 2000, value: NaN, stale: true }] },
  { labels: { __name__: 'loss', run: 'r1', 'rank': '3' }, samples: [{ timestampMs: 1500, value: -Infinity }], exemplars: [{ labels: { trace_id: 'abc' }, value: 1, timestampMs: 1500 }] },
  { labels: { __name__: 'empty' }, samples: [] },
];

test('metrics batches round-trip values, staleness and exemplars, and are told apart from log batches', () => {
  const batches = encodeMetricBatches('tenant-a', series, 1, 1024 * 1024);
  assert.equal(batches.length, 1);
  assert.ok(isMetricBatch(batches[0]!.payload));
  const decoded = decodeMetricBatch(batches[0]!.payload);
  assert.equal(decoded.tenant, 'tenant-a');
  assert.deepEqual(decoded.series, series.slice(0, 2));
  const logBatch = encodePushBatches('tenant-a', [{ labels: { job: 'x' }, entries: [{ timestampNs: 1n, line: 'hello' }] }], 1, 1024 * 1024)[0]!;
  assert.equal(isMetricBatch(logBatch.payload), false);
});

test('a series has one partition whatever its label order; the same content has the same message id', () => {
  const forward = metricPartitionOf('t', { __name__: 'm', a: '1', b: '2' }, 16);
  assert.equal(metricPartitionOf('t', { b: '2', a: '1', __name__: 'm' }, 16), forward);
  assert.equal(metricPartitionOf('t', { b: '2', a: '1', __name__: 'm', empty: '' }, 16), forward, 'empty values are no labels');
  const spread = new Set(Array.from({ length: 200 }, (_, i) => metricPartitionOf('t', { __name__: 'm', i: String(i) }, 8)));
  assert.equal(spread.size, 8, 'series spread over every partition');
  assert.equal(encodeMetricBatches('t', series, 4, 1 << 20).map((b) => b.messageId).join(), encodeMetricBatches('t', series, 4, 1 << 20).map((b) => b.messageId).join());
});

test('a partition share above half the payload limit is split, one series by its samples too', () => {
  const big: AppendSeries = { labels: { __name__: 'long' }, samples: Array.from({ length: 5000 }, (_, i) => ({ timestampMs: i, value: i })) };
  const batches = encodeMetricBatches('t', [big], 1, 16 * 1024);
  assert.ok(batches.length > 5);
  for (const batch of batches) assert.ok(batch.payload.length <= 16 * 1024);
  const samples = batches.flatMap((batch) => decodeMetricBatch(batch.payload).series.flatMap((entry) => entry.samples));
  assert.deepEqual(samples.map((sample) => sample.timestampMs), big.samples.map((sample) => sample.timestampMs));
});

test('a damaged batch is an error naming the byte, never a wrong result', () => {
  const payload = encodeMetricBatches('t', series, 1, 1 << 20)[0]!.payload;
  for (const cut of [9, 20, payload.length - 1]) assert.throws(() => decodeMetricBatch(payload.subarray(0, cut)), MetricBatchError);
  const huge = Buffer.from(payload);
  huge.writeUInt32LE(0xffffffff, 8 + 4 + 1);
  assert.throws(() => decodeMetricBatch(huge), /passes the .* bytes left/);
});
