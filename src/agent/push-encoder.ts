// The agent's serializer for Loki's push body: a `logproto.PushRequest` (field numbers as in
// src/push/protobuf.ts and Loki's push.proto), snappy block-compressed. It writes the protobuf bytes
// straight into one Buffer instead of building protobufjs message objects, which made encoding and
// the garbage it left the largest CPU share of the agent at 10k lines/s. The output decodes with
// src/push/protobuf.ts (test/agent/push-encoder.test.ts checks that).

import snappy from 'snappy';
import { formatLabels } from '../push/labels.ts';
import type { Labels, PushStream } from '../push/types.ts';

const NS_PER_SECOND = 1_000_000_000n;
// Wire types: 0 = varint, 2 = length-delimited. Tag byte = field number << 3 | wire type.
const TAG_REQUEST_STREAMS = (1 << 3) | 2;
const TAG_STREAM_LABELS = (1 << 3) | 2;
const TAG_STREAM_ENTRIES = (2 << 3) | 2;
const TAG_ENTRY_TIMESTAMP = (1 << 3) | 2;
const TAG_ENTRY_LINE = (2 << 3) | 2;
const TAG_TIMESTAMP_SECONDS = (1 << 3) | 0;
const TAG_TIMESTAMP_NANOS = (2 << 3) | 0;

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

