// The engine's contract beyond the conformance files: result shapes for Prometheus' HTTP JSON, the
// configurable lookback delta, staleness, the max-samples limit, abort and timeout, and range-query
// rules (sorted matrix, scalar as one series, range vectors refused).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PromQLEngine, PromQLQueryError, prometheusDataJson, TOO_MANY_SAMPLES_MESSAGE, toPrometheusData } from '../../../src/promql/index.ts';
import { MemorySource } from '../memory-source.ts';

function source(): MemorySource {
  const s = new MemorySource();
  // up{job="a"} every 15 s for 10 min, then a staleness marker; up{job="b"} only for the first minute.
  for (let t = 0; t <= 600_000; t += 15_000) s.append({ __name__: 'up', job: 'a' }, t, t / 15_000);
  s.append({ __name__: 'up', job: 'a' }, 615_000, NaN, true);
  for (let t = 0; t <= 60_000; t += 15_000) s.append({ __name__: 'up', job: 'b' }, t, 1);
  for (let t = 0; t <= 600_000; t += 15_000) s.append({ __name__: 'requests_total', job: 'a' }, t, t / 1000);
  return s;
}

test('instant vector, scalar and string results have Prometheus JSON shapes', async () => {
  const engine = new PromQLEngine(source());
  const vector = await engine.instantQuery('t', 'up{job="a"}', 60_000);
  assert.deepEqual(toPrometheusData(vector.value), { resultType: 'vector', result: [{ metric: { __name__: 'up', job: 'a' }, value: [60, '4'] }] });
  const scalar = await engine.instantQuery('t', '1 / 3', 1_500);
  assert.deepEqual(toPrometheusData(scalar.value), { resultType: 'scalar', result: [1.5, '0.3333333333333333'] });
  const text = await engine.instantQuery('t', '"hi"', 0);
  assert.deepEqual(toPrometheusData(text.value), { resultType: 'string', result: [0, 'hi'] });
  const inf = await engine.instantQuery('t', '-1/0', 0);
  assert.deepEqual(toPrometheusData(inf.value), { resultType: 'scalar', result: [0, '-Inf'] });
});

test('the JSON text writer gives exactly the JSON of the data object, for every result type', async () => {
  const engine = new PromQLEngine(source());
  const cases: Array<[string, () => ReturnType<PromQLEngine['instantQuery']>]> = [
    ['vector', () => engine.instantQuery('t', 'up', 60_000)],
    ['empty vector', () => engine.instantQuery('t', 'nothing', 60_000)],
    ['NaN, ±Inf, tiny and huge values', () => engine.instantQuery('t', 'up / 0 or (requests_total - 1) * 1e-9 or requests_total * 1e300 or -up{job="b"} / 0', 30_250)],
    ['scalar', () => engine.instantQuery('t', '1 / 3', 1_500)],
    ['string', () => engine.instantQuery('t', '"a \\"quoted\\" string"', 0)],
    ['range vector', () => engine.instantQuery('t', 'up[1m]', 60_000)],
    ['matrix', () => engine.rangeQuery('t', 'rate(requests_total[1m]) or up', 0, 300_000, 17_000)],
    ['empty matrix', () => engine.rangeQuery('t', 'nothing', 0, 300_000, 60_000)],
    // Non-ASCII and escaped label text, and an answer larger than the writer's first buffer (it grows, then is reused).
    ['matrix with UTF-8 labels', () => engine.rangeQuery('t', 'label_replace(up, "host", "Zürich-東京 \\"q\\" \\\\ é", "", "")', 0, 600_000, 100)],
    ['a matrix after it', () => engine.rangeQuery('t', 'up', 0, 120_000, 15_000)],
  ];
  for (const [name, run] of cases) {
    const { value } = await run();
    assert.equal(prometheusDataJson(value), JSON.stringify(toPrometheusData(value)), name);
  }
});

