// Compaction: merges a partition's small parts into one, merging each stream's entries by timestamp
// and dropping exact duplicates (same stream, timestamp and line bytes: what a client retry produces).
// Works stream by stream so memory is bounded by the largest stream in the merged parts.

import type { ObjectStore } from '../objstore/object-store.ts';
import type { BlockEncoderPool } from './block-encoder-pool.ts';
import { mergeBlocks } from './block-merge.ts';
import { releaseWholeMemory } from './owned-buffer.ts';
import { PartBuilder } from './part-writer.ts';
import { blockLocation, readBlock, readBlockBytes } from './part-reader.ts';
import type { BlockMeta, PartMeta } from './part-index.ts';
import type { EncodedBlock } from './block-encoding.ts';
import type { Partition } from './partition.ts';
import type { BlockData, StreamInfo } from './types.ts';

export interface CompactionPlan {
  partition: Partition;
  parts: PartMeta[];
}

/**
 * A part whose blocks average at least this fraction of the block target is already packed: merging
 * it re-encodes full blocks at the same level for nothing. Measured on the 244 MB 8-rank bench log
 * (bench/ingest-flush-bench.ts): its budget cuts write parts of 1.0–2.0 MB blocks (7.3–7.4x), and
 * compaction of 168 MB of them into 2.0 MB blocks gained 1% (7.40x) for a decode and encode of every
 * block, while the replaced parts stayed on disk for their grace period: 57.8 MB stored after
 * POST /flush instead of 33 MB.
 */
const PACKED_BLOCK_FRACTION = 0.5;
/** Past this many parts in a partition, packed parts are merged too, so the part count stays bounded. */
const MAX_PACKED_PARTS = 64;

/**
 * Picks parts to merge: among the partition's parts whose raw size is below `smallPartBytes`, those
 * worth rewriting (small blocks on average, or a stream whose time range touches the same stream's
 * range in another part, where duplicates and read-time merges live, or any once the partition holds
 * more than MAX_PACKED_PARTS parts), smallest first, as many as fit in `maxMergeBytes` and keep every
 * stream's raw bytes within `maxStreamMergeBytes` (a merge holds one stream's entries decoded at
 * once, about three times its raw bytes). Needs two; the first two are taken whatever their size.
 */
export function planCompaction(
  partition: Partition,
  smallPartBytes: number,
  maxMergeBytes: number,
  blockTargetBytes = Number.POSITIVE_INFINITY,
  maxStreamMergeBytes = Number.POSITIVE_INFINITY,
): CompactionPlan | undefined {
  const overlapping = partsWithOverlappingStreams(partition.parts);
  const tooMany = partition.parts.length > MAX_PACKED_PARTS;
  const worthMerging = (part: PartMeta): boolean =>
    tooMany || overlapping.has(part) || part.blocks.length === 0 || part.rawBytes / part.blocks.length < blockTargetBytes * PACKED_BLOCK_FRACTION;
  const small = partition.parts.filter((part) => part.rawBytes < smallPartBytes && worthMerging(part)).sort((a, b) => a.rawBytes - b.rawBytes);
  const chosen: PartMeta[] = [];
  let totalBytes = 0;
  const streamBytes = new Map<string, number>();
  for (const part of small) {
    const partStreamBytes = rawBytesByStream(part);
    if (chosen.length >= 2) {
      if (totalBytes + part.rawBytes > maxMergeBytes) break;
      let streamOverBudget = false;
      for (const [streamId, bytes] of partStreamBytes) if ((streamBytes.get(streamId) ?? 0) + bytes > maxStreamMergeBytes) streamOverBudget = true;
      if (streamOverBudget) break;
    }
    chosen.push(part);
    totalBytes += part.rawBytes;
    for (const [streamId, bytes] of partStreamBytes) streamBytes.set(streamId, (streamBytes.get(streamId) ?? 0) + bytes);
  }
  return chosen.length >= 2 ? { partition, parts: chosen } : undefined;
}

function rawBytesByStream(part: PartMeta): Map<string, number> {
  const bytes = new Map<string, number>();
  for (const [streamId, blocks] of part.blocksByStream) {
    let sum = 0;
    for (const block of blocks) sum += block.rawBytes;
    bytes.set(streamId, sum);
  }
  return bytes;
}

