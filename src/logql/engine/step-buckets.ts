// Additive range aggregations (count_over_time, rate, bytes_over_time, bytes_rate without unwrap):
// instead of one sample per matching line, matches are counted straight into the intervals between
// window edges. Every window (t − range − offset, t − offset] is a run of whole intervals, so its value
// is a difference of prefix sums. Over a pipeline of raw-byte filters only, a whole block is counted at
// once: per matching line there is no string, no object and no BigInt arithmetic, and a block costs one
// binary search per interval it touches. After parsers, the collector counts line by line.

import type { BlockData } from '../../store/types.ts';
import type { QueryStatistics } from '../api.ts';
import type { RangeAggregation } from '../syntax/ast.ts';
import type { CompiledPipeline } from '../log/pipeline.ts';
import { lineStart, lowerBound, rawFilterMask } from './block-scan.ts';

/** Sorted distinct window edges; interval k is (edges[k-1], edges[k]]. */
export interface StepEdges {
  absoluteNs: BigInt64Array;
  /** The same edges relative to the window base, as numbers (exact: spans under 2^53 ns). */
  relative: Float64Array;
}

/** Aggregations whose window value is a count or a byte sum, so they can be kept per interval. */
export function additiveWithoutUnwrap(node: RangeAggregation): boolean {
  if (node.range.unwrap) return false;
  return node.op === 'count_over_time' || node.op === 'rate' || node.op === 'bytes_over_time' || node.op === 'bytes_rate';
}

export function stepEdges(node: RangeAggregation, stepsNs: bigint[], baseNs: bigint): StepEdges {
  const all: bigint[] = [];
  for (const stepNs of stepsNs) {
    const end = stepNs - node.range.offsetNs;
    all.push(end - node.range.rangeNs, end);
  }
  all.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const distinct = all.filter((edge, i) => i === 0 || edge !== all[i - 1]);
  return { absoluteNs: BigInt64Array.from(distinct), relative: Float64Array.from(distinct, (edge) => Number(edge - baseNs)) };
}

/** Index of the first edge >= ns (edges.length when none). */
function edgeAtOrAfter(edges: BigInt64Array, ns: bigint): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid]! < ns) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index in [from, to) whose timestamp is > ns. */
function firstAfter(timestamps: BigInt64Array, ns: bigint, from: number, to: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (timestamps[mid]! <= ns) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Adds the block's lines in [startNs, endNs) that pass the raw filters into `counts` (and their byte
 * lengths into `bytes` when given), per interval.
 */
export function countBlockIntoBuckets(
  block: BlockData,
  pipeline: CompiledPipeline,
  options: { startNs: bigint; endNs: bigint },
  stats: QueryStatistics,
  edges: StepEdges,
  counts: Float64Array,
  bytes: Float64Array | null,
): void {
  const timestamps = block.timestampsNs;
  const from = lowerBound(timestamps, options.startNs);
  const to = lowerBound(timestamps, options.endNs);
  if (from >= to) return;
  const lineEnds = block.lineEnds;
  stats.linesProcessed += to - from;
  stats.bytesProcessed += lineEnds[to - 1]! - lineStart(block, from);
  const mask = rawFilterMask(block, from, to, pipeline.rawFilters);
  const edgeNs = edges.absoluteNs;
  let i = from;
  while (i < to) {
    const k = edgeAtOrAfter(edgeNs, timestamps[i]!);
    // Past the last window's end: in no window.
    if (k >= edgeNs.length) break;
    const end = firstAfter(timestamps, edgeNs[k]!, i, to);
    if (mask === null) {
      counts[k]! += end - i;
      if (bytes !== null) bytes[k]! += lineEnds[end - 1]! - lineStart(block, i);
    } else {
      let matched = 0;
      let matchedBytes = 0;
      for (let j = i; j < end; j++) {
        if (mask[j - from] === 0) continue;
        matched++;
        if (bytes !== null) matchedBytes += lineEnds[j]! - (j === 0 ? 0 : lineEnds[j - 1]!);
      }
      counts[k]! += matched;
      if (bytes !== null) bytes[k]! += matchedBytes;
    }
    i = end;
  }
}

/** Interval index of a relative sample time. */
export function bucketOf(edges: StepEdges, relativeNs: number): number {
  const relative = edges.relative;
  let lo = 0;
  let hi = relative.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (relative[mid]! < relativeNs) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