test('a range selector at the top of an instant query returns its samples, left-open', async () => {
  const engine = new PromQLEngine(source());
  const result = await engine.instantQuery('t', 'up{job="a"}[1m]', 60_000);
  assert.equal(result.value.resultType, 'matrix');
  const data = toPrometheusData(result.value) as { result: Array<{ values: Array<[number, string]> }> };
  // (0s, 60s]: the sample at 0 s sits on the lower bound and is excluded in Prometheus 3.
  assert.deepEqual(data.result[0]!.values.map(([t]) => t), [15, 30, 45, 60]);
});

test('range queries return a label-sorted matrix; scalars become one series; range vectors are refused', async () => {
  const engine = new PromQLEngine(source());
  const result = await engine.rangeQuery('t', 'up', 0, 120_000, 60_000);
  assert.equal(result.value.resultType, 'matrix');
  const data = toPrometheusData(result.value) as { result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> };
  assert.deepEqual(data.result.map((s) => s.metric.job), ['a', 'b']);
  // up{job="b"} has its last sample at 60 s; at 120 s it is still inside the 5 m lookback.
  assert.deepEqual(data.result[1]!.values, [[0, '1'], [60, '1'], [120, '1']]);
  const scalar = await engine.rangeQuery('t', 'time()', 0, 120_000, 60_000);
  assert.deepEqual(toPrometheusData(scalar.value), { resultType: 'matrix', result: [{ metric: {}, values: [[0, '0'], [60, '60'], [120, '120']] }] });
  await assert.rejects(engine.rangeQuery('t', 'up[5m]', 0, 60_000, 60_000), /invalid expression type "range vector" for range query/);
});

test('the lookback delta is configurable and staleness markers end a series at once', async () => {
  const short = new PromQLEngine(source(), { lookbackDeltaMs: 30_000 });
  const b = await short.instantQuery('t', 'up{job="b"}', 120_000);
  assert.deepEqual(b.value, { resultType: 'vector', result: [] });
  const perQuery = await new PromQLEngine(source()).instantQuery('t', 'up{job="b"}', 120_000, { lookbackDeltaMs: 30_000 });
  assert.deepEqual(perQuery.value, { resultType: 'vector', result: [] });
  // job="a" has a staleness marker at 615 s: gone at 620 s although its last value is 5 s old.
  const stale = await new PromQLEngine(source()).instantQuery('t', 'up{job="a"}', 620_000);
  assert.deepEqual(stale.value, { resultType: 'vector', result: [] });
});

test('rate extrapolates as Prometheus does and warns on non-counter names', async () => {
  const engine = new PromQLEngine(source());
  const rate = await engine.instantQuery('t', 'rate(requests_total[5m])', 300_000);
  assert.equal(rate.value.resultType, 'vector');
  // (0 s, 300 s] holds 15 s … 300 s (285 → 300 units); extrapolated 15 s to the window start.
  assert.ok(Math.abs((rate.value.result as Array<{ value: number }>)[0]!.value - 1) < 1e-12);
  const info = await engine.instantQuery('t', 'rate(up[5m])', 300_000);
  assert.deepEqual(info.infos, ['PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "up" (1:6)']);
});

test('the max-samples limit fails the query with Prometheus message', async () => {
  const engine = new PromQLEngine(source(), { maxSamples: 10 });
  await assert.rejects(engine.instantQuery('t', 'sum_over_time(requests_total[10m])', 600_000), (error: unknown) => {
    assert.ok(error instanceof PromQLQueryError);
    assert.equal(error.message, TOO_MANY_SAMPLES_MESSAGE);
    assert.equal(error.kind, 'too_many_samples');
    return true;
  });
});

