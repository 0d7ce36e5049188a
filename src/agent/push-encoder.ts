// The agent's serializer for Loki's push body: a `logproto.PushRequest` (field numbers as in
// src/push/protobuf.ts and Loki's push.proto), snappy block-compressed. It writes the protobuf bytes
// straight into one Buffer instead of building protobufjs message objects, which made encoding and
// the garbage it left the largest CPU share of the agent at 10k lines/s. The output decodes with
// src/push/protobuf.ts (test/agent/push-encoder.test.ts checks that).

import snappy from 'snappy';
import { formatLabels } from '../push/labels.ts';
import type { PushStream } from '../push/types.ts';

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

interface EntryLayout {
  seconds: number;
  nanos: number;
  timestampSize: number;
  lineBytes: number;
  size: number;
}

/** Encodes streams as a snappy-compressed PushRequest, ready to POST as application/x-protobuf. */
export function encodePushBody(streams: PushStream[]): Buffer {
  const labelTexts: string[] = [];
  const labelBytes: number[] = [];
  const layouts: EntryLayout[][] = [];
  const streamSizes: number[] = [];
  let total = 0;
  for (const stream of streams) {
    const labels = formatLabels(stream.labels);
    const labelsLength = Buffer.byteLength(labels);
    let size = 1 + varintSize(labelsLength) + labelsLength;
    const entries: EntryLayout[] = [];
    for (const entry of stream.entries) {
      if (entry.structuredMetadata !== undefined && entry.structuredMetadata.length > 0) {
        throw new Error('encodePushBody: structured metadata is not produced by the agent');
      }
      const seconds = Number(entry.timestampNs / NS_PER_SECOND);
      const nanos = Number(entry.timestampNs % NS_PER_SECOND);
      // proto3 omits zero values.
      const timestampSize = (seconds !== 0 ? 1 + varintSize(seconds) : 0) + (nanos !== 0 ? 1 + varintSize(nanos) : 0);
      const lineBytes = Buffer.byteLength(entry.line);
      const entrySize = 1 + varintSize(timestampSize) + timestampSize + 1 + varintSize(lineBytes) + lineBytes;
      entries.push({ seconds, nanos, timestampSize, lineBytes, size: entrySize });
      size += 1 + varintSize(entrySize) + entrySize;
    }
    labelTexts.push(labels);
    labelBytes.push(labelsLength);
    layouts.push(entries);
    streamSizes.push(size);
    total += 1 + varintSize(size) + size;
  }
  const buffer = Buffer.allocUnsafe(total);
  let offset = 0;
  for (let s = 0; s < streams.length; s++) {
    buffer[offset++] = TAG_REQUEST_STREAMS;
    offset = writeVarint(buffer, offset, streamSizes[s]!);
    buffer[offset++] = TAG_STREAM_LABELS;
    offset = writeVarint(buffer, offset, labelBytes[s]!);
    offset += buffer.write(labelTexts[s]!, offset, 'utf8');
    const entries = streams[s]!.entries;
    const entryLayouts = layouts[s]!;
    for (let e = 0; e < entries.length; e++) {
      const layout = entryLayouts[e]!;
      buffer[offset++] = TAG_STREAM_ENTRIES;
      offset = writeVarint(buffer, offset, layout.size);
      buffer[offset++] = TAG_ENTRY_TIMESTAMP;
      offset = writeVarint(buffer, offset, layout.timestampSize);
      if (layout.seconds !== 0) {
        buffer[offset++] = TAG_TIMESTAMP_SECONDS;
        offset = writeVarint(buffer, offset, layout.seconds);
      }
      if (layout.nanos !== 0) {
        buffer[offset++] = TAG_TIMESTAMP_NANOS;
        offset = writeVarint(buffer, offset, layout.nanos);
      }
      buffer[offset++] = TAG_ENTRY_LINE;
      offset = writeVarint(buffer, offset, layout.lineBytes);
      offset += buffer.write(entries[e]!.line, offset, 'utf8');
    }
  }
  return snappy.compressSync(buffer);
}
