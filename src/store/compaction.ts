// Compaction: merges a partition's small parts into one, merging each stream's entries by timestamp
// and dropping exact duplicates (same stream, timestamp and line bytes: what a client retry produces).
// Works stream by stream so memory is bounded by the largest stream in the merged parts.

import type { ObjectStore } from '../objstore/object-store.ts';
import type { BlockColumns } from './block.ts';
import type { BlockEncoderPool } from './block-encoder-pool.ts';
import { PartBuilder } from './part-writer.ts';
import { blockLocation, readBlock } from './part-reader.ts';
import type { PartMeta } from './part-index.ts';
import type { Partition } from './partition.ts';
import type { BlockData, LabelPair, StreamInfo } from './types.ts';

/** Up to this many lines per timestamp are compared pairwise; beyond, a set is cheaper. */
const LINEAR_RUN_LIMIT = 32;

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

/** Merges sorted blocks of one stream into sorted columns without exact duplicates. */
export function mergeBlocks(input: readonly BlockData[]): { columns: BlockColumns; duplicatesDropped: number } {
  const blocks = [...input].sort((a, b) => compareBigints(a.timestampsNs[0] ?? 0n, b.timestampsNs[0] ?? 0n));
  let total = 0;
  let totalBytes = 0;
  let overlapping = false;
  let previousMaxNs: bigint | undefined;
  for (const block of blocks) {
    const count = block.timestampsNs.length;
    if (count === 0) continue;
    total += count;
    totalBytes += block.lines.length;
    // Touching (equal) boundaries count as overlap: duplicates may straddle them.
    if (previousMaxNs !== undefined && block.timestampsNs[0]! <= previousMaxNs) overlapping = true;
    previousMaxNs = block.timestampsNs[count - 1]!;
  }
  const blockOf = new Uint32Array(total);
  const lineOf = new Uint32Array(total);
  let k = 0;
  for (let b = 0; b < blocks.length; b++) {
    const count = blocks[b]!.timestampsNs.length;
    for (let i = 0; i < count; i++) {
      blockOf[k] = b;
      lineOf[k] = i;
      k++;
    }
  }
  const timestampOf = (index: number): bigint => blocks[blockOf[index]!]!.timestampsNs[lineOf[index]!]!;
  const lineBytes = (index: number): Buffer => {
    const block = blocks[blockOf[index]!]!;
    const i = lineOf[index]!;
    return block.lines.subarray(i === 0 ? 0 : block.lineEnds[i - 1]!, block.lineEnds[i]!);
  };
  let order: Uint32Array | number[] = Uint32Array.from({ length: total }, (_, index) => index);
  // The common case (parts cut one after another) needs no sort: blocks are disjoint in time.
  if (overlapping) order = Array.from(order).sort((x, y) => compareBigints(timestampOf(x), timestampOf(y)) || x - y);

  const timestampsNs = new BigInt64Array(total);
  const lineEnds = new Uint32Array(total);
  const lines = Buffer.allocUnsafe(totalBytes);
  let structuredMetadata: Array<LabelPair[] | undefined> | undefined;
  let written = 0;
  let offset = 0;
  let duplicatesDropped = 0;
  // Lines already kept at the current timestamp: a duplicate may be anywhere in that run.
  let runTimestampNs: bigint | undefined;
  let runStart = 0;
  let runSet: Set<string> | undefined;
  for (let position = 0; position < total; position++) {
    const index = order[position]!;
    const timestampNs = timestampOf(index);
    const line = lineBytes(index);
    if (timestampNs !== runTimestampNs) {
      runTimestampNs = timestampNs;
      runStart = written;
      runSet = undefined;
    } else {
      let duplicate = false;
      if (runSet === undefined && written - runStart > LINEAR_RUN_LIMIT) {
        // Many lines share this timestamp (coarse clocks): switch from pairwise compares to a set.
        runSet = new Set();
        for (let kept = runStart; kept < written; kept++) runSet.add(lines.toString('latin1', kept === 0 ? 0 : lineEnds[kept - 1]!, lineEnds[kept]!));
      }
      if (runSet !== undefined) {
        const key = line.toString('latin1');
        duplicate = runSet.has(key);
        if (!duplicate) runSet.add(key);
      } else {
        for (let kept = runStart; kept < written && !duplicate; kept++) {
          const keptStart = kept === 0 ? 0 : lineEnds[kept - 1]!;
          duplicate = lineEnds[kept]! - keptStart === line.length && lines.compare(line, 0, line.length, keptStart, lineEnds[kept]!) === 0;
        }
      }
      if (duplicate) {
        duplicatesDropped++;
        continue;
      }
    }
    timestampsNs[written] = timestampNs;
    offset += line.copy(lines, offset);
    lineEnds[written] = offset;
    const metadata = blocks[blockOf[index]!]!.structuredMetadata?.[lineOf[index]!];
    if (metadata !== undefined) {
      structuredMetadata ??= new Array<LabelPair[] | undefined>(total).fill(undefined);
      structuredMetadata[written] = metadata;
    }
    written++;
  }
  const columns: BlockColumns = {
    timestampsNs: timestampsNs.subarray(0, written),
    lines: lines.subarray(0, offset),
    lineEnds: lineEnds.subarray(0, written),
  };
  if (structuredMetadata !== undefined) columns.structuredMetadata = structuredMetadata.slice(0, written);
  return { columns, duplicatesDropped };
}

function compareBigints(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
