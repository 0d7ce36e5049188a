// A block: one stream's entries, time-sorted, stored as separate columns.
//
// Layout (little-endian):
//   u8  version (4; 5 or 6 for a stream group member, see MEMBER_BLOCK_VERSION and
//       REFERENCED_BLOCK_VERSION; versions 2 and 3 are still read)
//   u32 CRC-32 of every byte after this field (versions 3, 4 and 5; version 2 has no checksum)
//   u32 entry count
//   i64 first timestamp (ns)
//   u8  timestamp coding: 0 = deltas, 1 = deltas of deltas (whichever is smaller for this block);
//       bit 7 set (versions 3, 4): the columns below are stored as they are, not zstd'd (tiny blocks)
//   u32 timestamp unit: every delta is a multiple of it (1000 for µs clocks, 1000000 for ms ...)
//   u32 meta column length   — zstd( meta, see below )
//   u32 lines column length  — zstd( lines back to back )
//   u32 metadata column length (0 when no entry has structured metadata) — zstd( JSON )
//   columns in that order
// The meta column holds the timestamp codes (delta, or zigzag delta of delta, in the unit; count - 1
// of them) then the line lengths (count). Version 4 stores each as fixed-width byte planes:
//   u8 timestamp code width, u8 line length width (bytes, 0 when every value is 0),
//   then byte 0 of every timestamp code, byte 1 of every code, …, then the same for the lengths.
// Versions 2 and 3 stored both as LEB128 varints. Planes put the random low bytes of microsecond
// jitter apart from the steady high bytes, which zstd then codes almost for free: on the 8-rank bench
// log (2 MB one-stream blocks) the meta column went from 1.73% to 1.47% of the raw bytes
// (2.50 → 2.12 bytes per entry; bench/store-codec.ts), and it decodes without a branch per byte.
// Every loop over a count read from the block is bounded by the bytes present, so a corrupt block
// that slipped past the checksum (or an old block without one) is an error, never a hang.
// Deltas stay far below 2^53 because a block never spans more than one day partition, so the
// timestamp column is decoded with plain number arithmetic and written into the BigInt64Array
// through a Uint32Array view: no BigInt is allocated per entry.
//
// Why one stream per block, measured on the 8-rank bench log (lines column, % of raw; reproduce with
// `node bench/store-codec.ts --layouts`): one-stream 2 MB blocks 12.3% at level 1 (9.7% at level 19,
// ~1 MB/s); ranks interleaved in time order 10.8% (2 ranks a block), 9.1% (4), 8.1% (8): ranks print
// the same step, timestamp and throughput text and zstd finds it one line back, but a one-rank query
// (the loss curve of rank 0) then decompresses 2, 4 or 8 times its own bytes (8: about twice its CPU).
// Rank 0's block over the same time as a zstd dictionary for the other ranks' blocks: 12.2% at level
// 1, 9.2% with a lazy2 search (~50 MB/s), 7.8% at level 9 (~37 MB/s), and reads of ranks 1–7 decode
// rank 0's block too: the match sits a whole block back, which only a deep search reaches, too slow
// for a head cut (issue 9 wants 62 MB of raw log per server CPU-second through the flush). Cut into
// 16 KB chunks, each with rank 0's lines of the same ±200 ms as its own dictionary, level 1 does find
// them (lines 7.9%, about 9.3% stored on the 244 MB log). Through node:zlib every chunk was a zstd
// call that built a context and copied its dictionary: 2.8x the encode CPU, and a read of ranks 1-7
// 5.7x the decode CPU (bench/store-ideas.ts --only reference; table in bench/README.md). With one
// reusable context per thread (zstd-dictionary.ts) the chunks cost little more than one big frame,
// and that is the stream groups' default layout, version 6 below (reference-frames.ts).
// Where a flushed store's bytes go on that log (bench/ingest-flush-bench.ts, 244 MB): lines 12.1%,
// timestamps 1.3% (µs jitter: about 15 random bits an entry), line lengths 0.1%, part indexes 0.05%
// (token filters; 0.55% with format 1's whole-token bloom): 13.3%, against zstd -3 of the whole
// (time-interleaved) file 9.8%. Even the 8-rank interleaved layout only reaches about 9.6%
// (8.1 + 1.4 + 0.05), with the one-rank read cost above.
// What one-stream blocks can still gain (bench/store-ideas.ts, % of line bytes): level 3 15.3%, 9
// 12.5%, a tuned lazy2 11.5% at a fifth of level 1's speed, level 19 9.9% at 1 MB/s (on 8 MB blocks
// 9.8%); a 64 KB per-stream dictionary nothing (Node 24's zstd takes raw-content dictionaries, and
// has no training API); lines grouped by template 12.1%; numbers apart from text 11.0%, but every read
// then merges them back in JS at ~390 MB/s, 2.5x zstd's decode. The timestamp column is close to its
// floor: level 19 takes it from 1.38% to 1.27% for 2 CPU-seconds. So one-stream blocks stay above
// ~11.5% stored at any affordable level; bench/store-stream-grouping.ts shows the rest is the stream
// split: the same log pushed one stream per node stores 10.7%, per rank 14.0%.

