// Block format 2 (zstd pages, varint index): round trip through the reader, version 1 blocks still
// read, and decoders that refuse damaged bytes with BlockFormatError instead of reading past them.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import { BLOCK_FORMAT_VERSION, BlockFormatError, decodeBlockIndex, decodePage, encodeBlock, type BlockMeta, type BlockSeriesInput } from '../../src/tsdb/block.ts';
import { BlockReader } from '../../src/tsdb/block-reader.ts';
import { decodeChunk } from '../../src/tsdb/chunk.ts';
import { encodeChunks } from '../../src/tsdb/head.ts';
import { T0 } from './tsdb-fixture.ts';

const HOUR_MS = 3_600_000;

function series(count: number, samples: number): BlockSeriesInput[] {
  const out: BlockSeriesInput[] = [];
  for (let s = 0; s < count; s++) {
    const timestampsMs = Float64Array.from({ length: samples }, (_, i) => T0 + i * 15_000);
    const values = Float64Array.from({ length: samples }, (_, i) => (s % 3 === 0 ? 42 : Math.round((s * 1000 + i * (7 + (i % 5))) * 100) / 100));
    out.push({ labels: { __name__: 'node_cpu_seconds_total', cpu: String(s), mode: s % 2 === 0 ? 'idle' : 'user' }, chunks: encodeChunks(timestampsMs, values, new Uint8Array(samples), 2 * HOUR_MS, 480) });
  }
  return out;
}

function metaOf(encoded: ReturnType<typeof encodeBlock>): BlockMeta {
  return { version: BLOCK_FORMAT_VERSION, id: 'b', tenant: 't', walSeqEnd: 0, level: 1, ...encoded.meta };
}

test('format 2: every sample reads back through pages; selection by matchers and time', async () => {
  const input = series(300, 480);
  const encoded = encodeBlock(input);
  const meta = metaOf(encoded);
  const index = decodeBlockIndex(encoded.data.subarray(meta.indexOffset, meta.indexOffset + meta.indexLength), meta);
  assert.ok(index.pages!.length > 1, 'several pages');
  assert.equal(meta.stats.samples, 300 * 480);
  const reader = new BlockReader(meta, 'tsdb', encoded.data);
  const selected = await reader.select(undefined as never, [{ name: 'cpu', type: '=~', value: '1[0-9]' }], T0 + 15_000, T0 + 30_000);
  assert.equal(selected.length, 10);
  for (const found of selected) {
    const original = input.find((entry) => entry.labels.cpu === found.labels.cpu)!;
    const decoded = decodeChunk(original.chunks[0]!.bytes);
    assert.deepEqual([...found.timestampsMs], [T0 + 15_000, T0 + 30_000]);
    assert.deepEqual([...found.values], [decoded.values[1], decoded.values[2]]);
  }
  const all = await reader.readAll(undefined as never);
  assert.deepEqual(all.map((entry) => entry.chunks.map((chunk) => Buffer.from(chunk.bytes).toString('hex'))), [...input].sort((a, b) => Number(a.labels.cpu! < b.labels.cpu!) * -2 + 1).map((entry) => entry.chunks.map((chunk) => Buffer.from(chunk.bytes).toString('hex'))));
});

test('format 2 is smaller than chunk bytes alone on repetitive series (zstd pages, varint index)', () => {
  const input = series(200, 480);
  const chunkBytes = input.reduce((sum, entry) => sum + entry.chunks.reduce((total, chunk) => total + chunk.bytes.length, 0), 0);
  assert.ok(encodeBlock(input).data.length < chunkBytes, `${encodeBlock(input).data.length} < ${chunkBytes}`);
});

const damage: Array<[string, (data: Buffer, meta: BlockMeta) => [Buffer, BlockMeta], RegExp]> = [
  ['an index byte flipped', (data, meta) => [flip(data, meta.indexOffset + 3), meta], /checksum mismatch/],
  ['an index that decompresses to other bytes than meta says', (data, meta) => [data, { ...meta, indexRawLength: (meta.indexRawLength ?? 0) + 1 }], /expected|decompressed/],
  ['an unknown version', (data, meta) => [data, { ...meta, version: 9 }], /unknown block format version 9/],
];
for (const [name, corrupt, message] of damage) {
  test(`format 2 refuses ${name}`, () => {
    const encoded = encodeBlock(series(20, 120));
    const [data, meta] = corrupt(Buffer.from(encoded.data), metaOf(encoded));
    assert.throws(() => decodeBlockIndex(data.subarray(meta.indexOffset, meta.indexOffset + meta.indexLength), meta), (error: Error) => error instanceof BlockFormatError && message.test(error.message));
  });
}

test('format 2 refuses a damaged page and an index pointing outside its pages', () => {
  const encoded = encodeBlock(series(20, 120));
  const meta = metaOf(encoded);
  const index = decodeBlockIndex(encoded.data.subarray(meta.indexOffset, meta.indexOffset + meta.indexLength), meta);
  const page = index.pages![0]!;
  assert.throws(() => decodePage(flip(encoded.data, page.offset + 5).subarray(page.offset, page.offset + page.compressedLength), page, 0), /page 0: checksum mismatch/);
  // A well-formed index whose pages do not end where the index starts.
  assert.throws(() => decodeBlockIndex(encoded.data.subarray(meta.indexOffset, meta.indexOffset + meta.indexLength), { ...meta, indexOffset: meta.indexOffset + 1 }), /pages end at byte/);
});

test('format 1 blocks (written before) still read', async () => {
  // A version 1 block of one series with one chunk, laid out by hand from block-v1.ts' description.
  const chunk = encodeChunks(Float64Array.of(T0, T0 + 15_000), Float64Array.of(1, 2), new Uint8Array(2), 2 * HOUR_MS)[0]!;
  const framed = Buffer.concat([u32(chunk.bytes.length), Buffer.from(chunk.bytes), u32(crc32(chunk.bytes))]);
  const symbols = ['__name__', 'up'];
  const index = Buffer.concat([
    u32(symbols.length), ...symbols.flatMap((symbol) => [u32(symbol.length), Buffer.from(symbol)]),
    u32(1), Buffer.from([1, 0]), u32(0), u32(1), u32(1),
    f64(T0), f64(T0 + 15_000), u32(2), f64(0), u32(chunk.bytes.length),
    u32(1), u32(0), u32(1), u32(1), u32(0),
  ]);
  const data = Buffer.concat([framed, index]);
  const meta: BlockMeta = { version: 1, id: 'old', tenant: 't', minTimeMs: T0, maxTimeMs: T0 + 15_000, walSeqEnd: 0, level: 1, stats: { series: 1, chunks: 1, samples: 2 }, dataBytes: data.length, indexOffset: framed.length, indexLength: index.length, indexCrc32: crc32(index) };
  const selected = await new BlockReader(meta, 'tsdb', data).select(undefined as never, [{ name: '__name__', type: '=', value: 'up' }], 0, Infinity);
  assert.deepEqual(selected.map((entry) => [entry.labels, [...entry.timestampsMs], [...entry.values]]), [[{ __name__: 'up' }, [T0, T0 + 15_000], [1, 2]]]);
});

function flip(data: Buffer, at: number): Buffer {
  const copy = Buffer.from(data);
  copy[at] = copy[at]! ^ 0xff;
  return copy;
}

function u32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32LE(value >>> 0);
  return buffer;
}

function f64(value: number): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeDoubleLE(value);
  return buffer;
}
