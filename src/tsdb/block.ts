// An immutable block: one tenant's series over one time range, as two objects in the object store:
//   <prefix>/<tenant>/<blockId>/data       pages | index
//   <prefix>/<tenant>/<blockId>/meta.json  written last: a block is visible once its meta exists
// Format version 2 (version 1 is still read, block-v1.ts):
//   pages: the series' chunks (sorted by label set, each series' chunks in time order) concatenated
//     and cut into pages of about PAGE_TARGET_BYTES, each page one zstd frame. zstd finds what the
//     bit streams repeat across series (the first sample of every chunk, constant series, the same
//     scrape timestamps).
//   index: one zstd frame (CRC-32 of the compressed bytes in meta.json) of
//     uvarint pageCount | per page: uvarint compressedLength | uvarint rawLength | u32 CRC-32 of the
//       compressed bytes (pages are contiguous from offset 0)
//     uvarint symbolCount | str*                      sorted unique label names and values
//     uvarint seriesCount | per series (sorted by label set):
//       uvarint labelCount | (uvarint nameSymbol, uvarint valueSymbol)* | uvarint chunkCount |
//       per chunk: svarint minTimeMs − previous chunk's maxTimeMs (the block's minTimeMs first) |
//         uvarint maxTimeMs − minTimeMs | uvarint samples | uvarint page | uvarint offset in the
//         page | uvarint length
//   str = uvarint byte length + UTF-8. Postings are rebuilt from the series table on load (the whole
//   index is loaded anyway), so they take no bytes. Every count read is bounded by the bytes present.

