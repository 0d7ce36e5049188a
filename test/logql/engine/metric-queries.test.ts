// Metric query semantics end to end (parser → engine → in-memory source), on data small enough to
// work out every expected value by hand.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEngine, QueryError } from '../../../src/logql/index.ts';
import type { QueryParams, QueryResult } from '../../../src/logql/api.ts';
import { MemorySource } from './memory-source.ts';

const SECOND_NS = 1_000_000_000n;

// Over (0s, 60s]: rank 0 logs 6 lines (2 with "loss"), rank 1 logs 3 lines (3 with "loss"),
// rank 2 logs 1 line (no "loss"). Node labels: ranks 0 and 1 on node a, rank 2 on node b.
const source = new MemorySource([
  { labels: { job: 'train', rank: '0', node: 'a' }, entries: [1, 2, 3, 4, 5, 6].map((s) => ({ timestampNs: BigInt(s * 10 - 5) * SECOND_NS, line: s <= 2 ? `loss=${s}` : `info ${s}` })) },
  { labels: { job: 'train', rank: '1', node: 'a' }, entries: [1, 2, 3].map((s) => ({ timestampNs: BigInt(s * 10) * SECOND_NS, line: `loss=${s * 10}` })) },
  { labels: { job: 'train', rank: '2', node: 'b' }, entries: [{ timestampNs: 30n * SECOND_NS, line: 'hello' }] },
  { labels: { job: 'meta', node: 'a' }, entries: [{ timestampNs: 30n * SECOND_NS, line: 'capacity=8' }] },
]);
const engine = createEngine(source);

function instant(query: string, atS = 60): Promise<QueryResult> {
  const at = BigInt(atS) * SECOND_NS;
  const params: QueryParams = { tenant: 'fake', query, startNs: at, endNs: at, stepMs: 0, intervalMs: 0, limit: 100, direction: 'backward', instant: true };
  return engine.query(params);
}

async function vector(query: string, atS = 60): Promise<Array<[Record<string, string>, number]>> {
  const result = await instant(query, atS);
  assert.equal(result.resultType, 'vector', query);
  return result.resultType === 'vector' ? result.samples.map((s) => [s.labels, s.value]) : [];
}

test('vector aggregations by/without, count, avg, topk, bottomk, sort_desc', async () => {
  assert.deepEqual(await vector('sum by (node) (count_over_time({job="train"}[1m]))'), [[{ node: 'a' }, 9], [{ node: 'b' }, 1]]);
  assert.deepEqual(await vector('sum without (rank) (count_over_time({job="train"}[1m]))'), [[{ job: 'train', node: 'a' }, 9], [{ job: 'train', node: 'b' }, 1]]);
  assert.deepEqual(await vector('count(count_over_time({job="train"}[1m]))'), [[{}, 3]]);
  const [[, average]] = await vector('avg(count_over_time({job="train"}[1m]))');
  assert.ok(Math.abs(average! - 10 / 3) < 1e-12);
  assert.deepEqual(await vector('max by (node) (count_over_time({job="train"}[1m]))'), [[{ node: 'a' }, 6], [{ node: 'b' }, 1]]);
  assert.deepEqual((await vector('topk(2, count_over_time({job="train"}[1m]))')).map(([l, v]) => [l.rank, v]), [['0', 6], ['1', 3]]);
  assert.deepEqual((await vector('bottomk(1, count_over_time({job="train"}[1m]))')).map(([l, v]) => [l.rank, v]), [['2', 1]]);
  assert.deepEqual((await vector('sort_desc(count_over_time({job="train"}[1m]))')).map(([, v]) => v), [6, 3, 1]);
  assert.deepEqual((await vector('sort(count_over_time({job="train"}[1m]))')).map(([, v]) => v), [1, 3, 6]);
  // stddev of 6, 3, 1: mean 10/3, population variance ((8/3)² + (1/3)² + (7/3)²)/3 = 114/27.
  const [[, stdvar]] = await vector('stdvar(count_over_time({job="train"}[1m]))');
  assert.ok(Math.abs(stdvar! - 114 / 27) < 1e-12);
});

