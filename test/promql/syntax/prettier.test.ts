// format_query's layout: short queries stay on one line, long ones split as Prometheus' prettier does.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExpr } from '../../../src/promql/syntax/parser.ts';
import { prettifyExpr } from '../../../src/promql/syntax/prettier.ts';

const cases: Array<[query: string, pretty: string]> = [
  ['sum by (job) (rate(http_requests_total[5m]))', 'sum by (job) (rate(http_requests_total[5m]))'],
  [
    'sum by (job, instance) (rate(http_requests_total{job="api-server", handler="/api/v1/query_range"}[5m])) / on (job) group_left sum by (job) (up)',
    [
      '  sum by (job, instance) (',
      '    rate(http_requests_total{job="api-server", handler="/api/v1/query_range"}[5m])',
      '  )',
      '/ on (job) group_left ()',
      '  sum by (job) (up)',
    ].join('\n'),
  ],
  [
    'histogram_quantile(0.99, sum by (le, job, instance, handler) (rate(prometheus_http_request_duration_seconds_bucket[5m])))',
    [
      'histogram_quantile(',
      '  0.99,',
      '  sum by (le, job, instance, handler) (rate(prometheus_http_request_duration_seconds_bucket[5m]))',
      ')',
    ].join('\n'),
  ],
];

test('prettify keeps short queries on one line and splits long ones', () => {
  for (const [query, pretty] of cases) assert.equal(prettifyExpr(parseExpr(query)), pretty, query);
});
