// Scans one block: picks the lines in a time range, runs raw-byte literal filters with
// Buffer.indexOf over the whole block before anything is decoded, then hands each surviving line to a
// visitor. Lines are decoded to strings only when the visitor asks for them.

import type { BlockData } from '../../store/types.ts';
import type { RawLineFilter } from '../log/pipeline.ts';

/** First index whose timestamp is >= ns (timestamps ascending). */
export function lowerBound(timestamps: BigInt64Array, ns: bigint): number {
  let lo = 0;
  let hi = timestamps.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (timestamps[mid]! < ns) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the line containing byte offset `at`. */
function lineAt(lineEnds: Uint32Array, at: number, from: number): number {
  let lo = from;
  let hi = lineEnds.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (lineEnds[mid]! <= at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function lineStart(block: BlockData, index: number): number {
  return index === 0 ? 0 : block.lineEnds[index - 1]!;
}

/**
 * Which lines in [from, to) pass the raw filters. Returns null when there are no raw filters (all
 * pass), else a mask indexed by (line - from).
 */
export function rawFilterMask(block: BlockData, from: number, to: number, filters: RawLineFilter[]): Uint8Array | null {
  if (filters.length === 0 || from >= to) return null;
  const count = to - from;
  let mask: Uint8Array | null = null;
  const startByte = lineStart(block, from);
  const endByte = block.lineEnds[to - 1]!;
  const lines = block.lines;
  for (const filter of filters) {
    const hits = new Uint8Array(count);
    for (const needle of filter.needles) {
      let at = startByte;
      while (at < endByte) {
        const found = lines.indexOf(needle, at);
        if (found < 0 || found + needle.length > endByte) break;
        const line = lineAt(block.lineEnds, found, from);
        // A match must lie entirely inside one line.
        if (found + needle.length <= block.lineEnds[line]!) {
          hits[line - from] = 1;
          at = block.lineEnds[line]!;
        } else {
          at = found + 1;
        }
      }
    }
    if (filter.negated) for (let i = 0; i < count; i++) hits[i] = hits[i] ? 0 : 1;
    if (mask === null) mask = hits;
    else for (let i = 0; i < count; i++) mask[i]! &= hits[i]!;
  }
  return mask;
}

export function decodeLine(block: BlockData, index: number): string {
  return block.lines.toString('utf8', lineStart(block, index), block.lineEnds[index]);
}

export function lineBytes(block: BlockData, index: number): number {
  return block.lineEnds[index]! - lineStart(block, index);
}