import { crc32, constants as zlibConstants, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { BlockFormatError, type BlockIndex, type BlockMeta, type BlockSeriesInput, type ChunkRef, type PageRef } from './block-format.ts';
import { chunkAtV1, decodeBlockIndexV1 } from './block-v1.ts';
import { compareLabels, SeriesIndex } from './series-index.ts';
import type { Labels } from './types.ts';
import { VarintReader, VarintWriter } from './varint.ts';

export { BlockFormatError, type BlockIndex, type BlockMeta, type BlockSeriesInput, type ChunkRef, type PageRef } from './block-format.ts';

export const BLOCK_FORMAT_VERSION = 2;

/**
 * Raw bytes per page: a query for one series decompresses its page (~30 µs for 64 KiB); larger
 * pages gained under 2% on the tsdb bench's exporter data.
 */
const PAGE_TARGET_BYTES = 64 * 1024;
/** Blocks are written once (head cut, compaction) and read many times: a slower, tighter level pays. */
const ZSTD_LEVEL = 9;
/** A decompressed page or index may not claim more than this (decoders trust nothing they read). */
const MAX_RAW_SECTION_BYTES = 1 << 30;

function zstd(raw: Buffer): Buffer {
  return zstdCompressSync(raw, { params: { [zlibConstants.ZSTD_c_compressionLevel]: ZSTD_LEVEL, [zlibConstants.ZSTD_c_checksumFlag]: 0 } });
}

/** Encodes a block's data object; returns it with the meta fields it determines. */
export function encodeBlock(seriesInput: BlockSeriesInput[]): { data: Buffer; meta: Omit<BlockMeta, 'version' | 'id' | 'tenant' | 'walSeqEnd' | 'level'> } {
  const series = seriesInput.filter((entry) => entry.chunks.length > 0).sort((a, b) => compareLabels(a.labels, b.labels));
  const symbolSet = new Set<string>();
  for (const entry of series) for (const name in entry.labels) symbolSet.add(name).add(entry.labels[name]!);
  const symbols = [...symbolSet].sort();
  const symbolIds = new Map(symbols.map((symbol, i) => [symbol, i]));

  const pages: PageRef[] = [];
  const compressedPages: Buffer[] = [];
  let pageParts: Uint8Array[] = [];
  let pageBytes = 0;
  let dataOffset = 0;
  const closePage = (): void => {
    if (pageBytes === 0) return;
    const compressed = zstd(Buffer.concat(pageParts, pageBytes));
    pages.push({ offset: dataOffset, compressedLength: compressed.length, rawLength: pageBytes, crc32: crc32(compressed) });
    compressedPages.push(compressed);
    dataOffset += compressed.length;
    pageParts = [];
    pageBytes = 0;
  };
  let minTimeMs = Infinity;
  let maxTimeMs = -Infinity;
  let samples = 0;
  let chunkCount = 0;
  const refs: ChunkRef[][] = [];
  for (const entry of series) {
    const list: ChunkRef[] = [];
    for (const chunk of entry.chunks) {
      if (pageBytes >= PAGE_TARGET_BYTES) closePage();
      list.push({ minTimeMs: chunk.minTimeMs, maxTimeMs: chunk.maxTimeMs, count: chunk.count, page: pages.length, offset: pageBytes, length: chunk.bytes.length });
      pageParts.push(chunk.bytes);
      pageBytes += chunk.bytes.length;
      if (chunk.minTimeMs < minTimeMs) minTimeMs = chunk.minTimeMs;
      if (chunk.maxTimeMs > maxTimeMs) maxTimeMs = chunk.maxTimeMs;
      samples += chunk.count;
      chunkCount++;
    }
    refs.push(list);
  }
  closePage();

  const index = new VarintWriter();
  index.uvarint(pages.length);
  for (const page of pages) {
    index.uvarint(page.compressedLength);
    index.uvarint(page.rawLength);
    index.u32(page.crc32);
  }
  index.uvarint(symbols.length);
  for (const symbol of symbols) index.string(symbol);
  index.uvarint(series.length);
  series.forEach((entry, i) => {
    const names = Object.keys(entry.labels).sort();
    index.uvarint(names.length);
    for (const name of names) {
      index.uvarint(symbolIds.get(name)!);
      index.uvarint(symbolIds.get(entry.labels[name]!)!);
    }
    const list = refs[i]!;
    index.uvarint(list.length);
    let previousMs = minTimeMs;
    for (const ref of list) {
      index.svarint(ref.minTimeMs - previousMs);
      index.uvarint(ref.maxTimeMs - ref.minTimeMs);
      index.uvarint(ref.count);
      index.uvarint(ref.page);
      index.uvarint(ref.offset);
      index.uvarint(ref.length);
      previousMs = ref.maxTimeMs;
    }
  });
  const rawIndex = index.finish();
  const indexBytes = zstd(rawIndex);
  const data = Buffer.concat([...compressedPages, indexBytes]);
  return {
    data,
    meta: {
      minTimeMs,
      maxTimeMs,
      stats: { series: series.length, chunks: chunkCount, samples },
      dataBytes: data.length,
      indexOffset: dataOffset,
      indexLength: indexBytes.length,
      indexCrc32: crc32(indexBytes),
      indexRawLength: rawIndex.length,
    },
  };
}

/** Decompresses a zstd section, refusing more than `rawLength` bytes. */
function unzstd(bytes: Buffer, rawLength: number, what: string): Buffer {
  if (rawLength > MAX_RAW_SECTION_BYTES) throw new BlockFormatError(`${what} claims ${rawLength} bytes`);
  let raw: Buffer;
  try {
    raw = zstdDecompressSync(bytes, { maxOutputLength: Math.max(1, rawLength) });
  } catch (error) {
    throw new BlockFormatError(`${what}: ${(error as Error).message}`);
  }
  if (raw.length !== rawLength) throw new BlockFormatError(`${what}: ${raw.length} bytes decompressed, ${rawLength} expected`);
  return raw;
}

/** Decodes an index section (either version), checking its CRC and bounding every count by the bytes present. */
export function decodeBlockIndex(bytes: Buffer, meta: Pick<BlockMeta, 'version' | 'indexCrc32' | 'indexOffset' | 'indexRawLength' | 'minTimeMs'>): BlockIndex {
  if (meta.version === 1) return decodeBlockIndexV1(bytes, meta.indexCrc32, meta.indexOffset);
  if (meta.version !== 2) throw new BlockFormatError(`unknown block format version ${meta.version}`);
  if (crc32(bytes) !== meta.indexCrc32) throw new BlockFormatError('block index checksum mismatch');
  const reader = new VarintReader(unzstd(bytes, meta.indexRawLength ?? -1, 'block index'), (message) => new BlockFormatError(`block index: ${message}`));
  const pageCount = reader.uvarint();
  reader.expect(pageCount, 6, 'pages');
  const pages: PageRef[] = new Array(pageCount);
  let offset = 0;
  for (let p = 0; p < pageCount; p++) {
    const compressedLength = reader.uvarint();
    pages[p] = { offset, compressedLength, rawLength: reader.uvarint(), crc32: reader.u32() };
    offset += compressedLength;
  }
  if (offset !== meta.indexOffset) throw new BlockFormatError(`pages end at byte ${offset}, the index starts at ${meta.indexOffset}`);
  const symbolCount = reader.uvarint();
  reader.expect(symbolCount, 1, 'symbols');
  const symbols: string[] = new Array(symbolCount);
  for (let i = 0; i < symbolCount; i++) symbols[i] = reader.string();
  const symbol = (): string => {
    const id = reader.uvarint();
    if (id >= symbols.length) throw new BlockFormatError(`symbol ${id} out of range at byte ${reader.offset}`);
    return symbols[id]!;
  };
  const seriesCount = reader.uvarint();
  reader.expect(seriesCount, 2, 'series');
  const labels: Labels[] = new Array(seriesCount);
  const chunks: ChunkRef[][] = new Array(seriesCount);
  for (let s = 0; s < seriesCount; s++) {
    const labelCount = reader.uvarint();
    reader.expect(labelCount, 2, `labels of series ${s}`);
    const set: Labels = {};
    for (let l = 0; l < labelCount; l++) {
      const name = symbol();
      set[name] = symbol();
    }
    labels[s] = set;
    const chunkCount = reader.uvarint();
    reader.expect(chunkCount, 6, `chunks of series ${s}`);
    const list: ChunkRef[] = new Array(chunkCount);
    let previousMs = meta.minTimeMs;
    for (let c = 0; c < chunkCount; c++) {
      const minTimeMs = previousMs + reader.svarint();
      const ref: ChunkRef = { minTimeMs, maxTimeMs: minTimeMs + reader.uvarint(), count: reader.uvarint(), page: reader.uvarint(), offset: reader.uvarint(), length: reader.uvarint() };
      const page = pages[ref.page];
      if (page === undefined || ref.offset + ref.length > page.rawLength) throw new BlockFormatError(`chunk ${c} of series ${s} lies outside its page ${ref.page}`);
      list[c] = ref;
      previousMs = ref.maxTimeMs;
    }
    chunks[s] = list;
  }
  const postings = new SeriesIndex();
  for (let s = 0; s < seriesCount; s++) postings.add(s, labels[s]!);
  return { labels, chunks, postings, pages };
}

/** Decompresses one page read from the data object, checking its CRC (version 2). */
export function decodePage(bytes: Buffer, page: PageRef, number: number): Buffer {
  if (bytes.length !== page.compressedLength || crc32(bytes) !== page.crc32) throw new BlockFormatError(`page ${number}: checksum mismatch`);
  return unzstd(bytes, page.rawLength, `page ${number}`);
}

/** Version 1: reads one chunk out of a buffer holding [baseOffset, …) of the chunks section, checking its CRC. */
export function chunkAt(buffer: Buffer, baseOffset: number, ref: ChunkRef): Uint8Array {
  return chunkAtV1(buffer, baseOffset, ref);
}