test('an aborted signal cancels the query; the timeout ends it as timed out', async () => {
  const engine = new PromQLEngine(source());
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(engine.instantQuery('t', 'up', 0, { signal: controller.signal }), (error: unknown) => {
    assert.ok(error instanceof PromQLQueryError);
    assert.equal(error.kind, 'canceled');
    return true;
  });
  const slowSource = source();
  const select = slowSource.select.bind(slowSource);
  // The source answers only after the query's timeout has fired.
  slowSource.select = async (tenant, query) => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    return select(tenant, query);
  };
  const timed = new PromQLEngine(slowSource, { timeoutMs: 1 });
  await assert.rejects(timed.instantQuery('t', 'up', 0), (error: unknown) => {
    assert.ok(error instanceof PromQLQueryError);
    assert.equal(error.kind, 'timeout');
    assert.match(error.message, /^query timed out in /);
    return true;
  });
});

test('duplicate label sets and many-to-many matches fail with Prometheus messages', async () => {
  const engine = new PromQLEngine(source());
  await assert.rejects(engine.instantQuery('t', 'abs({job="a"})', 60_000), /vector cannot contain metrics with the same labelset/);
  await assert.rejects(
    engine.instantQuery('t', 'requests_total + on() up', 30_000),
    /^PromQLQueryError: found duplicate series for the match group \{\} on the right hand-side of the operation: \[\{__name__="up", job="a"\}, \{__name__="up", job="b"\}\];many-to-many matching not allowed: matching labels must be unique on one side$/,
  );
  await assert.rejects(engine.instantQuery('t', 'requests_total + on() up', 30_000), /many-to-many matching not allowed/);
  await assert.rejects(engine.instantQuery('t', 'up + on() requests_total', 30_000), /multiple matches for labels: many-to-one matching must be explicit \(group_left\/group_right\)/);
});

test('range queries refuse bad steps and too many points; huge subquery grids hit the sample limit', async () => {
  const engine = new PromQLEngine(source(), { maxSamples: 1_000_000 });
  await assert.rejects(engine.rangeQuery('t', 'up', 0, 60_000, 0), (error: unknown) => error instanceof PromQLQueryError && error.kind === 'bad_data');
  await assert.rejects(engine.rangeQuery('t', 'up', 0, 12_000_000, 1_000), /exceeded maximum resolution of 11,000 points per timeseries/);
  await assert.rejects(engine.instantQuery('t', 'max_over_time(up[1y:1ms])', 600_000), (error: unknown) => error instanceof PromQLQueryError && error.kind === 'too_many_samples');
});

test('a query text seen before answers from its cached parse: the same answers, per-query durations resolved anew, parse errors every time', async () => {
  const engine = new PromQLEngine(source());
  const rangeOf = async (query: string, stepMs: number, on = engine) => toPrometheusData((await on.rangeQuery('t', query, 120_000, 240_000, stepMs)).value);
  // `step()` resolves per query: a cached AST must not keep the first query's value. Each answer is
  // held against a fresh engine's (no cache behind it).
  const query = 'count_over_time(up{job="a"}[step()])';
  const first = await rangeOf(query, 60_000, new PromQLEngine(source()));
  const other = await rangeOf(query, 30_000, new PromQLEngine(source()));
  assert.deepEqual(await rangeOf(query, 60_000), first);
  assert.deepEqual(await rangeOf(query, 30_000), other);
  assert.deepEqual(await rangeOf(query, 60_000), first);
  assert.notDeepEqual(first.result, []);
  // Renaming in the result (name dropped by rate) must not alter what the next evaluation of the same text sees.
  const instant = (await engine.instantQuery('t', 'rate(requests_total[1m]) or up', 60_000)).value;
  assert.deepEqual((await engine.instantQuery('t', 'rate(requests_total[1m]) or up', 60_000)).value, instant);
  for (let round = 0; round < 2; round++) {
    await assert.rejects(engine.instantQuery('t', 'rate(up[5m]', 0), /unclosed left parenthesis|expected/);
  }
  // More texts than the cache holds: old ones are parsed again and still answer the same.
  for (let k = 0; k < 300; k++) await engine.instantQuery('t', `up + ${k}`, 60_000);
  assert.deepEqual(await rangeOf(query, 60_000), first);
});
