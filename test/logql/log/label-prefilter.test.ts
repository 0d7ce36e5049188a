// Raw-byte prefilters implied by label filters: which needles a pipeline gets, and that a query gives
// the same answer with them as the stages alone would (escaped values, stream labels of the same
// name, structured metadata, errors that numeric filters let through).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labelPrefilters } from '../../../src/logql/log/label-prefilter.ts';
import { parseExpr } from '../../../src/logql/syntax/parser.ts';
import type { LogExpr } from '../../../src/logql/syntax/ast.ts';
import { createEngine } from '../../../src/logql/index.ts';
import type { QueryParams } from '../../../src/logql/api.ts';
import { MemorySource } from '../engine/memory-source.ts';

/** A logfmt key needle: the name's last run before '=', or before a non-ASCII space that trimming removes. */
const keyEnd = (run: string) => [`${run}=`, ...[...'\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000'].map((space) => `${run}${space}`)];

const cases: Array<[query: string, unwrap: string | undefined, expected: Array<[labels: string[], needles: string[]]>]> = [
  // A value only a JSON string can give is searched with its quotes (and then alone: see below).
  ['{a="b"} | json | event="train_metrics"', undefined, [[['event'], ['"train_metrics"', '\\']]]],
  ['{a="b"} | json | event="train_metrics" and loss > 2.5', undefined, [[['event'], ['"train_metrics"', '\\']]]],
  ['{a="b"} | json event="payload.event" | event="train_metrics"', undefined, [[['event'], ['"train_metrics"', '\\']]]],
  // Numbers, booleans, objects and arrays are kept as written, without quotes. A label only `| json`
  // gives needs a '{' too: a line without one is a parse error and has no keys.
  ['{a="b"} | json | code="200"', undefined, [[['code'], ['200', '\\']], [['code'], ['{']]]],
  ['{a="b"} | json | ok="true"', undefined, [[['ok'], ['true', '\\']], [['ok'], ['{']]]],
  ['{a="b"} | json x="obj" | x="[1]"', undefined, [[['x'], ['[1]', '\\']]]],
  ['{a="b"} | logfmt event="event" | event="train_metrics"', undefined, [[['event'], ['train_metrics', '\\']]]],
  ['{a="b"} | json | logfmt | event="train_metrics"', undefined, [[['event'], ['train_metrics', '\\']]]],
  ['{a="b"} | json | regexp "event=(?P<event>[a-z]+)" | event="train"', undefined, [[['event'], ['train', '\\']]]],
  ['{a="b"} | logfmt | grad_norm != ""', undefined, [[['grad_norm'], keyEnd('norm')]]],
  ['{a="b"} | logfmt --keep-empty | grad_norm != ""', undefined, [[['grad_norm'], ['grad']]]],
  ['{a="b"} | logfmt | grad_ != ""', undefined, [[['grad_'], ['grad']]]],
  ['{a="b"} | logfmt | level="error"', undefined, [[['level'], ['error', '\\']]]],
  ['{a="b"} | logfmt | status >= 500', undefined, [[['status'], keyEnd('status')]]],
  ['{a="b"} | logfmt --strict | status >= 500', undefined, []],
  ['{a="b"} | regexp "step (?P<step>[0-9]+)/(?P<total>[0-9]+)" | step != ""', undefined, [[['step'], ['step ']]]],
  ['{a="b"} | regexp "(?P<step>[0-9]+)" | step != ""', undefined, []],
  ['{a="b"} | pattern "<_> step <_>/<_> | loss <loss> | <_>"', 'loss', [[['loss'], [' | loss ']]]],
  ['{a="b"} | regexp "x=(?P<v>.*)" | v="yes"', undefined, [[['v'], ['yes']]]],
  ['{a="b"} | json | level="error" or level="fatal"', undefined, [[['level', 'level'], ['"error"', '\\', '"fatal"', '\\']]]],
  ['{a="b"} | json | level!=""', undefined, [[['level'], ['level', '\\']], [['level'], ['{']]]],
  // Labels that may not come from the line, and values a filter keeps when missing.
  ['{a="b"} | json | x=""', undefined, []],
  ['{a="b"} | json | x!="y"', undefined, []],
  // A json stage without parameters marks lines without '{' with an error.
  ['{a="b"} | json | __error__=""', undefined, [[['__error__'], ['{']]]],
  ['{a="b"} | json | drop __error__ | __error__=""', undefined, []],
  ['{a="b"} | json x="y" | __error__=""', undefined, []],
  ['{a="b"} | logfmt | __error__=""', undefined, []],
  ['{a="b"} | json | x_extracted="y"', undefined, []],
  ['{a="b"} | json x="a.b" | x != ""', undefined, []],
  ['{a="b"} | json', 'latency', [[['latency'], ['latency', '\\']], [['latency'], ['{']]]],
  ['{a="b"} | x="y"', undefined, []],
  // Rewritten lines or labels end the analysis.
  ['{a="b"} | line_format "{{.a}}" | json | x="y"', undefined, []],
  ['{a="b"} | json | label_format x="{{.y}}" | x="z"', undefined, []],
];

