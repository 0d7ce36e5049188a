import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import { columnsFromEntries, decodeBlock, encodeBlock, BlockDecodeError } from '../../src/store/block.ts';
import type { PushEntry } from '../../src/store/types.ts';
import { DAY_START_NS, linesOf } from './store-fixture.ts';
import { V3_RAW_BLOCK_HEX, V3_ZSTD_BLOCK_HEX, v3BlockEntries } from './fixtures/block-v3.ts';

const stream = { id: '0'.repeat(32), labels: { job: 'train' } };

function roundTrip(entries: PushEntry[]): ReturnType<typeof decodeBlock> {
  return decodeBlock(encodeBlock(columnsFromEntries(entries)), stream);
}

test('block round-trips timestamps exactly across the whole day, irregular gaps and duplicates', () => {
  let seed = 7;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const timestamps: bigint[] = [DAY_START_NS, DAY_START_NS, DAY_START_NS + 1n];
  let t = DAY_START_NS + 1n;
  for (let i = 0; i < 5000; i++) {
    // Mix nanosecond jitter, equal timestamps and jumps of hours.
    const kind = random();
    t += kind < 0.1 ? 0n : kind < 0.997 ? BigInt(Math.floor(random() * 1e9)) : BigInt(Math.floor(random() * 3.6e12));
    timestamps.push(t);
  }
  assert.ok(t < DAY_START_NS + 86_400_000_000_000n - 1n);
  timestamps.push(DAY_START_NS + 86_400_000_000_000n - 1n);
  const entries = timestamps.map((timestampNs, i) => ({ timestampNs, line: `line ${i}` }));
  const block = roundTrip(entries);
  assert.equal(block.timestampsNs.length, entries.length);
  for (let i = 0; i < entries.length; i++) assert.equal(block.timestampsNs[i], entries[i]!.timestampNs, `timestamp ${i}`);
  assert.deepEqual(linesOf(block), entries.map((e) => e.line));
});

test('block keeps empty lines, embedded newlines, UTF-8 and structured metadata per line', () => {
  const entries: PushEntry[] = [
    { timestampNs: 10n, line: '' },
    { timestampNs: 11n, line: 'Traceback (most recent call last):\n  File "train.py", line 3\nValueError: bad' },
    { timestampNs: 12n, line: 'ünïcødé ✓ 日本語', structuredMetadata: [{ name: 'trace_id', value: 'abc' }] },
    { timestampNs: 13n, line: 'plain' },
  ];
  const block = roundTrip(entries);
  assert.deepEqual(linesOf(block), entries.map((e) => e.line));
  assert.deepEqual(block.structuredMetadata, [undefined, undefined, [{ name: 'trace_id', value: 'abc' }], undefined]);
  assert.equal(roundTrip([{ timestampNs: 1n, line: 'x' }]).structuredMetadata, undefined);
});

test('block handles timestamps before 1970 and an empty block', () => {
  const entries = [
    { timestampNs: -5_000_000_123n, line: 'a' },
    { timestampNs: -1n, line: 'b' },
    { timestampNs: 0n, line: 'c' },
  ];
  assert.deepEqual(Array.from(roundTrip(entries).timestampsNs), entries.map((e) => e.timestampNs));
  assert.equal(roundTrip([]).timestampsNs.length, 0);
});

test('block timestamps from a slice of a larger column encode as a copy would; unsorted or over-long spans are refused', () => {
  const entries = Array.from({ length: 300 }, (_, i) => ({ timestampNs: DAY_START_NS - 4_000_000_000n + BigInt(i) * 33_333_331n, line: `l${i}` }));
  const whole = columnsFromEntries(entries);
  // A view starting mid-column, as sliceColumns hands the encoder a head's columns.
  const view = { timestampsNs: whole.timestampsNs.subarray(7, 207), lines: Buffer.from(entries.slice(7, 207).map((e) => e.line).join('')), lineEnds: columnsFromEntries(entries.slice(7, 207)).lineEnds };
  const copy = columnsFromEntries(entries.slice(7, 207));
  assert.ok(view.timestampsNs.byteOffset > 0);
  assert.deepEqual(encodeBlock(view), encodeBlock(copy));
  assert.deepEqual(Array.from(decodeBlock(encodeBlock(view), stream).timestampsNs), entries.slice(7, 207).map((e) => e.timestampNs));
  assert.throws(() => encodeBlock(columnsFromEntries([{ timestampNs: 5n, line: 'a' }, { timestampNs: 4n, line: 'b' }])), /sorted ascending/);
  assert.throws(() => encodeBlock(columnsFromEntries([{ timestampNs: 0n, line: 'a' }, { timestampNs: 2n ** 53n + 1n, line: 'b' }])), /2\^53/);
});