test('binary operators: arithmetic, filtering and bool comparisons, set operators', async () => {
  assert.deepEqual((await vector('count_over_time({job="train"}[1m]) * 2')).map(([, v]) => v), [12, 6, 2]);
  assert.deepEqual((await vector('count_over_time({job="train"}[1m]) > 2')).map(([l, v]) => [l.rank, v]), [['0', 6], ['1', 3]]);
  assert.deepEqual((await vector('count_over_time({job="train"}[1m]) > bool 2')).map(([l, v]) => [l.rank, v]), [['0', 1], ['1', 1], ['2', 0]]);
  assert.deepEqual((await vector('10 - count_over_time({job="train"}[1m])')).map(([, v]) => v), [4, 7, 9]);
  // loss lines per rank divided by all lines per rank (one-to-one on identical label sets).
  assert.deepEqual(
    (await vector('count_over_time({job="train"} |= "loss" [1m]) / count_over_time({job="train"}[1m])')).map(([l, v]) => [l.rank, v]),
    [['0', 2 / 6], ['1', 1]],
  );
  assert.deepEqual(
    (await vector('count_over_time({job="train"}[1m]) and count_over_time({job="train"} |= "loss" [1m])')).map(([l]) => l.rank),
    ['0', '1'],
  );
  assert.deepEqual((await vector('count_over_time({job="train"}[1m]) unless count_over_time({job="train"} |= "loss" [1m])')).map(([l]) => l.rank), ['2']);
  assert.deepEqual(
    (await vector('count_over_time({job="train"} |= "loss" [1m]) or count_over_time({job="train"}[1m])')).map(([l, v]) => [l.rank, v]),
    [['0', 2], ['1', 3], ['2', 1]],
  );
  const scalar = await instant('1 + 2 * 3');
  assert.equal(scalar.resultType, 'scalar');
  if (scalar.resultType === 'scalar') assert.equal(scalar.value, 7);
});

test('vector matching: on, ignoring, group_left with included labels', async () => {
  // Each rank's count divided by its node's capacity (8, from the meta stream): many-to-one.
  const perNode = 'sum by (node) (sum_over_time({job="meta"} | logfmt | unwrap capacity [1m]))';
  assert.deepEqual(
    (await vector(`count_over_time({job="train", node="a"}[1m]) / on (node) group_left ${perNode}`)).map(([l, v]) => [l.rank, v]),
    [['0', 6 / 8], ['1', 3 / 8]],
  );
  // group_left(job) copies the "one" side's label onto the result.
  const withJob = 'sum by (node, job) (sum_over_time({job="meta"} | logfmt | unwrap capacity [1m]))';
  assert.deepEqual(
    (await vector(`sum by (node, rank) (count_over_time({job="train", node="a"}[1m])) * on (node) group_left (job) ${withJob}`)).map(([l, v]) => [l, v]),
    [[{ job: 'meta', node: 'a', rank: '0' }, 48], [{ job: 'meta', node: 'a', rank: '1' }, 24]],
  );
  assert.deepEqual(
    await vector(`sum by (node) (count_over_time({job="train"}[1m])) / on (node) sum by (node) (count_over_time({job="meta"}[1m]))`),
    [[{ node: 'a' }, 9]],
  );
  assert.deepEqual(
    (await vector('sum by (node, job) (count_over_time({job="train"}[1m])) + ignoring (job) sum by (node, job) (count_over_time({job="meta"}[1m]))')),
    [[{ node: 'a' }, 10]],
  );
  await assert.rejects(vector('count_over_time({job="train"}[1m]) / on (node) count_over_time({job="train"}[1m])'), QueryError);
});

test('label_replace, vector(), offset, absent_over_time', async () => {
  assert.deepEqual(
    (await vector('label_replace(count_over_time({job="train", rank="2"}[1m]), "host", "node-$1", "node", "(.*)")')).map(([l]) => l.host),
    ['node-b'],
  );
  assert.deepEqual(await vector('sum(count_over_time({job="nothing"}[1m])) or vector(0)'), [[{}, 0]]);
  // offset 30s at t=60 → window (0, 30]: rank 0 has 5, 15, 25; rank 1 has 10, 20, 30; rank 2 has 30.
  assert.deepEqual((await vector('count_over_time({job="train"}[30s] offset 30s)')).map(([, v]) => v), [3, 3, 1]);
  assert.deepEqual(await vector('absent_over_time({job="nothing", rank="7"}[1m])'), [[{ job: 'nothing', rank: '7' }, 1]]);
});

test('range queries produce one point per step, sorted series', async () => {
  const result = await engine.query({
    tenant: 'fake',
    query: 'sum by (rank) (count_over_time({job="train"}[20s]))',
    startNs: 20n * SECOND_NS,
    endNs: 60n * SECOND_NS,
    stepMs: 20_000,
    intervalMs: 0,
    limit: 100,
    direction: 'backward',
    instant: false,
  });
  assert.equal(result.resultType, 'matrix');
  if (result.resultType !== 'matrix') return;
  // rank 0 at 5,15,25,35,45,55: (0,20] → 2, (20,40] → 2, (40,60] → 2. rank 1 at 10,20,30: 2, 1, -. rank 2 at 30: -, 1, -.
  assert.deepEqual(result.series, [
    { labels: { rank: '0' }, samples: [[20000, 2], [40000, 2], [60000, 2]] },
    { labels: { rank: '1' }, samples: [[20000, 2], [40000, 1]] },
    { labels: { rank: '2' }, samples: [[40000, 1]] },
  ]);
});