import { constants as zlibConstants, crc32, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { endianness } from 'node:os';
import { releaseOwnedMemory, releaseWholeMemory } from './owned-buffer.ts';
import type { BlockData, LabelPair, PushEntry, StreamInfo } from './types.ts';
import { unzigzag, VarintWriter, zigzag } from './varint.ts';
import { compressBound, compressWithDictionary, decompressWithDictionary } from './zstd-dictionary.ts';

const BLOCK_VERSION = 4;
/**
 * Version 5: a member of a stream group (src/store/stream-group.ts). The layout is version 4's, but
 * the lines column holds where the stream's lines sit in the group's shared frame instead of the
 * lines: u32 run count, then per run the gap since the previous run's end and its length, as LEB128
 * varints. Decoding needs the frame's decompressed lines.
 */
const MEMBER_BLOCK_VERSION = 5;
/**
 * Version 6: a member of a stream group coded against a reference member (stream-group.ts, layout
 * `reference`). The layout is version 4's, but the lines column, never zstd'd as a whole, holds the
 * lines as zstd frames of about 16 KB each, every one compressed with a range of the group frame's
 * decompressed lines (the reference member's) as a raw-content dictionary: u32 chunk count, then per
 * chunk four LEB128 varints (its line bytes, the dictionary's start as a zigzag delta from the
 * previous chunk's, the dictionary's length, the frame's length), then the frames back to back.
 * Decoding needs the group frame's decompressed lines, as version 5 does.
 */
const REFERENCED_BLOCK_VERSION = 6;
/** Version 3: checksummed, meta column in varints. */
const VARINT_META_BLOCK_VERSION = 3;
/** Version 2: no checksum, meta column in varints. */
const UNCHECKED_BLOCK_VERSION = 2;
/** Versions 3 and 4: version, checksum, then the version 2 fields. */
const CHECKSUM_BYTES = 4;
const FIELDS_BYTES = 4 + 8 + 1 + 4 + 4 + 4 + 4;
/**
 * zstd level 1. Measured on one rank's stream of the synthetic training log (2 MB blocks):
 * level 1 → 7.2x at ~320 MB/s of CPU, level 3 → 6.4x at ~235 MB/s, level 6 → 7.2x at ~70 MB/s.
 * Numbers-heavy log lines favour level 1's match finder, and it is the cheapest on ingest.
 */
export const ZSTD_LEVEL = 1;
/**
 * Hash table of 2^11 entries instead of level 1's default 2^13, for the block columns. A small
 * table keeps mostly the newest position per hash, and consecutive log lines of one stream match
 * best against the lines just before them. On one rank's 2 MB blocks of the synthetic training log:
 * hashLog 13 → 7.4x, 12 → 7.8x, 11 → 8.15x, 10 → 8.3x, at the same encode and decode speed. On
 * less repetitive text (dpkg/apt logs) 11 costs 1–3% against the default, so 11 rather than 10.
 */
export const ZSTD_BLOCK_HASH_LOG = 11;
const TIMESTAMPS_DELTA = 0;
const TIMESTAMPS_DELTA_OF_DELTA = 1;
/** Set in the coding byte (version 3) when the columns are stored as they are, not zstd'd. */
const COLUMNS_RAW = 0x80;
/**
 * Blocks with fewer line and meta bytes than this store their columns uncompressed: zstd's per-call
 * context setup (~0.1 ms) dominated cuts of many one-line streams, and saves a few hundred bytes at most.
 */
const MIN_COMPRESSED_BYTES = 1024;
const TWO_POW_32 = 4294967296;
/** zlib's minimum chunk size. */
const MIN_DECOMPRESS_CHUNK_BYTES = 64;
/** A timestamp delta (< 2^53) or a line length (< 2^32) takes at most this many varint bytes. */
const MAX_VARINT_BYTES = 8;
/** Plane widths: timestamp codes stay below 2^53 (7 bytes), line lengths below 2^32 (4 bytes). */
const MAX_TIMESTAMP_WIDTH = 7;
const MAX_LENGTH_WIDTH = 4;
const PLANES_HEADER_BYTES = 2;
/** No block holds more line text than this (blocks are cut at about 2 MB; one line may be large). */
const MAX_LINES_BYTES = 1 << 30;

if (endianness() !== 'LE') throw new Error('rankscope block decoding assumes a little-endian CPU');

export class BlockDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BlockDecodeError';
  }
}

/**
 * Output chunk for compressing `bytes`: zstd's worst-case bound for them, so the whole frame fits one
 * chunk. zstd then compresses straight from the input into the output in one pass; with a smaller
 * output (a quarter of the input, before) it copied the input into its own window buffer block by
 * block and matched across that buffer's seam in its slower external-dictionary loop: on the 244 MB
 * bench log's cuts those were ~3% and ~4% of the server's CPU (perf). Only the written pages of the
 * chunk become resident; the frame is a view of it.
 * Small inputs too: zlib's default chunk is a 64 KiB buffer of its own per call that V8 refuses to
 * detach, so every small column (a block's timestamps, a stream group member's runs) left 64 KiB
 * for the next full collection, ~2 MB per stream group cut on the 244 MB bench log. A chunk of the
 * bound is a slice of Node's shared pool below 32 KiB, and a buffer releaseWholeMemory frees above.
 */
