// Merging one stream's time-sorted blocks into one sorted run without exact duplicates (same
// timestamp and same line bytes: what a client retry produces, Loki's duplicate rule). Compaction
// uses it to write merged parts, and reads use it whenever blocks from different sources (the head,
// parts) overlap in time, so a retried push is counted once from the moment it is acknowledged.

import type { BlockColumns } from './block.ts';
import type { BlockData, LabelPair, StreamInfo } from './types.ts';

/** Up to this many lines per timestamp are compared pairwise; beyond, a set is cheaper. */
const LINEAR_RUN_LIMIT = 32;

/**
 * Merges blocks (each sorted by timestamp) into sorted columns, dropping exact duplicates. Among
 * equal timestamps, the block that starts earlier comes first, and the first copy of a duplicate is kept (with its
 * structured metadata). A k-way merge: each step picks the smallest head among the k blocks, which
 * for the few blocks that overlap (k is 2–3 in practice) is cheaper than sorting all entries.
 */
export function mergeBlocks(input: readonly BlockData[]): { columns: BlockColumns; duplicatesDropped: number } {
  // Equal timestamps keep the order of the blocks' first timestamps (then input order), as before.
  const blocks = input
    .filter((block) => block.timestampsNs.length > 0)
    .sort((a, b) => (a.timestampsNs[0]! < b.timestampsNs[0]! ? -1 : a.timestampsNs[0]! > b.timestampsNs[0]! ? 1 : 0));
  let total = 0;
  let totalBytes = 0;
  for (const block of blocks) {
    total += block.timestampsNs.length;
    totalBytes += block.lines.length;
  }
  const timestampsNs = new BigInt64Array(total);
  const lineEnds = new Uint32Array(total);
  const lines = Buffer.allocUnsafe(totalBytes);
  const positions = new Uint32Array(blocks.length);
  let structuredMetadata: Array<LabelPair[] | undefined> | undefined;
  let written = 0;
  let offset = 0;
  let duplicatesDropped = 0;
  // Lines already kept at the current timestamp: a duplicate may be anywhere in that run.
  let runTimestampNs: bigint | undefined;
  let runStart = 0;
  let runSet: Set<string> | undefined;
  for (let taken = 0; taken < total; taken++) {
    let chosen = -1;
    let chosenNs = 0n;
    for (let b = 0; b < blocks.length; b++) {
      const block = blocks[b]!;
      const position = positions[b]!;
      if (position >= block.timestampsNs.length) continue;
      const timestampNs = block.timestampsNs[position]!;
      if (chosen < 0 || timestampNs < chosenNs) {
        chosen = b;
        chosenNs = timestampNs;
      }
    }
    const block = blocks[chosen]!;
    const index = positions[chosen]!++;
    const lineStart = index === 0 ? 0 : block.lineEnds[index - 1]!;
    const lineEnd = block.lineEnds[index]!;
    const lineLength = lineEnd - lineStart;
    if (chosenNs !== runTimestampNs) {
      runTimestampNs = chosenNs;
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
        const key = block.lines.toString('latin1', lineStart, lineEnd);
        duplicate = runSet.has(key);
        if (!duplicate) runSet.add(key);
      } else {
        for (let kept = runStart; kept < written && !duplicate; kept++) {
          const keptStart = kept === 0 ? 0 : lineEnds[kept - 1]!;
          duplicate = lineEnds[kept]! - keptStart === lineLength && lines.compare(block.lines, lineStart, lineEnd, keptStart, lineEnds[kept]!) === 0;
        }
      }
      if (duplicate) {
        duplicatesDropped++;
        continue;
      }
    }
    timestampsNs[written] = chosenNs;
    offset += block.lines.copy(lines, offset, lineStart, lineEnd);
    lineEnds[written] = offset;
    const metadata = block.structuredMetadata?.[index];
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

/** The merged, duplicate-free block of one stream, as a query reads it. */
export function mergeBlockData(blocks: readonly BlockData[], stream: StreamInfo): BlockData {
  if (blocks.length === 1) return blocks[0]!;
  const merged: BlockData = { stream, ...mergeBlocks(blocks).columns };
  // The readable blocks merge; the unreadable ones keep their warnings.
  const unreadable = blocks.flatMap((block) => block.unreadable ?? []);
  if (unreadable.length > 0) merged.unreadable = unreadable;
  return merged;
}
