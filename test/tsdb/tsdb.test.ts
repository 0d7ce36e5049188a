import assert from 'node:assert/strict';
import { cp, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RejectedSample } from '../../src/tsdb/types.ts';
import { ALL, flatten, HOUR_MS, T0, tempTsdb } from './tsdb-fixture.ts';

const up = { __name__: 'up', job: 'node' };

// Each case appends samples in order to a fresh store (after a first sample at T0 + 1 h with value 1)
// and lists what is rejected and what is stored.
const acceptanceCases: Array<{ name: string; window: number; samples: Array<[number, number]>; rejected: Array<RejectedSample['reason']>; stored: number[] }> = [
  { name: 'in order', window: 0, samples: [[HOUR_MS + 15_000, 2]], rejected: [], stored: [HOUR_MS, HOUR_MS + 15_000] },
  { name: 'same timestamp, same value: ignored', window: 0, samples: [[HOUR_MS, 1]], rejected: [], stored: [HOUR_MS] },
  { name: 'same timestamp, other value: rejected', window: 0, samples: [[HOUR_MS, 2]], rejected: ['duplicate_timestamp'], stored: [HOUR_MS] },
  { name: 'older, no window: out of order', window: 0, samples: [[HOUR_MS - 1000, 2]], rejected: ['out_of_order'], stored: [HOUR_MS] },
  { name: 'older, inside the window: stored in order', window: 600_000, samples: [[HOUR_MS - 60_000, 2]], rejected: [], stored: [HOUR_MS - 60_000, HOUR_MS] },
  { name: 'older, beyond the window: too old', window: 600_000, samples: [[HOUR_MS - 700_000, 2]], rejected: ['too_old'], stored: [HOUR_MS] },
  { name: 'out-of-order duplicate with another value', window: 600_000, samples: [[HOUR_MS - 60_000, 2], [HOUR_MS - 60_000, 3]], rejected: ['duplicate_timestamp'], stored: [HOUR_MS - 60_000, HOUR_MS] },
];

for (const { name, window, samples, rejected, stored } of acceptanceCases) {
  test(`append: ${name}`, async () => {
    const temp = await tempTsdb('accept');
    try {
      const tsdb = await temp.open({ outOfOrderWindowMs: window });
      await tsdb.append('fake', [{ labels: up, samples: [{ timestampMs: T0 + HOUR_MS, value: 1 }] }]);
      const result = await tsdb.append('fake', [{ labels: up, samples: samples.map(([t, value]) => ({ timestampMs: T0 + t, value })) }]);
      assert.deepEqual(result.rejected.map((r) => r.reason), rejected);
      const selected = await tsdb.select('fake', { matchers: ALL, startMs: 0, endMs: T0 + 10 * HOUR_MS });
      assert.deepEqual([...selected[0]!.timestampsMs], stored.map((t) => T0 + t));
      await tsdb.close();
    } finally {
      await temp.cleanup();
    }
  });
}

test('append: invalid label sets are rejected naming the series; empty values are dropped', async () => {
  const temp = await tempTsdb('labels');
  try {
    const tsdb = await temp.open();
    const result = await tsdb.append('fake', [
      { labels: { __name__: 'bad-name' }, samples: [{ timestampMs: T0, value: 1 }] },
      { labels: { __name__: 'ok', 'bad label': 'x' }, samples: [{ timestampMs: T0, value: 1 }] },
      { labels: { __name__: 'ok', empty: '' }, samples: [{ timestampMs: T0, value: 1 }] },
    ]);
    assert.deepEqual(result.rejected.map((r) => [r.labels.__name__, r.reason]), [['bad-name', 'invalid_labels'], ['ok', 'invalid_labels']]);
    assert.equal(result.accepted, 1);
    assert.deepEqual(await tsdb.series('fake', [ALL], 0, T0 + 1), [{ __name__: 'ok' }]);
    await tsdb.close();
  } finally {
    await temp.cleanup();
  }
});