function compressChunkBytes(bytes: number): number {
  return Math.max(MIN_COMPRESS_CHUNK_BYTES, zstdCompressBound(bytes));
}
/** Encoded blocks at least this large get memory of their own (see encodeBlock). */
const OWN_BLOCK_BUFFER_BYTES = 4096;
/** zlib refuses chunks below 64 bytes. */
const MIN_COMPRESS_CHUNK_BYTES = 64;

/**
 * ZSTD_COMPRESSBOUND: the largest frame zstd can make of `bytes`. Small inputs get the margin zstd
 * adds below 128 KiB, plus a frame header's worth.
 */
function zstdCompressBound(bytes: number): number {
  const smallMargin = bytes < 128 * 1024 ? (128 * 1024 - bytes) >>> 11 : 0;
  return bytes + (bytes >>> 8) + smallMargin + 32;
}

export function zstdCompress(data: Uint8Array, level = ZSTD_LEVEL, hashLog?: number): Buffer {
  const params: Record<number, number> = { [zlibConstants.ZSTD_c_compressionLevel]: level };
  if (hashLog !== undefined) params[zlibConstants.ZSTD_c_hashLog] = hashLog;
  return zstdCompressSync(data, { params, chunkSize: compressChunkBytes(data.length) });
}

/** Columns ready to encode: timestamps sorted ascending. */
export interface BlockColumns {
  timestampsNs: BigInt64Array;
  lines: Buffer;
  lineEnds: Uint32Array;
  structuredMetadata?: Array<LabelPair[] | undefined>;
}

/** Builds columns from entries already sorted by timestamp. */
export function columnsFromEntries(entries: readonly PushEntry[]): BlockColumns {
  const count = entries.length;
  const timestampsNs = new BigInt64Array(count);
  const lineEnds = new Uint32Array(count);
  let capacity = 0;
  for (let i = 0; i < count; i++) capacity += entries[i]!.line.length * 3;
  const lines = Buffer.allocUnsafe(capacity);
  let offset = 0;
  let structuredMetadata: Array<LabelPair[] | undefined> | undefined;
  for (let i = 0; i < count; i++) {
    const entry = entries[i]!;
    timestampsNs[i] = entry.timestampNs;
    offset += lines.write(entry.line, offset, 'utf8');
    lineEnds[i] = offset;
    if (entry.structuredMetadata !== undefined && entry.structuredMetadata.length > 0) {
      structuredMetadata ??= new Array<LabelPair[] | undefined>(count).fill(undefined);
      structuredMetadata[i] = entry.structuredMetadata;
    }
  }
  const columns: BlockColumns = { timestampsNs, lines: lines.subarray(0, offset), lineEnds };
  if (structuredMetadata !== undefined) columns.structuredMetadata = structuredMetadata;
  return columns;
}

/** LEB128 length of a value below 2^53, by comparison (no division per 7 bits). */
function varintBytes(value: number): number {
  if (value < 0x4000) return value < 0x80 ? 1 : 2;
  if (value < 0x10000000) return value < 0x200000 ? 3 : 4;
  let bytes = 5;
  for (let limit = 0x800000000; value >= limit && bytes < MAX_VARINT_BYTES; limit *= 128) bytes++;
  return bytes;
}

function greatestCommonDivisor(a: number, b: number): number {
  while (b !== 0) {
    const rest = a % b;
    a = b;
    b = rest;
  }
  return a;
}

/**
 * Picks the timestamp unit and coding that give the fewest varint bytes. The deltas come from the
 * timestamps' 32-bit words (a block spans at most a day, so each is exact below 2^53): subtracting
 * BigInts allocated one per entry, and its garbage collection was most of this function's time.
 */
function planTimestamps(timestampsNs: BigInt64Array): { deltas: Float64Array; unit: number; coding: number } {
  const count = timestampsNs.length;
  const deltas = new Float64Array(Math.max(0, count - 1));
  const words = new Uint32Array(timestampsNs.buffer, timestampsNs.byteOffset, count * 2);
  let unit = 0;
  for (let i = 1; i < count; i++) {
    const delta = ((words[i * 2 + 1]! | 0) - (words[i * 2 - 1]! | 0)) * TWO_POW_32 + (words[i * 2]! - words[i * 2 - 2]!);
    if (delta < 0) throw new Error('encodeBlock: timestamps must be sorted ascending');
    if (delta > Number.MAX_SAFE_INTEGER) throw new Error('encodeBlock: a block must not span more than 2^53 ns');
    deltas[i - 1] = delta;
    // One remainder per entry while the unit holds (µs and ms clocks keep it for the whole block);
    // Euclid's loop of float remainders only when it shrinks.
    if (unit !== 1 && (unit === 0 || delta % unit !== 0)) unit = greatestCommonDivisor(delta, unit);
  }
  if (unit === 0 || unit > 0xffffffff) unit = 1;
  let deltaBytes = 0;
  let deltaOfDeltaBytes = 0;
  let maxDelta = 0;
  let maxDeltaOfDelta = 0;
  let previous = 0;
  for (let i = 0; i < deltas.length; i++) {
    const scaled = deltas[i]! / unit;
    deltas[i] = scaled;
    const deltaOfDelta = zigzag(scaled - previous);
    deltaBytes += varintBytes(scaled);
    deltaOfDeltaBytes += varintBytes(deltaOfDelta);
    if (scaled > maxDelta) maxDelta = scaled;
    if (deltaOfDelta > maxDeltaOfDelta) maxDeltaOfDelta = deltaOfDelta;
    previous = scaled;
  }
  // Narrower planes first; at equal width, the coding whose values are smaller overall.
  const deltaWidth = planeWidth(maxDelta);
  const deltaOfDeltaWidth = planeWidth(maxDeltaOfDelta);
  const useDeltaOfDelta = deltaOfDeltaWidth !== deltaWidth ? deltaOfDeltaWidth < deltaWidth : deltaOfDeltaBytes < deltaBytes;
  return { deltas, unit, coding: useDeltaOfDelta ? TIMESTAMPS_DELTA_OF_DELTA : TIMESTAMPS_DELTA };
}

