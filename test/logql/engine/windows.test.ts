// Step and window semantics on hand-built data. The expected matrices follow Loki's documented rules:
// steps are start, start+step, … ≤ end; a range aggregation at step t sees entries in
// (t − range − offset, t − offset] (lower bound exclusive, upper inclusive).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogQLEngine } from '../../../src/logql/engine/engine.ts';
import type { Expr, LogExpr, RangeAggregation, RangeAggregationOp } from '../../../src/logql/syntax/ast.ts';
import type { QueryParams } from '../../../src/logql/api.ts';
import { QueryError, QueryLimitError } from '../../../src/logql/api.ts';
import { MemorySource } from './memory-source.ts';

const SECOND_NS = 1_000_000_000n;

// One entry per second at t = 1s … 100s on {app="a"}; line i is "line <i>" (the value of i is the second).
const source = new MemorySource(
  [
    { labels: { app: 'a' }, entries: Array.from({ length: 100 }, (_, k) => ({ timestampNs: BigInt(k + 1) * SECOND_NS, line: `line ${k + 1} latency=${k + 1}ms` })) },
    { labels: { app: 'b' }, entries: [{ timestampNs: 50n * SECOND_NS, line: 'only one' }] },
  ],
  { blockSize: 7 },
);

function engineWith(parse: Expr) {
  return createLogQLEngine(source, { parse: () => parse });
}

const selector = (app: string, pipeline: LogExpr['pipeline'] = []): LogExpr => ({ kind: 'log', matchers: [{ name: 'app', type: '=', value: app }], pipeline });

function rangeAgg(op: RangeAggregationOp, rangeS: number, offsetS = 0, extra: Partial<RangeAggregation> = {}, log = selector('a')): RangeAggregation {
  return { kind: 'rangeAggregation', op, range: { kind: 'logRange', log, rangeNs: BigInt(rangeS) * SECOND_NS, offsetNs: BigInt(offsetS) * SECOND_NS }, ...extra };
}

function rangeParams(startS: number, endS: number, stepS: number): QueryParams {
  return { tenant: 'fake', query: '', startNs: BigInt(startS) * SECOND_NS, endNs: BigInt(endS) * SECOND_NS, stepMs: stepS * 1000, intervalMs: 0, limit: 100, direction: 'forward', instant: false };
}

async function matrix(expr: Expr, params: QueryParams) {
  const result = await engineWith(expr).evaluate(expr, params);
  assert.equal(result.resultType, 'matrix');
  return result.resultType === 'matrix' ? result.series.map((s) => ({ labels: s.labels, samples: s.samples })) : [];
}

test('count_over_time: window (t-range, t] at each step from start to end', async () => {
  // Steps 10, 20, 30 with [10s]: entries 1..10 → 10 (t=10), 11..20 → 10, 21..30 → 10.
  // Step 5 with [10s]: entries 1..5 → 5 (nothing before 1s).
  assert.deepEqual(await matrix(rangeAgg('count_over_time', 10), rangeParams(5, 30, 5)), [
    { labels: { app: 'a' }, samples: [[5000, 5], [10000, 10], [15000, 10], [20000, 10], [25000, 10], [30000, 10]] },
  ]);
});

test('the lower bound is exclusive, the upper inclusive', async () => {
  // [3s] at t=10 covers (7,10] → entries 8, 9, 10.
  const result = await engineWith(rangeAgg('count_over_time', 3)).evaluate(rangeAgg('count_over_time', 3), { ...rangeParams(10, 10, 1), instant: true });
  assert.equal(result.resultType, 'vector');
  if (result.resultType === 'vector') assert.deepEqual(result.samples.map((s) => s.value), [3]);
});

test('offset shifts the window back: (t-range-offset, t-offset]', async () => {
  // t=100, [10s] offset 50s → (40, 50] → 10 entries of app a; rate = 10/10s.
  assert.deepEqual(await matrix(rangeAgg('rate', 10, 50), rangeParams(100, 100, 1)), [{ labels: { app: 'a' }, samples: [[100000, 1]] }]);
});

