import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChunkDecodeError, ChunkEncoder, decodeChunk } from '../../src/tsdb/chunk.ts';

function roundTrip(samples: Array<[number, number, boolean?]>): ReturnType<typeof decodeChunk> {
  const encoder = new ChunkEncoder();
  for (const [t, v, stale] of samples) encoder.append(t, v, stale === true);
  return decodeChunk(encoder.bytes());
}

const cases: Array<{ name: string; samples: Array<[number, number, boolean?]> }> = [
  { name: 'one sample', samples: [[1_700_000_000_000, 42]] },
  { name: 'regular 15 s counter', samples: Array.from({ length: 120 }, (_, i) => [1_700_000_000_000 + i * 15_000, i * 3.5] as [number, number]) },
  { name: 'jittered timestamps, every dod bucket', samples: [[0, 1], [15_000, 2], [30_001, 3], [45_000, 3], [50_000, 4], [200_000, 5], [1_000_000, 6], [90_000_000_000, 7], [90_000_000_001, 8]] },
  { name: 'NaN, ±Inf, -0, tiny and huge', samples: [[1000, Number.NaN], [2000, Infinity], [3000, -Infinity], [4000, -0], [5000, 5e-324], [6000, 1.7976931348623157e308], [7000, 0]] },
  { name: 'staleness markers distinct from NaN', samples: [[1000, 1], [2000, Number.NaN, true], [3000, Number.NaN], [4000, 2, true], [5000, 3]] },
  { name: 'negative timestamps', samples: [[-5_000, 1], [-1, 2], [0, 3], [10, 4]] },
  { name: 'random floats', samples: Array.from({ length: 120 }, (_, i) => [i * 1000, Math.sin(i) * 1e6 + Math.random()] as [number, number]) },
];

for (const { name, samples } of cases) {
  test(`chunk round trip: ${name}`, () => {
    const decoded = roundTrip(samples);
    assert.deepEqual([...decoded.timestampsMs], samples.map(([t]) => t));
    samples.forEach(([, v, stale], i) => {
      const flag = decoded.stale?.[i] ?? 0;
      assert.equal(flag, stale === true ? 1 : 0, `stale flag of sample ${i}`);
      if (stale === true) assert.ok(Number.isNaN(decoded.values[i]));
      else assert.ok(Object.is(decoded.values[i], v), `sample ${i}: ${decoded.values[i]} vs ${v}`);
    });
  });
}

test('a regular 15 s gauge compresses to under 2 bytes a sample', () => {
  const encoder = new ChunkEncoder();
  for (let i = 0; i < 120; i++) encoder.append(1_700_000_000_000 + i * 15_000, 50 + (i % 7));
  assert.ok(encoder.bytes().length / 120 < 2, `${encoder.bytes().length} bytes`);
});

test('a truncated or lying chunk fails with ChunkDecodeError, never reads past its bytes', () => {
  const encoder = new ChunkEncoder();
  for (let i = 0; i < 50; i++) encoder.append(i * 15_000, Math.random());
  const bytes = encoder.bytes();
  for (const cut of [1, 5, 20, bytes.length - 3]) assert.throws(() => decodeChunk(bytes.subarray(0, cut)), ChunkDecodeError);
  const lying = Uint8Array.from(bytes);
  lying[0] = 0xff; // declares 65k samples
  assert.throws(() => decodeChunk(lying), ChunkDecodeError);
});
