// A hand-rolled decoder for Loki's protobuf PushRequest (field numbers in protobuf.ts and
// shared/reference/loki-api.md §1.1), used on the server's ingest hot path. protobufjs decodes int64
// timestamps through Long objects and strings, which halves decode throughput; this reads
// varints straight into numbers and builds each entry once. protobuf.ts stays the reference encoder
// and decoder; test/push/protobuf-decode.test.ts checks this one against it.
// Measured on the 2-core dev VM (Node 24), 8 streams × 500 training lines of ~120 bytes per push:
// snappy + decode + validation ≈ 130–140 MB/s (1.4 M lines/s) per core, against ~74 MB/s with protobufjs.

import snappy from 'snappy';
import { DecodeBudget, MAX_LABEL_SET_CHARS, PushTooLargeError, UNLIMITED_DECODE, type PushDecodeLimits } from './decode-limits.ts';
import { clipText, LabelParseError, parseLabels } from './labels.ts';
import { PushDecodeError } from './protobuf.ts';
import { ProtobufReader, WIRE_LEN } from './protobuf-reader.ts';
import { RawLineEntry } from './raw-line-entry.ts';
import { LITTLE_ENDIAN, RawPushStream, type RawStreamColumns } from './raw-push-stream.ts';
import type { LabelPair, Labels, PushEntry, PushStream } from './types.ts';

const NS_PER_SECOND = 1_000_000_000n;
/** google.protobuf.Timestamp's range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z. */
const MIN_TIMESTAMP_SECONDS = -62_135_596_800;
const MAX_TIMESTAMP_SECONDS = 253_402_300_799;
const MAX_NANOS = 999_999_999;


/** The PushRequest reader: the shared wire-format primitives, with PushDecodeError. */
class Reader extends ProtobufReader {
  constructor(buffer: Buffer, offset: number) {
    super(buffer, offset, 'PushRequest', (message) => new PushDecodeError(message));
  }
}

/**
 * Counts streams, entries and metadata pairs by walking the message without building anything
 * (lines are skipped, not read), and throws PushTooLargeError once a count passes its limit. 31M
 * empty entries are refused after ~10 ms of this walk instead of after building 500k entries.
 * Malformed input stops the walk quietly: the decoder that follows reports it with its offset.
 */
function checkCounts(body: Buffer, limits: PushDecodeLimits): void {
  const budget = new DecodeBudget(limits);
  const reader = new Reader(body, 0);
  try {
    while (reader.offset < body.length) {
      const key = reader.varint();
      if (key !== 0x0a) {
        reader.skip(key & 7, body.length);
        continue;
      }
      const streamEnd = reader.lengthEnd(body.length);
      budget.addStream();
      while (reader.offset < streamEnd) {
        const streamKey = reader.varint();
        if (streamKey !== 0x12) {
          reader.skip(streamKey & 7, streamEnd);
          continue;
        }
        const entryEnd = reader.lengthEnd(streamEnd);
        budget.addEntries(1);
        while (reader.offset < entryEnd) {
          const entryKey = reader.varint();
          if (entryKey === 0x1a) budget.addPairs(1);
          reader.skip(entryKey & 7, entryEnd);
        }
        reader.offset = entryEnd;
      }
      reader.offset = streamEnd;
    }
  } catch (error) {
    if (error instanceof PushTooLargeError) throw error;
  }
}

/**
 * Decodes an uncompressed PushRequest. Throws PushDecodeError with the byte offset of the problem, or
 * PushTooLargeError when a count passes `limits` (checked before anything is built). With
 * `rawLines`, streams are RawPushStream columns whose lines stay bytes in `body` (the server's
 * ingest path); otherwise plain entries with string lines.
 */
