// WAL record payload: one append() call. Three versions, told apart by bits 63 and 62 of the first
// u64 (a seq never reaches them); all replay, whatever the segment.
//   version 1: u64 seq | str tenant | u32 streamCount | per stream:
//     u16 labelCount | (str name, str value)* | u32 entryCount | per entry:
//       i64 timestampNs | str line | u16 metadataCount | (str name, str value)*
//   version 2: u64 (seq | 2^63) | str tenant | u32 streamCount | per stream:
//     16 bytes stream id | then as version 1 (labels, entries).
//   The stream id (stream-id.ts, persisted in parts) is written so replay does not hash each
//   stream's labels again: SHA-256 per stream was an eighth of the replay time of 600k streams.
//   version 3 (written by the store): u64 (seq | 2^63 | 2^62) | as version 2 up to the entries, which
//     are columns: u32 entryCount | u8 flags (1: has metadata) | i64 timestampNs * entryCount |
//     u32 line length * entryCount | the lines back to back | with flag 1, per entry:
//     u16 metadataCount | (str name, str value)*.
//   version 4 (written by the store for a push accepted as it came): u64 (seq | 2^63 | 2^62 | 2^61)
//     | str tenant | u32 streamCount | 16 bytes stream id * streamCount | the push request's body
//     as it arrived (snappy-compressed protobuf), which decodes to exactly those streams.
//   A version 4 record is about a fifth of the bytes of the same push as version 3 (the body is
//   already compressed): the WAL's writes into the page cache and its CRC were ~15% of the server's
//   CPU on the 244 MB bench log. The head reads such a push from its decoded columns.
//   Columns put each stream's lines of a push next to each other, so the head copies them in one
//   call instead of one per line (bench/ingest-flush-bench.ts' 244 MB log: 2M lines a run, each
//   copy a native call of ~60 ns), and the timestamps go in as one copy of the decoded column.
// str = u32 byte length + UTF-8 bytes. Framing (length + CRC) is wal.ts's business.

import { decodeSnappyPushRequestFast } from '../push/protobuf-decode.ts';
import { RawLineEntry } from '../push/raw-line-entry.ts';
import { LITTLE_ENDIAN, rawColumnsOf, type RawStreamColumns } from '../push/raw-push-stream.ts';
import type { AppendStream, LabelPair, PushEntry } from './types.ts';
import { sharedLabelString } from './wal-label-strings.ts';

export interface WalRecord {
  seq: bigint;
  tenant: string;
  streams: AppendStream[];
  /** Version 2 records: each stream's id (hex), as streamId() gives it. */
  ids?: string[];
  /**
   * Set when decoded with `linesAsSpans`: the payload, and each line's [start, end) in it, for the
   * entries of all streams in order (one array per record: one per stream cost an allocation each).
   * Entry lines are then empty strings; readers take the bytes from the payload.
   */
  frame?: Buffer;
  lineSpans?: Uint32Array;
}

export class WalRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WalRecordError';
  }
}

const VERSION_2_FLAG = 1n << 63n;
/** Set with VERSION_2_FLAG: version 3, entries as columns. */
const VERSION_3_FLAG = 1n << 62n;
/** Set with both flags above: version 4, the push body as it arrived. */
const VERSION_4_FLAG = 1n << 61n;
const SEQ_MASK = VERSION_4_FLAG - 1n;
/** Version 3 stream flags: entries carry structured metadata (a section after the lines). */
const COLUMNS_HAVE_METADATA = 1;
const STREAM_ID_BYTES = 16;

/** Label and structured-metadata counts are u16 in the record. */
export const MAX_WAL_PAIRS = 0xffff;
/** The smallest encoded stream (label count + entry count) and entry (timestamp + line length + metadata count). */
const MIN_STREAM_BYTES = 2 + 4;
const MIN_ENTRY_BYTES = 8 + 4 + 2;
/** Version 3: a stream's entry count and flags, then per entry a timestamp and a line length. */
const COLUMNS_HEADER_BYTES = 4 + 1;
const MIN_COLUMN_ENTRY_BYTES = 8 + 4;