test('steps with no samples are absent; absent_over_time fills them', async () => {
  const b = selector('b');
  assert.deepEqual(await matrix(rangeAgg('count_over_time', 10, 0, {}, b), rangeParams(40, 70, 10)), [
    { labels: { app: 'b' }, samples: [[50000, 1]] },
  ]);
  // The entry at 50s is outside (50, 60]: absent at 40, 60 and 70.
  assert.deepEqual(await matrix(rangeAgg('absent_over_time', 10, 0, {}, b), rangeParams(40, 70, 10)), [
    { labels: { app: 'b' }, samples: [[40000, 1], [60000, 1], [70000, 1]] },
  ]);
});

test('unwrap aggregations over a logfmt/regexp-extracted value', async () => {
  const log = selector('a', [{ kind: 'regexp', pattern: 'latency=(?P<latency>\\d+ms)' }]);
  const unwrap = { label: 'latency', conversion: 'duration' as const, postFilters: [] };
  const node = (op: RangeAggregationOp, param?: number): RangeAggregation => ({
    kind: 'rangeAggregation',
    op,
    param,
    range: { kind: 'logRange', log, rangeNs: 10n * SECOND_NS, offsetNs: 0n, unwrap },
  });
  // Window (10, 20] → latencies 11..20 ms.
  const at20 = { ...rangeParams(20, 20, 1), instant: true };
  const expectations: Array<[RangeAggregationOp, number, number?]> = [
    ['sum_over_time', 0.155],
    ['avg_over_time', 0.0155],
    ['min_over_time', 0.011],
    ['max_over_time', 0.02],
    ['first_over_time', 0.011],
    ['last_over_time', 0.02],
    ['quantile_over_time', 0.0155, 0.5],
    ['stdvar_over_time', 8.25e-6],
    // Counter 0.011 … 0.020 over 9 s, extrapolated to the 10 s window (Prometheus rules): 0.001/s.
    ['rate_counter', 0.001],
    ['rate', 0.0155],
  ];
  for (const [op, expected, param] of expectations) {
    const result = await engineWith(node(op, param)).evaluate(node(op, param), at20);
    assert.equal(result.resultType, 'vector');
    if (result.resultType !== 'vector') continue;
    assert.equal(result.samples.length, 1, op);
    assert.ok(Math.abs(result.samples[0]!.value - expected) < 1e-12, `${op}: ${result.samples[0]!.value} ≠ ${expected}`);
    assert.deepEqual(result.samples[0]!.labels, { app: 'a' }, 'the unwrapped label is removed');
  }
});

test('an unwrap conversion error fails the query with the pipeline error unless filtered', async () => {
  const log = selector('a', [{ kind: 'regexp', pattern: '(?P<word>line)' }]);
  const node: RangeAggregation = {
    kind: 'rangeAggregation',
    op: 'sum_over_time',
    range: { kind: 'logRange', log, rangeNs: 10n * SECOND_NS, offsetNs: 0n, unwrap: { label: 'word', conversion: '', postFilters: [] } },
  };
  await assert.rejects(engineWith(node).evaluate(node, rangeParams(20, 20, 1)), (e: Error) => e instanceof QueryError && e.message.startsWith("pipeline error: 'SampleExtractionErr' for series: '{__error__=\"SampleExtractionErr\", app=\"a\"}'"));
  const filtered: RangeAggregation = {
    ...node,
    range: { ...node.range, unwrap: { label: 'word', conversion: '', postFilters: [{ kind: 'string', matcher: { name: '__error__', type: '=', value: '' } }] } },
  };
  assert.deepEqual(await matrix(filtered, rangeParams(20, 20, 1)), []);
});

