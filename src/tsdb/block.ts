// An immutable block: one tenant's series over one time range, as two objects in the object store:
//   <prefix>/<tenant>/<blockId>/data       chunks section | index section
//   <prefix>/<tenant>/<blockId>/meta.json  written last: a block is visible once its meta exists
// Chunks section: per chunk, u32 length | chunk bytes | u32 CRC-32 of the bytes; a series' chunks
// are contiguous, in time order.
// Index section (CRC-32 in meta.json):
//   u32 symbolCount | str*                       sorted unique label names and values
//   u32 seriesCount | per series (sorted by label set):
//     u16 labelCount | (u32 nameSymbol, u32 valueSymbol)* | u32 chunkCount |
//     per chunk: f64 minTimeMs | f64 maxTimeMs | u32 sampleCount | f64 offset | u32 length
//   u32 postingCount | per label pair (sorted): u32 nameSymbol | u32 valueSymbol | u32 n | u32 series*
// str = u32 byte length + UTF-8. Every count read is bounded by the bytes present.

import { crc32 } from 'node:zlib';
import { compareLabels, SeriesIndex } from './series-index.ts';
import type { StoredChunk } from './head.ts';
import type { Labels } from './types.ts';

export const BLOCK_FORMAT_VERSION = 1;

export interface BlockMeta {
  version: number;
  id: string;
  tenant: string;
  minTimeMs: number;
  maxTimeMs: number;
  /** Every sample from WAL records with seq below this is in some block (used on WAL replay). */
  walSeqEnd: number;
  /** 1 for a head cut; compaction outputs one more than its highest input. */
  level: number;
  stats: { series: number; chunks: number; samples: number };
  dataBytes: number;
  indexOffset: number;
  indexLength: number;
  indexCrc32: number;
}

export interface BlockSeriesInput {
  labels: Labels;
  chunks: StoredChunk[];
}

export interface ChunkRef {
  minTimeMs: number;
  maxTimeMs: number;
  count: number;
  offset: number;
  length: number;
}

export interface BlockIndex {
  labels: Labels[];
  chunks: ChunkRef[][];
  postings: SeriesIndex;
}

export class BlockFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BlockFormatError';
  }
}

/** Encodes a block's data object; returns it with the meta fields it determines. */
export function encodeBlock(seriesInput: BlockSeriesInput[]): { data: Buffer; meta: Omit<BlockMeta, 'version' | 'id' | 'tenant' | 'walSeqEnd' | 'level'> } {
  const series = seriesInput.filter((entry) => entry.chunks.length > 0).sort((a, b) => compareLabels(a.labels, b.labels));
  const symbolSet = new Set<string>();
  for (const entry of series) for (const name in entry.labels) symbolSet.add(name).add(entry.labels[name]!);
  const symbols = [...symbolSet].sort();
  const symbolIds = new Map(symbols.map((symbol, i) => [symbol, i]));

  const chunkParts: Buffer[] = [];
  let offset = 0;
  let minTimeMs = Infinity;
  let maxTimeMs = -Infinity;
  let samples = 0;
  let chunkCount = 0;
  const refs: ChunkRef[][] = [];
  for (const entry of series) {
    const list: ChunkRef[] = [];
    for (const chunk of entry.chunks) {
      const header = Buffer.allocUnsafe(4);
      header.writeUInt32LE(chunk.bytes.length, 0);
      const trailer = Buffer.allocUnsafe(4);
      trailer.writeUInt32LE(crc32(chunk.bytes), 0);
      chunkParts.push(header, Buffer.from(chunk.bytes.buffer, chunk.bytes.byteOffset, chunk.bytes.length), trailer);
      list.push({ minTimeMs: chunk.minTimeMs, maxTimeMs: chunk.maxTimeMs, count: chunk.count, offset, length: chunk.bytes.length });
      offset += 8 + chunk.bytes.length;
      if (chunk.minTimeMs < minTimeMs) minTimeMs = chunk.minTimeMs;
      if (chunk.maxTimeMs > maxTimeMs) maxTimeMs = chunk.maxTimeMs;
      samples += chunk.count;
      chunkCount++;
    }
    refs.push(list);
  }

  const index = new IndexWriter();
  index.u32(symbols.length);
  for (const symbol of symbols) index.string(symbol);
  index.u32(series.length);
  const postings = new SeriesIndex();
  series.forEach((entry, i) => {
    const names = Object.keys(entry.labels).sort();
    index.u16(names.length);
    for (const name of names) {
      index.u32(symbolIds.get(name)!);
      index.u32(symbolIds.get(entry.labels[name]!)!);
    }
    const list = refs[i]!;
    index.u32(list.length);
    for (const ref of list) {
      index.f64(ref.minTimeMs);
      index.f64(ref.maxTimeMs);
      index.u32(ref.count);
      index.f64(ref.offset);
      index.u32(ref.length);
    }
    postings.add(i, entry.labels);
  });
  const pairs = [...postings.postingEntries()];
  index.u32(pairs.length);
  for (const [name, value, ids] of pairs) {
    index.u32(symbolIds.get(name)!);
    index.u32(symbolIds.get(value)!);
    index.u32(ids.length);
    for (const id of ids) index.u32(id);
  }
  const indexBytes = index.finish();
  const data = Buffer.concat([...chunkParts, indexBytes]);
  return {
    data,
    meta: {
      minTimeMs,
      maxTimeMs,
      stats: { series: series.length, chunks: chunkCount, samples },
      dataBytes: data.length,
      indexOffset: offset,
      indexLength: indexBytes.length,
      indexCrc32: crc32(indexBytes),
    },
  };
}