/**
 * A growable output buffer. Sized from the text's UTF-16 length (exact for ASCII) plus slack, and
 * grown only when a string might not fit (3 bytes per UTF-16 unit in the worst case): allocating
 * the worst case up front tripled the bytes allocated per push and showed up as GC time.
 */
class RecordWriter {
  buffer: Buffer;
  view: DataView;
  offset: number;

  constructor(capacity: number, offset: number, allocate: (bytes: number) => Buffer) {
    this.buffer = allocate(capacity);
    this.view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.byteLength);
    this.offset = offset;
  }

  ensure(bytes: number): void {
    if (this.offset + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.offset + bytes));
    this.buffer.copy(grown, 0, 0, this.offset);
    this.buffer = grown;
    this.view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
  }

  /** Writes a length-prefixed UTF-8 string; returns its byte length (without the prefix). */
  string(text: string): number {
    this.ensure(4 + text.length * 3);
    const written = this.buffer.write(text, this.offset + 4, 'utf8');
    this.view.setUint32(this.offset, written, true);
    this.offset += 4 + written;
    return written;
  }

  /** Writes length-prefixed bytes copied from `source` [start, end); returns their length. */
  bytes(source: Buffer, start: number, end: number): number {
    const length = end - start;
    this.ensure(4 + length);
    this.view.setUint32(this.offset, length, true);
    source.copy(this.buffer, this.offset + 4, start, end);
    this.offset += 4 + length;
    return length;
  }

  /** Writes the UTF-8 bytes of `text` with no length prefix; returns how many. */
  rawString(text: string): number {
    this.ensure(text.length * 3);
    const written = this.buffer.write(text, this.offset, 'utf8');
    this.offset += written;
    return written;
  }

  u8(value: number): void {
    this.ensure(1);
    this.buffer[this.offset++] = value;
  }

  u16(value: number): void {
    this.ensure(2);
    this.view.setUint16(this.offset, value, true);
    this.offset += 2;
  }

  u32(value: number): void {
    this.ensure(4);
    this.view.setUint32(this.offset, value, true);
    this.offset += 4;
  }

  i64(value: bigint): void {
    this.ensure(8);
    this.view.setBigInt64(this.offset, value, true);
    this.offset += 8;
  }
}

/**
 * Encodes the payload after `headroomBytes` of unused space (where the WAL writes its frame header,
 * so the frame needs no second copy). Returns the whole buffer, headroom included.
 */