/** Bytes per value in a byte plane layout: 0 when every value is 0. */
function planeWidth(maxValue: number): number {
  let width = 0;
  while (maxValue >= 1) {
    maxValue = Math.floor(maxValue / 256);
    width++;
  }
  return width;
}

/**
 * Writes `values` as `width` byte planes (low byte of every value first) at `offset`, one plane at a
 * time: ToUint32 is exact modulo 2^32 below 2^53 and a byte store keeps the low 8 bits, so the low
 * four planes are a shift per value, the others one division (~1.8x faster than value by value).
 */
function writePlanes(target: Buffer, offset: number, values: Float64Array, width: number): void {
  const count = values.length;
  for (let plane = 0; plane < Math.min(width, 4); plane++) {
    const base = offset + plane * count;
    const shift = plane * 8;
    for (let i = 0; i < count; i++) target[base + i] = values[i]! >>> shift;
  }
  for (let plane = 4; plane < width; plane++) {
    const base = offset + plane * count;
    const shift = (plane - 4) * 8;
    for (let i = 0; i < count; i++) target[base + i] = Math.floor(values[i]! / TWO_POW_32) >>> shift;
  }
}

/**
 * Where a stream group member's lines are (see stream-group.ts): `runs`, the runs [start, end) of
 * the shared frame that hold them, in order (version 5); or `chunks`, a version 6 lines column made
 * by encodeReferencedLines.
 */
export type MemberLines = { runs: ArrayLike<number> } | { chunks: Buffer };

/**
 * Encodes one stream's columns. With `memberLines` (a stream group member) the lines given are not
 * stored here, but where the member's lines are (version 5 or 6).
 */
export function encodeBlock(columns: BlockColumns, zstdLevel = ZSTD_LEVEL, memberLines?: MemberLines): Buffer {
  const count = columns.timestampsNs.length;
  const firstTimestampNs = count > 0 ? columns.timestampsNs[0]! : 0n;
  const { deltas, unit, coding } = planTimestamps(columns.timestampsNs);
  let maxCode = 0;
  if (coding === TIMESTAMPS_DELTA_OF_DELTA) {
    // In place, from the end: each code needs the delta before it.
    for (let i = deltas.length - 1; i >= 0; i--) deltas[i] = zigzag(deltas[i]! - (i > 0 ? deltas[i - 1]! : 0));
  }
  for (let i = 0; i < deltas.length; i++) if (deltas[i]! > maxCode) maxCode = deltas[i]!;
  const lengths = new Float64Array(count);
  let lineStart = 0;
  let maxLength = 0;
  for (let i = 0; i < count; i++) {
    const length = columns.lineEnds[i]! - lineStart;
    lengths[i] = length;
    if (length > maxLength) maxLength = length;
    lineStart = columns.lineEnds[i]!;
  }
  const timestampWidth = planeWidth(maxCode);
  const lengthWidth = planeWidth(maxLength);
  const meta = Buffer.alloc(PLANES_HEADER_BYTES + deltas.length * timestampWidth + count * lengthWidth);
  meta[0] = timestampWidth;
  meta[1] = lengthWidth;
  writePlanes(meta, PLANES_HEADER_BYTES, deltas, timestampWidth);
  writePlanes(meta, PLANES_HEADER_BYTES + deltas.length * timestampWidth, lengths, lengthWidth);
  // The tuned hash size belongs to level 1 and the lines column (the varint column is the same size
  // either way); any other level keeps zstd's own parameters.
  const hashLog = zstdLevel === ZSTD_LEVEL ? ZSTD_BLOCK_HASH_LOG : undefined;
  const raw = lineStart + meta.length < MIN_COMPRESSED_BYTES;
  const pack = (column: Buffer, columnHashLog?: number): Buffer => (raw ? column : zstdCompress(column, zstdLevel, columnHashLog));
  const metaColumn = pack(meta);
  const linesColumn =
    memberLines === undefined ? pack(columns.lines.subarray(0, lineStart), hashLog) : 'runs' in memberLines ? pack(encodeRuns(memberLines.runs, lineStart)) : memberLines.chunks;
  const metadataColumn =
    columns.structuredMetadata === undefined
      ? Buffer.alloc(0)
      : pack(Buffer.from(JSON.stringify(columns.structuredMetadata.map((pairs) => (pairs === undefined ? null : pairs.map((p) => [p.name, p.value]))))));
  const headerBytes = 1 + CHECKSUM_BYTES + FIELDS_BYTES;
  const blockBytes = headerBytes + metaColumn.length + linesColumn.length + metadataColumn.length;
  // A block waits in its part builder until the part is written, then is freed (PartBuilder.write).
  // A slice of Node's shared pool could not be: it kept its whole 64 KiB pool alive, promoted with
  // the builder, until V8's next full collection (a stream group's member blocks are 5-20 KB, ~2 MB
  // of pools per cut of the 244 MB bench log). One-line streams' tiny blocks stay in the pool.
  const block = blockBytes >= OWN_BLOCK_BUFFER_BYTES ? Buffer.allocUnsafeSlow(blockBytes) : Buffer.allocUnsafe(blockBytes);
  const version = memberLines === undefined ? BLOCK_VERSION : 'runs' in memberLines ? MEMBER_BLOCK_VERSION : REFERENCED_BLOCK_VERSION;
  let offset = block.writeUInt8(version, 0) + CHECKSUM_BYTES;
  offset = block.writeUInt32LE(count, offset);
  offset = block.writeBigInt64LE(firstTimestampNs, offset);
  offset = block.writeUInt8(coding | (raw ? COLUMNS_RAW : 0), offset);
  offset = block.writeUInt32LE(unit, offset);
  offset = block.writeUInt32LE(metaColumn.length, offset);
  offset = block.writeUInt32LE(linesColumn.length, offset);
  offset = block.writeUInt32LE(metadataColumn.length, offset);
  offset += metaColumn.copy(block, offset);
  offset += linesColumn.copy(block, offset);
  metadataColumn.copy(block, offset);
  block.writeUInt32LE(crc32(block.subarray(1 + CHECKSUM_BYTES)), 1);
  // Spent scratch, freed now rather than at V8's next full collection (src/store/owned-buffer.ts):
  // ~95 MB over the 244 MB bench log's cuts, zstd's output chunks most of it.
  // The planes are ours whatever their size; zstd's outputs may be slices of Node's shared pool.
  for (const scratch of [deltas, lengths, meta]) releaseOwnedMemory(scratch);
  if (!raw) for (const output of [metaColumn, linesColumn, metadataColumn]) if (output !== (memberLines as { chunks?: Buffer } | undefined)?.chunks) releaseWholeMemory(output);
  return block;
}