test('head, blocks and WAL replay: samples survive flush, reopen without flush, and queries merge both', async () => {
  const temp = await tempTsdb('replay');
  try {
    let tsdb = await temp.open();
    const series = Array.from({ length: 20 }, (_, i) => ({ __name__: 'gpu_util', gpu: String(i % 8), instance: `node${i >> 3}` }));
    // 5 h of 15 s samples: the head's chunks split at 2 h boundaries into three blocks.
    for (let t = 0; t < 5 * HOUR_MS; t += 15_000) {
      const result = await tsdb.append('fake', series.map((labels, i) => ({ labels, samples: [{ timestampMs: T0 + t, value: i + t / 1000, stale: t === 4 * HOUR_MS && i === 0 }] })));
      assert.equal(result.rejected.length, 0);
    }
    await tsdb.flush();
    assert.deepEqual(tsdb.blockMetas().map((meta) => [meta.minTimeMs - T0, meta.stats.series]).sort((a, b) => a[0]! - b[0]!), [[0, 20], [2 * HOUR_MS, 20], [4 * HOUR_MS, 20]]);
    // More samples after the flush, then an unclean stop (no close): they must come back from the WAL.
    await tsdb.append('fake', series.map((labels, i) => ({ labels, samples: [{ timestampMs: T0 + 5 * HOUR_MS, value: -i }] })));
    const before = flatten(await tsdb.select('fake', { matchers: ALL, startMs: 0, endMs: T0 + 6 * HOUR_MS }));
    assert.equal(Object.keys(before).length, 20);
    assert.equal(before['__name__=gpu_util,gpu=0,instance=node0']!.length, 5 * 240 + 1);
    assert.equal(before['__name__=gpu_util,gpu=0,instance=node0']![4 * 240]![1], 'stale');

    tsdb = await temp.open(); // the first instance is abandoned, as after kill -9 (WAL fsync'd per append)
    assert.deepEqual(flatten(await tsdb.select('fake', { matchers: ALL, startMs: 0, endMs: T0 + 6 * HOUR_MS })), before);
    const narrow = await tsdb.select('fake', { matchers: [{ name: 'gpu', type: '=', value: '3' }, { name: 'instance', type: '=', value: 'node1' }], startMs: T0 + HOUR_MS, endMs: T0 + HOUR_MS + 30_000 });
    assert.deepEqual(flatten(narrow), { '__name__=gpu_util,gpu=3,instance=node1': [[T0 + HOUR_MS, 11 + 3600], [T0 + HOUR_MS + 15_000, 11 + 3615], [T0 + HOUR_MS + 30_000, 11 + 3630]] });
    assert.deepEqual(await tsdb.labelValues('fake', 'instance', 0, T0 + 6 * HOUR_MS), ['node0', 'node1', 'node2']);
    assert.deepEqual(await tsdb.labelNames('fake', 0, T0 + 6 * HOUR_MS), ['__name__', 'gpu', 'instance']);
    assert.deepEqual(await tsdb.series('other-tenant', [ALL], 0, T0 + 6 * HOUR_MS), []);
    await tsdb.close();
    const files = await readdir(join(temp.dir, 'wal'));
    assert.ok(files.length <= 2, `WAL truncated after the flush on close: ${files.join(', ')}`);
    tsdb = await temp.open();
    assert.deepEqual(flatten(await tsdb.select('fake', { matchers: ALL, startMs: 0, endMs: T0 + 6 * HOUR_MS })), before, 'after close: each sample once');
    await tsdb.close();
  } finally {
    await temp.cleanup();
  }
});

test('a block left by an unfinished flush is dropped on open and its samples replayed from the WAL', async () => {
  const temp = await tempTsdb('unfinished');
  try {
    const tsdb = await temp.open();
    await tsdb.append('fake', [{ labels: up, samples: [{ timestampMs: T0, value: 1 }, { timestampMs: T0 + 15_000, value: 2 }] }]);
    // The crash between a flush's block writes and its pointer: keep the WAL as it was before the
    // flush, and the pointer as it was (none).
    await cp(join(temp.dir, 'wal'), join(temp.dir, 'wal-before'), { recursive: true });
    await tsdb.flush();
    const keys = await temp.objectStore.list('tsdb/');
    await temp.objectStore.delete('tsdb/flushed.json');
    await rm(join(temp.dir, 'wal'), { recursive: true });
    await rename(join(temp.dir, 'wal-before'), join(temp.dir, 'wal'));
    const reopened = await temp.open();
    assert.equal((await temp.objectStore.list('tsdb/')).filter((key) => key.endsWith('meta.json')).length, 0, `unfinished block deleted (had ${keys.join(', ')})`);
    assert.deepEqual(flatten(await reopened.select('fake', { matchers: ALL, startMs: 0, endMs: T0 + HOUR_MS })), { '__name__=up,job=node': [[T0, 1], [T0 + 15_000, 2]] });
    await reopened.close();
  } finally {
    await temp.cleanup();
  }
});