export function encodeWalRecord(
  seq: bigint,
  tenant: string,
  streams: readonly AppendStream[],
  headroomBytes = 0,
  /** When given, receives the [start, end) byte offsets of each line in the result, all streams' entries in order. */
  lineSpans?: { spans?: Uint32Array },
  /** Supplies the output buffer (at least `bytes` long), e.g. from a pool of released frames. */
  allocate: (bytes: number) => Buffer = Buffer.allocUnsafe,
  /** Each stream's id (hex, streamId()): written as a version 3 record. Without, version 1. */
  ids?: readonly string[],
): Buffer {
  let estimate = headroomBytes + 64 + tenant.length * 3;
  let entryCount = 0;
  for (const stream of streams) {
    estimate += 64 + STREAM_ID_BYTES;
    for (const name in stream.labels) estimate += 8 + name.length + stream.labels[name]!.length;
    // A decoded push's columns are read as they are (stream.entries would build an object per entry).
    const columns = rawColumnsOf(stream);
    if (columns !== undefined) {
      entryCount += columns.count;
      estimate += 16 * columns.count + columns.lineBytes;
      continue;
    }
    entryCount += stream.entries.length;
    const entries = stream.entries;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      estimate += 16 + (entry instanceof RawLineEntry ? entry.lineBytes : entry.line.length);
    }
  }
  const out = new RecordWriter(estimate + (estimate >> 4), headroomBytes, allocate);
  out.ensure(8);
  if (ids !== undefined && ids.length !== streams.length) throw new WalRecordError(`${ids.length} stream ids for ${streams.length} streams`);
  out.view.setBigUint64(headroomBytes, ids === undefined ? seq : seq | VERSION_2_FLAG | VERSION_3_FLAG, true);
  out.offset += 8;
  out.string(tenant);
  out.u32(streams.length);
  const spans = lineSpans === undefined ? undefined : new Uint32Array(entryCount * 2);
  if (lineSpans !== undefined) lineSpans.spans = spans;
  let span = 0;
  for (let s = 0; s < streams.length; s++) {
    const stream = streams[s]!;
    if (ids !== undefined) {
      out.ensure(STREAM_ID_BYTES);
      if (out.buffer.write(ids[s]!, out.offset, STREAM_ID_BYTES, 'hex') !== STREAM_ID_BYTES) throw new WalRecordError(`stream ${s}: id ${JSON.stringify(ids[s])} is not ${STREAM_ID_BYTES} bytes of hex`);
      out.offset += STREAM_ID_BYTES;
    }
    const names = Object.keys(stream.labels);
    if (names.length > MAX_WAL_PAIRS) throw new WalRecordError(`a stream has ${names.length} labels; at most ${MAX_WAL_PAIRS} fit a WAL record`);
    out.u16(names.length);
    for (const name of names) {
      out.string(name);
      out.string(stream.labels[name]!);
    }
    const columns = rawColumnsOf(stream);
    if (ids !== undefined) {
      span = columns !== undefined ? writeColumnsAsColumns(out, columns, spans, span) : writeEntriesAsColumns(out, stream.entries, spans, span);
      continue;
    }
    if (columns !== undefined) {
      span = writeColumns(out, columns, spans, span);
      continue;
    }
    const entries = stream.entries;
    out.u32(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      out.i64(entry.timestampNs);
      // A line still in its push body's bytes is copied, not decoded and encoded again.
      const lineBytes = entry instanceof RawLineEntry ? out.bytes(entry.lineSource, entry.lineStart, entry.lineEnd) : out.string(entry.line);
      if (spans !== undefined) {
        spans[span++] = out.offset - lineBytes;
        spans[span++] = out.offset;
      }
      const metadata = entry.structuredMetadata;
      if (metadata !== undefined && metadata.length > MAX_WAL_PAIRS) throw new WalRecordError(`an entry has ${metadata.length} structured metadata pairs; at most ${MAX_WAL_PAIRS} fit a WAL record`);
      out.u16(metadata === undefined ? 0 : metadata.length);
      if (metadata !== undefined) {
        for (const pair of metadata) {
          out.string(pair.name);
          out.string(pair.value);
        }
      }
    }
  }
  return out.buffer.subarray(0, out.offset);
}

/**
 * The start of a version 4 record, after `headroomBytes` of unused space (the WAL's frame header):
 * the push body follows it as it is (the WAL writes both without copying the body). `ids` are the
 * streams' ids in the order the body decodes them.
 */
export function encodePushBodyRecordStart(seq: bigint, tenant: string, ids: readonly string[], headroomBytes = 0): Buffer {
  const tenantBytes = Buffer.byteLength(tenant);
  const start = Buffer.allocUnsafe(headroomBytes + 8 + 4 + tenantBytes + 4 + STREAM_ID_BYTES * ids.length);
  let offset = headroomBytes;
  offset = start.writeBigUInt64LE(seq | VERSION_2_FLAG | VERSION_3_FLAG | VERSION_4_FLAG, offset);
  offset = start.writeUInt32LE(tenantBytes, offset);
  offset += start.write(tenant, offset, 'utf8');
  offset = start.writeUInt32LE(ids.length, offset);
  for (let s = 0; s < ids.length; s++) {
    if (start.write(ids[s]!, offset, STREAM_ID_BYTES, 'hex') !== STREAM_ID_BYTES) throw new WalRecordError(`stream ${s}: id ${JSON.stringify(ids[s])} is not ${STREAM_ID_BYTES} bytes of hex`);
    offset += STREAM_ID_BYTES;
  }
  return start;
}