/** Runs [start, end) pairs as the version 5 lines column; they must cover exactly `lineBytes`. */
function encodeRuns(runs: ArrayLike<number>, lineBytes: number): Buffer {
  const count = runs.length / 2;
  // The u32 count first, then the varints; room for all of them (and the writer's 10-byte margin),
  // so the buffer never grows.
  const out = new VarintWriter(4 + count * 2 * MAX_VARINT_BYTES + 10);
  out.length = 4;
  let previousEnd = 0;
  let covered = 0;
  for (let i = 0; i < runs.length; i += 2) {
    const start = runs[i]!;
    const end = runs[i + 1]!;
    if (start < previousEnd || end < start) throw new Error(`frame runs must ascend: [${start}, ${end}) after ${previousEnd}`);
    out.write(start - previousEnd);
    out.write(end - start);
    covered += end - start;
    previousEnd = end;
  }
  if (covered !== lineBytes) throw new Error(`frame runs cover ${covered} bytes, the lines ${lineBytes}`);
  out.buffer.writeUInt32LE(count, 0);
  return out.bytes();
}

/** LEB128 varints of a member block's lines column, every read bounded by the bytes present. */
class ColumnVarints {
  position: number;
  private readonly column: Buffer;
  private readonly what: string;
  constructor(column: Buffer, start: number, what: string) {
    this.column = column;
    this.position = start;
    this.what = what;
  }

  next(): number {
    const column = this.column;
    let value = 0;
    let scale = 1;
    for (;;) {
      if (this.position >= column.length) throw new BlockDecodeError(`block ${this.what} column ends inside a value`);
      const byte = column[this.position++]!;
      value += (byte & 127) * scale;
      if (byte < 128) return value;
      scale *= 128;
      if (scale > 2 ** 49) throw new BlockDecodeError(`block ${this.what} value is out of range`);
    }
  }
}

/** Copies a member's runs out of its group's frame into one buffer of `lineBytes`, checking every bound. */
function gatherRuns(column: Buffer, frameLines: Buffer, lineBytes: number): Buffer {
  if (column.length < 4) throw new BlockDecodeError('block frame runs column is too short');
  const count = column.readUInt32LE(0);
  if (count > column.length) throw new BlockDecodeError(`block says ${count} frame runs in ${column.length} bytes`);
  const lines = Buffer.allocUnsafe(lineBytes);
  const varints = new ColumnVarints(column, 4, 'frame runs');
  let frameAt = 0;
  let written = 0;
  for (let run = 0; run < count; run++) {
    frameAt += varints.next();
    const length = varints.next();
    if (frameAt + length > frameLines.length || written + length > lineBytes) {
      throw new BlockDecodeError(`block frame run [${frameAt}, ${frameAt + length}) lies outside the ${frameLines.length}-byte frame or past the block's ${lineBytes} line bytes`);
    }
    frameLines.copy(lines, written, frameAt, frameAt + length);
    written += length;
    frameAt += length;
  }
  if (written !== lineBytes) throw new BlockDecodeError(`block columns disagree: lengths sum to ${lineBytes}, frame runs hold ${written} bytes`);
  return lines;
}

