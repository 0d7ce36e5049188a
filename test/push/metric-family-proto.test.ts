import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMetricFamiliesDelimited, encodeMetricFamiliesDelimited, isDelimitedMetricFamily, MetricFamilyDecodeError } from '../../src/push/metric-family-proto.ts';

test('delimited MetricFamily messages read as the text reader reads the same metrics', () => {
  const body = encodeMetricFamiliesDelimited([
    { name: 'c_total', help: 'A counter.', type: 0, metric: [{ label: [{ name: 'a', value: '1' }], counter: { value: 3 } }] },
    { name: 'g', type: 1, metric: [{ gauge: { value: -1.5 }, timestamp_ms: 1700000000000 }] },
    { name: 'u', type: 3, metric: [{ untyped: { value: 7 } }] },
    { name: 's', type: 2, metric: [{ summary: { sample_count: 2, sample_sum: 0.5, quantile: [{ quantile: 0.99, value: 0.4 }] } }] },
    { name: 'h', type: 4, metric: [{ histogram: { sample_count: 5, sample_sum: 2, bucket: [{ cumulative_count: 2, upper_bound: 0.5 }, { cumulative_count: 5, upper_bound: Infinity }] } }] },
  ]);
  const parsed = decodeMetricFamiliesDelimited(body);
  assert.deepEqual(
    [...parsed.families.values()].map((family) => [family.name, family.type, family.help]),
    [
      ['c_total', 'counter', 'A counter.'],
      ['g', 'gauge', undefined],
      ['u', 'untyped', undefined],
      ['s', 'summary', undefined],
      ['h', 'histogram', undefined],
    ],
  );
  assert.deepEqual(
    parsed.samples.map((sample) => [sample.name, sample.labels, sample.value, sample.timestampMs, sample.family]),
    [
      ['c_total', { a: '1' }, 3, undefined, 'c_total'],
      ['g', {}, -1.5, 1700000000000, 'g'],
      ['u', {}, 7, undefined, 'u'],
      ['s', { quantile: '0.99' }, 0.4, undefined, 's'],
      ['s_sum', {}, 0.5, undefined, 's'],
      ['s_count', {}, 2, undefined, 's'],
      ['h_bucket', { le: '0.5' }, 2, undefined, 'h'],
      ['h_bucket', { le: '+Inf' }, 5, undefined, 'h'],
      ['h_sum', {}, 2, undefined, 'h'],
      ['h_count', {}, 5, undefined, 'h'],
    ],
  );
});

test('a truncated or nameless message is an error naming the family and the byte', () => {
  const body = encodeMetricFamiliesDelimited([{ name: 'g', type: 1, metric: [{ gauge: { value: 1 } }] }]);
  assert.throws(() => decodeMetricFamiliesDelimited(body.subarray(0, body.length - 2)), (error: unknown) => error instanceof MetricFamilyDecodeError && /^metric family 1 at byte 0: /.test(error.message));
  assert.throws(() => decodeMetricFamiliesDelimited(Buffer.concat([body, encodeMetricFamiliesDelimited([{ type: 1 }])])), /metric family 2 at byte \d+ has no name/);
  assert.throws(() => decodeMetricFamiliesDelimited(Buffer.concat([body, body])), /metric family g appears twice/);
});

test('the Content-Type that names it', () => {
  assert.ok(isDelimitedMetricFamily('application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited'));
  assert.ok(!isDelimitedMetricFamily('text/plain; version=0.0.4'));
  assert.ok(!isDelimitedMetricFamily(undefined));
});
