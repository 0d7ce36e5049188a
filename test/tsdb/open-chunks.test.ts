import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CHECKPOINT_SAMPLE, ChunkEncoder } from '../../src/tsdb/chunk.ts';
import { OpenChunks } from '../../src/tsdb/open-chunks.ts';

type Sample = [number, number, boolean?];

const T0 = 1_700_000_000_000;
const cases: Array<{ name: string; samples: Sample[] }> = [
  { name: 'one sample', samples: [[T0, 42]] },
  { name: 'regular 15 s counter', samples: Array.from({ length: 120 }, (_, i): Sample => [T0 + i * 15_000, i * 3.5]) },
  { name: 'jittered timestamps, every dod bucket', samples: [[0, 1], [15_000, 2], [30_001, 3], [45_000, 3], [50_000, 4], [200_000, 5], [1_000_000, 6], [90_000_000_000, 7], [90_000_000_001, 8]] },
  { name: 'NaN, ±Inf, -0, tiny and huge', samples: [[1000, Number.NaN], [2000, Infinity], [3000, -Infinity], [4000, -0], [5000, 5e-324], [6000, 1.7976931348623157e308], [7000, 0]] },
  { name: 'staleness markers distinct from NaN', samples: [[1000, 1], [2000, Number.NaN, true], [3000, Number.NaN], [4000, 2, true], [5000, 3]] },
  { name: 'negative timestamps', samples: [[-5_000, 1], [-1, 2], [0, 3], [10, 4]] },
  { name: 'random floats', samples: Array.from({ length: 120 }, (_, i): Sample => [T0 + i * 15_000 + (i % 3), Math.sin(i) * 1e6 + ((i * 7919) % 101) / 7]) },
  { name: 'integer gauge, mostly flat', samples: Array.from({ length: 120 }, (_, i): Sample => [T0 + i * 15_000, 60 + (i % 17 === 0 ? 1 : 0)]) },
];

/** A slot with a chunk started. */
function openSlot(store: OpenChunks, expectedBytes: number): number {
  const slot = store.create();
  store.startChunk(slot, expectedBytes);
  return slot;
}

function plainBytes(samples: readonly Sample[]): Uint8Array {
  const encoder = new ChunkEncoder();
  for (const [t, v, stale] of samples) encoder.append(t, v, stale === true);
  return encoder.bytes();
}

test('open chunks write the same bytes as ChunkEncoder, every case side by side in shared slabs, at every expected size', () => {
  const store = new OpenChunks();
  // 0: sized after 16 samples; 8: far too small (grows by copying); 20000: a slab of its own.
  const slots: Array<{ samples: Sample[]; slot: number; expectedBytes: number }> = [];
  for (const expectedBytes of [0, 8, 200, 20_000]) for (const { samples } of cases) slots.push({ samples, slot: openSlot(store, expectedBytes), expectedBytes });
  // Interleaved appends: neighbours in one slab must not write over each other.
  for (let i = 0; i < 120; i++) for (const { samples, slot } of slots) if (i < samples.length) store.append(slot, samples[i]![0], samples[i]![1], samples[i]![2] === true);
  for (const { samples, slot, expectedBytes } of slots) {
    const name = `${cases.find((entry) => entry.samples === samples)!.name}, expectedBytes ${expectedBytes}`;
    assert.deepEqual(new Uint8Array(store.bytes(slot)), new Uint8Array(plainBytes(samples)), name);
    assert.equal(store.count[slot], samples.length, name);
    assert.equal(store.minTimeMs[slot], samples[0]![0], name);
    assert.equal(store.maxTimeMs[slot], samples.at(-1)![0], name);
  }
});