/** One chunk of a version 6 lines column: its line bytes, and its dictionary's range of the frame's lines. */
export interface ReferencedChunk {
  lineBytes: number;
  dictionaryStart: number;
  dictionaryLength: number;
}

/**
 * The version 6 lines column of `lines`: cut into `chunks` (their line bytes sum to the lines'), each
 * zstd'd at `level` with its range of `reference` (the group frame's lines) as dictionary.
 */
export function encodeReferencedLines(lines: Buffer, chunks: readonly ReferencedChunk[], reference: Buffer, level = ZSTD_LEVEL): Buffer {
  const header = new VarintWriter(4 + chunks.length * 4 * MAX_VARINT_BYTES + 10);
  header.length = 4;
  let bound = 0;
  for (const chunk of chunks) bound += compressBound(chunk.lineBytes);
  const frames = Buffer.allocUnsafeSlow(bound);
  let framesBytes = 0;
  let lineAt = 0;
  let previousStart = 0;
  for (const chunk of chunks) {
    const { lineBytes, dictionaryStart, dictionaryLength } = chunk;
    if (lineAt + lineBytes > lines.length || dictionaryStart < 0 || dictionaryStart + dictionaryLength > reference.length) {
      throw new Error(`referenced chunk [${lineAt}, ${lineAt + lineBytes}) with dictionary [${dictionaryStart}, ${dictionaryStart + dictionaryLength}) lies outside ${lines.length} line or ${reference.length} reference bytes`);
    }
    const frameBytes = compressWithDictionary(frames.subarray(framesBytes), lines.subarray(lineAt, lineAt + lineBytes), reference.subarray(dictionaryStart, dictionaryStart + dictionaryLength), level);
    header.write(lineBytes);
    header.write(zigzag(dictionaryStart - previousStart));
    header.write(dictionaryLength);
    header.write(frameBytes);
    framesBytes += frameBytes;
    lineAt += lineBytes;
    previousStart = dictionaryStart;
  }
  if (lineAt !== lines.length) throw new Error(`referenced chunks cover ${lineAt} bytes, the lines ${lines.length}`);
  header.buffer.writeUInt32LE(chunks.length, 0);
  const headerBytes = header.bytes();
  const column = Buffer.allocUnsafeSlow(headerBytes.length + framesBytes);
  headerBytes.copy(column, 0);
  frames.copy(column, headerBytes.length, 0, framesBytes);
  releaseOwnedMemory(frames);
  return column;
}

/** A version 6 lines column's lines, decoded with the group frame's lines; checks every bound. */
function decodeReferencedLines(column: Buffer, frameLines: Buffer, lineBytes: number): Buffer {
  if (column.length < 4) throw new BlockDecodeError('block referenced chunks column is too short');
  const count = column.readUInt32LE(0);
  if (count * 4 > column.length) throw new BlockDecodeError(`block says ${count} referenced chunks in ${column.length} bytes`);
  const varints = new ColumnVarints(column, 4, 'referenced chunks');
  const table = new Float64Array(count * 4);
  let dictionaryStart = 0;
  for (let i = 0; i < count; i++) {
    table[i * 4] = varints.next();
    dictionaryStart += unzigzag(varints.next());
    table[i * 4 + 1] = dictionaryStart;
    table[i * 4 + 2] = varints.next();
    table[i * 4 + 3] = varints.next();
  }
  const lines = Buffer.allocUnsafe(lineBytes);
  let frameAt = varints.position;
  let written = 0;
  for (let i = 0; i < count; i++) {
    const chunkBytes = table[i * 4]!;
    const start = table[i * 4 + 1]!;
    const length = table[i * 4 + 2]!;
    const frameBytes = table[i * 4 + 3]!;
    if (written + chunkBytes > lineBytes || start < 0 || start + length > frameLines.length || frameAt + frameBytes > column.length) {
      throw new BlockDecodeError(
        `block referenced chunk ${i} (${chunkBytes} bytes at ${written}, dictionary [${start}, ${start + length}), frame of ${frameBytes} bytes at ${frameAt}) lies outside the block's ${lineBytes} line bytes, the ${frameLines.length}-byte group frame or the ${column.length}-byte column`,
      );
    }
    try {
      decompressWithDictionary(lines.subarray(written, written + chunkBytes), column.subarray(frameAt, frameAt + frameBytes), frameLines.subarray(start, start + length));
    } catch (error) {
      throw new BlockDecodeError(`block referenced chunk ${i} does not decompress: ${(error as Error).message}`);
    }
    written += chunkBytes;
    frameAt += frameBytes;
  }
  if (written !== lineBytes || frameAt !== column.length) throw new BlockDecodeError(`block columns disagree: lengths sum to ${lineBytes}, referenced chunks hold ${written} bytes in ${frameAt} of ${column.length} column bytes`);
  return lines;
}

/** Whether a block's bytes are a stream group member's (version 5 or 6), whose lines need a frame. */
export function isMemberBlock(bytes: Uint8Array): boolean {
  return bytes.length > 0 && (bytes[0] === MEMBER_BLOCK_VERSION || bytes[0] === REFERENCED_BLOCK_VERSION);
}

/**
 * Decodes a block read from a part. Pure: usable from worker threads. A stream group member's block
 * (version 5) needs its frame's decompressed lines (`frameLines`, see stream-group.ts).
 */
