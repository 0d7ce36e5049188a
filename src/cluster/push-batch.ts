// What one WAL batch holds: one tenant's streams of one partition, encoded as the store's WAL record
// (src/store/wal-record.ts, sequence 0: the log assigns positions). A push is split by partition, and
// a partition's share is split again when it would pass the log's payload limit.

import { createHash } from 'node:crypto';
import { decodeWalRecord, encodeWalRecord } from '../store/wal-record.ts';
import { streamId } from '../store/stream-id.ts';
import type { AppendStream } from '../store/types.ts';

export interface PushBatch {
  partition: number;
  payload: Buffer;
  /** Derived from the content: the same push retried (to any replica) gets the same id. */
  messageId: string;
}

/** Bytes per entry and per stream beyond the line itself (timestamp, lengths, labels), for sizing. */
const ENTRY_OVERHEAD_BYTES = 16;
const STREAM_OVERHEAD_BYTES = 256;

/** The partition a stream belongs to: the stream id (a 128-bit hash of tenant and labels) modulo the count. */
export function partitionOf(tenant: string, labels: AppendStream['labels'], partitions: number): number {
  return Number.parseInt(streamId(tenant, labels).slice(0, 8), 16) % partitions;
}

export function encodePushBatches(tenant: string, streams: readonly AppendStream[], partitions: number, maxPayloadBytes: number): PushBatch[] {
  const byPartition = new Map<number, AppendStream[]>();
  for (const stream of streams) {
    if (stream.entries.length === 0) continue;
    const partition = partitionOf(tenant, stream.labels, partitions);
    let list = byPartition.get(partition);
    if (list === undefined) byPartition.set(partition, (list = []));
    list.push(stream);
  }
  // Sizes are estimated in UTF-16 units; half the limit leaves room for multi-byte text and headers.
  const budgetBytes = Math.max(1024, Math.floor(maxPayloadBytes / 2));
  const batches: PushBatch[] = [];
  for (const [partition, list] of byPartition) {
    for (const group of groupWithin(list, budgetBytes)) {
      const payload = encodeWalRecord(0n, tenant, group);
      if (payload.length > maxPayloadBytes) throw new Error(`a batch of ${payload.length} bytes passes the WAL's payload limit of ${maxPayloadBytes} bytes`);
      batches.push({ partition, payload, messageId: createHash('sha256').update(payload).digest('base64url') });
    }
  }
  return batches;
}

/** Splits streams (and a stream's entries, when one stream alone is too big) into groups of at most budgetBytes. */
function groupWithin(streams: readonly AppendStream[], budgetBytes: number): AppendStream[][] {
  const groups: AppendStream[][] = [];
  let current: AppendStream[] = [];
  let currentBytes = 0;
  for (const stream of streams) {
    let entries: AppendStream['entries'] = [];
    let bytes = STREAM_OVERHEAD_BYTES;
    const close = (): void => {
      if (entries.length > 0) current.push({ labels: stream.labels, entries });
      currentBytes += bytes;
      entries = [];
      bytes = STREAM_OVERHEAD_BYTES;
    };
    for (const entry of stream.entries) {
      let entryBytes = ENTRY_OVERHEAD_BYTES + entry.line.length;
      for (const pair of entry.structuredMetadata ?? []) entryBytes += 8 + pair.name.length + pair.value.length;
      if (currentBytes + bytes + entryBytes > budgetBytes && (entries.length > 0 || current.length > 0)) {
        close();
        groups.push(current);
        current = [];
        currentBytes = 0;
      }
      entries.push(entry);
      bytes += entryBytes;
    }
    close();
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

export function decodePushBatch(payload: Uint8Array): { tenant: string; streams: AppendStream[] } {
  const record = decodeWalRecord(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
  return { tenant: record.tenant, streams: record.streams };
}