/**
 * Writes a decoded push stream's entries from its columns: the same bytes as its entries would give,
 * with the timestamp copied as two words and each line copied from the request body. Returns the
 * next index in `spans`.
 */
function writeColumns(out: RecordWriter, columns: RawStreamColumns, spans: Uint32Array | undefined, span: number): number {
  const count = columns.count;
  const words = columns.timestampWords;
  const starts = columns.lineStarts;
  const ends = columns.lineEnds;
  const source = columns.source;
  const metadataColumn = columns.structuredMetadata;
  // Timestamp, line length, metadata count: 14 bytes per entry, plus the lines (metadata grows it).
  out.ensure(4 + 14 * count + columns.lineBytes);
  out.u32(count);
  for (let i = 0; i < count; i++) {
    const start = starts[i]!;
    const length = ends[i]! - start;
    out.ensure(14 + length);
    const view = out.view;
    let offset = out.offset;
    if (LITTLE_ENDIAN) {
      view.setUint32(offset, words[i * 2]!, true);
      view.setUint32(offset + 4, words[i * 2 + 1]!, true);
    } else {
      view.setBigInt64(offset, columns.timestampsNs[i]!, true);
    }
    view.setUint32(offset + 8, length, true);
    offset += 12;
    source.copy(out.buffer, offset, start, start + length);
    if (spans !== undefined) {
      spans[span++] = offset;
      spans[span++] = offset + length;
    }
    offset += length;
    const metadata = metadataColumn?.[i];
    if (metadata === undefined || metadata.length === 0) {
      view.setUint16(offset, 0, true);
      out.offset = offset + 2;
      continue;
    }
    if (metadata.length > MAX_WAL_PAIRS) throw new WalRecordError(`an entry has ${metadata.length} structured metadata pairs; at most ${MAX_WAL_PAIRS} fit a WAL record`);
    out.offset = offset;
    out.u16(metadata.length);
    for (const pair of metadata) {
      out.string(pair.name);
      out.string(pair.value);
    }
  }
  return span;
}

/**
 * Bytes of request body copied at once by writeColumnsAsColumns: its lines with the protobuf
 * framing between them, which the lines are then moved over. Also the slack a record reserves for it.
 */
const BODY_RUN_BYTES = 64 * 1024;

/**
 * Version 3: a decoded push stream's columns. Timestamps go in as one copy. The lines lie in the
 * request body with a few bytes of protobuf framing between each two: runs of up to BODY_RUN_BYTES of
 * body are copied at once, then each line is moved down over the framing before it with
 * copyWithin (a builtin on memory already in cache, and no object per line). A native Buffer#copy
 * per line cost ~60 ns and a TypedArray#set of a subarray ~46 ns plus a view per line for the young
 * generation to collect (2M lines on the 244 MB bench log); runs measured ~1.3x faster than either
 * on its pushes (in process, with the server's 2 MB semi-space).
 */