test('compaction merges the blocks of a closed window into one with full chunks; retention drops old blocks', async () => {
  const temp = await tempTsdb('compact');
  try {
    let now = T0 + 30 * HOUR_MS;
    const tsdb = await temp.open({ now: () => now, outOfOrderWindowMs: 0, retentionMs: 24 * HOUR_MS });
    const labels = { __name__: 'node_cpu_seconds_total', cpu: '0' };
    // Four flushes of 30 min each inside [T0, T0 + 2h), then one in the next window.
    for (let flush = 0; flush < 5; flush++) {
      const samples = Array.from({ length: 120 }, (_, i) => ({ timestampMs: T0 + flush * 1_800_000 + i * 15_000, value: flush * 120 + i }));
      await tsdb.append('fake', [{ labels, samples }]);
      await tsdb.flush();
    }
    assert.equal(tsdb.blockMetas().length, 5);
    const before = flatten(await tsdb.select('fake', { matchers: ALL, startMs: 0, endMs: now }));
    assert.equal(await tsdb.compact(), 1);
    const metas = tsdb.blockMetas().sort((a, b) => a.minTimeMs - b.minTimeMs);
    assert.deepEqual(metas.map((meta) => [meta.minTimeMs - T0, meta.level, meta.stats.samples, meta.stats.chunks]), [[0, 2, 480, 1], [2 * HOUR_MS, 1, 120, 1]]);
    assert.deepEqual(flatten(await tsdb.select('fake', { matchers: ALL, startMs: 0, endMs: now })), before);
    // 24 h after 2h15m, the first window is past the 24 h retention, the second not yet.
    now = T0 + 26 * HOUR_MS + 15 * 60_000;
    await tsdb.retention();
    assert.deepEqual(tsdb.blockMetas().map((meta) => meta.minTimeMs - T0), [2 * HOUR_MS]);
    assert.equal((await temp.objectStore.list('tsdb/')).filter((key) => key.endsWith('/data')).length, 1);
    await tsdb.close();
  } finally {
    await temp.cleanup();
  }
});

test('a corrupt block chunk is reported, not decoded', async () => {
  const temp = await tempTsdb('corrupt');
  try {
    const tsdb = await temp.open();
    await tsdb.append('fake', [{ labels: up, samples: [{ timestampMs: T0, value: 1 }] }]);
    await tsdb.close();
    const dataKey = (await temp.objectStore.list('tsdb/')).find((key) => key.endsWith('/data'))!;
    const data = await temp.objectStore.get(dataKey);
    data[6] = data[6]! ^ 0xff; // inside the first chunk
    await temp.objectStore.put(dataKey, data);
    const reopened = await temp.open();
    await assert.rejects(reopened.select('fake', { matchers: ALL, startMs: 0, endMs: T0 + 1 }), /checksum mismatch/);
    await reopened.close();
  } finally {
    await temp.cleanup();
  }
});

test('interned label objects and equal plain label sets resolve to one series', async () => {
  const temp = await tempTsdb('interned');
  try {
    const tsdb = await temp.open();
    const interned = { __name__: 'up', job: 'a' };
    await tsdb.append('fake', [{ labels: interned, samples: [{ timestampMs: T0, value: 1 }], labelsInterned: true }]);
    await tsdb.append('fake', [{ labels: { job: 'a', __name__: 'up' }, samples: [{ timestampMs: T0 + 1000, value: 2 }] }]);
    await tsdb.append('fake', [{ labels: interned, samples: [{ timestampMs: T0 + 2000, value: 3 }], labelsInterned: true }]);
    assert.deepEqual(flatten(await tsdb.select('fake', { matchers: ALL, startMs: 0, endMs: T0 + 5000 })), { '__name__=up,job=a': [[T0, 1], [T0 + 1000, 2], [T0 + 2000, 3]] });
    assert.equal(tsdb.stats().headSeries, 1);
    await tsdb.close();
  } finally {
    await temp.cleanup();
  }
});