export function decodePushRequestFast(body: Buffer, limits: PushDecodeLimits = UNLIMITED_DECODE, rawLines = false): PushStream[] {
  // Entries and pairs take at least 2 bytes each, so a small body cannot pass those limits; streams are
  // few enough per byte that the decoder's own count (before it builds each) suffices. Columns cost a
  // few bytes of typed array per entry, so their decode is its own count: the walk before it cost
  // as much as the decode of a 1 MB push (244 MB bench: every push is over 2 × 500k bytes).
  if (!rawLines && body.length >= 2 * Math.min(limits.maxEntries, limits.maxPairs)) checkCounts(body, limits);
  const reader = new Reader(body, 0);
  const budget = new DecodeBudget(limits);
  const streams: PushStream[] = [];
  const arena = rawLines ? new ColumnArena(body.length) : undefined;
  const limit = body.length;
  while (reader.offset < limit) {
    const key = reader.varint();
    if (key >>> 3 === 1 && (key & 7) === WIRE_LEN) {
      const end = reader.lengthEnd(limit);
      budget.addStream();
      streams.push(decodeStream(reader, end, streams.length, budget, rawLines, arena));
      reader.offset = end;
    } else {
      reader.skip(key & 7, limit);
    }
  }
  return streams;
}

function decodeStream(reader: Reader, end: number, index: number, budget: DecodeBudget, rawLines: boolean, arena: ColumnArena | undefined): PushStream {
  const start = reader.offset;
  if (rawLines) {
    const entriesBefore = budget.entries;
    const pairsBefore = budget.pairs;
    const decoded = decodeStreamColumns(reader, end, budget, arena!);
    if (decoded !== undefined) return new RawPushStream(parseStreamLabels(decoded.labelText, index), decoded.columns);
    // A timestamp the columns cannot hold (before 1970, past 2262): decode this stream again as
    // entries, which carry any bigint (and count them again).
    budget.entries = entriesBefore;
    budget.pairs = pairsBefore;
    reader.offset = start;
  }
  let labelText = '';
  const entries: PushEntry[] = [];
  // Consecutive entries usually share a second; reuse its bigint instead of rebuilding it.
  const secondsCache = { seconds: Number.NaN, ns: 0n };
  while (reader.offset < end) {
    const key = reader.varint();
    const field = key >>> 3;
    const wireType = key & 7;
    if (field === 1 && wireType === WIRE_LEN) labelText = reader.string(end);
    else if (field === 2 && wireType === WIRE_LEN) {
      const entryEnd = reader.lengthEnd(end);
      budget.addEntries(1);
      entries.push(decodeEntry(reader, entryEnd, secondsCache, budget, rawLines));
      reader.offset = entryEnd;
    } else reader.skip(wireType, end);
  }
  return { labels: parseStreamLabels(labelText, index), entries };
}

function parseStreamLabels(labelText: string, index: number): Labels {
  if (labelText.length > MAX_LABEL_SET_CHARS) {
    throw new PushDecodeError(`labels of stream ${index} are ${labelText.length} characters, more than ${MAX_LABEL_SET_CHARS}: '${clipText(labelText)}'`);
  }
  try {
    return parseLabels(labelText);
  } catch (error) {
    if (error instanceof LabelParseError) {
      throw new PushDecodeError(`error parsing labels '${clipText(labelText)}' of stream ${index} with error: ${error.message}`);
    }
    throw error;
  }
}

/**
 * One ArrayBuffer per push for its streams' columns (16 bytes an entry: timestamp, line start and
 * end), carved stream by stream; a stream that outgrows its share moves to buffers of its own. A
 * buffer per column and stream (40 per push of 10 streams) were each a backing store for the GC to
 * track and free.
 */
class ColumnArena {
  readonly buffer: ArrayBuffer;
  private offset = 0;

  constructor(bodyBytes: number) {
    this.buffer = new ArrayBuffer(Math.ceil(bodyBytes / MIN_ENTRY_MESSAGE_BYTES) * COLUMN_BYTES_PER_ENTRY + ARENA_SLACK_BYTES);
  }

  /** The byte offset of room for `capacity` entries, or -1 when the arena is full. */
  take(capacity: number): number {
    const bytes = capacity * COLUMN_BYTES_PER_ENTRY;
    if (this.offset + bytes > this.buffer.byteLength) return -1;
    const start = this.offset;
    this.offset += bytes;
    return start;
  }
}

