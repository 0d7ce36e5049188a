// The TSDB's write-ahead log: records written by group commit (large frames in memory of their own,
// freed once written) replay whole and in order, series before samples, across a rotation.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { TsdbWal } from '../../src/tsdb/wal.ts';
import type { WalSamples, WalSeriesEntry } from '../../src/tsdb/wal-record.ts';

function samplesOf(id: number, count: number, firstMs: number): WalSamples {
  const samples: WalSamples = { ids: new Uint32Array(count), timestampsMs: new Float64Array(count), values: new Float64Array(count), stale: new Uint8Array(count), count };
  for (let i = 0; i < count; i++) {
    samples.ids[i] = id;
    samples.timestampsMs[i] = firstMs + i;
    samples.values[i] = (firstMs + i) * 0.5;
  }
  return samples;
}

test('records of every size, appended at once and across a rotation, replay whole and in order', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'tsdb-wal-'));
  try {
    const live: WalSeriesEntry[] = [];
    const options = { directory, fsync: true, minimumNextSeq: 0, liveSeries: () => live };
    const noReplay = { series: () => undefined, samples: () => undefined };
    const { wal } = await TsdbWal.open(options, noReplay);
    // Sizes around the frames' own-memory threshold (16 KiB: ~780 samples) and far above it.
    const counts = [1, 700, 800, 5000, 20_000, 3];
    const appends: Promise<void>[] = [];
    counts.forEach((count, i) => {
      const series = { id: i + 1, tenant: 'fake', labels: { __name__: 'm', i: String(i) } };
      live.push(series);
      appends.push(wal.append({ series: [series], samples: samplesOf(i + 1, count, i * 100_000) }));
    });
    await Promise.all(appends);
    await wal.rotate();
    await wal.append({ series: [], samples: samplesOf(1, 30_000, 10_000_000) });
    await wal.close();

    const seen = new Map<number, number[]>();
    const series: WalSeriesEntry[] = [];
    const { wal: reopened, replayed } = await TsdbWal.open(options, {
      series: (entries) => series.push(...entries),
      samples: (_seq, samples) => {
        for (let i = 0; i < samples.count; i++) {
          const list = seen.get(samples.ids[i]!) ?? [];
          list.push(samples.timestampsMs[i]!);
          seen.set(samples.ids[i]!, list);
          assert.equal(samples.values[i], samples.timestampsMs[i]! * 0.5);
        }
      },
    });
    await reopened.close();
    assert.deepEqual(replayed.corruptTails, []);
    // Each series from its own record, and again from the rotated segment's preamble.
    for (const entry of live) assert.ok(series.some((replayedEntry) => replayedEntry.id === entry.id && replayedEntry.labels.i === entry.labels.i), `series ${entry.id}`);
    counts.forEach((count, i) => {
      const times = seen.get(i + 1)!;
      const expected = Array.from({ length: count }, (_, k) => i * 100_000 + k);
      if (i === 0) expected.push(...Array.from({ length: 30_000 }, (_, k) => 10_000_000 + k));
      assert.deepEqual(times, expected, `series ${i + 1}: ${count} samples`);
    });
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});
