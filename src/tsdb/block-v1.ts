// Reading blocks of format version 1 (written before version 2; blocks are immutable, so old ones
// stay readable until compaction or retention replaces them):
//   data = chunks section | index section
//   chunks section: per chunk, u32 length | chunk bytes | u32 CRC-32 of the bytes
//   index section (CRC-32 in meta.json):
//     u32 symbolCount | str*
//     u32 seriesCount | per series: u16 labelCount | (u32 nameSymbol, u32 valueSymbol)* | u32 chunkCount |
//       per chunk: f64 minTimeMs | f64 maxTimeMs | u32 sampleCount | f64 offset | u32 length
//     u32 postingCount | per label pair: u32 nameSymbol | u32 valueSymbol | u32 n | u32 series*
//   str = u32 byte length + UTF-8. Every count read is bounded by the bytes present.

import { crc32 } from 'node:zlib';
import { BlockFormatError, type BlockIndex, type ChunkRef } from './block-format.ts';
import { SeriesIndex } from './series-index.ts';
import type { Labels } from './types.ts';

/** Decodes an index section, checking its CRC and bounding every count by the bytes present. */
export function decodeBlockIndexV1(bytes: Buffer, expectedCrc32: number, dataIndexOffset: number): BlockIndex {
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
      const ref: ChunkRef = { minTimeMs: f64(), maxTimeMs: f64(), count: u32(), page: 0, offset: f64(), length: u32() };
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
export function chunkAtV1(buffer: Buffer, baseOffset: number, ref: ChunkRef): Uint8Array {
  const start = ref.offset - baseOffset;
  if (start < 0 || start + 8 + ref.length > buffer.length) throw new BlockFormatError(`chunk at ${ref.offset} outside the bytes read`);
  const length = buffer.readUInt32LE(start);
  if (length !== ref.length) throw new BlockFormatError(`chunk at ${ref.offset}: length ${length}, index says ${ref.length}`);
  const bytes = buffer.subarray(start + 4, start + 4 + length);
  if (crc32(bytes) !== buffer.readUInt32LE(start + 4 + length)) throw new BlockFormatError(`chunk at ${ref.offset}: checksum mismatch`);
  return bytes;
}