test('label filters imply raw-byte needles only where the line must contain them', () => {
  for (const [query, unwrap, expected] of cases) {
    const expr = parseExpr(query) as LogExpr;
    const got = labelPrefilters(expr.pipeline, unwrap).map((f) => [f.labels, f.needles]);
    assert.deepEqual(got, expected, query);
  }
});

const SECOND_NS = 1_000_000_000n;
const at = (s: number) => BigInt(s) * SECOND_NS;
const lines = [
  '{"event":"train_metrics","loss":3}',
  '{"event":"train\\u005fmetrics","loss":4}',
  '{"ev\\u0065nt":"train_metrics","loss":5}',
  '{"event":"eval","loss":6}',
  'event=train_metrics loss=7',
  'event="train_metrics" loss=8',
  'not json at all',
  'level=error grad-norm=1.5 status=503',
  'level="e\\u0072ror" grad_norm=2 status=abc',
  // Keys that sanitize to grad_norm: a non-ASCII space inside, and trailing ones before '='.
  'x=1 grad\u2003norm=3',
  'x=1 grad_norm\u00a0\u3000=4',
  // Values of other JSON types, and a string with an escaped quote: what quoted needles must not miss.
  '{"code": 200, "ok" : true, "event" :"train\\"metrics", "list": [1]}',
  '{ "event"  :  "train_metrics" , "code":"200"}',
  // Keys that contain the name or sit inside it, a key without a value before the one with it.
  'xgrad_norm=1 grad_norm_x=2 grad_norm event=x',
  'grad_norm= grad_norm=7 event=train_metrics event=eval',
  // The value under another (nested) key, a duplicate key (the last one wins), a truncated object.
  '{"nested": {"event": "train_metrics"}, "event2": "train_metrics", "loss": 9}',
  '{"event": "eval", "event": "train_metrics"}',
  '{"event": "train_metrics", "loss": 3',
];
const source = new MemorySource([
  { labels: { job: 'x' }, entries: lines.map((line, i) => ({ timestampNs: at(i + 1), line })) },
  // A stream label of the filtered name: the filter reads it, so no line may be skipped for its bytes.
  { labels: { job: 'y', event: 'train_metrics', level: 'error' }, entries: lines.map((line, i) => ({ timestampNs: at(i + 1), line })) },
  { labels: { job: 'z' }, entries: lines.map((line, i) => ({ timestampNs: at(i + 1), line, structuredMetadata: [{ name: 'level', value: 'error' }] })) },
]);
const engine = createEngine(source);

async function count(query: string): Promise<Record<string, number>> {
  const params: QueryParams = { tenant: 'fake', query, startNs: at(60), endNs: at(60), stepMs: 0, intervalMs: 0, limit: 100, direction: 'backward', instant: true };
  const result = await engine.query(params);
  assert.equal(result.resultType, 'vector');
  return Object.fromEntries(result.resultType === 'vector' ? result.samples.map((s) => [s.labels.job ?? '', s.value]) : []);
}