function writeVarint(buffer: Buffer, offset: number, value: number): number {
  // Values here are below 2^53 (lengths, seconds since the epoch, nanos), exact as numbers.
  while (value >= 0x80) {
    buffer[offset++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  buffer[offset++] = value;
  return offset;
}

/** One stream's entries in the batch: where each serialized entry lies in the shared buffer. */
interface BatchStream {
  labelsText: string;
  /** Start and end offsets of each entry in `PushBodyBuilder.entryBytes`, flattened in pairs. */
  entryRanges: number[];
  lengthBytes: number;
}

// The shared buffers start at this size and double as needed; they are kept from batch to batch.
const INITIAL_BUFFER_BYTES = 64 * 1024;

function grown(buffer: Buffer, usedBytes: number, neededBytes: number): Buffer {
  if (neededBytes <= buffer.length) return buffer;
  const bigger = Buffer.allocUnsafe(Math.max(buffer.length * 2, neededBytes));
  buffer.copy(bigger, 0, 0, usedBytes);
  return bigger;
}

/**
 * Builds one push body entry by entry. Each entry is serialized the moment it is added, so a batch
 * is held as bytes instead of one object, string and bigint per entry that would live until the
 * batch is cut: at 10k lines/s with a 1 s batch wait, those survived young-generation GCs, were
 * promoted, and made the old generation grow. Entries of all streams go into one buffer (grouped by
 * stream only when the body is assembled), and both that buffer and the assembly buffer are reused
 * for every batch: allocating ~1 MB buffers per batch fragmented the C heap, whose RSS then stayed.
 */
export class PushBodyBuilder {
  private streams = new Map<string, BatchStream>();
  private entryBytes: Buffer = Buffer.allocUnsafe(INITIAL_BUFFER_BYTES);
  private entryBytesUsed = 0;
  private bodyBytes: Buffer = Buffer.allocUnsafe(INITIAL_BUFFER_BYTES);
  private entries = 0;
  private payloadBytes = 0;

  get entryCount(): number {
    return this.entries;
  }

  /** Serialized size so far, before compression. */
  get sizeBytes(): number {
    return this.payloadBytes;
  }

  /**
   * Adds an entry to the stream `streamKey` (formatLabels(labels), or any key identifying them).
   * `lineBytes` is Buffer.byteLength(line), when the caller has measured it already.
   */
  add(streamKey: string, labels: Labels, timestampNs: bigint, line: string, lineBytes = Buffer.byteLength(line)): void {
    let stream = this.streams.get(streamKey);
    if (stream === undefined) {
      const labelsText = formatLabels(labels);
      stream = { labelsText, entryRanges: [], lengthBytes: 0 };
      this.streams.set(streamKey, stream);
      this.payloadBytes += 16 + Buffer.byteLength(labelsText);
    }
    const seconds = Number(timestampNs / NS_PER_SECOND);
    const nanos = Number(timestampNs % NS_PER_SECOND);
    // proto3 omits zero values.
    const timestampSize = (seconds !== 0 ? 1 + varintSize(seconds) : 0) + (nanos !== 0 ? 1 + varintSize(nanos) : 0);
    const entrySize = 1 + varintSize(timestampSize) + timestampSize + 1 + varintSize(lineBytes) + lineBytes;
    const needed = 1 + varintSize(entrySize) + entrySize;
    const start = this.entryBytesUsed;
    const buffer = (this.entryBytes = grown(this.entryBytes, start, start + needed));
    let offset = start;
    buffer[offset++] = TAG_STREAM_ENTRIES;
    offset = writeVarint(buffer, offset, entrySize);
    buffer[offset++] = TAG_ENTRY_TIMESTAMP;
    offset = writeVarint(buffer, offset, timestampSize);
    if (seconds !== 0) {
      buffer[offset++] = TAG_TIMESTAMP_SECONDS;
      offset = writeVarint(buffer, offset, seconds);
    }
    if (nanos !== 0) {
      buffer[offset++] = TAG_TIMESTAMP_NANOS;
      offset = writeVarint(buffer, offset, nanos);
    }
    buffer[offset++] = TAG_ENTRY_LINE;
    offset = writeVarint(buffer, offset, lineBytes);
    offset += buffer.write(line, offset, 'utf8');
    this.entryBytesUsed = offset;
    stream.entryRanges.push(start, offset);
    stream.lengthBytes += offset - start;
    this.entries++;
    this.payloadBytes += needed;
  }

  /** Returns the snappy-compressed PushRequest of everything added, and starts an empty body. */
  finish(): Buffer {
    let total = 0;
    for (const stream of this.streams.values()) {
      const labelsLength = Buffer.byteLength(stream.labelsText);
      const size = 1 + varintSize(labelsLength) + labelsLength + stream.lengthBytes;
      total += 1 + varintSize(size) + size;
    }
    const buffer = (this.bodyBytes = grown(this.bodyBytes, 0, total));
    let offset = 0;
    for (const stream of this.streams.values()) {
      const labelsLength = Buffer.byteLength(stream.labelsText);
      buffer[offset++] = TAG_REQUEST_STREAMS;
      offset = writeVarint(buffer, offset, 1 + varintSize(labelsLength) + labelsLength + stream.lengthBytes);
      buffer[offset++] = TAG_STREAM_LABELS;
      offset = writeVarint(buffer, offset, labelsLength);
      offset += buffer.write(stream.labelsText, offset, 'utf8');
      const ranges = stream.entryRanges;
      for (let r = 0; r < ranges.length; r += 2) offset += this.entryBytes.copy(buffer, offset, ranges[r]!, ranges[r + 1]!);
    }
    this.streams = new Map();
    this.entryBytesUsed = 0;
    this.entries = 0;
    this.payloadBytes = 0;
    return snappy.compressSync(buffer.subarray(0, total));
  }
}

/** Encodes streams as a snappy-compressed PushRequest, ready to POST as application/x-protobuf. */
export function encodePushBody(streams: PushStream[]): Buffer {
  const builder = new PushBodyBuilder();
  for (let s = 0; s < streams.length; s++) {
    const stream = streams[s]!;
    // Streams stay separate even when two carry equal labels, as they were given; a stream without
    // entries carries nothing and is left out.
    const key = String(s);
    for (const entry of stream.entries) {
      if (entry.structuredMetadata !== undefined && entry.structuredMetadata.length > 0) {
        throw new Error('encodePushBody: structured metadata is not produced by the agent');
      }
      builder.add(key, stream.labels, entry.timestampNs, entry.line);
    }
  }
  return builder.finish();
}