const COLUMN_BYTES_PER_ENTRY = 16;
/** Room for the minimum capacity of a few small streams beyond the per-byte share. */
const ARENA_SLACK_BYTES = 64 * COLUMN_BYTES_PER_ENTRY * 8;

/** Initial column capacity: entries take at least ~16 bytes of a training log's stream message. */
const MIN_ENTRY_MESSAGE_BYTES = 64;
const TWO_POW_32 = 2 ** 32;
/** Timestamps are written as two u32 words (low first), which needs a little-endian BigInt64Array. */

/** Results of readPlainEntry(). */
let plainSeconds = 0;
let plainNanos = 0;
let plainLineStart = 0;
/** Set by plainVarint(): where the varint it read ends. */
let plainVarintEnd = 0;

/**
 * A varint of at most `maxBytes` bytes starting at `at`, ending by `limit`; -1 when it is longer or
 * runs past `limit` (the caller then leaves the entry to the general reader, which says what is wrong).
 */
function plainVarint(body: Buffer, at: number, limit: number, maxBytes: number): number {
  let result = 0;
  let multiplier = 1;
  const stop = Math.min(limit, at + maxBytes);
  for (let i = at; i < stop; i++) {
    const byte = body[i]!;
    result += (byte & 0x7f) * multiplier;
    if (byte < 0x80) {
      plainVarintEnd = i + 1;
      return result;
    }
    multiplier *= 128;
  }
  return -1;
}

/**
 * The common Entry message, read with the offset in a local rather than through the reader (a
 * field store per byte): an optional timestamp (seconds of at most 7 varint bytes, nanos within
 * ±999999999 and not negative) then the line, in field order, and nothing else. Sets plainSeconds,
 * plainNanos and plainLineStart (the line ends at `entryEnd`) and answers true; answers false for
 * any other entry (metadata, other field order, unknown fields, anything malformed), which the
 * general loop reads, and reports, as before. decodeStreamColumns was ~7% of the server's CPU on
 * the 244 MB bench log (perf); with this path the columns decode of its pushes takes 0.59x the
 * CPU (in process, 50 MB of them, median of 9).
 */
function readPlainEntry(body: Buffer, at: number, entryEnd: number): boolean {
  let seconds = 0;
  let nanos = 0;
  if (at < entryEnd && body[at] === 0x0a) {
    const timestampLength = plainVarint(body, at + 1, entryEnd, 2);
    if (timestampLength < 0) return false;
    let field = plainVarintEnd;
    const timestampEnd = field + timestampLength;
    if (timestampEnd > entryEnd) return false;
    if (field < timestampEnd && body[field] === 0x08) {
      seconds = plainVarint(body, field + 1, timestampEnd, 7);
      if (seconds < 0) return false;
      field = plainVarintEnd;
    }
    if (field < timestampEnd && body[field] === 0x10) {
      nanos = plainVarint(body, field + 1, timestampEnd, 5);
      if (nanos < 0 || nanos > MAX_NANOS) return false;
      field = plainVarintEnd;
    }
    if (field !== timestampEnd) return false;
    at = timestampEnd;
  }
  if (at >= entryEnd || body[at] !== 0x12) return false;
  const lineLength = plainVarint(body, at + 1, entryEnd, 5);
  if (lineLength < 0 || plainVarintEnd + lineLength !== entryEnd) return false;
  plainSeconds = seconds;
  plainNanos = nanos;
  plainLineStart = plainVarintEnd;
  return true;
}

/**
 * Decodes a stream's entries into columns (RawPushStream). Returns undefined when a timestamp falls
 * outside [1970, 2262) (what a non-negative int64 of nanoseconds holds, and what the columns'
 * number arithmetic covers): the caller decodes the stream as entries instead.
 */
