// WAL record payload: one append() call.
//   u64 seq | str tenant | u32 streamCount | per stream:
//     u16 labelCount | (str name, str value)* | u32 entryCount | per entry:
//       i64 timestampNs | str line | u16 metadataCount | (str name, str value)*
// str = u32 byte length + UTF-8 bytes. Framing (length + CRC) is wal.ts's business.

import type { AppendStream, LabelPair, PushEntry } from './types.ts';

export interface WalRecord {
  seq: bigint;
  tenant: string;
  streams: AppendStream[];
}

export class WalRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WalRecordError';
  }
}

function upperBoundBytes(text: string): number {
  return 4 + text.length * 3;
}

/**
 * Encodes the payload after `headroomBytes` of unused space (where the WAL writes its frame header,
 * so the frame needs no second copy). Returns the whole buffer, headroom included.
 */
export function encodeWalRecord(seq: bigint, tenant: string, streams: readonly AppendStream[], headroomBytes = 0): Buffer {
  let capacity = headroomBytes + 8 + upperBoundBytes(tenant) + 4;
  for (const stream of streams) {
    capacity += 2 + 4;
    for (const name in stream.labels) capacity += upperBoundBytes(name) + upperBoundBytes(stream.labels[name]!);
    const entries = stream.entries;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      capacity += 8 + upperBoundBytes(entry.line) + 2;
      const metadata = entry.structuredMetadata;
      if (metadata !== undefined) for (const pair of metadata) capacity += upperBoundBytes(pair.name) + upperBoundBytes(pair.value);
    }
  }
  const buffer = Buffer.allocUnsafe(capacity);
  // DataView's BigInt writes are JIT-compiled; Buffer#writeBigInt64LE showed up in ingest profiles.
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  view.setBigUint64(headroomBytes, seq, true);
  let offset = headroomBytes + 8;
  const writeString = (text: string): void => {
    const written = buffer.write(text, offset + 4, 'utf8');
    buffer.writeUInt32LE(written, offset);
    offset += 4 + written;
  };
  writeString(tenant);
  offset = buffer.writeUInt32LE(streams.length, offset);
  for (const stream of streams) {
    const names = Object.keys(stream.labels);
    offset = buffer.writeUInt16LE(names.length, offset);
    for (const name of names) {
      writeString(name);
      writeString(stream.labels[name]!);
    }
    const entries = stream.entries;
    offset = buffer.writeUInt32LE(entries.length, offset);
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      view.setBigInt64(offset, entry.timestampNs, true);
      offset += 8;
      writeString(entry.line);
      const metadata = entry.structuredMetadata;
      offset = buffer.writeUInt16LE(metadata === undefined ? 0 : metadata.length, offset);
      if (metadata !== undefined) {
        for (const pair of metadata) {
          writeString(pair.name);
          writeString(pair.value);
        }
      }
    }
  }
  return buffer.subarray(0, offset);
}

export function decodeWalRecord(payload: Buffer): WalRecord {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  let offset = 0;
  const need = (bytes: number): void => {
    if (offset + bytes > payload.length) throw new WalRecordError(`record truncated at byte ${offset} (need ${bytes} more of ${payload.length})`);
  };
  const readString = (): string => {
    need(4);
    const length = payload.readUInt32LE(offset);
    need(4 + length);
    const text = payload.toString('utf8', offset + 4, offset + 4 + length);
    offset += 4 + length;
    return text;
  };
  need(8);
  const seq = payload.readBigUInt64LE(0);
  offset = 8;
  const tenant = readString();
  need(4);
  const streamCount = payload.readUInt32LE(offset);
  offset += 4;
  const streams: AppendStream[] = [];
  for (let s = 0; s < streamCount; s++) {
    need(2);
    const labelCount = payload.readUInt16LE(offset);
    offset += 2;
    const labels: Record<string, string> = {};
    for (let l = 0; l < labelCount; l++) {
      const name = readString();
      labels[name] = readString();
    }
    need(4);
    const entryCount = payload.readUInt32LE(offset);
    offset += 4;
    const entries: PushEntry[] = new Array(entryCount);
    for (let e = 0; e < entryCount; e++) {
      need(8);
      const timestampNs = view.getBigInt64(offset, true);
      offset += 8;
      const line = readString();
      need(2);
      const metadataCount = payload.readUInt16LE(offset);
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
  return { seq, tenant, streams };
}
