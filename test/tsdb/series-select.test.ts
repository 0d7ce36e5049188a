import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChunkEncoder, decodeChunk } from '../../src/tsdb/chunk.ts';
import type { Tsdb } from '../../src/tsdb/tsdb.ts';
import { ALL, flatten, HOUR_MS, T0, tempTsdb } from './tsdb-fixture.ts';

test('an encoder decodes its open chunk in place and gives its newest sample (stale marker included)', () => {
  const encoder = new ChunkEncoder();
  const samples: Array<[number, number, boolean]> = Array.from({ length: 120 }, (_, i) => [T0 + i * 15_000 + (i % 3), i % 7 === 0 ? 5 : Math.round(Math.sin(i) * 1e5) / 100, i === 49 || i === 119]);
  const timestampsMs = new Float64Array(120);
  const values = new Float64Array(120);
  const stale = new Uint8Array(120);
  for (const [i, [t, v, marker]] of samples.entries()) {
    encoder.append(t, v, marker);
    // Every length, including a partly written last byte.
    const whole = decodeChunk(encoder.bytes());
    assert.equal(encoder.decodeInto(timestampsMs, values, stale, 0), i + 1);
    assert.deepEqual([...timestampsMs.subarray(0, i + 1)], [...whole.timestampsMs]);
    assert.deepEqual([...values.subarray(0, i + 1)], [...whole.values]);
    encoder.newestInto(timestampsMs, values, stale, 0);
    assert.equal(timestampsMs[0], t);
    assert.equal(stale[0], marker ? 1 : 0);
    if (!marker) assert.equal(values[0], v);
  }
  // Windows inside the chunk, before, around and after the halfway sample it resumes from: only their
  // samples, in order, with their values.
  const whole = decodeChunk(encoder.bytes());
  for (const [from, to] of [[10, 20], [58, 62], [59, 70], [60, 61], [61, 120], [100, 119], [0, 120]] as const) {
    const count = encoder.decodeInto(timestampsMs, values, stale, 0, samples[from]![0], samples[to - 1]![0]);
    assert.deepEqual([...timestampsMs.subarray(0, count)], samples.slice(from, to).map(([t]) => t), `[${from}, ${to})`);
    assert.deepEqual([...values.subarray(0, count)], [...whole.values.subarray(from, to)], `[${from}, ${to}) values`);
    assert.deepEqual([...stale.subarray(0, count)], samples.slice(from, to).map(([, , marker]) => (marker ? 1 : 0)), `[${from}, ${to}) markers`);
  }
});

/**
 * A series whose samples lie in flushed blocks, closed head chunks, the open head chunk and the
 * out-of-order buffer; another one that stops with a stale marker.
 */
async function populate(tsdb: Tsdb): Promise<void> {
  const a = { __name__: 'x', series: 'a' };
  const b = { __name__: 'x', series: 'b' };
  for (let t = 0; t < 3 * HOUR_MS; t += 15_000) {
    await tsdb.append('fake', [
      { labels: a, samples: [{ timestampMs: T0 + t, value: t / 1000 }] },
      ...(t <= HOUR_MS ? [{ labels: b, samples: [{ timestampMs: T0 + t + 7, value: t === HOUR_MS ? Number.NaN : -t, stale: t === HOUR_MS }] }] : []),
    ]);
    if (t === 2 * HOUR_MS) await tsdb.flush();
  }
  // Out of order, inside the default window: between the last two in-order samples' predecessors.
  await tsdb.append('fake', [{ labels: a, samples: [{ timestampMs: T0 + 3 * HOUR_MS - 60_000 + 5, value: -1 }] }]);
}

test('select with newestOnly returns the newest sample of the full selection, from blocks, head chunks and out-of-order samples', async () => {
  const temp = await tempTsdb('newest');
  try {
    const tsdb = await temp.open();
    await populate(tsdb);
    const windows: Array<[string, number, number]> = [
      ['end of the data (open chunk, out-of-order sample)', 3 * HOUR_MS - 5 * 60_000, 3 * HOUR_MS],
      ['before the out-of-order sample', 3 * HOUR_MS - 10 * 60_000, 3 * HOUR_MS - 61_000],
      ['inside a flushed block', HOUR_MS / 2, HOUR_MS / 2 + 5 * 60_000],
      ['on a block boundary', 2 * HOUR_MS - 60_000, 2 * HOUR_MS + 1],
      ['just after the stale marker', HOUR_MS - 60_000, HOUR_MS + 60_000],
      ['between samples', HOUR_MS / 2 + 1, HOUR_MS / 2 + 14_000],
      ['after everything', 4 * HOUR_MS, 5 * HOUR_MS],
      ['whole range', -HOUR_MS, 4 * HOUR_MS],
    ];
    for (const [name, start, end] of windows) {
      const query = { matchers: ALL, startMs: T0 + start, endMs: T0 + end };
      const full = flatten(await tsdb.select('fake', query));
      const newest = flatten(await tsdb.select('fake', { ...query, newestOnly: true }));
      const expected = Object.fromEntries(Object.entries(full).map(([key, samples]) => [key, samples.slice(-1)]));
      assert.deepEqual(newest, expected, name);
    }
    await tsdb.close();
  } finally {
    await temp.cleanup();
  }
});

test('selects with a query scratch decode into a reused arena and give the same samples as without one', async () => {
  const temp = await tempTsdb('scratch');
  try {
    const tsdb = await temp.open();
    await populate(tsdb);
    const queries = [
      { matchers: [{ name: 'series', type: '=' as const, value: 'a' }], startMs: T0, endMs: T0 + 3 * HOUR_MS },
      { matchers: ALL, startMs: T0 + HOUR_MS - 60_000, endMs: T0 + 2 * HOUR_MS + 60_000 },
      { matchers: ALL, startMs: T0 + 3 * HOUR_MS - 5 * 60_000, endMs: T0 + 3 * HOUR_MS, newestOnly: true },
    ];
    const expected = await Promise.all(queries.map(async (query) => flatten(await tsdb.select('fake', query))));
    // Twice over, each query with its own scratch, and the three in one scratch (one query, three selects).
    for (let round = 0; round < 2; round++) {
      for (const [i, query] of queries.entries()) {
        const scratch = tsdb.createScratch();
        assert.deepEqual(flatten(await tsdb.select('fake', { ...query, scratch })), expected[i], `round ${round}, query ${i}`);
        scratch.release();
      }
      const shared = tsdb.createScratch();
      const results = [];
      for (const query of queries) results.push(await tsdb.select('fake', { ...query, scratch: shared }));
      // Earlier selects' samples stay intact while later ones append to the same arena.
      assert.deepEqual(results.map(flatten), expected, `round ${round}, shared scratch`);
      shared.release();
      shared.release();
      await assert.rejects(tsdb.select('fake', { ...queries[0]!, scratch: shared }), /used after release/);
    }
    await tsdb.close();
  } finally {
    await temp.cleanup();
  }
});