function writeColumnsAsColumns(out: RecordWriter, columns: RawStreamColumns, spans: Uint32Array | undefined, span: number): number {
  const count = columns.count;
  const metadataColumn = columns.structuredMetadata;
  let hasMetadata = false;
  for (let i = 0; metadataColumn !== undefined && i < count && !hasMetadata; i++) hasMetadata = (metadataColumn[i]?.length ?? 0) > 0;
  out.ensure(COLUMNS_HEADER_BYTES + MIN_COLUMN_ENTRY_BYTES * count + columns.lineBytes + BODY_RUN_BYTES);
  out.u32(count);
  out.u8(hasMetadata ? COLUMNS_HAVE_METADATA : 0);
  const timestampsNs = columns.timestampsNs;
  if (LITTLE_ENDIAN) out.buffer.set(new Uint8Array(timestampsNs.buffer, timestampsNs.byteOffset, count * 8), out.offset);
  else for (let i = 0; i < count; i++) out.view.setBigInt64(out.offset + i * 8, timestampsNs[i]!, true);
  const view = out.view;
  const target = out.buffer;
  const source = columns.source;
  const starts = columns.lineStarts;
  const ends = columns.lineEnds;
  const lengthsAt = out.offset + count * 8;
  let lineAt = lengthsAt + count * 4;
  // Bounded: each pass takes at least one line.
  for (let first = 0; first < count; ) {
    // A run: lines in body order, not overlapping, within BODY_RUN_BYTES of the first one's start
    // (or one line alone). Each line then moves down (or stays), never over one not yet moved.
    const runStart = starts[first]!;
    let last = first;
    while (last + 1 < count && starts[last + 1]! >= ends[last]! && ends[last + 1]! - runStart <= BODY_RUN_BYTES) last++;
    source.copy(target, lineAt, runStart, ends[last]!);
    const shift = lineAt - runStart;
    for (let i = first; i <= last; i++) {
      const start = starts[i]!;
      const length = ends[i]! - start;
      view.setUint32(lengthsAt + i * 4, length, true);
      if (start + shift !== lineAt) target.copyWithin(lineAt, start + shift, start + shift + length);
      if (spans !== undefined) {
        spans[span++] = lineAt;
        spans[span++] = lineAt + length;
      }
      lineAt += length;
    }
    first = last + 1;
  }
  out.offset = lineAt;
  if (hasMetadata) for (let i = 0; i < count; i++) writeMetadata(out, metadataColumn![i]);
  return span;
}

/**
 * Version 3: entries (lines as strings, or as bytes of a request body). Lines of consecutive entries
 * in one body are copied in runs, as writeColumnsAsColumns does.
 */
function writeEntriesAsColumns(out: RecordWriter, entries: readonly PushEntry[], spans: Uint32Array | undefined, span: number): number {
  const count = entries.length;
  let hasMetadata = false;
  for (let i = 0; i < count && !hasMetadata; i++) hasMetadata = (entries[i]!.structuredMetadata?.length ?? 0) > 0;
  out.ensure(COLUMNS_HEADER_BYTES + MIN_COLUMN_ENTRY_BYTES * count);
  out.u32(count);
  out.u8(hasMetadata ? COLUMNS_HAVE_METADATA : 0);
  for (let i = 0; i < count; i++) out.view.setBigInt64(out.offset + i * 8, entries[i]!.timestampNs, true);
  const lengthsAt = out.offset + count * 8;
  out.offset = lengthsAt + count * 4;
  // Bounded: each pass takes at least one entry.
  for (let first = 0; first < count; ) {
    const entry = entries[first]!;
    if (!(entry instanceof RawLineEntry)) {
      const length = out.rawString(entry.line);
      // After the line: writing it may have grown the buffer (and replaced the view).
      out.view.setUint32(lengthsAt + first * 4, length, true);
      if (spans !== undefined) {
        spans[span++] = out.offset - length;
        spans[span++] = out.offset;
      }
      first++;
      continue;
    }
    const source = entry.lineSource;
    const runStart = entry.lineStart;
    let last = first;
    for (;;) {
      const next = entries[last + 1];
      if (!(next instanceof RawLineEntry) || next.lineSource !== source || next.lineStart < (entries[last] as RawLineEntry).lineEnd || next.lineEnd - runStart > BODY_RUN_BYTES) break;
      last++;
    }
    const runEnd = (entries[last] as RawLineEntry).lineEnd;
    out.ensure(runEnd - runStart);
    const target = out.buffer;
    const view = out.view;
    source.copy(target, out.offset, runStart, runEnd);
    const shift = out.offset - runStart;
    for (let i = first; i <= last; i++) {
      const raw = entries[i] as RawLineEntry;
      const length = raw.lineEnd - raw.lineStart;
      if (raw.lineStart + shift !== out.offset) target.copyWithin(out.offset, raw.lineStart + shift, raw.lineStart + shift + length);
      view.setUint32(lengthsAt + i * 4, length, true);
      if (spans !== undefined) {
        spans[span++] = out.offset;
        spans[span++] = out.offset + length;
      }
      out.offset += length;
    }
    first = last + 1;
  }
  if (hasMetadata) for (let i = 0; i < count; i++) writeMetadata(out, entries[i]!.structuredMetadata);
  return span;
}

