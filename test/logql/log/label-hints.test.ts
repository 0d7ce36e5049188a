// Parser hints: the labels a grouped metric query reads, and the same answers with and without them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { neededLabels } from '../../../src/logql/log/label-hints.ts';
import { parseExpr } from '../../../src/logql/syntax/parser.ts';
import type { LogExpr } from '../../../src/logql/syntax/ast.ts';
import { createEngine } from '../../../src/logql/index.ts';
import type { QueryParams } from '../../../src/logql/api.ts';
import { MemorySource } from '../engine/memory-source.ts';

test('needed labels: grouping, label filters, drop/keep, unwrap and its filters; templates need all', () => {
  const table: Array<[string, string[], string[] | null]> = [
    ['{a="b"} | logfmt', ['level'], ['level']],
    ['{a="b"} | json | status >= 500 or path=~"/api.*"', ['rank'], ['rank', 'status', 'path']],
    ['{a="b"} | json | keep level | drop x', [], ['level', 'x']],
    ['{a="b"} | json | host_extracted="n1"', [], ['host_extracted', 'host']],
    ['{a="b"} | json | line_format "{{.msg}}"', ['level'], null],
    ['{a="b"} | json | label_format x="{{.y}}"', ['level'], null],
  ];
  for (const [query, groupBy, expected] of table) {
    const got = neededLabels((parseExpr(query) as LogExpr).pipeline, groupBy);
    const always = ['__error__', '__error_details__'];
    assert.deepEqual(got === null ? null : [...got].sort(), expected === null ? null : [...expected, ...always].sort(), query);
  }
  const unwrapped = neededLabels((parseExpr('{a="b"} | json') as LogExpr).pipeline, ['rank'], { label: 'latency', postFilters: [] });
  assert.deepEqual([...unwrapped!].sort(), ['__error__', '__error_details__', 'latency', 'rank']);
});

const SECOND_NS = 1_000_000_000n;
const lines = ['level=info rank=3 ms=5', 'level=error ms=7 x=1', 'level=error level=info ms=2', 'ms=4', 'level=info rank=0 ms=abc bad"key=1'];
// Keys that sanitize to grad_norm without being written so: the parser must not skip their lines.
const keyLines = ['a grad_norm=1', 'grad-norm=2', 'grad\u00a0norm\u00a0=3', '\u00a0grad_norm=4', 'x=grad_norm', 'grad_norm', 'grad_norm= y', 'none=1', '__error__=boom grad.norm=5'];
// JSON the hinted walk must read exactly as the full one: nested objects under unneeded keys, escaped
// and non-plain keys, every scalar type, and malformed values after the needed key.
const jsonLines = [
  '{"level":"info","a":{"b":"x","c":{"d":1}},"n":1.5e3}',
  '{"ts":"t","lev\\u0065l":"warn","arr":[1,{"q":[2]}],"ok":true,"none":null}',
  '{"x":"1","level":"error","bad":tru}',
  '{"level":"error","x":-0.5E-2,"y":false}',
  '{"x":"unterminated, "level":"debug"}',
  '{"9lives":"cat","level":"info","  ":"spaces","a-b":"dash"}',
  '{"x":01,"level":"info"}',
  '{"level":"info","x":"\\q"}',
  '{"level":"info"} trailing',
  '{"level":"info","a":{"b":"y"}}',
];
const source = new MemorySource([
  { labels: { job: 'j' }, entries: jsonLines.map((line, i) => ({ timestampNs: BigInt(i + 1) * SECOND_NS, line })) },
  { labels: { job: 'x', rank: '0' }, entries: lines.map((line, i) => ({ timestampNs: BigInt(i + 1) * SECOND_NS, line })) },
  { labels: { job: 'y' }, entries: keyLines.map((line, i) => ({ timestampNs: BigInt(i + 1) * SECOND_NS, line })) },
]);
const engine = createEngine(source);

async function vector(query: string): Promise<Array<[Record<string, string>, number]>> {
  const params: QueryParams = { tenant: 'fake', query, startNs: 60n * SECOND_NS, endNs: 60n * SECOND_NS, stepMs: 0, intervalMs: 0, limit: 100, direction: 'backward', instant: true };
  const result = await engine.query(params);
  assert.equal(result.resultType, 'vector', query);
  return result.resultType === 'vector' ? result.samples.map((s) => [s.labels, s.value]) : [];
}

test('a hinted parser gives the answer of an unhinted one', async () => {
  // `sum without ()` keeps every label, so its inner aggregation runs without hints.
  const pairs: Array<[string, string]> = [
    ['sum by (level) (count_over_time({job="x"} | logfmt [1m]))', 'sum by (level) (sum without () (count_over_time({job="x"} | logfmt [1m])))'],
    ['sum by (rank_extracted) (count_over_time({job="x"} | logfmt [1m]))', 'sum by (rank_extracted) (sum without () (count_over_time({job="x"} | logfmt [1m])))'],
    ['sum by (level) (sum_over_time({job="x"} | logfmt | unwrap ms | __error__="" [1m]))', 'sum by (level) (sum without () (sum_over_time({job="x"} | logfmt | unwrap ms | __error__="" [1m])))'],
    ['sum by (level) (count_over_time({job="x"} | pattern "level=<level> <_>" [1m]))', 'sum by (level) (sum without () (count_over_time({job="x"} | pattern "level=<level> <_>" [1m])))'],
    ['sum by (level) (count_over_time({job="x"} | regexp "ms=(?P<ms>\\\\d+)" | ms > 3 [1m]))', 'sum by (level) (sum without () (count_over_time({job="x"} | regexp "ms=(?P<ms>\\\\d+)" | ms > 3 [1m])))'],
  ];
  pairs.push(
    ['sum by (grad_norm) (count_over_time({job="y"} | logfmt | __error__!="boom" [1m]))', 'sum by (grad_norm) (sum without () (count_over_time({job="y"} | logfmt | __error__!="boom" [1m])))'],
    ['sum by (grad_norm) (count_over_time({job="y"} | logfmt | __error__="" [1m]))', 'sum by (grad_norm) (sum without () (count_over_time({job="y"} | logfmt | __error__="" [1m])))'],
  );
  for (const by of ['level', 'a_b', 'a_c_d', 'n', 'ok', 'none', '_9lives', 'a_b, level']) {
    for (const tail of ['| __error__=""', '| drop __error__, __error_details__']) {
      pairs.push([
        `sum by (${by}) (count_over_time({job="j"} | json ${tail} [1m]))`,
        `sum by (${by}) (sum without () (count_over_time({job="j"} | json ${tail} [1m])))`,
      ]);
    }
  }
  for (const [hinted, full] of pairs) {
    const expected = await vector(full);
    assert.ok(expected.length > 0, full);
    assert.deepEqual(await vector(hinted), expected, hinted);
  }
});

test('a parsed key named __error__ fails a hinted metric query as it fails an unhinted one', async () => {
  await assert.rejects(vector('sum by (grad_norm) (count_over_time({job="y"} | logfmt [1m]))'), /pipeline error: 'boom'/);
  await assert.rejects(vector('sum by (grad_norm) (sum without () (count_over_time({job="y"} | logfmt [1m])))'), /pipeline error: 'boom'/);
});
