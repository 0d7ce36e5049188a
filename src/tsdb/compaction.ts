// Merging blocks: the series of several blocks of one tenant become one block. A series whose chunks
// from different blocks overlap in time, or that is in more chunks than BLOCK_SAMPLES_PER_CHUNK
// needs (the head's 120-sample chunks, head cuts at arbitrary times), is decoded, deduplicated by
// timestamp and re-encoded into full chunks; otherwise its chunks are copied as they are. A head cut
// goes through the same step. Also the planner: which blocks to merge.

import type { BlockMeta, BlockSeriesInput } from './block.ts';
import { BLOCK_SAMPLES_PER_CHUNK, decodeChunkInto } from './chunk.ts';
import { encodeChunks, type StoredChunk } from './head.ts';
import { seriesKey } from './series-index.ts';
import type { Labels } from './types.ts';

/**
 * Compaction levels: windows of 2 h (one block range), 6 h and 24 h, Prometheus' progression cut at a
 * day so a retention of days deletes in steps of at most a day.
 */
export function compactionRangesMs(blockRangeMs: number): number[] {
  return [blockRangeMs, blockRangeMs * 3, blockRangeMs * 12];
}

/**
 * Groups of blocks to merge: per window of each level (smallest first), the blocks lying wholly
 * inside it, when there are at least two and the window has closed (nothing newer can land in it
 * except out-of-order stragglers, which a later pass merges again).
 */
export function planCompaction(blocks: readonly BlockMeta[], rangesMs: readonly number[], closedBeforeMs: number): BlockMeta[][] {
  for (const rangeMs of rangesMs) {
    const windows = new Map<number, BlockMeta[]>();
    for (const meta of blocks) {
      const start = Math.floor(meta.minTimeMs / rangeMs) * rangeMs;
      if (meta.maxTimeMs >= start + rangeMs) continue;
      if (start + rangeMs > closedBeforeMs) continue;
      let group = windows.get(start);
      if (group === undefined) windows.set(start, (group = []));
      group.push(meta);
    }
    const groups = [...windows.values()].filter((group) => group.length >= 2);
    if (groups.length > 0) return groups;
  }
  return [];
}

export function mergeSeries(inputs: ReadonlyArray<ReadonlyArray<BlockSeriesInput>>, blockRangeMs: number): BlockSeriesInput[] {
  const byKey = new Map<string, { labels: Labels; chunks: StoredChunk[] }>();
  for (const input of inputs) {
    for (const series of input) {
      const key = seriesKey(series.labels);
      const entry = byKey.get(key);
      if (entry === undefined) byKey.set(key, { labels: series.labels, chunks: [...series.chunks] });
      else entry.chunks.push(...series.chunks);
    }
  }
  const out: BlockSeriesInput[] = [];
  for (const { labels, chunks } of byKey.values()) {
    chunks.sort((a, b) => a.minTimeMs - b.minTimeMs);
    let overlapping = false;
    let samples = 0;
    for (let i = 0; i < chunks.length; i++) {
      samples += chunks[i]!.count;
      if (i > 0 && chunks[i]!.minTimeMs <= chunks[i - 1]!.maxTimeMs) overlapping = true;
    }
    const fullChunks = Math.ceil(samples / BLOCK_SAMPLES_PER_CHUNK);
    if (!overlapping && chunks.length <= fullChunks + 1) {
      out.push({ labels, chunks });
      continue;
    }
    const timestampsMs = new Float64Array(samples);
    const values = new Float64Array(samples);
    const stale = new Uint8Array(samples);
    let count = 0;
    for (const chunk of chunks) count = decodeChunkInto(chunk.bytes, timestampsMs, values, stale, count);
    const order = Array.from({ length: count }, (_, i) => i);
    if (overlapping) order.sort((a, b) => timestampsMs[a]! - timestampsMs[b]! || a - b);
    const t = new Float64Array(count);
    const v = new Float64Array(count);
    const s = new Uint8Array(count);
    let kept = 0;
    for (const i of order) {
      // Exact duplicates (a block written twice around a crash) collapse to one sample.
      if (kept > 0 && t[kept - 1] === timestampsMs[i]) continue;
      t[kept] = timestampsMs[i]!;
      v[kept] = values[i]!;
      s[kept] = stale[i]!;
      kept++;
    }
    out.push({ labels, chunks: encodeChunks(t.subarray(0, kept), v.subarray(0, kept), s.subarray(0, kept), blockRangeMs, BLOCK_SAMPLES_PER_CHUNK) });
  }
  return out;
}