test('queries count the same lines with the prefilters as the stages alone would', async () => {
  const table: Array<[string, Record<string, number>]> = [
    ['sum by (job) (count_over_time({job=~".+"} | json | event="train_metrics" | __error__="" [1m]))', { x: 5, y: 8, z: 5 }],
    ['sum by (job) (count_over_time({job=~".+"} | json | event="eval" | __error__="" [1m]))', { x: 1, z: 1 }],
    ['sum by (job) (count_over_time({job=~".+"} | json | nested_event="train_metrics" | __error__="" [1m]))', { x: 1, y: 1, z: 1 }],
    // On job y the stream's own `event` label is the one filtered (the parsed one is event_extracted).
    ['sum by (job) (count_over_time({job=~".+"} | json | event="train\\"metrics" | __error__="" [1m]))', { x: 1, z: 1 }],
    ['sum by (job) (count_over_time({job=~".+"} | json event="event" | event="train_metrics" | __error__="" [1m]))', { x: 5, y: 9, z: 5 }],
    ['sum by (job) (count_over_time({job=~".+"} | json | code="200" | __error__="" [1m]))', { x: 2, y: 2, z: 2 }],
    ['sum by (job) (count_over_time({job=~".+"} | json | ok="true" | __error__="" [1m]))', { x: 1, y: 1, z: 1 }],
    ['sum by (job) (count_over_time({job=~".+"} | json l="list" | l="[1]" | __error__="" [1m]))', { x: 1, y: 1, z: 1 }],
    ['sum by (job) (count_over_time({job=~".+"} | logfmt | event="train_metrics" [1m]))', { x: 3, y: 18, z: 3 }],
    ['sum by (job) (count_over_time({job=~".+"} | logfmt | event="eval" [1m]))', {}],
    ['sum by (job) (count_over_time({job=~".+"} | logfmt | level="error" [1m]))', { x: 2, y: 18, z: 18 }],
    ['sum by (job) (count_over_time({job=~".+"} | logfmt | grad_norm != "" [1m]))', { x: 5, y: 5, z: 5 }],
    ['sum by (job) (sum_over_time({job=~".+"} | logfmt | unwrap grad_norm [1m]))', { x: 17.5, y: 17.5, z: 17.5 }],
    // status=abc is a conversion error: the numeric filter keeps the line (with __error__).
    ['sum by (job) (count_over_time({job=~".+"} | logfmt | status > 500 | __error__="" [1m]))', { x: 1, y: 1, z: 1 }],
    ['sum by (job) (count_over_time({job=~".+"} | regexp "loss=(?P<loss>[0-9]+)" | loss != "" [1m]))', { x: 2, y: 2, z: 2 }],
    ['sum by (job) (sum_over_time({job=~".+"} | json | __error__="" | unwrap loss [1m]))', { x: 27, y: 27, z: 27 }],
    ['sum by (job) (count_over_time({job=~".+"} | json | __error__="" [1m]))', { x: 8, y: 8, z: 8 }],
    ['sum by (job) (count_over_time({job=~".+"} | json | drop __error__, __error_details__ | __error__="" [1m]))', { x: 18, y: 18, z: 18 }],
  ];
  for (const [query, expected] of table) assert.deepEqual(await count(query), expected, query);
});

test('a malformed JSON line the quoted value needle keeps is parsed and dropped or reported as without it', async () => {
  // The truncated object holds "train_metrics": a failed parse extracts nothing, so the event filter
  // drops it; where the stream itself has event="train_metrics" the filter keeps it with __error__
  // and the metric query reports that.
  assert.deepEqual(await count('sum by (job) (count_over_time({job=~"x|z"} | json | event="train_metrics" [1m]))'), { x: 5, z: 5 });
  await assert.rejects(count('sum by (job) (count_over_time({job="y"} | json | event="train_metrics" [1m]))'), /pipeline error: 'JSONParserErr'/);
});

test('a line a numeric filter keeps for its conversion error is not skipped for its bytes', async () => {
  const params: QueryParams = { tenant: 'fake', query: '{job="x"} | logfmt | status > 500', startNs: 0n, endNs: at(60), stepMs: 0, intervalMs: 0, limit: 100, direction: 'forward', instant: false };
  const result = await engine.query(params);
  assert.equal(result.resultType, 'streams');
  const found = result.resultType === 'streams' ? result.streams.flatMap((s) => s.entries.map((e) => [e.line, s.labels.__error__ ?? ''])) : [];
  assert.deepEqual(found.sort(), [['level="e\\u0072ror" grad_norm=2 status=abc', 'LabelFilterErr'], ['level=error grad-norm=1.5 status=503', '']]);
});
