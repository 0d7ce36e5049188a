// The recording-rule store: samples survive a reopen (a torn last line after a crash included),
// expired samples are dropped and the file rewritten, reads follow Prometheus's 5-minute lookback,
// and a full store refuses appends with a message saying what to change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordedSampleStore } from '../../src/ruler/recorded-samples.ts';

const name = (metric: string) => [{ name: '__name__', type: '=' as const, value: metric }];

test('samples are durable, expire, and read back with a lookback', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-recorded-'));
  try {
    const nowMs = Date.now();
    const dayMs = 86_400_000;
    let store = new RecordedSampleStore(dir, 7 * dayMs);
    store.append('team-a', nowMs - 8 * dayMs, [{ labels: { __name__: 'm', job: 'x' }, value: 1 }]);
    store.append('team-a', nowMs - 60_000, [{ labels: { __name__: 'm', job: 'x' }, value: 2 }, { labels: { __name__: 'm', job: 'y' }, value: 3 }]);
    store.append('team-b', nowMs - 60_000, [{ labels: { __name__: 'm', job: 'x' }, value: 99 }]);
    assert.equal(store.samples, 3, 'the 8-day-old sample is dropped when the next one lands');

    // A crash leaves half a line at the end of the file.
    appendFileSync(join(dir, 'team-a.jsonl'), '{"t":12');
    store = new RecordedSampleStore(dir, 7 * dayMs);
    assert.deepEqual(
      store.instant('team-a', name('m'), nowMs).map((s) => [s.labels.job, s.value]),
      [['x', 2], ['y', 3]],
    );
    assert.deepEqual(store.instant('team-b', name('m'), nowMs).map((s) => s.value), [99], 'tenants are separate');
    assert.deepEqual(store.instant('team-a', name('m'), nowMs + 5 * 60_000), [], 'nothing past the 5-minute lookback');
    assert.deepEqual(store.instant('team-a', [...name('m'), { name: 'job', type: '=~', value: 'y|z' }], nowMs).map((s) => s.value), [3]);
    const lines = readFileSync(join(dir, 'team-a.jsonl'), 'utf8').trim().split('\n');
    assert.equal(lines.length, 1, 'reopening rewrote the file without the expired record and the torn line');

    const range = store.range('team-a', name('m'), nowMs - 120_000, nowMs, 60_000);
    assert.deepEqual(range.map((s) => [s.labels.job, s.samples.map(([, v]) => v)]), [['x', [2, 2]], ['y', [3, 3]]]);
    assert.deepEqual(store.labelValues('team-a', '__name__'), ['m']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a full store refuses appends with a useful message', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-recorded-'));
  try {
    const store = new RecordedSampleStore(dir, 86_400_000, 3);
    store.append('t', Date.now(), [{ labels: { __name__: 'm', a: '1' }, value: 1 }, { labels: { __name__: 'm', a: '2' }, value: 1 }]);
    assert.throws(
      () => store.append('t', Date.now() + 1, [{ labels: { __name__: 'm', a: '1' }, value: 1 }, { labels: { __name__: 'm', a: '2' }, value: 1 }]),
      /recorded-sample store is full \(2 samples\); lower ruler\.recording_retention/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