/** Parts holding a stream whose time range touches or overlaps that stream's range in another part. */
function partsWithOverlappingStreams(parts: readonly PartMeta[]): Set<PartMeta> {
  const rangesByStream = new Map<string, Array<{ part: PartMeta; minTimeNs: bigint; maxTimeNs: bigint }>>();
  for (const part of parts) {
    for (const [streamId, blocks] of part.blocksByStream) {
      if (blocks.length === 0) continue;
      let minTimeNs = blocks[0]!.minTimeNs;
      let maxTimeNs = blocks[0]!.maxTimeNs;
      for (const block of blocks) {
        if (block.minTimeNs < minTimeNs) minTimeNs = block.minTimeNs;
        if (block.maxTimeNs > maxTimeNs) maxTimeNs = block.maxTimeNs;
      }
      let ranges = rangesByStream.get(streamId);
      if (ranges === undefined) rangesByStream.set(streamId, (ranges = []));
      ranges.push({ part, minTimeNs, maxTimeNs });
    }
  }
  const overlapping = new Set<PartMeta>();
  for (const ranges of rangesByStream.values()) {
    if (ranges.length < 2) continue;
    ranges.sort((a, b) => (a.minTimeNs < b.minTimeNs ? -1 : a.minTimeNs > b.minTimeNs ? 1 : 0));
    // Touching counts, as in the read path's merge: a duplicate shares its timestamp.
    let reach = ranges[0]!;
    for (let i = 1; i < ranges.length; i++) {
      const range = ranges[i]!;
      if (range.minTimeNs <= reach.maxTimeNs) {
        overlapping.add(range.part);
        overlapping.add(reach.part);
      }
      if (range.maxTimeNs > reach.maxTimeNs) reach = range;
    }
  }
  return overlapping;
}

export interface CompactionResult {
  part: PartMeta;
  duplicatesDropped: number;
}

/**
 * A block of at least this fraction of the block target, whose time range no other block of the same
 * stream in the merge touches, is copied into the merged part as it is. Decoding and re-encoding it
 * would buy about 1% of size (see PACKED_BLOCK_FRACTION) for the cost of its cut again: on the 1 GB
 * bench log, compaction during ingest was a quarter of the server's CPU. Smaller blocks (a cut's tail
 * of a quiet stream) are still merged into full ones.
 */
const COPIED_BLOCK_FRACTION = 0.125;

interface StreamSource {
  part: PartMeta;
  block: BlockMeta;
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
    const sources: StreamSource[] = [];
    for (const part of parts) {
      const stream = part.streams.get(streamId);
      if (stream === undefined) continue;
      info = stream.info;
      if (stream.walSeq > walSeq) walSeq = stream.walSeq;
      for (const block of part.blocksByStream.get(streamId) ?? []) sources.push({ part, block });
    }
    if (info === undefined) continue;
    sources.sort((a, b) => (a.block.minTimeNs < b.block.minTimeNs ? -1 : a.block.minTimeNs > b.block.minTimeNs ? 1 : 0));
    // Runs of blocks to decode and merge, between blocks copied as they are.
    let pending: BlockData[] = [];
    const mergePending = async (): Promise<void> => {
      const spent = pending;
      const merged = mergeBlocks(spent);
      pending = [];
      duplicatesDropped += merged.duplicatesDropped;
      await builder.addStream(info, walSeq, merged.columns, encoder);
      // The decoded blocks (read for this merge alone, no cache holds them) and the merged columns are
      // spent once encoded: freed now, not at V8's next full collection, which a compaction of a few
      // streams outran by hundreds of MB on the 1 GB bench log.
      for (const columns of [...spent, merged.columns]) {
        releaseWholeMemory(columns.lines);
        releaseWholeMemory(columns.timestampsNs);
        releaseWholeMemory(columns.lineEnds);
      }
    };
    for (let i = 0; i < sources.length; i++) {
      const { part, block } = sources[i]!;
      // Touching counts, as in mergeBlocks: a duplicate shares its timestamp.
      const apart = (i === 0 || sources[i - 1]!.block.maxTimeNs < block.minTimeNs) && (i + 1 === sources.length || block.maxTimeNs < sources[i + 1]!.block.minTimeNs);
      if (apart && block.rawBytes >= blockTargetBytes * COPIED_BLOCK_FRACTION) {
        if (pending.length > 0) await mergePending();
        builder.addEncodedBlocks(info, walSeq, [await readEncodedBlock(objectStore, part, block)]);
      } else {
        pending.push(await readBlock(objectStore, blockLocation(part, block), info));
      }
    }
    if (pending.length > 0 || sources.length === 0) await mergePending();
  }
  const part = await builder.write(objectStore, parts.map((p) => p.partId));
  return { part, duplicatesDropped };
}

/** A block's bytes as stored, with the metadata the part index keeps for it. */
async function readEncodedBlock(objectStore: ObjectStore, part: PartMeta, block: BlockMeta): Promise<EncodedBlock> {
  const bytes = await readBlockBytes(objectStore, blockLocation(part, block));
  return { bytes, filter: block.filter, minTimeNs: block.minTimeNs, maxTimeNs: block.maxTimeNs, entryCount: block.entryCount, rawBytes: block.rawBytes };
}