test('block stores regular timestamps in a few bits each (unit and delta coding chosen per block)', () => {
  // Millisecond clock with a steady 50 ms cadence: deltas of deltas are 0.
  const regular = Array.from({ length: 10000 }, (_, i) => ({ timestampNs: DAY_START_NS + BigInt(i) * 50_000_000n, line: '' }));
  assert.ok(encodeBlock(columnsFromEntries(regular)).length < 200);
  // Irregular microsecond clock: plain deltas in µs units.
  let t = DAY_START_NS;
  const irregular = Array.from({ length: 10000 }, (_, i) => {
    t += BigInt(1000 * ((i * 7919) % 5000));
    return { timestampNs: t, line: '' };
  });
  const block = decodeBlock(encodeBlock(columnsFromEntries(irregular)), stream);
  assert.deepEqual(Array.from(block.timestampsNs), irregular.map((entry) => entry.timestampNs));
});

test('block compresses repetitive training logs by more than 8x', () => {
  const entries: PushEntry[] = [];
  for (let i = 0; i < 20000; i++) {
    entries.push({
      timestampNs: DAY_START_NS + BigInt(i) * 50_000_000n,
      line: `[rank3] {'loss': ${(2.5 - i / 10000).toFixed(4)}, 'grad_norm': ${(1 + (i % 17) / 10).toFixed(2)}, 'learning_rate': 3e-05, 'epoch': ${(i / 20000).toFixed(3)}} step=${i}`,
    });
  }
  const columns = columnsFromEntries(entries);
  const encoded = encodeBlock(columns);
  assert.ok(columns.lines.length / encoded.length > 8, `ratio ${columns.lines.length / encoded.length}`);
});

test('decodeBlock rejects truncated and foreign bytes with a clear error', () => {
  const encoded = encodeBlock(columnsFromEntries([{ timestampNs: 1n, line: 'hello' }]));
  assert.throws(() => decodeBlock(encoded.subarray(0, encoded.length - 3), stream), BlockDecodeError);
  assert.throws(() => decodeBlock(Buffer.from('not a block at all, really, truly not'), stream), /unknown block version/);
  assert.throws(() => decodeBlock(Buffer.from([3, 0, 0, 0]), stream), /too short/);
  assert.throws(() => decodeBlock(Buffer.alloc(0), stream), /empty/);
});

/** A version 3 block as a version 2 block (no checksum), so tests can corrupt fields unnoticed by a CRC. */
function withoutChecksum(block: Buffer): Buffer {
  const old = Buffer.concat([Buffer.from([2]), block.subarray(5)]);
  return old;
}

test('every byte of a block is covered by its checksum: any flipped bit is a clear error', () => {
  const entries = Array.from({ length: 200 }, (_, i) => ({ timestampNs: DAY_START_NS + BigInt(i) * 1_000_000n, line: `step ${i} loss ${(i / 7).toFixed(4)}`, ...(i % 50 === 0 ? { structuredMetadata: [{ name: 'k', value: String(i) }] } : {}) }));
  // A zstd'd block, and a tiny one whose columns are stored as they are.
  for (const sample of [entries, entries.slice(0, 3)]) {
    const encoded = encodeBlock(columnsFromEntries(sample));
    assert.deepEqual(linesOf(decodeBlock(encoded, stream)), sample.map((entry) => entry.line));
    assert.deepEqual(decodeBlock(encoded, stream).structuredMetadata?.[0], [{ name: 'k', value: '0' }]);
    for (let position = 1; position < encoded.length; position += Math.max(1, Math.floor(encoded.length / 97))) {
      const corrupt = Buffer.from(encoded);
      corrupt[position]! ^= 0x10;
      assert.throws(() => decodeBlock(corrupt, stream), (error: Error) => error instanceof BlockDecodeError && /checksum mismatch/.test(error.message), `byte ${position}`);
    }
  }
});