class IndexWriter {
  private buffer = Buffer.allocUnsafe(1 << 16);
  private offset = 0;

  private ensure(bytes: number): void {
    if (this.offset + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.offset + bytes));
    this.buffer.copy(grown, 0, 0, this.offset);
    this.buffer = grown;
  }

  u16(value: number): void {
    this.ensure(2);
    this.offset = this.buffer.writeUInt16LE(value, this.offset);
  }

  u32(value: number): void {
    this.ensure(4);
    this.offset = this.buffer.writeUInt32LE(value, this.offset);
  }

  f64(value: number): void {
    this.ensure(8);
    this.offset = this.buffer.writeDoubleLE(value, this.offset);
  }

  string(text: string): void {
    this.ensure(4 + text.length * 3);
    const written = this.buffer.write(text, this.offset + 4, 'utf8');
    this.buffer.writeUInt32LE(written, this.offset);
    this.offset += 4 + written;
  }

  finish(): Buffer {
    return this.buffer.subarray(0, this.offset);
  }
}

/** Decodes an index section, checking its CRC and bounding every count by the bytes present. */
export function decodeBlockIndex(bytes: Buffer, expectedCrc32: number, dataIndexOffset: number): BlockIndex {
  if (crc32(bytes) !== expectedCrc32) throw new BlockFormatError('block index checksum mismatch');
  let offset = 0;
  const need = (count: number): void => {
    if (offset + count > bytes.length) throw new BlockFormatError(`block index truncated at byte ${offset} (need ${count} of ${bytes.length})`);
  };
  const u32 = (): number => {
    need(4);
    const value = bytes.readUInt32LE(offset);
    offset += 4;
    return value;
  };
  const f64 = (): number => {
    need(8);
    const value = bytes.readDoubleLE(offset);
    offset += 8;
    return value;
  };
  const symbolCount = u32();
  need(symbolCount * 4);
  const symbols: string[] = new Array(symbolCount);
  for (let i = 0; i < symbolCount; i++) {
    const length = u32();
    need(length);
    symbols[i] = bytes.toString('utf8', offset, offset + length);
    offset += length;
  }
  const symbol = (): string => {
    const id = u32();
    if (id >= symbols.length) throw new BlockFormatError(`symbol ${id} out of range at byte ${offset - 4}`);
    return symbols[id]!;
  };
  const seriesCount = u32();
  need(seriesCount * 6);
  const labels: Labels[] = new Array(seriesCount);
  const chunks: ChunkRef[][] = new Array(seriesCount);
  for (let s = 0; s < seriesCount; s++) {
    need(2);
    const labelCount = bytes.readUInt16LE(offset);
    offset += 2;
    const set: Labels = {};
    for (let l = 0; l < labelCount; l++) {
      const name = symbol();
      set[name] = symbol();
    }
    labels[s] = set;
    const chunkCount = u32();
    need(chunkCount * 32);
    const list: ChunkRef[] = new Array(chunkCount);
    for (let c = 0; c < chunkCount; c++) {
      const ref = { minTimeMs: f64(), maxTimeMs: f64(), count: u32(), offset: f64(), length: u32() };
      if (ref.offset + ref.length + 8 > dataIndexOffset) throw new BlockFormatError(`chunk ${c} of series ${s} runs past the chunks section`);
      list[c] = ref;
    }
    chunks[s] = list;
  }
  const postings = new SeriesIndex();
  const pairCount = u32();
  need(pairCount * 12);
  // The postings are authoritative for selection; labelsById comes from the series table.
  for (let p = 0; p < pairCount; p++) {
    symbol();
    symbol();
    const n = u32();
    need(n * 4);
    for (let i = 0; i < n; i++) if (bytes.readUInt32LE(offset + i * 4) >= seriesCount) throw new BlockFormatError(`posting refers to series ${bytes.readUInt32LE(offset + i * 4)} of ${seriesCount}`);
    offset += n * 4;
  }
  for (let s = 0; s < seriesCount; s++) postings.add(s, labels[s]!);
  return { labels, chunks, postings };
}

/** Reads one chunk out of a buffer holding [baseOffset, …) of the chunks section, checking its CRC. */
export function chunkAt(buffer: Buffer, baseOffset: number, ref: ChunkRef): Uint8Array {
  const start = ref.offset - baseOffset;
  if (start < 0 || start + 8 + ref.length > buffer.length) throw new BlockFormatError(`chunk at ${ref.offset} outside the bytes read`);
  const length = buffer.readUInt32LE(start);
  if (length !== ref.length) throw new BlockFormatError(`chunk at ${ref.offset}: length ${length}, index says ${ref.length}`);
  const bytes = buffer.subarray(start + 4, start + 4 + length);
  if (crc32(bytes) !== buffer.readUInt32LE(start + 4 + length)) throw new BlockFormatError(`chunk at ${ref.offset}: checksum mismatch`);
  return bytes;
}
