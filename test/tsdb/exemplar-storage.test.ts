// Exemplar storage: Prometheus' circular storage rules (one bounded ring, per-series time order,
// duplicates, the 128-rune label limit), selection by matchers, and durability through the TSDB WAL.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExemplarStorage, type ExemplarOutcome } from '../../src/tsdb/exemplar-storage.ts';
import { T0, tempTsdb } from './tsdb-fixture.ts';

const latency = { __name__: 'http_request_duration_seconds_bucket', le: '0.5', job: 'api' };
const other = { __name__: 'http_request_duration_seconds_bucket', le: '1', job: 'api' };

const rules: Array<[string, Array<[labels: Record<string, string>, value: number, timestampMs: number]>, ExemplarOutcome[]]> = [
  ['newer timestamps are added', [[{ trace_id: 'a' }, 0.3, T0], [{ trace_id: 'b' }, 0.4, T0 + 1]], ['added', 'added']],
  ['the same exemplar again is a duplicate', [[{ trace_id: 'a' }, 0.3, T0], [{ trace_id: 'a' }, 0.3, T0]], ['added', 'duplicate']],
  ['an equal timestamp with another value is out of order', [[{ trace_id: 'a' }, 0.3, T0], [{ trace_id: 'a' }, 0.4, T0]], ['added', 'out_of_order']],
  ['an older timestamp is out of order', [[{ trace_id: 'a' }, 0.3, T0], [{ trace_id: 'b' }, 0.3, T0 - 1]], ['added', 'out_of_order']],
  ['labels over 128 runes are refused', [[{ trace_id: 'é'.repeat(121) }, 1, T0], [{ trace_id: 'é'.repeat(120) }, 1, T0]], ['too_long', 'added']],
];
for (const [name, exemplars, expected] of rules) {
  test(`exemplar rule: ${name}`, () => {
    const storage = new ExemplarStorage(10);
    assert.deepEqual(exemplars.map(([labels, value, timestampMs]) => storage.add('t', latency, { labels, value, timestampMs })), expected);
  });
}

test('the ring is bounded: the oldest exemplar of all is overwritten and unlinked from its series', () => {
  const storage = new ExemplarStorage(3);
  storage.add('t', latency, { labels: { trace_id: '1' }, value: 1, timestampMs: T0 + 1 });
  storage.add('t', other, { labels: { trace_id: '2' }, value: 2, timestampMs: T0 + 2 });
  storage.add('t', latency, { labels: { trace_id: '3' }, value: 3, timestampMs: T0 + 3 });
  storage.add('t', other, { labels: { trace_id: '4' }, value: 4, timestampMs: T0 + 4 });
  storage.add('t', other, { labels: { trace_id: '5' }, value: 5, timestampMs: T0 + 5 });
  assert.equal(storage.size, 3);
  const all = storage.select('t', [[{ name: '__name__', type: '=', value: 'http_request_duration_seconds_bucket' }]], 0, Infinity);
  assert.deepEqual(all.map((series) => [series.seriesLabels.le, series.exemplars.map((e) => e.labels.trace_id)]), [['0.5', ['3']], ['1', ['4', '5']]]);
  // Overwriting series 0.5's last exemplar removes the series.
  storage.add('t', other, { labels: { trace_id: '6' }, value: 6, timestampMs: T0 + 6 });
  assert.deepEqual(storage.select('t', [[{ name: 'le', type: '=', value: '0.5' }]], 0, Infinity), []);
});