test('blocks written by older versions still decode: version 3 (varint meta, checksum) and version 2 (no checksum)', () => {
  const entries = v3BlockEntries();
  const current = encodeBlock(columnsFromEntries(entries));
  assert.equal(current[0], 4, 'new blocks are version 4');
  for (const [name, hex, expected] of [
    ['version 3, zstd columns', V3_ZSTD_BLOCK_HEX, entries],
    ['version 3, raw columns', V3_RAW_BLOCK_HEX, entries.slice(0, 3)],
    ['version 2', withoutChecksum(Buffer.from(V3_ZSTD_BLOCK_HEX, 'hex')).toString('hex'), entries],
  ] as const) {
    const block = decodeBlock(Buffer.from(hex, 'hex'), stream);
    assert.deepEqual(Array.from(block.timestampsNs), expected.map((entry) => entry.timestampNs), name);
    assert.deepEqual(linesOf(block), expected.map((entry) => entry.line), name);
    assert.deepEqual(block.structuredMetadata?.[0], [{ name: 'trace_id', value: 't0' }], name);
  }
});

/** A version 4 block edited after encoding, its checksum recomputed so that only the decoder's own checks stand. */
function resealed(block: Buffer): Buffer {
  block.writeUInt32LE(crc32(block.subarray(5)), 1);
  return block;
}

test('a version 4 block whose count or meta widths lie (checksum recomputed) is an error, never a hang', () => {
  const entries = Array.from({ length: 3 }, (_, i) => ({ timestampNs: DAY_START_NS + BigInt(i * 1000), line: `line ${i}` }));
  const encoded = encodeBlock(columnsFromEntries(entries));
  assert.equal(encoded[18]! & 0x80, 0x80, 'a tiny block: columns stored raw, so the meta bytes can be edited');
  for (const count of [4, 2, 0xffffffff]) {
    const corrupt = Buffer.from(encoded);
    corrupt.writeUInt32LE(count, 5);
    assert.throws(() => decodeBlock(resealed(corrupt), stream), BlockDecodeError, `count ${count}`);
  }
  const metaStart = 5 + 29;
  for (const [byte, value] of [[0, 8], [1, 5], [0, 0], [1, 3]] as const) {
    const corrupt = Buffer.from(encoded);
    corrupt[metaStart + byte] = value;
    assert.throws(() => decodeBlock(resealed(corrupt), stream), BlockDecodeError, `meta byte ${byte} = ${value}`);
  }
});

test('a block without checksum whose counts or lengths lie is an error, never a hang or a huge allocation', () => {
  // Long enough to be zstd'd (version 2 blocks always were).
  const entries = v3BlockEntries();
  const old = withoutChecksum(Buffer.from(V3_ZSTD_BLOCK_HEX, 'hex'));
  assert.deepEqual(linesOf(decodeBlock(old, stream)), entries.map((entry) => entry.line), 'version 2 blocks still decode');
  // Entry count (u32 at byte 1) off by one either way, far too large, and zero.
  const cases: Array<[string, number]> = [
    ['count + 1', 101],
    ['count - 1', 99],
    ['count 2^32 - 1', 0xffffffff],
    ['count 0', 0],
  ];
  for (const [name, count] of cases) {
    const corrupt = Buffer.from(old);
    corrupt.writeUInt32LE(count, 1);
    assert.throws(() => decodeBlock(corrupt, stream), BlockDecodeError, name);
  }
  // Column lengths (u32 at bytes 18, 22, 26) that point past the block or into the wrong bytes.
  for (const field of [18, 22, 26]) {
    const corrupt = Buffer.from(old);
    corrupt.writeUInt32LE(corrupt.readUInt32LE(field) + 3, field);
    assert.throws(() => decodeBlock(corrupt, stream), BlockDecodeError, `field at ${field}`);
  }
});