function decodeStreamColumns(reader: Reader, end: number, budget: DecodeBudget, arena: ColumnArena): { labelText: string; columns: RawStreamColumns } | undefined {
  const body = reader.buffer;
  let labelText = '';
  let capacity = Math.max(8, Math.ceil((end - reader.offset) / MIN_ENTRY_MESSAGE_BYTES));
  const start = arena.take(capacity);
  let timestampsNs = start < 0 ? new BigInt64Array(capacity) : new BigInt64Array(arena.buffer, start, capacity);
  let words = new Uint32Array(timestampsNs.buffer, timestampsNs.byteOffset, capacity * 2);
  let lineStarts = start < 0 ? new Uint32Array(capacity) : new Uint32Array(arena.buffer, start + capacity * 8, capacity);
  let lineEnds = start < 0 ? new Uint32Array(capacity) : new Uint32Array(arena.buffer, start + capacity * 12, capacity);
  let metadataColumn: Array<LabelPair[] | undefined> | undefined;
  let count = 0;
  let lineBytes = 0;
  let maxLineBytes = 0;
  // The oldest and newest entries, compared as (high, low) words.
  let minIndex = 0;
  let maxIndex = 0;
  // Whether each entry is later than the one before (the common case: a shipper's batch in log order).
  let increasing = LITTLE_ENDIAN;
  while (reader.offset < end) {
    const key = reader.varint();
    if (key === 0x0a) {
      labelText = reader.string(end);
      continue;
    }
    if (key !== 0x12) {
      reader.skip(key & 7, end);
      continue;
    }
    const entryEnd = reader.lengthEnd(end);
    budget.addEntries(1);
    if (count === capacity) {
      capacity *= 2;
      const grownTimestamps = new BigInt64Array(capacity);
      grownTimestamps.set(timestampsNs);
      timestampsNs = grownTimestamps;
      words = new Uint32Array(grownTimestamps.buffer, 0, capacity * 2);
      const grownStarts = new Uint32Array(capacity);
      grownStarts.set(lineStarts);
      lineStarts = grownStarts;
      const grownEnds = new Uint32Array(capacity);
      grownEnds.set(lineEnds);
      lineEnds = grownEnds;
    }
    let seconds = 0;
    let nanos = 0;
    let lineStart = 0;
    let lineEnd = 0;
    let metadata: LabelPair[] | undefined;
    if (readPlainEntry(body, reader.offset, entryEnd)) {
      seconds = plainSeconds;
      nanos = plainNanos;
      lineStart = plainLineStart;
      lineEnd = entryEnd;
      reader.offset = entryEnd;
    }
    while (reader.offset < entryEnd) {
      const entryKey = reader.varint();
      if (entryKey === 0x0a) {
        const timestampEnd = reader.lengthEnd(entryEnd);
        while (reader.offset < timestampEnd) {
          const timestampKey = reader.varint();
          if (timestampKey === 0x08) {
            // Past 7 bytes a varint is negative or beyond 2262: not for the columns.
            if (reader.nextVarintBytes() > 7) return undefined;
            seconds = reader.varint();
          } else if (timestampKey === 0x10) {
            nanos = reader.nextVarintBytes() <= 7 ? reader.varint() | 0 : Number(BigInt.asIntN(64, reader.bigVarint()));
          } else reader.skip(timestampKey & 7, timestampEnd);
        }
        reader.offset = timestampEnd;
      } else if (entryKey === 0x12) {
        lineEnd = reader.lengthEnd(entryEnd);
        lineStart = reader.offset;
        reader.offset = lineEnd;
      } else if (entryKey === 0x1a) {
        (metadata ??= []).push(decodePair(reader, budget, entryEnd));
      } else {
        reader.skip(entryKey & 7, entryEnd);
      }
    }
    if (nanos < -MAX_NANOS || nanos > MAX_NANOS) reader.fail(`timestamp nanos ${nanos} outside ±999999999 in the entry ending`);
    // seconds · 10^9 + nanos as two u32 words, exactly, in number arithmetic: seconds (< 2^49) is
    // split at 2^16 so every product stays below 2^53. Splits by floor and multiply, exact for
    // these non-negative values: `%` on doubles is a call to fmod (two an entry).
    const secondsHigh = Math.floor(seconds / 65536);
    const secondsLow = seconds - secondsHigh * 65536;
    const highProduct = secondsHigh * 1e9;
    const highProductHigh = Math.floor(highProduct / 65536);
    const low = (highProduct - highProductHigh * 65536) * 65536 + secondsLow * 1e9 + nanos;
    const carry = Math.floor(low / TWO_POW_32);
    const high = highProductHigh + carry;
    if (high < 0 || high >= 2 ** 31) return undefined;
    if (LITTLE_ENDIAN) {
      words[count * 2] = low - carry * TWO_POW_32;
      words[count * 2 + 1] = high;
    } else {
      timestampsNs[count] = BigInt(seconds) * NS_PER_SECOND + BigInt(nanos);
    }
    if (count > 0) {
      const previousHigh = words[count * 2 - 1]!;
      if (high < previousHigh || (high === previousHigh && words[count * 2]! <= words[count * 2 - 2]!)) increasing = false;
      if (high < words[minIndex * 2 + 1]! || (high === words[minIndex * 2 + 1]! && words[count * 2]! < words[minIndex * 2]!)) minIndex = count;
      if (high > words[maxIndex * 2 + 1]! || (high === words[maxIndex * 2 + 1]! && words[count * 2]! > words[maxIndex * 2]!)) maxIndex = count;
    }
    lineStarts[count] = lineStart;
    lineEnds[count] = lineEnd;
    const bytes = lineEnd - lineStart;
    lineBytes += bytes;
    if (bytes > maxLineBytes) maxLineBytes = bytes;
    if (metadata !== undefined) (metadataColumn ??= [])[count] = metadata;
    count++;
    reader.offset = entryEnd;
  }
  if (!LITTLE_ENDIAN) {
    // The words above were not written: find the range from the bigints.
    minIndex = 0;
    maxIndex = 0;
    for (let i = 1; i < count; i++) {
      if (timestampsNs[i]! < timestampsNs[minIndex]!) minIndex = i;
      if (timestampsNs[i]! > timestampsNs[maxIndex]!) maxIndex = i;
    }
  }
  return {
    labelText,
    columns: {
      count,
      timestampsNs,
      timestampWords: words,
      source: body,
      lineStarts,
      lineEnds,
      structuredMetadata: metadataColumn,
      lineBytes,
      maxLineBytes,
      minTimestampNs: count === 0 ? 0n : timestampsNs[minIndex]!,
      maxTimestampNs: count === 0 ? 0n : timestampsNs[maxIndex]!,
      increasing,
    },
  };
}