function writeMetadata(out: RecordWriter, metadata: readonly LabelPair[] | undefined): void {
  if (metadata !== undefined && metadata.length > MAX_WAL_PAIRS) throw new WalRecordError(`an entry has ${metadata.length} structured metadata pairs; at most ${MAX_WAL_PAIRS} fit a WAL record`);
  out.u16(metadata === undefined ? 0 : metadata.length);
  for (const pair of metadata ?? []) {
    out.string(pair.name);
    out.string(pair.value);
  }
}

/**
 * Decodes one record. With `linesAsSpans`, lines are not decoded into strings (WAL replay copies
 * their bytes into heads straight from the payload): entries get '' and the record the spans.
 */
export function decodeWalRecord(payload: Buffer, linesAsSpans = false): WalRecord {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  let offset = 0;
  const need = (bytes: number): void => {
    if (offset + bytes > payload.length) throw new WalRecordError(`record truncated at byte ${offset} (need ${bytes} more of ${payload.length})`);
  };
  const readString = (): string => {
    need(4);
    const length = view.getUint32(offset, true);
    need(4 + length);
    const text = payload.toString('utf8', offset + 4, offset + 4 + length);
    offset += 4 + length;
    return text;
  };
  /** A label name or value: a string shared with earlier labels in this position when the bytes are the same. */
  const readLabelString = (slot: number): string => {
    need(4);
    const length = view.getUint32(offset, true);
    need(4 + length);
    const start = offset + 4;
    offset = start + length;
    return sharedLabelString(payload, start, offset, slot);
  };
  need(8);
  const first = payload.readBigUInt64LE(0);
  const version2 = first >= VERSION_2_FLAG;
  const version3 = version2 && (first & VERSION_3_FLAG) !== 0n;
  const version4 = version3 && (first & VERSION_4_FLAG) !== 0n;
  const seq = version2 ? first & SEQ_MASK : first;
  offset = 8;
  const tenant = readString();
  need(4);
  const streamCount = view.getUint32(offset, true);
  offset += 4;
  if (version4) return decodePushBodyRecord(payload, offset, seq, tenant, streamCount);
  // Counts come from disk: each stream and entry takes bytes, so a count beyond them is corrupt.
  const minStreamBytes = MIN_STREAM_BYTES + (version2 ? STREAM_ID_BYTES : 0);
  if (streamCount * minStreamBytes > payload.length - offset) throw new WalRecordError(`record says ${streamCount} streams, only ${payload.length - offset} bytes follow`);
  const streams: AppendStream[] = [];
  const ids: string[] | undefined = version2 ? [] : undefined;
  // Grown by doubling: the entry counts are known one stream at a time.
  let spans = linesAsSpans ? new Uint32Array(64) : undefined;
  let span = 0;
  for (let s = 0; s < streamCount; s++) {
    if (ids !== undefined) {
      need(STREAM_ID_BYTES);
      ids.push(payload.toString('hex', offset, offset + STREAM_ID_BYTES));
      offset += STREAM_ID_BYTES;
    }
    need(2);
    const labelCount = view.getUint16(offset, true);
    offset += 2;
    const labels: Record<string, string> = {};
    for (let l = 0; l < labelCount; l++) {
      const name = readLabelString(l * 2);
      labels[name] = readLabelString(l * 2 + 1);
    }
    need(version3 ? COLUMNS_HEADER_BYTES : 4);
    const entryCount = view.getUint32(offset, true);
    offset += 4;
    const minEntryBytes = version3 ? MIN_COLUMN_ENTRY_BYTES : MIN_ENTRY_BYTES;
    if (entryCount * minEntryBytes > payload.length - offset) throw new WalRecordError(`record says ${entryCount} entries, only ${payload.length - offset} bytes follow`);
    const entries: PushEntry[] = new Array(entryCount);
    if (spans !== undefined && span + entryCount * 2 > spans.length) {
      const grown = new Uint32Array(Math.max(spans.length * 2, span + entryCount * 2));
      grown.set(spans.subarray(0, span));
      spans = grown;
    }
    if (version3) {
      const flags = payload[offset]!;
      offset += 1;
      if ((flags & ~COLUMNS_HAVE_METADATA) !== 0) throw new WalRecordError(`record stream ${s} has unknown column flags ${flags}`);
      need(entryCount * MIN_COLUMN_ENTRY_BYTES);
      const timestampsAt = offset;
      const lengthsAt = offset + entryCount * 8;
      offset = lengthsAt + entryCount * 4;
      for (let e = 0; e < entryCount; e++) {
        const length = view.getUint32(lengthsAt + e * 4, true);
        need(length);
        let line = '';
        if (spans === undefined) line = payload.toString('utf8', offset, offset + length);
        else {
          spans[span++] = offset;
          spans[span++] = offset + length;
        }
        entries[e] = { timestampNs: view.getBigInt64(timestampsAt + e * 8, true), line };
        offset += length;
      }
      for (let e = 0; (flags & COLUMNS_HAVE_METADATA) !== 0 && e < entryCount; e++) {
        need(2);
        const metadataCount = view.getUint16(offset, true);
        offset += 2;
        if (metadataCount === 0) continue;
        const structuredMetadata: LabelPair[] = [];
        for (let m = 0; m < metadataCount; m++) {
          const name = readString();
          structuredMetadata.push({ name, value: readString() });
        }
        entries[e]!.structuredMetadata = structuredMetadata;
      }
      streams.push({ labels, entries });
      continue;
    }
    for (let e = 0; e < entryCount; e++) {
      need(8);
      const timestampNs = view.getBigInt64(offset, true);
      offset += 8;
      let line = '';
      if (spans === undefined) line = readString();
      else {
        need(4);
        const length = view.getUint32(offset, true);
        need(4 + length);
        spans[span++] = offset + 4;
        spans[span++] = offset + 4 + length;
        offset += 4 + length;
      }
      need(2);
      const metadataCount = view.getUint16(offset, true);
      offset += 2;
      if (metadataCount === 0) {
        entries[e] = { timestampNs, line };
      } else {
        const structuredMetadata: LabelPair[] = [];
        for (let m = 0; m < metadataCount; m++) {
          const name = readString();
          structuredMetadata.push({ name, value: readString() });
        }
        entries[e] = { timestampNs, line, structuredMetadata };
      }
    }
    streams.push({ labels, entries });
  }
  const record: WalRecord = { seq, tenant, streams };
  if (ids !== undefined) record.ids = ids;
  if (spans !== undefined) {
    record.frame = payload;
    record.lineSpans = spans;
  }
  return record;
}

/** Version 4, from the stream count on: the ids, then the push body, decoded as the push route did. */
function decodePushBodyRecord(payload: Buffer, offset: number, seq: bigint, tenant: string, streamCount: number): WalRecord {
  if (streamCount * STREAM_ID_BYTES > payload.length - offset) throw new WalRecordError(`record says ${streamCount} streams, only ${payload.length - offset} bytes follow`);
  const ids: string[] = [];
  for (let s = 0; s < streamCount; s++, offset += STREAM_ID_BYTES) ids.push(payload.toString('hex', offset, offset + STREAM_ID_BYTES));
  let streams: AppendStream[];
  try {
    streams = decodeSnappyPushRequestFast(payload.subarray(offset), undefined, true);
  } catch (error) {
    throw new WalRecordError(`record's push body does not decode: ${(error as Error).message}`);
  }
  if (streams.length !== streamCount) throw new WalRecordError(`record's push body holds ${streams.length} streams, the record says ${streamCount}`);
  return { seq, tenant, streams, ids };
}
