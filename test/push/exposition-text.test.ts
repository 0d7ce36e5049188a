import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeLabelValue, formatExpositionLabels, formatSampleValue, histogramSamples, writeFamily } from '../../src/push/exposition-text.ts';

test('label values escape backslash, quote and line feed; values print NaN and ±Inf as Prometheus does', () => {
  const cases: Array<[string, string]> = [
    ['plain', 'plain'],
    ['a"b', 'a\\"b'],
    ['C:\\tmp', 'C:\\\\tmp'],
    ['two\nlines', 'two\\nlines'],
  ];
  for (const [raw, escaped] of cases) assert.equal(escapeLabelValue(raw), escaped);
  assert.equal(formatExpositionLabels({}), '');
  assert.equal(formatExpositionLabels({ b: '1', a: 'x"y' }), '{b="1",a="x\\"y"}');
  assert.deepEqual([NaN, Infinity, -Infinity, 0.25, 1e21, -3].map(formatSampleValue), ['NaN', '+Inf', '-Inf', '0.25', '1e+21', '-3']);
});

test('a family is HELP, TYPE and its samples; a histogram ends with +Inf, sum and count', () => {
  const lines: string[] = [];
  writeFamily(lines, 'q_seconds', 'histogram', 'Query time.\nIn seconds \\ wall.', histogramSamples({ route: 'query' }, [[0.1, 2], [1, 5]], 3.5, 6));
  assert.deepEqual(lines, [
    '# HELP q_seconds Query time.\\nIn seconds \\\\ wall.',
    '# TYPE q_seconds histogram',
    'q_seconds_bucket{route="query",le="0.1"} 2',
    'q_seconds_bucket{route="query",le="1"} 5',
    'q_seconds_bucket{route="query",le="+Inf"} 6',
    'q_seconds_sum{route="query"} 3.5',
    'q_seconds_count{route="query"} 6',
  ]);
});
