// Turning one stream's sorted columns into encoded blocks with their token filters: the CPU-heavy
// half of a head cut (zstd + filter scan). Pure, so it runs the same inline or in a worker thread.

import { encodeBlock, type BlockColumns } from './block.ts';
import { sliceColumns } from './block-slice.ts';
import { buildTokenFilter, type TokenFilter } from './token-filter.ts';

export interface EncodedBlock {
  bytes: Uint8Array;
  filter: TokenFilter;
  minTimeNs: bigint;
  maxTimeNs: bigint;
  entryCount: number;
  rawBytes: number;
}

/** Splits the columns into blocks of about `blockTargetBytes` raw and encodes each. */
export function encodeStreamBlocks(columns: BlockColumns, blockTargetBytes: number): EncodedBlock[] {
  const count = columns.timestampsNs.length;
  const blocks: EncodedBlock[] = [];
  let first = 0;
  while (first < count) {
    const startByte = first === 0 ? 0 : columns.lineEnds[first - 1]!;
    let last = first + 1;
    while (last < count && columns.lineEnds[last - 1]! - startByte < blockTargetBytes) last++;
    const slice = sliceColumns(columns, first, last);
    blocks.push({
      bytes: encodeBlock(slice),
      filter: buildTokenFilter(slice.lines, slice.lineEnds),
      minTimeNs: slice.timestampsNs[0]!,
      maxTimeNs: slice.timestampsNs[slice.timestampsNs.length - 1]!,
      entryCount: last - first,
      rawBytes: slice.lines.length,
    });
    first = last;
  }
  return blocks;
}