/** One structured-metadata pair (LabelPairAdapter: name 1, value 2) ending at the length read here. */
function decodePair(reader: Reader, budget: DecodeBudget, limit: number): LabelPair {
  const pairEnd = reader.lengthEnd(limit);
  budget.addPairs(1);
  let name = '';
  let value = '';
  while (reader.offset < pairEnd) {
    const pairKey = reader.varint();
    if (pairKey === 0x0a) name = reader.string(pairEnd);
    else if (pairKey === 0x12) value = reader.string(pairEnd);
    else reader.skip(pairKey & 7, pairEnd);
  }
  reader.offset = pairEnd;
  return { name, value };
}

function decodeEntry(reader: Reader, end: number, secondsCache: { seconds: number; ns: bigint }, budget: DecodeBudget, rawLines: boolean): PushEntry {
  let seconds = 0;
  let secondsBig: bigint | undefined;
  let nanos = 0;
  let lineStart = 0;
  let lineEnd = 0;
  let metadata: LabelPair[] | undefined;
  while (reader.offset < end) {
    const key = reader.varint();
    const field = key >>> 3;
    const wireType = key & 7;
    if (field === 1 && wireType === WIRE_LEN) {
      const timestampEnd = reader.lengthEnd(end);
      while (reader.offset < timestampEnd) {
        const timestampKey = reader.varint();
        if (timestampKey === 0x08) {
          // int64 seconds: negative values are 10-byte two's complement varints.
          if (reader.nextVarintBytes() <= 7) seconds = reader.varint();
          else secondsBig = BigInt.asIntN(64, reader.bigVarint());
        } else if (timestampKey === 0x10) {
          // int32 nanos: negative values (sent by some encoders before 1970) are sign-extended to 10 bytes.
          nanos = reader.nextVarintBytes() <= 7 ? reader.varint() | 0 : Number(BigInt.asIntN(64, reader.bigVarint()));
        }
        else reader.skip(timestampKey & 7, timestampEnd);
      }
      reader.offset = timestampEnd;
    } else if (field === 2 && wireType === WIRE_LEN) {
      lineEnd = reader.lengthEnd(end);
      lineStart = reader.offset;
      reader.offset = lineEnd;
    } else if (field === 3 && wireType === WIRE_LEN) {
      (metadata ??= []).push(decodePair(reader, budget, end));
    } else {
      reader.skip(wireType, end);
    }
  }
  if (secondsBig !== undefined ? secondsBig < MIN_TIMESTAMP_SECONDS || secondsBig > MAX_TIMESTAMP_SECONDS : seconds > MAX_TIMESTAMP_SECONDS) {
    reader.fail(`timestamp seconds ${secondsBig ?? seconds} outside 0001-01-01..9999-12-31 in the entry ending`);
  }
  if (nanos < -MAX_NANOS || nanos > MAX_NANOS) reader.fail(`timestamp nanos ${nanos} outside ±999999999 in the entry ending`);
  let secondsNs: bigint;
  if (secondsBig !== undefined) secondsNs = secondsBig * NS_PER_SECOND;
  else if (seconds === secondsCache.seconds) secondsNs = secondsCache.ns;
  else {
    secondsNs = BigInt(seconds) * NS_PER_SECOND;
    secondsCache.seconds = seconds;
    secondsCache.ns = secondsNs;
  }
  const timestampNs = nanos === 0 ? secondsNs : secondsNs + BigInt(nanos);
  const entry: PushEntry = rawLines ? new RawLineEntry(timestampNs, reader.buffer, lineStart, lineEnd) : { timestampNs, line: reader.buffer.toString('utf8', lineStart, lineEnd) };
  if (metadata !== undefined) entry.structuredMetadata = metadata;
  return entry;
}

