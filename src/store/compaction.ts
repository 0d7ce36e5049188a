// Compaction: merges a partition's small parts into one, merging each stream's entries by timestamp
// and dropping exact duplicates (same stream, timestamp and line bytes: what a client retry produces).
// Works stream by stream so memory is bounded by the largest stream in the merged parts.

import type { ObjectStore } from '../objstore/object-store.ts';
import type { BlockEncoderPool } from './block-encoder-pool.ts';
import { mergeBlocks } from './block-merge.ts';
import { PartBuilder } from './part-writer.ts';
import { blockLocation, readBlock } from './part-reader.ts';
import type { PartMeta } from './part-index.ts';
import type { Partition } from './partition.ts';
import type { BlockData, StreamInfo } from './types.ts';

export interface CompactionPlan {
  partition: Partition;
  parts: PartMeta[];
}

/**
 * Picks parts to merge: the smallest parts of the partition whose raw size is below `smallPartBytes`,
 * as many as fit in `maxMergeBytes`. Needs at least two.
 */
export function planCompaction(partition: Partition, smallPartBytes: number, maxMergeBytes: number): CompactionPlan | undefined {
  const small = partition.parts.filter((part) => part.rawBytes < smallPartBytes).sort((a, b) => a.rawBytes - b.rawBytes);
  const chosen: PartMeta[] = [];
  let totalBytes = 0;
  for (const part of small) {
    if (chosen.length >= 2 && totalBytes + part.rawBytes > maxMergeBytes) break;
    chosen.push(part);
    totalBytes += part.rawBytes;
  }
  return chosen.length >= 2 ? { partition, parts: chosen } : undefined;
}

export interface CompactionResult {
  part: PartMeta;
  duplicatesDropped: number;
}

export async function runCompaction(plan: CompactionPlan, objectStore: ObjectStore, blockTargetBytes: number, encoder?: BlockEncoderPool): Promise<CompactionResult> {
  const { partition, parts } = plan;
  const builder = new PartBuilder(partition.tenant, partition.day, blockTargetBytes);
  const streamIds = new Set<string>();
  for (const part of parts) for (const id of part.streams.keys()) streamIds.add(id);
  let duplicatesDropped = 0;
  for (const streamId of [...streamIds].sort()) {
    let info: StreamInfo | undefined;
    let walSeq = -1n;
    const blocks: BlockData[] = [];
    for (const part of parts) {
      const stream = part.streams.get(streamId);
      if (stream === undefined) continue;
      info = stream.info;
      if (stream.walSeq > walSeq) walSeq = stream.walSeq;
      for (const block of part.blocksByStream.get(streamId) ?? []) {
        blocks.push(await readBlock(objectStore, blockLocation(part, block), stream.info));
      }
    }
    if (info === undefined) continue;
    const merged = mergeBlocks(blocks);
    duplicatesDropped += merged.duplicatesDropped;
    await builder.addStream(info, walSeq, merged.columns, encoder);
  }
  const part = await builder.write(objectStore, parts.map((p) => p.partId));
  return { part, duplicatesDropped };
}
