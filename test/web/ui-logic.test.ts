// The UI's pure logic, run under Node without a browser: query text edits, time ranges, merging streams
// into one timeline, levels, colours, volume buckets and step-vs-loss curves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allRanksSelector, exactSelector, findSelector, isLogQuery, matcherFor, processSelector, splitMatchers, starterQuery, withLabelFilter, withLabelMatcher } from '../../web/src/explore/query-text.ts';
import { parseTimeText, resolveRange, stepForRange } from '../../web/src/explore/time-range.ts';
import { appendPage, colourOf, compareRows, detectLevel, laneOf, mergeSorted, mergeStreams, type LogRow } from '../../web/src/logs/log-rows.ts';
import { bucketsFromMatrix, selectorAndLineFilters, volumeQuery } from '../../web/src/logs/volume-data.ts';
import { alignSeries, seriesFromMatrix, summarise } from '../../web/src/metrics/metric-data.ts';
import { detectXYFields, xySeries } from '../../web/src/metrics/xy-data.ts';

test('query text: selector edits respect quotes and replace an exact matcher on the same label', () => {
  assert.deepEqual(findSelector('{a="}{"} |= "{x}"'), [0, 8]);
  assert.equal(findSelector('sum(rate({job="t"}[1m]))')?.join(), '9,18');
  assert.deepEqual(splitMatchers('a="x,y", b=~"1|2"'), ['a="x,y"', 'b=~"1|2"']);
  assert.equal(withLabelMatcher('{job="train"} |= "loss"', 'rank', '=', '3'), '{job="train", rank="3"} |= "loss"');
  assert.equal(withLabelMatcher('{job="train", rank="3"}', 'rank', '!=', '3'), '{job="train", rank!="3"}');
  assert.equal(withLabelMatcher('{rank=~"1|2"}', 'rank', '=', '1'), '{rank=~"1|2", rank="1"}');
  assert.equal(withLabelFilter('{job="t"} | json', 'fd', '!=', 'stderr'), '{job="t"} | json | fd!="stderr"');
  assert.equal(matcherFor('rank', ['1']), 'rank="1"');
  assert.equal(matcherFor('host', ['a.b', 'c']), 'host=~"a\\\\.b|c"');
  assert.equal(isLogQuery('  {a="b"}'), true);
  assert.equal(isLogQuery('rate({a="b"}[1m])'), false);
  assert.equal(allRanksSelector({ team: 'nlp', host: 'node-1', rank: '5', run: 'r1' }), '{run="r1", team="nlp"}');
  assert.equal(exactSelector({ rank: '5', job: 'train' }), '{job="train", rank="5"}');
});

test('context: every rank of the run whatever its per-rank labels; one process whatever the level', () => {
  // A PyTorchJob's master pod carries replica_type=Master and the workers Worker: the run label alone is kept.
  const master = { job: 'bert', replica_type: 'Master', pod: 'bert-master-0', rank: '0', level: 'info' };
  const worker = { job: 'bert', replica_type: 'Worker', pod: 'bert-worker-3', rank: '4', level: 'error' };
  assert.equal(allRanksSelector(master), '{job="bert"}');
  assert.equal(allRanksSelector(worker), allRanksSelector(master));
  assert.equal(allRanksSelector({ run_id: 'r-7', job: 'bert', rank: '1', replica_type: 'Worker' }), '{run_id="r-7"}');
  assert.equal(allRanksSelector({ slurm_job_id: '10000', rank: '1' }), '{slurm_job_id="10000"}');
  assert.equal(processSelector(worker), '{job="bert", pod="bert-worker-3", rank="4", replica_type="Worker"}');
  assert.equal(processSelector({ rank: '2', detected_level: 'warn', job: 'x' }), '{job="x", rank="2"}');
});

test('starter query: the run label with its newest value, else another label with values', async () => {
  const values: Record<string, string[]> = { job: ['demo-train'], run_id: [], host: ['node-0', 'node-1'] };
  const valuesOf = async (name: string) => values[name] ?? [];
  assert.equal(await starterQuery(['host', 'job', 'run_id'], valuesOf), '{job="demo-train"}');
  values.run_id = ['run-1', 'run-2'];
  assert.equal(await starterQuery(['host', 'job', 'run_id'], valuesOf), '{run_id="run-2"}');
  assert.equal(await starterQuery(['__stream_shard__', 'host'], valuesOf), '{host="node-1"}');
  assert.equal(await starterQuery([], valuesOf), undefined);
});

test('live rows: a late line is merged where its timestamp belongs', () => {
  const row = (timestampNs: bigint, lane: string): LogRow => ({ id: `${lane}-${timestampNs}`, timestampNs, lane }) as unknown as LogRow;
  const byTime = compareRows('forward');
  const shown = [row(10n, 'a'), row(20n, 'a'), row(30n, 'a')];
  assert.deepEqual(mergeSorted(shown, [row(40n, 'b')], byTime).map((r) => r.id), ['a-10', 'a-20', 'a-30', 'b-40']);
  assert.deepEqual(mergeSorted(shown, [row(15n, 'b'), row(35n, 'b')], byTime).map((r) => r.id), ['a-10', 'b-15', 'a-20', 'a-30', 'b-35']);
  assert.deepEqual(mergeSorted([], [row(5n, 'b')], byTime).map((r) => r.id), ['b-5']);
  assert.deepEqual(mergeSorted(shown, [], byTime), shown);
});