test('a ring larger than its first allocation grows as exemplars arrive, then wraps at its capacity', () => {
  // 1,024 slots are allocated first; these capacities make the ring grow (twice, or to a capacity that is not a power of two) before it wraps.
  for (const [capacity, added] of [[2500, 1800], [2500, 6000], [5000, 5000]] as const) {
    const storage = new ExemplarStorage(capacity);
    const seriesOf = [latency, other, { ...latency, le: '2' }];
    for (let i = 0; i < added; i++) {
      assert.equal(storage.add('t', seriesOf[i % 3]!, { labels: { trace_id: `${i}` }, value: i, timestampMs: T0 + i }), 'added');
    }
    const kept = Math.min(capacity, added);
    assert.equal(storage.size, kept, `capacity ${capacity}, ${added} added`);
    const oldestKept = added - kept;
    const entries = [...storage.entries()].map((entry) => entry.exemplar.value);
    assert.deepEqual(entries, Array.from({ length: kept }, (_, i) => oldestKept + i), `entries oldest first (capacity ${capacity}, ${added} added)`);
    const selected = storage.select('t', [[{ name: 'job', type: '=', value: 'api' }]], 0, Infinity);
    for (const series of selected) {
      const values = series.exemplars.map((exemplar) => exemplar.value);
      const offset = seriesOf.findIndex((labels) => labels.le === series.seriesLabels.le);
      assert.deepEqual(values, Array.from({ length: kept }, (_, i) => oldestKept + i).filter((value) => value % 3 === offset), `series le=${series.seriesLabels.le}`);
    }
  }
});

test('select: matcher sets are ORed, the time range is inclusive, tenants are apart, series sorted by labels', () => {
  const storage = new ExemplarStorage(100);
  for (let i = 0; i < 5; i++) {
    storage.add('t', other, { labels: { trace_id: `o${i}` }, value: i, timestampMs: T0 + i * 1000 });
    storage.add('t', latency, { labels: { trace_id: `l${i}` }, value: i, timestampMs: T0 + i * 1000 });
  }
  storage.add('u', latency, { labels: { trace_id: 'other-tenant' }, value: 1, timestampMs: T0 });
  const found = storage.select('t', [[{ name: 'le', type: '=', value: '1' }], [{ name: 'le', type: '=~', value: '0\\..*' }]], T0 + 1000, T0 + 3000);
  assert.deepEqual(found.map((series) => series.seriesLabels.le), ['0.5', '1']);
  assert.deepEqual(found[0]!.exemplars, [1, 2, 3].map((i) => ({ labels: { trace_id: `l${i}` }, value: i, timestampMs: T0 + i * 1000 })));
  assert.deepEqual(storage.select('u', [[{ name: 'job', type: '=', value: 'api' }]], 0, Infinity).map((series) => series.exemplars.length), [1]);
  assert.deepEqual(new ExemplarStorage(0).add('t', latency, { labels: {}, value: 1, timestampMs: T0 }), 'disabled');
});

test('exemplars appended with samples survive a restart (WAL), also after a head cut (segment preamble)', async () => {
  const temp = await tempTsdb('exemplars');
  try {
    let tsdb = await temp.open({ maxExemplars: 10 });
    const result = await tsdb.append('t', [
      { labels: latency, samples: [{ timestampMs: T0, value: 3 }], exemplars: [{ labels: { trace_id: 'abc' }, value: 0.42, timestampMs: T0 }] },
      { labels: { __name__: 'bad-name' }, samples: [{ timestampMs: T0, value: 1 }], exemplars: [{ labels: { trace_id: 'dropped' }, value: 1, timestampMs: T0 }] },
    ]);
    assert.equal(result.exemplarsAccepted, 1);
    await tsdb.close();
    tsdb = await temp.open({ maxExemplars: 10 });
    const selector = [[{ name: 'job', type: '=' as const, value: 'api' }]];
    assert.deepEqual(tsdb.exemplars('t', selector, T0, T0), [{ seriesLabels: latency, exemplars: [{ labels: { trace_id: 'abc' }, value: 0.42, timestampMs: T0 }] }]);
    await tsdb.append('t', [{ labels: latency, samples: [{ timestampMs: T0 + 15_000, value: 4 }], exemplars: [{ labels: { trace_id: 'def' }, value: 0.1, timestampMs: T0 + 15_000 }] }]);
    await tsdb.flush();
    await tsdb.close();
    tsdb = await temp.open({ maxExemplars: 10 });
    assert.deepEqual(tsdb.exemplars('t', selector, T0, T0 + 15_000)[0]!.exemplars.map((e) => e.labels.trace_id), ['abc', 'def']);
    await tsdb.close();
  } finally {
    await temp.cleanup();
  }
});