test('log queries: [start, end), limit in direction, streams sorted', async () => {
  const expr = selector('a', [{ kind: 'lineFilter', op: '|=', values: [{ kind: 'text', value: 'line 1' }] }]);
  const params = { ...rangeParams(10, 20, 1), limit: 3 };
  const forward = await engineWith(expr).evaluate(expr, params);
  assert.equal(forward.resultType, 'streams');
  if (forward.resultType === 'streams') assert.deepEqual(forward.streams[0]!.entries.map((e) => e.timestampNs / SECOND_NS), [10n, 11n, 12n]);
  const backward = await engineWith(expr).evaluate(expr, { ...params, direction: 'backward' });
  if (backward.resultType === 'streams') assert.deepEqual(backward.streams[0]!.entries.map((e) => e.timestampNs / SECOND_NS), [19n, 18n, 17n]);
  await assert.rejects(engineWith(expr).evaluate(expr, { ...params, limit: 5001 }), (e: Error) => e instanceof QueryLimitError && e.message === 'max entries limit per query exceeded, limit > max_entries_limit_per_query (5001 > 5000)');
});

test('the store receives required literals for block pruning', async () => {
  const expr = selector('a', [
    { kind: 'lineFilter', op: '|=', values: [{ kind: 'text', value: 'latency' }] },
    { kind: 'lineFilter', op: '|~', values: [{ kind: 'text', value: '(?i)LINE' }] },
  ]);
  source.queries.length = 0;
  await engineWith(expr).evaluate(expr, rangeParams(10, 20, 1));
  assert.deepEqual(source.queries[0]!.requiredLiterals, [
    { literal: 'latency', caseInsensitive: false },
    { literal: 'LINE', caseInsensitive: true },
  ]);
});

test('max series limit', async () => {
  const log = selector('a', [{ kind: 'regexp', pattern: 'line (?P<n>\\d+)' }]);
  const node = rangeAgg('count_over_time', 100, 0, {}, log);
  const engine = createLogQLEngine(source, { parse: () => node, maxQuerySeries: 10 });
  await assert.rejects(engine.evaluate(node, rangeParams(100, 100, 1)), (e: Error) => e instanceof QueryLimitError && e.message === 'maximum of series (10) reached for a single query');
});

test('a query past its timeout, or whose signal aborts, stops with an error instead of running on', async () => {
  const many = new MemorySource(
    [{ labels: { app: 'big' }, entries: Array.from({ length: 20_000 }, (_, k) => ({ timestampNs: BigInt(k + 1) * 1_000_000n, line: `entry ${k} with some text` })) }],
    { blockSize: 10 },
  );
  const node = rangeAgg('count_over_time', 100, 0, {}, { kind: 'log', matchers: [{ name: 'app', type: '=', value: 'big' }], pipeline: [{ kind: 'lineFilter', op: '|~', values: [{ kind: 'text', value: 'entry \\d+ with' }] }] });
  const slow = createLogQLEngine(many, { parse: () => node, timeoutMs: 1 });
  await assert.rejects(slow.evaluate(node, rangeParams(30, 30, 1)), (e: Error) => e instanceof QueryLimitError && e.message.startsWith('request timed out'));
  const controller = new AbortController();
  controller.abort(new Error('client went away'));
  const engine = createLogQLEngine(many, { parse: () => node });
  await assert.rejects(engine.evaluate(node, { ...rangeParams(30, 30, 1), signal: controller.signal }), /client went away/);
});

test('log query interval keeps one entry per interval, counted from the first kept entry', async () => {
  const expr = selector('a');
  const params = { ...rangeParams(10, 20, 1), intervalMs: 3000, limit: 100 };
  const seconds = async (direction: 'forward' | 'backward') => {
    const result = await engineWith(expr).evaluate(expr, { ...params, direction });
    return result.resultType === 'streams' ? result.streams[0]!.entries.map((e) => Number(e.timestampNs / SECOND_NS)) : [];
  };
  // [10s, 20s): forward 10, 13, 16, 19; backward from 19: 19, 16, 13, 10.
  assert.deepEqual(await seconds('forward'), [10, 13, 16, 19]);
  assert.deepEqual(await seconds('backward'), [19, 16, 13, 10]);
});
