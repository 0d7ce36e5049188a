// Compaction: merges a partition's small parts into one, merging each stream's entries by timestamp
// and dropping exact duplicates (same stream, timestamp and line bytes: what a client retry produces).
// Works stream by stream so memory is bounded by the largest stream in the merged parts.

import type { ObjectStore } from '../objstore/object-store.ts';
import type { BlockEncoderPool } from './block-encoder-pool.ts';
import { mergeBlocks } from './block-merge.ts';
import { releaseWholeMemory } from './owned-buffer.ts';
import { PartBuilder, type PartStreamInput } from './part-writer.ts';
import { groupItems, memberOfColumns, streamGroupKey, type StreamGrouping } from './stream-group.ts';
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
    tooMany || overlapping.has(part) || part.blocks.length === 0 || part.rawBytes / storageUnits(part) < blockTargetBytes * PACKED_BLOCK_FRACTION;
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

/** Blocks that stand alone plus shared frames: a frame and its members' blocks count once. */
function storageUnits(part: PartMeta): number {
  const frames = new Set<number>();
  let units = 0;
  for (const block of part.blocks) {
    if (block.frameOffset === undefined) units++;
    else frames.add(block.frameOffset);
  }
  return units + frames.size;
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

/** How compaction writes stream groups (see stream-group.ts); without it every stream stays apart. */
export interface CompactionGrouping {
  grouping: StreamGrouping;
  frameTargetBytes: number;
}

interface MergedStream {
  info: StreamInfo;
  walSeq: bigint;
  sources: StreamSource[];
}

interface FrameUnitSources {
  part: PartMeta;
  frameOffset: number;
  frameLength: number;
  members: Array<{ stream: MergedStream; block: BlockMeta }>;
}

export async function runCompaction(plan: CompactionPlan, objectStore: ObjectStore, blockTargetBytes: number, encoder?: BlockEncoderPool, grouping?: CompactionGrouping): Promise<CompactionResult> {
  const { partition, parts } = plan;
  const builder = new PartBuilder(partition.tenant, partition.day, blockTargetBytes);
  const streams = new Map<string, MergedStream>();
  for (const part of parts) {
    for (const [streamId, stream] of part.streams) {
      let merged = streams.get(streamId);
      if (merged === undefined) streams.set(streamId, (merged = { info: stream.info, walSeq: -1n, sources: [] }));
      if (stream.walSeq > merged.walSeq) merged.walSeq = stream.walSeq;
      for (const block of part.blocksByStream.get(streamId) ?? []) merged.sources.push({ part, block });
    }
  }
  // Which blocks no other block of their stream in the merge touches (touching counts, as in
  // mergeBlocks: a duplicate shares its timestamp).
  const apart = new Set<BlockMeta>();
  for (const stream of streams.values()) {
    const sources = stream.sources.sort((a, b) => (a.block.minTimeNs < b.block.minTimeNs ? -1 : a.block.minTimeNs > b.block.minTimeNs ? 1 : 0));
    // Against the latest end of every block before it, not only the one just before: a retried push
    // stored as one long block can span several blocks of another part.
    let reachNs: bigint | undefined;
    for (let i = 0; i < sources.length; i++) {
      const { block } = sources[i]!;
      if ((reachNs === undefined || reachNs < block.minTimeNs) && (i + 1 === sources.length || block.maxTimeNs < sources[i + 1]!.block.minTimeNs)) apart.add(block);
      if (reachNs === undefined || block.maxTimeNs > reachNs) reachNs = block.maxTimeNs;
    }
  }
  // Shared frames whose every member block is apart and that are full enough are copied as they are,
  // frame and member blocks, without decoding: what a cut wrote is already as small as a merge makes it.
  const units = new Map<string, FrameUnitSources>();
  for (const stream of streams.values()) {
    for (const { part, block } of stream.sources) {
      if (block.frameOffset === undefined) continue;
      const key = `${part.partId}@${block.frameOffset}`;
      let unit = units.get(key);
      if (unit === undefined) units.set(key, (unit = { part, frameOffset: block.frameOffset, frameLength: block.frameLength!, members: [] }));
      unit.members.push({ stream, block });
    }
  }
  const copied = new Set<BlockMeta>();
  for (const unit of units.values()) {
    let rawBytes = 0;
    for (const { block } of unit.members) rawBytes += block.rawBytes;
    if (rawBytes < blockTargetBytes * COPIED_BLOCK_FRACTION || !unit.members.every(({ block }) => apart.has(block))) continue;
    const frame = await readBlockBytes(objectStore, { objectKey: blockLocation(unit.part, unit.members[0]!.block).objectKey, offset: unit.frameOffset, length: unit.frameLength });
    const blocks = [];
    for (const { stream, block } of unit.members) {
      blocks.push({ info: stream.info, walSeq: stream.walSeq, block: await readEncodedBlock(objectStore, unit.part, block) });
      copied.add(block);
    }
    builder.addFrameUnit({ frame, blocks });
  }
  // Each stream's blocks in the partition's other parts: a merged run must not reach over them (below).
  const merging = new Set(parts);
  const outside = new Map<string, BlockMeta[]>();
  for (const part of partition.parts) {
    if (merging.has(part)) continue;
    for (const [streamId, blocks] of part.blocksByStream) {
      if (!streams.has(streamId) || blocks.length === 0) continue;
      let list = outside.get(streamId);
      if (list === undefined) outside.set(streamId, (list = []));
      list.push(...blocks);
    }
  }
  let duplicatesDropped = 0;
  const ordered = [...streams.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, stream]) => stream);
  const groups =
    grouping === undefined
      ? ordered.map((stream) => [stream])
      : groupItems(ordered, (stream) => streamGroupKey(stream.info.labels, grouping.grouping), grouping.grouping.maxMembers);
  for (const group of groups) {
    // A group of several streams: every block not copied is decoded, merged run by run (between
    // copied frames) and written as new shared frames with the group's other runs.
    const grouped = group.length > 1;
    const runs: PartStreamInput[] = [];
    for (const stream of group) {
      const { info, walSeq, sources } = stream;
      // Runs of blocks to decode and merge, between blocks copied as they are.
      let pending: BlockData[] = [];
      const mergePending = async (): Promise<void> => {
        const spent = pending;
        const merged = mergeBlocks(spent);
        pending = [];
        duplicatesDropped += merged.duplicatesDropped;
        releaseColumns(spent);
        if (grouped) {
          runs.push({ info, walSeq, columns: merged.columns });
          return;
        }
        await builder.addStream(info, walSeq, merged.columns, encoder);
        // The decoded blocks (read for this merge alone, no cache holds them) and the merged columns are
        // spent once encoded: freed now, not at V8's next full collection, which a compaction of a few
        // streams outran by hundreds of MB on the 1 GB bench log.
        releaseColumns([merged.columns]);
      };
      // A run ends before a gap that a block of another part covers: a run over it would be cut into
      // blocks spanning that part's time, and reads merge blocks of a stream that overlap in time
      // (store.ts, mergeOverlapping) into one, chained by every overlap: on the 1 GB bench store, after
      // compaction with stream groups, the last 100 lines of one rank read 25 MB instead of 1.4 MB.
      const others = outside.get(info.id) ?? [];
      let pendingMaxNs = 0n;
      const coveredGap = (fromNs: bigint, toNs: bigint): boolean => others.some((other) => other.minTimeNs < toNs && other.maxTimeNs > fromNs);
      for (const { part, block } of sources) {
        if (copied.has(block)) {
          if (pending.length > 0) await mergePending();
        } else if (!grouped && block.frameOffset === undefined && apart.has(block) && block.rawBytes >= blockTargetBytes * COPIED_BLOCK_FRACTION) {
          if (pending.length > 0) await mergePending();
          builder.addEncodedBlocks(info, walSeq, [await readEncodedBlock(objectStore, part, block)]);
        } else {
          if (pending.length > 0 && block.minTimeNs > pendingMaxNs && coveredGap(pendingMaxNs, block.minTimeNs)) await mergePending();
          if (pending.length === 0 || block.maxTimeNs > pendingMaxNs) pendingMaxNs = block.maxTimeNs;
          pending.push(await readBlock(objectStore, blockLocation(part, block), info));
        }
      }
      if (pending.length > 0 || sources.length === 0) await mergePending();
    }
    if (grouped) {
      builder.addGroup(
        runs.map((run) => ({ info: run.info, walSeq: run.walSeq, member: memberOfColumns(run.columns) })),
        grouping!.frameTargetBytes,
        grouping!.grouping.layout,
      );
      releaseColumns(runs.map((run) => run.columns));
    }
  }
  const part = await builder.write(objectStore, parts.map((p) => p.partId));
  return { part, duplicatesDropped };
}

function releaseColumns(columns: ReadonlyArray<{ lines: Buffer; timestampsNs: BigInt64Array; lineEnds: Uint32Array }>): void {
  for (const column of columns) {
    releaseWholeMemory(column.lines);
    releaseWholeMemory(column.timestampsNs);
    releaseWholeMemory(column.lineEnds);
  }
}

/** A block's bytes as stored, with the metadata the part index keeps for it. */
async function readEncodedBlock(objectStore: ObjectStore, part: PartMeta, block: BlockMeta): Promise<EncodedBlock> {
  const bytes = await readBlockBytes(objectStore, blockLocation(part, block));
  return { bytes, filter: block.filter, minTimeNs: block.minTimeNs, maxTimeNs: block.maxTimeNs, entryCount: block.entryCount, rawBytes: block.rawBytes };
}