test('sum over an additive range aggregation gives the same answer when grouped inside the scan', async () => {
  // `… * 1` stops the push-down, so both evaluation paths are compared.
  for (const inner of [
    'count_over_time({job="train"} | regexp "(?P<word>\\\\w+)" [1m])',
    'bytes_over_time({job="train"} [1m])',
    'rate({job="train"} |= "loss" | logfmt | unwrap loss [1m])',
    'sum_over_time({job="train"} |= "loss" | logfmt | unwrap loss [1m])',
  ]) {
    for (const grouping of ['', 'by (node)', 'without (rank)', 'by ()']) {
      const pushed = await vector(`sum ${grouping} (${inner})`);
      const plain = await vector(`sum ${grouping} (${inner} * 1)`);
      assert.deepEqual(pushed, plain, `sum ${grouping} (${inner})`);
      assert.ok(pushed.length > 0);
    }
  }
});

test('division and modulo by zero give NaN, as Loki evaluates them (not +Inf as in JavaScript)', async () => {
  for (const query of [
    'count_over_time({job="train"}[1m]) / 0',
    'count_over_time({job="train"}[1m]) % 0',
    'count_over_time({job="train"}[1m]) / (count_over_time({job="train"}[1m]) * 0)',
  ]) {
    const values = (await vector(query)).map(([, value]) => value);
    assert.equal(values.length, 3, query);
    assert.ok(values.every((value) => Number.isNaN(value)), `${query} gave ${values.join(', ')}`);
  }
  assert.deepEqual((await vector('count_over_time({job="train"}[1m]) / 2')).map(([, v]) => v), [3, 1.5, 0.5]);
});

test('by (…) over parsed entries: stream labels fix the group unless a stage renames, drops or unwraps them', async () => {
  // Parsed keys that shadow a stream label become <key>_extracted: the stream's rank stays the group.
  const parsed = new MemorySource([
    { labels: { job: 'p', rank: '0' }, entries: [1, 2, 3].map((s) => ({ timestampNs: BigInt(s * 10) * SECOND_NS, line: `rank=9 level=${s === 1 ? 'warn' : 'info'} n=${s}` })) },
    { labels: { job: 'p' }, entries: [1, 2].map((s) => ({ timestampNs: BigInt(s * 10) * SECOND_NS, line: `rank=${s} level=info n=${s}` })) },
  ]);
  const parsedEngine = createEngine(parsed);
  const at = 60n * SECOND_NS;
  const run = async (query: string): Promise<Array<[Record<string, string>, number]>> => {
    const result = await parsedEngine.query({ tenant: 'fake', query, startNs: at, endNs: at, stepMs: 0, intervalMs: 0, limit: 100, direction: 'backward', instant: true });
    assert.equal(result.resultType, 'vector', query);
    return result.resultType === 'vector' ? result.samples.map((s) => [s.labels, s.value] as [Record<string, string>, number]).sort((a, b) => JSON.stringify(a[0]).localeCompare(JSON.stringify(b[0]))) : [];
  };
  // The stream without rank takes it from each line.
  assert.deepEqual(await run('sum by (rank) (count_over_time({job="p"} | logfmt | level="info" [1m]))'), [[{ rank: '0' }, 2], [{ rank: '1' }, 1], [{ rank: '2' }, 1]]);
  assert.deepEqual(await run('sum by (rank, level) (count_over_time({job="p"} | logfmt [1m]))'), [
    [{ level: 'info', rank: '0' }, 2],
    [{ level: 'info', rank: '1' }, 1],
    [{ level: 'info', rank: '2' }, 1],
    [{ level: 'warn', rank: '0' }, 1],
  ]);
  // drop and label_format change the group line by line.
  assert.deepEqual(await run('sum by (rank) (count_over_time({job="p"} | logfmt | drop rank [1m]))'), [[{}, 5]]);
  assert.deepEqual(await run('sum by (rank) (count_over_time({job="p"} | logfmt | label_format rank="{{.level}}" [1m]))'), [[{ rank: 'info' }, 4], [{ rank: 'warn' }, 1]]);
  // An unwrapped grouping label is gone from the sample's labels.
  assert.deepEqual(await run('sum by (rank) (sum_over_time({job="p"} | logfmt | unwrap rank [1m]))'), [[{}, 3]]);
  assert.deepEqual(await run('sum by (rank) (sum_over_time({job="p"} | logfmt | unwrap n [1m]))'), [[{ rank: '0' }, 6], [{ rank: '1' }, 1], [{ rank: '2' }, 2]]);
});
