// Turning one stream's sorted columns into encoded blocks with their token filters: the CPU-heavy
// half of a head cut (zstd + filter scan). Pure, so it runs the same inline or in a worker thread.

import { encodeBlock, type BlockColumns } from './block.ts';
import { sliceColumns } from './block-slice.ts';
import { blockTokenFilter, type TokenFilter } from './token-filter.ts';

export interface EncodedBlock {
  bytes: Uint8Array;
  filter: TokenFilter;
  minTimeNs: bigint;
  maxTimeNs: bigint;
  entryCount: number;
  rawBytes: number;
}

/**
 * Entry ranges [first, last) of the blocks the columns split into, about `blockTargetBytes` raw each
 * (at least one entry each; only the line ends count).
 */
export function blockRanges(columns: Pick<BlockColumns, 'lineEnds'>, blockTargetBytes: number): Array<[first: number, last: number]> {
  const count = columns.lineEnds.length;
  const ranges: Array<[number, number]> = [];
  let first = 0;
  while (first < count) {
    const startByte = first === 0 ? 0 : columns.lineEnds[first - 1]!;
    let last = first + 1;
    while (last < count && columns.lineEnds[last - 1]! - startByte < blockTargetBytes) last++;
    ranges.push([first, last]);
    first = last;
  }
  return ranges;
}

/** Splits the columns into blocks of about `blockTargetBytes` raw and encodes each. */
export function encodeStreamBlocks(columns: BlockColumns, blockTargetBytes: number): EncodedBlock[] {
  return blockRanges(columns, blockTargetBytes).map(([first, last]) => {
    const slice = sliceColumns(columns, first, last);
    return {
      bytes: encodeBlock(slice),
      filter: blockTokenFilter(slice.lines, slice.lineEnds),
      minTimeNs: slice.timestampsNs[0]!,
      maxTimeNs: slice.timestampsNs[slice.timestampsNs.length - 1]!,
      entryCount: last - first,
      rawBytes: slice.lines.length,
    };
  });
}