/**
 * The uncompressed body as the addon's own (external) buffer, not copied into one of Node's: the
 * push route frees it at once when the push is done (releaseOwnedMemory detaches it, which frees the
 * addon's memory), so no finalizer waits for a collection, and the copy was a second 1 MB allocation
 * per push whose pages malloc returned to the kernel and faulted in again. bench/snappy-output.ts
 * (60 MB of 1 MB pushes): 0.052 CPU-s against 0.071 with the copy; bench/server-rss-ab.ts on the
 * 244 MB log (4 rounds, same run): server CPU 2.18 against 2.38 s, peak RSS 162 against 166 MB.
 * (An earlier measurement, before pushes were freed eagerly, had the copy 3.5x cheaper.)
 */
const SNAPPY_OUTPUT = { asBuffer: true } as const;

/** Decodes a snappy block-compressed PushRequest body with the fast decoder (`rawLines` as there). */
export function decodeSnappyPushRequestFast(body: Buffer, limits: PushDecodeLimits = UNLIMITED_DECODE, rawLines = false): PushStream[] {
  let raw: Buffer;
  try {
    raw = snappy.uncompressSync(body, SNAPPY_OUTPUT) as Buffer;
  } catch (error) {
    throw new PushDecodeError(`malformed snappy body: ${(error as Error).message}`);
  }
  return decodePushRequestFast(raw, limits, rawLines);
}

/**
 * The same, decompressing on libuv's thread pool: a 64 MB body takes ~50 ms to uncompress, which
 * the event loop (other pushes, /ready) should not wait for.
 */
export async function decodeSnappyPushRequestAsync(body: Buffer, limits: PushDecodeLimits = UNLIMITED_DECODE, rawLines = false): Promise<PushStream[]> {
  let raw: Buffer;
  try {
    raw = (await snappy.uncompress(body, SNAPPY_OUTPUT)) as Buffer;
  } catch (error) {
    throw new PushDecodeError(`malformed snappy body: ${(error as Error).message}`);
  }
  return decodePushRequestFast(raw, limits, rawLines);
}
