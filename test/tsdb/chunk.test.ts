import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChunkDecodeError, ChunkEncoder, decodeChunk, sealChunk } from '../../src/tsdb/chunk.ts';

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

/** Scrape-like timestamps: 15 s apart with a millisecond of jitter every third sample. */
function sealedRoundTrip(values: number[]): { bytes: Uint8Array; xorBytes: number; decoded: ReturnType<typeof decodeChunk> } {
  const encoder = new ChunkEncoder();
  values.forEach((value, i) => encoder.append(1_700_000_000_000 + i * 15_000 + (i % 3 === 0 ? 1 : 0), value));
  const bytes = sealChunk(encoder);
  return { bytes, xorBytes: encoder.bytes().length, decoded: decodeChunk(bytes) };
}

const decimalCases: Array<{ name: string; values: number[]; decimal: boolean; maxFractionOfXor?: number }> = [
  { name: 'counter in hundredths', values: Array.from({ length: 120 }, (_, i) => Math.round((1234.5 + i * 7.37 + ((i * 37) % 11) / 10) * 100) / 100), decimal: true, maxFractionOfXor: 0.5 },
  { name: 'integer gauge, mostly flat', values: Array.from({ length: 120 }, (_, i) => 60 + (i % 17 === 0 ? 1 : 0)), decimal: true, maxFractionOfXor: 0.8 },
  { name: 'three decimals random walk', values: Array.from({ length: 120 }, (_, i) => Math.round((300 + Math.sin(i) * 5) * 1000) / 1000), decimal: true, maxFractionOfXor: 0.6 },
  { name: 'huge integers', values: Array.from({ length: 50 }, (_, i) => 2 ** 52 + i * 1_000_003), decimal: true },
  // The adaptive layout's modes: each case is cheapest in one of them.
  { name: 'counter with steady increments (delta minus the first delta)', values: Array.from({ length: 120 }, (_, i) => 5000 + i * 1234 + ((i * 7919) % 13) - 6), decimal: true, maxFractionOfXor: 0.5 },
  { name: 'readings around a level (value minus the first)', values: Array.from({ length: 120 }, (_, i) => Math.round((0.6 + (((i * 7919) % 101) - 50) / 1000) * 1e6) / 1e6), decimal: true, maxFractionOfXor: 0.8 },
  { name: 'large integer readings, residuals past 32 bits', values: Array.from({ length: 120 }, (_, i) => 5e10 + ((i * 2654435761) % 9_999_999_967) - 5e9), decimal: true },
  { name: 'alternating jumps of 40 bits both ways', values: Array.from({ length: 120 }, (_, i) => (i % 2 === 0 ? 1e12 + i * 3 : 7 + i)), decimal: true },
  { name: 'full-precision floats stay XOR', values: Array.from({ length: 120 }, (_, i) => Math.sin(i) / 3), decimal: false },
  { name: '0.1 + 0.2 stays XOR', values: [0.1, 0.1 + 0.2, 0.5], decimal: false },
  { name: '-0 keeps its sign (XOR)', values: [1, -0, 2], decimal: false },
  { name: 'Infinity stays XOR', values: [1, Infinity, 2], decimal: false },
];
for (const { name, values, decimal, maxFractionOfXor } of decimalCases) {
  test(`sealed chunk: ${name}`, () => {
    const { bytes, xorBytes, decoded } = sealedRoundTrip(values);
    assert.equal((bytes[0]! & 0x80) !== 0, decimal, 'layout');
    values.forEach((value, i) => assert.ok(Object.is(decoded.values[i], value), `sample ${i}: ${decoded.values[i]} vs ${value}`));
    assert.equal(decoded.timestampsMs.length, values.length);
    if (maxFractionOfXor !== undefined) assert.ok(bytes.length <= xorBytes * maxFractionOfXor, `${bytes.length} bytes against ${xorBytes} as XOR`);
  });
}

test('a sealed chunk with a stale marker stays XOR and keeps the marker', () => {
  const encoder = new ChunkEncoder();
  encoder.append(1000, 1);
  encoder.append(2000, Number.NaN, true);
  encoder.append(3000, 2);
  const decoded = decodeChunk(sealChunk(encoder));
  assert.deepEqual([...decoded.stale!], [0, 1, 0]);
});

test('a truncated decimal chunk fails with ChunkDecodeError', () => {
  const { bytes } = sealedRoundTrip(Array.from({ length: 120 }, (_, i) => i * 2));
  for (const cut of [2, 3, 10, bytes.length - 2]) assert.throws(() => decodeChunk(bytes.subarray(0, cut)), ChunkDecodeError);
});