test('time ranges: relative, epoch and dates resolve; bad text names the field', () => {
  const nowMs = Date.UTC(2026, 10, 21, 12, 0, 0);
  assert.equal(parseTimeText('now', nowMs, 'To'), nowMs);
  assert.equal(parseTimeText('now-15m', nowMs, 'From'), nowMs - 900_000);
  assert.equal(parseTimeText('now-2d', nowMs, 'From'), nowMs - 2 * 86_400_000);
  assert.equal(parseTimeText('1795254601919', nowMs, 'From'), 1795254601919);
  assert.equal(parseTimeText('2026-11-21T10:00:00Z', nowMs, 'From'), Date.UTC(2026, 10, 21, 10));
  assert.throws(() => parseTimeText('yesterday', nowMs, 'From'), /From: cannot read "yesterday"/);
  assert.throws(() => resolveRange({ from: 'now', to: 'now-1h' }, nowMs), /must be before/);
  assert.equal(stepForRange({ fromMs: 0, toMs: 3_600_000 }, 120), 30_000);
  assert.equal(stepForRange({ fromMs: 0, toMs: 10_000 }, 120), 1000);
});

test('streams merge into one timeline, newest first, with a lane and level per line', () => {
  const rows = mergeStreams(
    [
      { stream: { job: 'train', rank: '0' }, values: [['3000', 'step 3 INFO loss 1.0'], ['1000', 'Traceback (most recent call last):\n  File "x.py"\nRuntimeError: boom']] },
      { stream: { job: 'train', rank: '1' }, values: [['2000', 'W1121 11:02:57.848000 1200 run.py:792] slow', { structuredMetadata: { fd: 'stderr' } }]] },
    ],
    'backward',
  );
  assert.deepEqual(rows.map((row) => row.timestampNs), [3000n, 2000n, 1000n]);
  assert.deepEqual(rows.map((row) => row.lane), ['rank 0', 'rank 1', 'rank 0']);
  assert.deepEqual(rows.map((row) => row.level), ['info', 'warn', 'error']);
  assert.deepEqual(rows[1].structuredMetadata, { fd: 'stderr' });
  assert.equal(rows[2].line.split('\n').length, 3, 'a traceback stays one entry');
  assert.equal(colourOf('rank 3'), colourOf('rank 3'));
  assert.notEqual(colourOf('rank 3'), colourOf('rank 4'));
  assert.equal(laneOf({ host: 'node-0', component: 'launcher' }), 'node-0');
  assert.equal(laneOf({ host: 'node-1', node_rank: '1', job: 'train' }), 'node-1 agent');
  assert.equal(detectLevel('all good', { level: 'WARNING' }), 'warn');
  const again = appendPage(rows, mergeStreams([{ stream: { job: 'train', rank: '0' }, values: [['1000', rows[2].line], ['500', 'older']] }], 'backward'));
  assert.equal(again.length, 4, 'the overlapping line of the next page is dropped');
});

test('volume buckets stack count_over_time by level on fixed buckets', () => {
  assert.match(volumeQuery('{job="t"}', 30_000, false), /^sum by \(level\) \(count_over_time\(\{job="t"\} \[30s\]\)\)$/);
  assert.match(volumeQuery('{job="t"} | json', 30_000, true), /^sum by \(level\) \(count_over_time\(\{job="t"\} \| json \| regexp `\(\?i\)\\b\(\?P<level>error\|.*` \| keep level \[30s\]\)\)$/);
  assert.equal(selectorAndLineFilters('{job="t"} |= "a\\"}" or "b" !~ `x|y` | json | level="error"'), '{job="t"} |= "a\\"}" or "b" !~ `x|y`');
  assert.equal(selectorAndLineFilters('{job="t"} | pattern "<_> loss <loss>"'), '{job="t"}');
  const buckets = bucketsFromMatrix(
    [
      { metric: { level: 'ERROR' }, values: [[60, '2'], [120, '1']] },
      { metric: { level: 'info' }, values: [[60, '5']] },
      { metric: {}, values: [[90, '7']] },
    ],
    60_000,
    150_000,
    30_000,
  );
  assert.deepEqual(buckets.timesS, [60, 90, 120, 150]);
  assert.deepEqual(buckets.counts.error, [2, 0, 1, 0]);
  assert.deepEqual(buckets.counts.info, [5, 0, 0, 0]);
  assert.deepEqual(buckets.counts.unknown, [0, 7, 0, 0]);
  assert.equal(buckets.total, 15);
});

test('metric series align on shared timestamps; step-vs-loss curves come from parsed fields', () => {
  const series = seriesFromMatrix([
    { metric: { rank: '0' }, values: [[10, '1'], [20, '2']] },
    { metric: { rank: '1' }, values: [[20, '+Inf'], [30, '3']] },
  ]);
  assert.deepEqual(alignSeries(series), [[10, 20, 30], [1, 2, null], [null, null, 3]]);
  assert.equal(summarise(series)[0].mean, 1.5);
  const rows = mergeStreams(
    [
      { stream: { rank: '0' }, values: [['2', 'b', { parsed: { step: '2', loss: '1.5' } }], ['1', 'a', { parsed: { step: '1', loss: '2.5' } }]] },
      { stream: { rank: '1' }, values: [['3', 'c', { parsed: { step: '1', loss: '2.4', lr: '0.1' } }], ['4', 'd', { parsed: { step: '2', loss: '1.4', lr: '0.1' } }]] },
    ],
    'backward',
  );
  const fields = detectXYFields(rows);
  assert.deepEqual(fields, { x: 'step', ys: ['loss', 'lr'] });
  const curves = xySeries(rows, 'step', 'loss');
  assert.deepEqual(curves.map((curve) => [curve.name, curve.timesS, curve.values]), [
    ['rank 0', [1, 2], [2.5, 1.5]],
    ['rank 1', [1, 2], [2.4, 1.4]],
  ]);
  assert.equal(detectXYFields(mergeStreams([{ stream: {}, values: [['1', 'x']] }], 'forward')), undefined);
});