export function decodeBlock(bytes: Uint8Array, stream: StreamInfo, frameLines?: Buffer): BlockData {
  const block = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (block.length < 1) throw new BlockDecodeError('block is empty');
  const version = block[0]!;
  if (version !== BLOCK_VERSION && version !== MEMBER_BLOCK_VERSION && version !== REFERENCED_BLOCK_VERSION && version !== VARINT_META_BLOCK_VERSION && version !== UNCHECKED_BLOCK_VERSION) {
    throw new BlockDecodeError(`unknown block version ${version}`);
  }
  const referenced = version === REFERENCED_BLOCK_VERSION;
  const member = version === MEMBER_BLOCK_VERSION || referenced;
  if (member && frameLines === undefined) throw new BlockDecodeError('block belongs to a stream group, and its frame was not given');
  const checksummed = version !== UNCHECKED_BLOCK_VERSION;
  const fieldsStart = checksummed ? 1 + CHECKSUM_BYTES : 1;
  const headerBytes = fieldsStart + FIELDS_BYTES;
  if (block.length < headerBytes) throw new BlockDecodeError(`block too short: ${block.length} bytes`);
  if (checksummed) {
    const stored = block.readUInt32LE(1);
    const computed = crc32(block.subarray(fieldsStart));
    if (stored !== computed) throw new BlockDecodeError(`block checksum mismatch (stored ${stored.toString(16)}, computed ${computed.toString(16)}): the block is corrupt`);
  }
  const count = block.readUInt32LE(fieldsStart);
  const firstTimestampNs = block.readBigInt64LE(fieldsStart + 4);
  const codingByte = block[fieldsStart + 12]!;
  const raw = checksummed && (codingByte & COLUMNS_RAW) !== 0;
  const coding = raw ? codingByte & ~COLUMNS_RAW : codingByte;
  const unit = block.readUInt32LE(fieldsStart + 13);
  const metaLength = block.readUInt32LE(fieldsStart + 17);
  const linesLength = block.readUInt32LE(fieldsStart + 21);
  const metadataLength = block.readUInt32LE(fieldsStart + 25);
  if (coding !== TIMESTAMPS_DELTA && coding !== TIMESTAMPS_DELTA_OF_DELTA) throw new BlockDecodeError(`unknown timestamp coding ${coding}`);
  const deltaOfDelta = coding === TIMESTAMPS_DELTA_OF_DELTA;
  if (headerBytes + metaLength + linesLength + metadataLength > block.length) {
    throw new BlockDecodeError(`block truncated: header says ${headerBytes + metaLength + linesLength + metadataLength} bytes, have ${block.length}`);
  }
  let offset = headerBytes;
  const planes = version === BLOCK_VERSION || member;
  // Varints: at most MAX_VARINT_BYTES per value; planes: at most 7 + 4 bytes per entry and a header.
  const maxMetaBytes = planes ? PLANES_HEADER_BYTES + (MAX_TIMESTAMP_WIDTH + MAX_LENGTH_WIDTH) * count : MAX_VARINT_BYTES * 2 * count + 16;
  const meta = raw ? block.subarray(offset, offset + metaLength) : decompressColumn(block.subarray(offset, offset + metaLength), maxMetaBytes, 'meta');
  offset += metaLength;
  const linesStart = offset;
  offset += linesLength;
  // Version 4 reads fixed-width planes (sizes checked up front), versions 2 and 3 read varints (each
  // read bounded by the bytes present). Inline rather than through arrays: ~12 ns per entry.
  const metaEnd = meta.length;
  let timestampWidth = 0;
  let lengthWidth = 0;
  if (planes && count > 0) {
    if (metaEnd < PLANES_HEADER_BYTES) throw new BlockDecodeError(`block meta column has ${metaEnd} bytes, too short for its widths`);
    timestampWidth = meta[0]!;
    lengthWidth = meta[1]!;
    if (timestampWidth > MAX_TIMESTAMP_WIDTH || lengthWidth > MAX_LENGTH_WIDTH) throw new BlockDecodeError(`block meta widths ${timestampWidth}/${lengthWidth} are out of range`);
    const expected = PLANES_HEADER_BYTES + (count - 1) * timestampWidth + count * lengthWidth;
    if (metaEnd !== expected) throw new BlockDecodeError(`block says ${count} entries, its meta column has ${metaEnd} bytes instead of ${expected}`);
  } else if (!planes && count > 0 && metaEnd < 2 * count - 1) {
    // Each entry has at least one varint (its length) and every other one a timestamp varint too.
    throw new BlockDecodeError(`block says ${count} entries, its meta column has only ${metaEnd} bytes`);
  }
  const codeStride = count - 1;
  const lengthsStart = PLANES_HEADER_BYTES + codeStride * timestampWidth;
  let position = 0;

  const timestampsNs = new BigInt64Array(count);
  const words = new Uint32Array(timestampsNs.buffer);
  const baseLow = Number(BigInt.asUintN(32, firstTimestampNs));
  const baseHigh = Number(BigInt.asIntN(64, firstTimestampNs) >> 32n);
  let delta = 0;
  // The 64-bit timestamp as two exact doubles: each step (< 2^53, a block spans at most a day) is
  // added to the low word and the carry moved to the high word only when it overflows.
  let low = baseLow;
  let high = baseHigh;
  for (let i = 0; i < count; i++) {
    if (i > 0) {
      let code = 0;
      let scale = 1;
      if (planes) {
        const at = PLANES_HEADER_BYTES + i - 1;
        if (timestampWidth <= 3) {
          // The usual widths (µs jitter of up to 16 s fits 3 bytes) without a loop.
          if (timestampWidth > 0) code = meta[at]!;
          if (timestampWidth > 1) code += meta[at + codeStride]! * 256;
          if (timestampWidth > 2) code += meta[at + 2 * codeStride]! * 65536;
        } else {
          for (let plane = 0, byteAt = at; plane < timestampWidth; plane++, byteAt += codeStride, scale *= 256) code += meta[byteAt]! * scale;
        }
      } else {
        for (;;) {
          if (position >= metaEnd) throw new BlockDecodeError(`block meta column ends inside timestamp ${i} of ${count}`);
          const byte = meta[position++]!;
          code += (byte & 127) * scale;
          if (byte < 128) break;
          scale *= 128;
        }
      }
      delta = deltaOfDelta ? delta + unzigzag(code) : code;
      low += delta * unit;
      if (low >= TWO_POW_32) {
        const carry = Math.floor(low / TWO_POW_32);
        high += carry;
        low -= carry * TWO_POW_32;
      }
    }
    words[i * 2] = low;
    words[i * 2 + 1] = high;
  }
  const lineEnds = new Uint32Array(count);
  let lineEnd = 0;
  for (let i = 0; i < count; i++) {
    let length = 0;
    let scale = 1;
    if (planes) {
      const at = lengthsStart + i;
      if (lengthWidth <= 2) {
        if (lengthWidth > 0) length = meta[at]!;
        if (lengthWidth > 1) length += meta[at + count]! * 256;
      } else {
        for (let plane = 0, byteAt = at; plane < lengthWidth; plane++, byteAt += count, scale *= 256) length += meta[byteAt]! * scale;
      }
    } else {
      for (;;) {
        if (position >= metaEnd) throw new BlockDecodeError(`block meta column ends inside line length ${i} of ${count}`);
        const byte = meta[position++]!;
        length += (byte & 127) * scale;
        if (byte < 128) break;
        scale *= 128;
      }
    }
    lineEnd += length;
    if (lineEnd > MAX_LINES_BYTES) throw new BlockDecodeError(`block line lengths sum past ${MAX_LINES_BYTES} bytes`);
    lineEnds[i] = lineEnd;
  }
  // The lengths column gives the exact output size: one output chunk instead of zlib's default
  // 16 KiB chunks concatenated afterwards (measured ~2x faster on 2 MB blocks).
  const linesColumn = block.subarray(linesStart, linesStart + linesLength);
  const lines = referenced
    ? decodeReferencedLines(linesColumn, frameLines!, lineEnd)
    : member
    ? gatherRuns(raw ? linesColumn : decompressColumn(linesColumn, 4 + 2 * MAX_VARINT_BYTES * (count + 1), 'frame runs'), frameLines!, lineEnd)
    : linesLength === 0
      ? Buffer.alloc(0)
      : raw
        ? Buffer.from(linesColumn)
        : decompressColumn(linesColumn, lineEnd, 'lines');
  if (lineEnd !== lines.length) {
    throw new BlockDecodeError(`block columns disagree: lengths sum to ${lineEnd}, lines column has ${lines.length} bytes`);
  }
  const data: BlockData = { stream, timestampsNs, lines, lineEnds };
  if (metadataLength > 0) {
    const metadataColumn = block.subarray(offset, offset + metadataLength);
    const json = (raw ? metadataColumn : decompressColumn(metadataColumn, MAX_LINES_BYTES, 'structured metadata')).toString('utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch (error) {
      throw new BlockDecodeError(`block structured metadata is not JSON: ${(error as Error).message}`);
    }
    if (!Array.isArray(parsed) || parsed.length !== count) throw new BlockDecodeError(`block structured metadata does not list ${count} entries`);
    data.structuredMetadata = (parsed as Array<Array<[string, string]> | null>).map((pairs) => (pairs === null ? undefined : pairs.map(([name, value]) => ({ name, value }))));
  }
  return data;
}

/**
 * Decompresses one column. `expectedBytes` is exact for the lines column (the lengths column gives
 * it: one output chunk instead of zlib's 16 KiB chunks concatenated, ~2x faster on 2 MB blocks) and
 * an upper bound for the others; a column that would exceed it is corrupt. The chunk is one byte
 * larger than the output: a chunk the output fills exactly makes zlib's sync loop allocate a second
 * chunk of the same size before it sees the frame's end, doubling the external memory per block that
 * V8 answers with full GCs (the literal-count scan used 11% less CPU with the spare byte).
 */
function decompressColumn(column: Buffer, expectedBytes: number, name: string): Buffer {
  try {
    const exact = name === 'lines';
    return zstdDecompressSync(column, exact ? { chunkSize: Math.max(MIN_DECOMPRESS_CHUNK_BYTES, expectedBytes + 1), maxOutputLength: Math.max(1, expectedBytes) } : { maxOutputLength: Math.max(1, expectedBytes) });
  } catch (error) {
    throw new BlockDecodeError(`block ${name} column does not decompress: ${(error as Error).message}`);
  }
}