test('an open chunk decodes in place, whole, from a window (past its checkpoint) and its newest sample', () => {
  const store = new OpenChunks();
  for (const { name, samples } of cases) {
    const slot = openSlot(store, 0);
    for (const [t, v, stale] of samples) store.append(slot, t, v, stale === true);
    const view = store.view(slot);
    const n = samples.length;
    const times = new Float64Array(n);
    const values = new Float64Array(n);
    const stale = new Uint8Array(n);
    assert.equal(view.decodeInto(times, values, stale, 0), n, name);
    samples.forEach(([t, v, isStale], i) => {
      assert.equal(times[i], t, `${name}: time ${i}`);
      assert.equal(stale[i], isStale === true ? 1 : 0, `${name}: stale ${i}`);
      if (isStale !== true) assert.ok(Object.is(values[i], v), `${name}: value ${i}: ${values[i]} vs ${v}`);
    });
    // A window starting after the checkpoint sample resumes from it; the answer is the same samples.
    const from = Math.min(n - 1, CHECKPOINT_SAMPLE + 5);
    const got = view.decodeInto(times, values, stale, 0, samples[from]![0], Infinity);
    assert.equal(got, n - from, `${name}: window from sample ${from}`);
    assert.equal(times[0], samples[from]![0], name);
    assert.ok(Object.is(values[0], samples[from]![2] === true ? Number.NaN : samples[from]![1]) || samples[from]![2] === true, name);
    view.newestInto(times, values, stale, 0);
    const [lastT, lastV, lastStale] = samples.at(-1)!;
    assert.equal(times[0], lastT, name);
    assert.equal(stale[0], lastStale === true ? 1 : 0, name);
    if (lastStale !== true) assert.ok(Object.is(values[0], lastV), name);
  }
});

test('released slots and slabs are reused, and a reused slot starts empty', () => {
  const store = new OpenChunks();
  const samples = cases.find((entry) => entry.name === 'random floats')!.samples;
  // Several rounds of 2,000 chunks (many slabs) opened, filled, released: slots come back, and each
  // round's bytes are still exactly the plain encoder's (no bits left over from a previous tenant).
  const expected = new Uint8Array(plainBytes(samples));
  let highestSlot = -1;
  for (let round = 0; round < 3; round++) {
    const slots = Array.from({ length: 2000 }, () => openSlot(store, round === 0 ? 0 : 300));
    for (const [t, v] of samples) for (const slot of slots) store.append(slot, t, v, false);
    for (const slot of slots) {
      highestSlot = Math.max(highestSlot, slot);
      assert.deepEqual(new Uint8Array(store.bytes(slot)), expected, `round ${round}, slot ${slot}`);
      store.release(slot);
    }
  }
  assert.equal(highestSlot, 1999, 'slots are reused after release');
});

test('a slot keeps its newest sample across chunks: time and value bits (stale marker, NaN, -0) after the chunk ends', () => {
  const store = new OpenChunks();
  const slot = store.create();
  assert.equal(store.maxTimeMs[slot], -Infinity, 'a new slot has no sample');
  const table: Array<[number, boolean]> = [[1.5, false], [Number.NaN, true], [Number.NaN, false], [-0, false], [0, false]];
  table.forEach(([value, stale], i) => {
    store.startChunk(slot, 0);
    store.append(slot, T0 + i * 1000, value, stale);
    store.endChunk(slot);
    assert.equal(store.count[slot], 0);
    assert.equal(store.maxTimeMs[slot], T0 + i * 1000);
    assert.equal(store.lastStale(slot), stale, `sample ${i}`);
    if (stale) assert.ok(Number.isNaN(store.lastValue(slot)));
    else assert.ok(Object.is(store.lastValue(slot), value), `sample ${i}: ${store.lastValue(slot)} vs ${value}`);
  });
  // The next chunk starts whole (its first sample's full time and value), as a plain encoder's.
  store.startChunk(slot, 0);
  store.append(slot, T0 + 10_000, 7, false);
  store.append(slot, T0 + 25_000, 8, false);
  assert.deepEqual(new Uint8Array(store.bytes(slot)), new Uint8Array(plainBytes([[T0 + 10_000, 7], [T0 + 25_000, 8]])));
});
